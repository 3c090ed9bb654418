"""Shared fixtures: settings, databases (SQLite always; PostgreSQL when HOTLINE_TEST_PG_URL is set)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from hotline.config import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "ami"
PG_URL = os.environ.get("HOTLINE_TEST_PG_URL", "")
PG_REQUIRED = os.environ.get("HOTLINE_REQUIRE_PG", "") == "1"


@pytest.fixture(scope="session")
def settings() -> Settings:
    """The shipped config (the lab PBX of the fixtures), without the environment's overrides."""
    return load_settings(ROOT / "config" / "hotline.toml", env={})


def _pg_schema_url(base: str) -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as e:  # connection refused, auth, ...
        if PG_REQUIRED:
            pytest.fail(f"PostgreSQL required (HOTLINE_REQUIRE_PG=1) but not usable at {base}: {e}")
        pytest.skip(f"PostgreSQL not usable at {base}: {e}")
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: a SQLite file, then a private PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hotline.db'}"
        return
    if not PG_URL:
        if PG_REQUIRED:
            pytest.fail("PostgreSQL required (HOTLINE_REQUIRE_PG=1) but HOTLINE_TEST_PG_URL is not set")
        pytest.skip("HOTLINE_TEST_PG_URL not set: PostgreSQL tests skipped on this machine")
    yield from _pg_schema_url(PG_URL)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`--dist loadgroup`, pyproject's addopts): every test that uses the real Asterisk
    runs on one worker, so the session starts one PBX, not one per worker."""
    for item in items:
        if "pbx" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("pbx"))
