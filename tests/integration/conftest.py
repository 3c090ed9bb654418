"""Integration fixtures: the session's real Asterisk (tests/integration/pbx.py)."""

from tests.integration.pbx import pbx, pbx_installed

__all__ = ["pbx", "pbx_installed"]
