"""Nothing acknowledged is lost to the database: the ledger keeps a batch until its commit succeeds and
retries while PostgreSQL is away or SQLite is locked past its busy timeout; bad text is cleaned at the
edge; one bad row does not take its batch down; every missed call still gets its alert and its page."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hotline.clock import ManualClock, SystemClock
from hotline.domain.calls import CallEvent, Direction, EventKind
from hotline.providers.twilio.session import read_session
from hotline.services.calls.batch_writer import WritePolicy
from hotline.services.calls.ledger import Ledger
from hotline.services.calls.twilio_calls import DutyBoard, TwilioCalls, VoiceConfig
from hotline.services.calls.twilio_journal import Journal
from hotline.services.monitor.database_alarm import DatabaseAlarm
from hotline.store.alerts import AlertCallRow
from hotline.store.base import make_engine, migrate, session_factory
from hotline.store.calls import CallRow, RawEventRow
from tests.conftest import PG_REQUIRED, PG_URL, ROOT
from tests.integration.db_faults import NAMES, call_events, pg_database, sqlite_locked
from tests.integration.monitor_fakes import T0, TZ, RecordingSender, Rig, rig

FAST = WritePolicy(first_retry=0.05, max_retry=0.2)


def ledger_for(factory: object) -> tuple[Ledger, Counter[str]]:
    ledger = Ledger(factory, clock=SystemClock(TZ), policy=FAST)  # type: ignore[arg-type]
    told: Counter[str] = Counter()
    ledger.on_completed(lambda c: told.update([c.call_id]))
    return ledger, told


def settle(ledger: Ledger, seconds: float = 15.0) -> None:
    """Flush until everything is written and every listener told (the database is back)."""
    deadline = time.monotonic() + seconds
    while ledger.pending or ledger.retell:
        assert time.monotonic() < deadline, f"{ledger.pending} row(s) still waiting"
        time.sleep(0.05)
        ledger.flush()


def stored(factory: object) -> Counter[str]:
    with factory() as s:  # type: ignore[operator]
        return Counter(s.scalars(select(CallRow.call_id).where(CallRow.ended_at.is_not(None))).all())


async def first_pages(r: Rig) -> list[str | None]:
    """Run the engine once the burst is over and deliver the outbox: the alert ids paged."""
    r.clock.set(T0 + timedelta(minutes=2))  # every first page due, no escalation yet (5 min)
    await asyncio.to_thread(r.monitor.tick)
    sender = RecordingSender()
    while await r.outbox.drain(sender):
        pass
    return [p.alert_id for p, _ in sender.sent]


def missed_ids(n: int) -> set[str]:
    return {f"f{i:05d}" for i in range(n) if i % 3 == 0}


def alerted(factory: object) -> Counter[str]:
    with factory() as s:  # type: ignore[operator]
        return Counter(s.scalars(select(AlertCallRow.call_id)).all())


def burst(ledger: Ledger, n: int, fault_at: int, fault: object, heal_at: int, heal: object) -> None:
    """n calls (every third missed), one flush after each, the fault from call `fault_at` to `heal_at`."""
    for i in range(n):
        if i == fault_at:
            fault()  # type: ignore[operator]
        if i == heal_at:
            heal()  # type: ignore[operator]
        ledger.apply(call_events(i, T0 + timedelta(seconds=i), missed=i % 3 == 0))
        ledger.add_raw([{"provider": "asterisk", "call_id": f"f{i:05d}", "first_at": T0, "last_at": T0,
                         "events": 1, "names": "Newchannel", "digest": f"d{i:05d}",
                         "raw": f"CallerIDName: {NAMES[i % len(NAMES)]}".encode("utf-8", "surrogateescape")}])
        ledger.flush()
        time.sleep(0.03)


def test_bad_text_is_cleaned_at_the_edge_and_every_call_is_stored(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    factory = session_factory(engine)
    ledger, told = ledger_for(factory)
    for i in range(len(NAMES)):
        ledger.apply(call_events(i, T0 + timedelta(seconds=i), missed=True))
    ledger.flush()
    assert stored(factory) == Counter({f"f{i:05d}": 1 for i in range(len(NAMES))})
    with factory() as s:
        names = dict(s.execute(select(CallRow.call_id, CallRow.caller_name)).all())  # type: ignore[arg-type]
    assert names["f00000"] == "张伟"
    assert names["f00005"] == "\ufffd\ufffd\ufffd刘"  # bytes no encoding can carry: replaced
    assert names["f00006"] == "周杰"  # NUL removed
    assert names["f00007"] == "欧阳" * 64  # clipped to the column (128)
    assert sum(told.values()) == len(NAMES)
    engine.dispose()


def test_one_bad_row_does_not_take_its_batch_down(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    factory = session_factory(engine)
    ledger, told = ledger_for(factory)
    for i in range(5):
        ledger.apply(call_events(i, T0 + timedelta(seconds=i), missed=False))
    naive = datetime(2026, 11, 23, 13, 0)  # a provider bug: a time without its zone cannot be stored
    ledger.apply([CallEvent("bad", EventKind.STARTED, naive, direction=Direction.INBOUND, caller="13800138004"),
                  CallEvent("bad", EventKind.ENDED, naive)])
    ledger.flush()
    assert stored(factory) == Counter({f"f{i:05d}": 1 for i in range(5)})
    assert ledger.writer.stats["rejected_calls"] == 1 and ledger.pending == 0
    assert sum(told.values()) == 6  # the monitor still hears of the bad call
    engine.dispose()


async def test_postgres_unavailable_mid_burst_loses_nothing() -> None:
    if not PG_URL:
        if PG_REQUIRED:
            pytest.fail("PostgreSQL required (HOTLINE_REQUIRE_PG=1) but HOTLINE_TEST_PG_URL is not set")
        pytest.skip("HOTLINE_TEST_PG_URL not set: PostgreSQL tests skipped on this machine")
    with pg_database(PG_URL) as db:
        r = rig(db.url)
        try:
            ledger, told = ledger_for(r.monitor.factory)
            ledger.on_completed(r.monitor.on_call)
            n = 45
            await asyncio.to_thread(burst, ledger, n, 10, db.make_unavailable, 30, db.allow)
            assert ledger.writer.stats["retries"] > 0  # the outage was felt
            await asyncio.to_thread(settle, ledger)
            assert stored(r.monitor.factory) == Counter({f"f{i:05d}": 1 for i in range(n)})
            assert told == Counter({f"f{i:05d}": 1 for i in range(n)})
            with r.monitor.factory() as s:
                assert s.scalar(select(func.count()).select_from(RawEventRow)) == n
            assert alerted(r.monitor.factory) == Counter(dict.fromkeys(missed_ids(n), 1))
            pages = await first_pages(r)
            assert len(pages) == len(missed_ids(n)) and len(set(pages)) == len(pages)
        finally:
            r.dispose()


async def test_sqlite_locked_past_the_busy_timeout_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "hotline.db"
    r = rig(f"sqlite:///{path}?timeout=0.1")
    lock = sqlite_locked(str(path))
    try:
        ledger, told = ledger_for(r.monitor.factory)
        ledger.on_completed(r.monitor.on_call)
        n = 24
        await asyncio.to_thread(burst, ledger, n, 5, lock.__enter__, 18, lambda: lock.__exit__(None, None, None))
        assert ledger.writer.stats["retries"] > 0
        await asyncio.to_thread(settle, ledger)
        assert stored(r.monitor.factory) == Counter({f"f{i:05d}": 1 for i in range(n)})
        assert told == Counter({f"f{i:05d}": 1 for i in range(n)})
        assert alerted(r.monitor.factory) == Counter(dict.fromkeys(missed_ids(n), 1))
        pages = await first_pages(r)
        assert len(pages) == len(missed_ids(n)) and len(set(pages)) == len(pages)
    finally:
        r.dispose()


def test_twilio_webhooks_acknowledged_while_sqlite_is_locked_are_all_stored(tmp_path: Path) -> None:
    path = tmp_path / "hotline.db"
    url = f"sqlite:///{path}?timeout=0.1"
    engine = make_engine(url)
    migrate(engine)
    factory = session_factory(engine)
    ledger, told = ledger_for(factory)
    clock = ManualClock(datetime(2024, 5, 7, 11, 0, tzinfo=TZ))
    calls = TwilioCalls(VoiceConfig(base_url="http://127.0.0.1"), ledger, None, DutyBoard(None, [], ["first_line"]),
                        clock)
    template = list(read_session(ROOT / "tests" / "fixtures" / "twilio" / "caller_hangs_up_waiting.jsonl"))
    sids = [f"CA{i:032x}" for i in range(20)]
    with sqlite_locked(str(path)):
        for k, sid in enumerate(sids):
            for hook in template:
                calls._queue(replace(hook, at=hook.at + timedelta(minutes=k),
                                     params={**hook.params, "CallSid": sid}))
        assert calls.drain() == []  # the database is locked: nothing written, nothing told ...
        assert ledger.pending > 0
    time.sleep(FAST.max_retry)
    settle(ledger)  # ... and all of it once the lock is gone
    assert stored(factory) == Counter(dict.fromkeys(sids, 1))
    assert told == Counter(dict.fromkeys(sids, 1))
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(RawEventRow)) == 20 * len(template)
    engine.dispose()


def test_a_webhook_with_text_utf8_cannot_carry_is_stored_escaped(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'h.db'}")
    migrate(engine)
    factory = session_factory(engine)
    ledger, _told = ledger_for(factory)
    calls = TwilioCalls(VoiceConfig(base_url="http://127.0.0.1"), ledger, None, DutyBoard(None, [], ["first_line"]),
                        ManualClock(datetime(2024, 5, 7, 11, 0, tzinfo=TZ)))
    for hook in read_session(ROOT / "tests" / "fixtures" / "twilio" / "caller_hangs_up_waiting.jsonl"):
        calls._queue(replace(hook, params={**hook.params, "CallerName": "张\udcff三"}))
    assert [c.call_id for c in calls.drain()] == ["CAb2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2"]
    assert sum(stored(factory).values()) == 1
    with factory() as s:
        raws = s.scalars(select(RawEventRow.raw)).all()
    assert len(raws) == 4 and any(b"\\udcff" in raw for raw in raws)
    engine.dispose()




async def test_the_managers_on_duty_are_paged_once_when_the_database_stays_away(tmp_path: Path) -> None:
    path = tmp_path / "hotline.db"
    r = rig(f"sqlite:///{path}?timeout=0.05")
    try:
        sender = RecordingSender()
        alarm = DatabaseAlarm(sender, lambda at: r.roster.people(at, "manager"), r.clock,
                              asyncio.get_running_loop())
        alarm.refresh()  # while the database is there: 陈静 is the manager on duty
        ledger = Ledger(r.monitor.factory, clock=SystemClock(TZ),
                        policy=WritePolicy(first_retry=0.05, max_retry=0.1, alarm_after=0.5))
        ledger.writer.alarm_listeners.append(alarm)

        def outage() -> None:
            with sqlite_locked(str(path)):
                for i in range(30):  # 1.5 s away, three times the alarm threshold
                    ledger.apply(call_events(i, T0 + timedelta(seconds=i), missed=True))
                    ledger.flush()
                    time.sleep(0.05)
            settle(ledger)

        await asyncio.to_thread(outage)
        await asyncio.sleep(0.1)  # the page is delivered on the loop
        assert [(p.recipient.name, p.subject) for p, _ in sender.sent] == \
            [("陈静", "热线数据库不可用 / hotline database unavailable")]
        assert stored(r.monitor.factory) == Counter({f"f{i:05d}": 1 for i in range(30)})
    finally:
        r.dispose()


def test_twilio_requests_answered_before_a_crash_are_stored_at_the_next_start(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'hotline.db'}")
    migrate(engine)
    factory = session_factory(engine)
    journal = tmp_path / "twilio-journal.jsonl"
    template = list(read_session(ROOT / "tests" / "fixtures" / "twilio" / "caller_hangs_up_waiting.jsonl"))
    sids = [f"CA{i:032x}" for i in range(20)]

    def service() -> tuple[TwilioCalls, Counter[str]]:
        ledger, told = ledger_for(factory)
        return TwilioCalls(VoiceConfig(base_url="http://127.0.0.1"), ledger, None,
                           DutyBoard(None, [], ["first_line"]), ManualClock(datetime(2024, 5, 7, 11, 0, tzinfo=TZ)),
                           journal=Journal(journal)), told

    def answer(calls: TwilioCalls, some: list[str]) -> None:
        for k, sid in enumerate(some):
            for hook in template:
                calls._queue(replace(hook, at=hook.at + timedelta(minutes=k), params={**hook.params, "CallSid": sid}))

    first, _ = service()
    answer(first, sids[:10])
    first.drain()  # stored: its journal batch is gone
    assert [p.name for p in tmp_path.glob("twilio-journal*")] == []
    answer(first, sids[10:])  # answered 2xx, then kill -9 before the drain: only the journal has them
    second, told = service()
    assert second.recover_journal() == 10 * len(template)
    second.drain()
    assert stored(factory) == Counter(dict.fromkeys(sids, 1))
    assert told == Counter(dict.fromkeys(sids[10:], 1))
    assert [p.name for p in tmp_path.glob("twilio-journal*")] == []
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(RawEventRow)) == 20 * len(template)
    engine.dispose()
