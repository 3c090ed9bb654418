"""Two processes starting at once on a fresh PostgreSQL schema both migrate it without error: the
advisory lock around migrate() lets one create the tables while the other waits."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import ROOT

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


@pytest.mark.parametrize("attempt", range(3))
def test_two_processes_migrate_a_fresh_schema_at_once(db_url: str, attempt: int) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers itself (one file, one writer)")
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
