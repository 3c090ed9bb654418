"""Two processes starting at once on a fresh PostgreSQL schema both migrate it without error: the
advisory lock around migrate() lets one create the tables while the other waits."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PG_REQUIRED, PG_URL, ROOT, _pg_schema_url

MIGRATE = """
import sys, time
from hotline.store.base import make_engine, migrate
engine = make_engine(sys.argv[1])
with engine.connect():
    pass  # connected and imported before the start line, so both start migrating together
while time.time() < float(sys.argv[2]):
    time.sleep(0.001)
migrate(engine)
"""


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema (SQLite needs no lock: one file, one writer at a time)."""
    if not PG_URL:
        if PG_REQUIRED:
            pytest.fail("PostgreSQL required (HOTLINE_REQUIRE_PG=1) but HOTLINE_TEST_PG_URL is not set")
        pytest.skip("HOTLINE_TEST_PG_URL not set: PostgreSQL tests skipped on this machine")
    yield from _pg_schema_url(PG_URL)


@pytest.mark.parametrize("attempt", range(3))
def test_two_processes_migrate_a_fresh_schema_at_once(pg_url: str, attempt: int) -> None:
    db_url = pg_url
    go = time.time() + 2.5
    procs = [subprocess.Popen([sys.executable, "-c", MIGRATE, db_url, str(go)], cwd=ROOT, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    errors = [p.communicate(timeout=60)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    engine = create_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM calls")).scalar() == 0
    engine.dispose()
