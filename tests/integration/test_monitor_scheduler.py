"""The APScheduler wiring on the wall clock: a step due in a moment fires on time through the date
job, and a step already late at start-up fires in the start-up run. Short real waits (about 1 s)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select

from hotline.clock import SystemClock
from hotline.config import ConfigError, Settings
from hotline.domain.rules import Chain, Rule, RuleBook, Step
from hotline.paging.base import Page, SendResult
from hotline.runtime.assembly import open_database
from hotline.runtime.scheduler import MonitorJobs, start_monitor
from hotline.services.calls.ledger import Ledger
from hotline.services.monitor.engine import MonitorOptions, MonitorService
from hotline.services.monitor.outbox import Outbox
from hotline.store.alerts import OutboxRow
from hotline.store.base import make_engine, migrate, session_factory
from tests.integration.monitor_fakes import TZ, FakeRoster, RecordingSender, day_roster, missed

SEC = timedelta(seconds=1)


def fast_rules() -> RuleBook:
    chain = Chain(deadline=30 * SEC, steps=(Step(0 * SEC, "first_line"), Step(1 * SEC, "second_line")))
    return RuleBook({"no_answer": Rule("no_answer", {"onsite": chain, "remote": chain, "holiday": chain},
                                       outcomes=frozenset({"abandoned"}))})


async def test_steps_fire_on_time_through_the_scheduler(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    factory = session_factory(engine)
    clock = SystemClock(TZ)
    roster: FakeRoster = day_roster()
    start = clock.now()
    roster.shifts = [(t, p, start - timedelta(days=1), start + timedelta(days=1)) for t, p, _, _ in roster.shifts
                     if p.name != "王强"]
    monitor = MonitorService(factory, fast_rules(), roster, clock, options=MonitorOptions(tz=TZ))
    sender = RecordingSender()
    scheduler = AsyncIOScheduler(timezone=TZ)
    jobs = MonitorJobs(scheduler, monitor, Outbox(factory, clock), sender, tick_seconds=60)
    monitor.on_call(missed("13800138002", clock.now() - 2 * SEC, "late"))  # opened 2 s ago: 1-s step is late
    scheduler.start()
    jobs.start()
    try:
        await asyncio.sleep(0.3)
        opened = clock.now()
        monitor.on_call(missed("13800138099", opened, "fresh"))  # wakes the date job
        await asyncio.sleep(1.6)
        events = monitor.events()
        fresh = [e for e in events if e.caller == "13800138099" and e.type == "page"]
        assert [e.tier for e in fresh] == ["first_line", "second_line"]
        lateness = fresh[1].at - (opened + SEC)
        assert timedelta(0) <= lateness < 0.5 * SEC
        late = [e.tier for e in events if e.caller == "13800138002" and e.type == "page"]
        assert late == ["first_line", "second_line"]
        assert len(sender.sent) == 4 and len(set(sender.keys)) == 4
    finally:
        scheduler.shutdown(wait=False)
        engine.dispose()


async def test_start_monitor_wires_ledger_jobs_and_needs_the_link_key(settings: Settings, db_url: str) -> None:
    db = open_database(db_url)
    try:
        ledger = Ledger(db.factory)
        live: dict[str, object] = {}
        with pytest.raises(ConfigError, match="HOTLINE_API_LINK_KEY"):
            start_monitor(settings, db.factory, ledger, live, env={})
        keyed = replace(settings, api=replace(settings.api, link_key="k" * 32))
        jobs = start_monitor(keyed, db.factory, ledger, live, env={})
        try:
            assert live["monitor"] is jobs.monitor and jobs.monitor.on_call in ledger.listeners
            assert jobs.monitor.links is not None
            report = await jobs.run()
            assert report.actions == 0 and report.next_due is None
        finally:
            jobs.scheduler.shutdown(wait=False)
    finally:
        db.engine.dispose()


class SlowSender(RecordingSender):
    """A voice page ringing: every delivery takes `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    async def deliver(self, page: Page, order: Sequence[str] | None = None) -> list[SendResult]:
        await asyncio.sleep(self.seconds)
        return await super().deliver(page, order)


async def test_a_slow_page_finishes_in_the_background_and_does_not_hold_the_engine(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    factory = session_factory(engine)
    clock = SystemClock(TZ)
    monitor = MonitorService(factory, fast_rules(), day_roster(), clock, options=MonitorOptions(tz=TZ))
    outbox = Outbox(factory, clock)
    jobs = MonitorJobs(AsyncIOScheduler(timezone=TZ), monitor, outbox, SlowSender(1.0), drain_wait=0.1)
    try:
        monitor.on_call(missed("13800138002", clock.now(), "slow"))
        started = asyncio.get_running_loop().time()
        report = await jobs.run()
        assert asyncio.get_running_loop().time() - started < 0.8  # not the 1 s the page takes
        assert report.delivered == ()
        with factory() as s:
            assert s.scalars(select(OutboxRow.status)).all() == ["sending"]  # leased: nobody else sends it
        await asyncio.sleep(1.2)
        with factory() as s:
            assert s.scalars(select(OutboxRow.status)).all() == ["sent"]
        assert not jobs._background
    finally:
        engine.dispose()
