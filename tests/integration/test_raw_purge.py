"""The raw-event purge: found by the `last_at` index, deleted in chunks, newer runs kept; and it runs
in a worker thread, off the listener's event loop."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text

from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.providers.asterisk.client import AmiClient
from hotline.runtime.assembly import AmiIngest, open_database
from hotline.runtime.listener import AmiListener
from hotline.services.calls.ledger import Ledger
from hotline.store.base import unit_of_work
from hotline.store.calls import RawEventRow, insert_raw_events, purge_raw_events_chunk

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _fill(factory: object, old: int, new: int) -> None:
    rows = []
    for i in range(old + new):
        at = T0 + (timedelta(days=1) if i < old else timedelta(days=200)) + timedelta(seconds=i)
        rows.append({"provider": "asterisk", "call_id": f"c{i}", "first_at": at, "last_at": at, "events": 3,
                     "names": "Newchannel,Hangup", "digest": f"{i:040d}", "raw": b"Event: Hangup\r\n\r\n"})
    with unit_of_work(factory) as s:  # type: ignore[arg-type]
        insert_raw_events(s, rows)


def test_purge_deletes_in_chunks_and_keeps_newer_runs(db_url: str) -> None:
    db = open_database(db_url)
    _fill(db.factory, 2500, 40)
    before = T0 + timedelta(days=100)
    sizes = []
    while True:
        with unit_of_work(db.factory) as s:
            n = purge_raw_events_chunk(s, before, chunk=1000)
        sizes.append(n)
        if n == 0:
            break
    assert sizes == [1000, 1000, 500, 0]
    with unit_of_work(db.factory) as s:
        assert s.scalar(select(func.count()).select_from(RawEventRow)) == 40
    db.engine.dispose()


def test_purge_query_uses_the_last_at_index(db_url: str) -> None:
    db = open_database(db_url)
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            plan = " ".join(str(r[-1]) for r in conn.execute(text(
                "EXPLAIN QUERY PLAN SELECT id FROM raw_events WHERE last_at < '2026-01-01' LIMIT 1000")))
        else:
            conn.execute(text("SET enable_seqscan = off"))
            plan = " ".join(r[0] for r in conn.execute(text(
                "EXPLAIN SELECT id FROM raw_events WHERE last_at < '2026-01-01' LIMIT 1000")))
    assert "ix_raw_events_last_at" in plan
    db.engine.dispose()


async def test_listener_runs_the_purge_in_a_worker_thread(settings: Settings, db_url: str) -> None:
    db = open_database(db_url)
    _fill(db.factory, 1200, 5)
    ledger = Ledger(db.factory)
    clock = ManualClock(T0 + timedelta(days=130))
    listener = AmiListener(AmiClient("127.0.0.1", 1, "u", "p"), AmiIngest(settings, ledger), clock,
                           retention_days=30)
    threads: list[str] = []
    original = listener.purge_if_due

    def spy(chunk: int = 1000) -> int:
        threads.append(threading.current_thread().name)
        return original(chunk)

    listener.purge_if_due = spy  # type: ignore[method-assign]
    listener._start_purge()
    assert listener._purge_task is not None
    assert await asyncio.wait_for(listener._purge_task, 30) == 1200
    assert threads and threads[0] != threading.main_thread().name
    listener._start_purge()  # done for today: no second run
    assert listener._purge_task.done() and len(threads) == 1
    db.engine.dispose()
