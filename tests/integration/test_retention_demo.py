"""Raw-event retention, and `hotline demo` end to end (simulated PBX -> real listener over TCP ->
ledger on disk and the API on loopback)."""

from __future__ import annotations

import asyncio
import re
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.providers.asterisk.client import AmiClient
from hotline.runtime.assembly import AmiIngest, open_database, packets_of_file
from hotline.runtime.listener import AmiListener
from hotline.services.calls.ledger import Ledger
from hotline.store.calls import CallRow, RawEventRow
from tests.truth import FIXTURES

ROOT = Path(__file__).resolve().parent.parent.parent


def test_raw_events_older_than_the_retention_are_purged_once_a_day(settings: Settings, db_url: str) -> None:
    db = open_database(db_url)
    ledger = Ledger(db.factory)
    ingest = AmiIngest(settings, ledger)
    for packet in packets_of_file(FIXTURES / "answered_caller_hangup.ami", settings):
        ingest.feed(packet)
    ingest.finish()
    with db.factory() as s:
        row = s.scalars(select(RawEventRow)).first()
        assert row is not None and row.last_at is not None
        recorded = row.last_at
    clock = ManualClock(recorded + timedelta(days=29))
    listener = AmiListener(AmiClient("127.0.0.1", 1, "u", "p"), ingest, clock, retention_days=30)
    assert listener.purge_if_due() == 0  # 29 days old: kept
    clock.advance(timedelta(days=2))
    assert listener.purge_if_due() >= 1  # 31 days old: gone
    assert listener.purge_if_due() == 0  # runs once a day
    with db.factory() as s:
        assert s.scalar(select(func.count()).select_from(RawEventRow)) == 0
        assert s.scalar(select(func.count()).select_from(CallRow)) == 1  # the call itself stays
    db.engine.dispose()


async def test_demo_fills_the_ledger_over_tcp(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hotline", "demo", "--calls", "12", "--speed", "300", "--calls-per-hour", "400",
        "--seed", "5", "--port", "0", "--db", f"sqlite:///{db}",
        "--config", str(ROOT / "config" / "hotline.toml"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=str(tmp_path))
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    text = out.decode()
    assert proc.returncode == 0, err.decode()[-2000:]
    lines = [line for line in text.splitlines() if re.match(r"\d\d:\d\d:\d\d  ", line)]
    assert len(lines) >= 12
    assert "simulated PBX: AMI on 127.0.0.1:" in err.decode()
    d = open_database(f"sqlite:///{db}")
    with d.factory() as s:
        rows = s.scalars(select(CallRow).where(CallRow.ended_at.is_not(None))).all()
        outcomes = {r.outcome for r in rows}
    assert len(rows) >= 12
    assert "answered" in outcomes and outcomes <= {"answered", "abandoned", "timeout", "busy",
                                                   "ivr_abandoned", "failed"}
