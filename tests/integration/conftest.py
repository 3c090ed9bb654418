"""Integration fixtures: the session's real Asterisk (tests/integration/pbx.py)."""

from tests.integration.pbx import pbx

__all__ = ["pbx"]
