"""The database is the truth: a restart recomputes due steps from stored alerts (late steps fire at
once, once); the outbox sends each page once across crashes and across two processes."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from hotline.clock import ManualClock
from hotline.runtime.scheduler import MonitorJobs
from hotline.services.monitor.virtual_run import advance
from hotline.store.alerts import OutboxRow, PageAttemptRow
from hotline.store.base import unit_of_work
from tests.integration.monitor_fakes import CHEN, MIN, T0, TZ, WANG, ZHANG, RecordingSender, missed, rig

CALLER = "13800138002"


class NoScheduler:
    """Stands in for APScheduler where only the jobs' effect matters (the manual clock drives time)."""

    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, object]] = {}

    def add_job(self, func: object, trigger: str, **kw: object) -> None:
        self.jobs[str(kw["id"])] = {"trigger": trigger, **kw}


async def test_restart_at_minute_7_fires_the_5_minute_step_once_at_start_up(db_url: str) -> None:
    sender = RecordingSender()
    first = rig(db_url)
    first.monitor.on_call(missed(CALLER, T0))
    await advance(first.monitor, first.clock, T0 + 3 * MIN, first.outbox, sender)
    first.dispose()  # hotline stops at minute 3

    second = rig(db_url, clock=ManualClock(T0 + 7 * MIN, TZ), upgrade=True)  # and starts again at minute 7
    try:
        scheduler = NoScheduler()
        jobs = MonitorJobs(scheduler, second.monitor, second.outbox, sender)
        jobs.start()
        assert scheduler.jobs["monitor-tick"]["next_run_time"] == T0 + 7 * MIN  # runs at once
        report = await jobs.run()  # the start-up run
        assert report.actions == 1 and report.next_due == T0 + 10 * MIN
        assert scheduler.jobs["monitor-due"]["run_date"] == T0 + 10 * MIN
        again = await jobs.run()  # a second run at the same moment changes nothing
        assert again.actions == 0 and again.delivered == ()
        await advance(second.monitor, second.clock, T0 + 20 * MIN, second.outbox, sender)
        pages = [(e.at - T0, e.person) for e in second.monitor.events() if e.type == "page"]
        # the late step goes to who is on duty when it fires: 王强 took over second line at minute 7
        assert pages == [(timedelta(0), ZHANG.name), (7 * MIN, WANG.name), (10 * MIN, CHEN.name)]
        assert [(e.type, e.at - T0) for e in second.monitor.events() if e.type == "breach"] == [("breach", 15 * MIN)]
        assert [p.recipient.name for p, _ in sender.sent] == [ZHANG.name, WANG.name, CHEN.name]
        assert len(set(sender.keys)) == 3
    finally:
        second.dispose()


async def test_crash_between_decided_and_sent_resends_exactly_once(db_url: str) -> None:
    r = rig(db_url)
    try:
        r.monitor.on_call(missed(CALLER, T0))  # decided: one pending page
        claimed = r.outbox.claim()  # a process takes it ... and dies before sending
        assert len(claimed) == 1
        sender = RecordingSender()
        assert await r.outbox.drain(sender) == []  # its lease still holds: nobody else sends it
        r.clock.set(T0 + 3 * MIN)  # the lease (2 min) ran out
        delivered = await r.outbox.drain(sender)
        assert [d.status for d in delivered] == ["sent"]
        assert await r.outbox.drain(sender) == []
        assert len(sender.sent) == 1
        with unit_of_work(r.monitor.factory) as s:
            row = s.scalars(select(OutboxRow)).one()
            assert (row.status, row.attempts) == ("sent", 2)
    finally:
        r.dispose()


async def test_failed_channel_is_retried_and_every_attempt_stored(db_url: str) -> None:
    r = rig(db_url)
    try:
        r.monitor.on_call(missed(CALLER, T0))
        failing = RecordingSender(failing=frozenset({"sms"}))
        delivered = await r.outbox.drain(failing)
        assert [d.status for d in delivered] == ["pending"]  # retry later
        r.clock.set(T0 + 2 * MIN)
        delivered = await r.outbox.drain(RecordingSender())
        assert [d.status for d in delivered] == ["sent"]
        with unit_of_work(r.monitor.factory) as s:
            attempts = s.scalars(select(PageAttemptRow).order_by(PageAttemptRow.id)).all()
            assert [(a.channel, a.ok, a.error) for a in attempts] == [("sms", False, "boom"), ("sms", True, None)]
    finally:
        r.dispose()


def test_two_processes_never_send_the_same_page_twice(db_url: str) -> None:
    rigs = [rig(db_url, upgrade=(i == 0)) for i in range(2)]
    try:
        for n in range(40):
            rigs[n % 2].monitor.on_call(missed(f"1380013{n:04d}", T0, f"m{n}"))
            rigs[(n + 1) % 2].monitor.on_call(missed(f"1380013{n:04d}", T0, f"m{n}"))  # heard by both
        for r in rigs:
            r.clock.set(T0 + 11 * MIN)
        senders = [RecordingSender(), RecordingSender()]
        errors: list[BaseException] = []

        def work(i: int) -> None:
            try:
                rigs[i].monitor.tick()
                asyncio.run(_drain_all(rigs[i].outbox, senders[i]))
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        rigs[0].monitor.tick()
        asyncio.run(_drain_all(rigs[0].outbox, senders[0]))
        keys = Counter(senders[0].keys + senders[1].keys)
        assert len(keys) == 40 * 3 and set(keys.values()) == {1}  # first, second line, manager; each once
        # the 5-minute step fires late (minute 11), after the second-line shift change at minute 7
        assert {p.recipient.name for s in senders for p, _ in s.sent} == {ZHANG.name, WANG.name, CHEN.name}
        assert len(rigs[0].monitor.alerts("open")) == 40
    finally:
        for r in rigs:
            r.dispose()


async def _drain_all(outbox: object, sender: RecordingSender) -> None:
    from hotline.services.monitor.outbox import Outbox

    assert isinstance(outbox, Outbox)
    while await outbox.drain(sender, limit=7):
        pass
