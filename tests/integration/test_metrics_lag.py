"""/metrics: the AMI events' lag (the PBX's Timestamp to receipt, receipt to stored) measured by the real
listener reading a recorded trace from the fake AMI server over TCP, and the scheduler's lateness from a
real APScheduler; both scraped over HTTP and parsed with prometheus_client's parser."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from hotline.api.app import create_app
from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.providers.asterisk.client import AmiClient
from hotline.providers.asterisk.sim.server import ConnectionScript, FakeAmiServer, Recording, Replay
from hotline.runtime.assembly import AmiIngest, open_database, tracker_config
from hotline.runtime.listener import AmiListener
from hotline.runtime.timings import LagHistogram, SchedulerLateness
from hotline.services.access.sessions import TokenService
from hotline.services.calls.ledger import Ledger
from hotline.store.calls import CallRow
from tests.signin import BASE_URL, add_account
from tests.truth import FIXTURES

LAG = 2.5  # the listener's clock reads this long after the trace's last event


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(settings: Settings, factory: Any, clock: ManualClock, live: dict[str, Any]) -> Samples:
    app = create_app(settings, factory, clock, live=live)
    add_account(factory, "prometheus", "viewer")
    token, _ = TokenService(factory, clock).issue("prometheus", "scrape", "viewer")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL,
                                 headers={"Authorization": f"Bearer {token}"}) as client:
        resp = await client.get("/metrics")
    assert resp.status_code == 200
    out: Samples = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def timestamps(events: list[bytes]) -> list[float]:
    return [float(line.split(b": ")[1]) for raw in events for line in raw.split(b"\r\n")
            if line.startswith(b"Timestamp: ")]


async def test_ami_event_lag_and_store_lag_are_measured_and_exported(settings: Settings, db_url: str) -> None:
    rec = Recording.load(FIXTURES / "answered_agent_hangup.ami")
    stamps = timestamps(rec.events)
    assert len(stamps) > 10
    server = FakeAmiServer([ConnectionScript([Replay(rec.events)])], secret="pw")
    await server.start()
    db = open_database(db_url)
    clock = ManualClock(datetime.fromtimestamp(max(stamps) + LAG, UTC), settings.tz)
    client = AmiClient("127.0.0.1", server.port, "hotline", "pw", ping_interval=5.0, ping_timeout=5.0,
                       raw_only=tracker_config(settings).raw_only())
    listener = AmiListener(client, AmiIngest(settings, Ledger(db.factory), batch=50), clock, flush_interval=0.05,
                           reconcile_seconds=None)
    task = asyncio.create_task(listener.run())
    try:
        async with asyncio.timeout(15):
            while listener.event_lag.count < len(stamps) or listener.store_lag.count == 0:
                await asyncio.sleep(0.05)
    finally:
        await client.close()
        await task
        await server.stop()
    with db.factory() as s:
        assert s.scalar(select(func.count()).select_from(CallRow)) == 1
    live = {"ami_listener": listener, "listener": listener.status}
    m = await scrape(settings, db.factory, clock, live)
    count = m[("hotline_ami_event_lag_seconds_count", ())]
    assert count == len(stamps) == m[("hotline_ami_event_lag_seconds_bucket", (("le", "+Inf"),))]
    want = sum(max(stamps) + LAG - t for t in stamps)
    assert m[("hotline_ami_event_lag_seconds_sum", ())] == pytest.approx(want, rel=1e-6)
    # every event came LAG s or more after its time, and the trace lasts under a minute
    assert m[("hotline_ami_event_lag_seconds_bucket", (("le", "1"),))] == 0
    assert m[("hotline_ami_event_lag_seconds_bucket", (("le", "60"),))] == len(stamps)
    # the manual clock stands still: each stored batch waited 0 s by it
    assert m[("hotline_ami_store_lag_seconds_count", ())] >= 1
    assert m[("hotline_ami_store_lag_seconds_sum", ())] == 0
    db.engine.dispose()


async def test_scheduler_lateness_and_misses_are_exported(settings: Settings, db_url: str) -> None:
    db = open_database(db_url)
    lateness = SchedulerLateness()
    scheduler = AsyncIOScheduler(timezone=settings.tz)
    lateness.watch(scheduler)
    ran = asyncio.Event()
    now = datetime.now(UTC)
    scheduler.add_job(ran.set, "date", run_date=now - timedelta(seconds=3), misfire_grace_time=None, id="late")
    scheduler.add_job(lambda: None, "date", run_date=now - timedelta(seconds=30), misfire_grace_time=1, id="missed")
    scheduler.start()
    try:
        async with asyncio.timeout(10):
            await ran.wait()
            while lateness.missed == 0:
                await asyncio.sleep(0.02)
    finally:
        scheduler.shutdown(wait=False)
    clock = ManualClock(now, settings.tz)
    m = await scrape(settings, db.factory, clock, {"scheduler_lateness": lateness})
    # both runs were submitted late: 3 s (then run) and 30 s (then dropped as missed)
    assert m[("hotline_scheduler_lateness_seconds_count", ())] == 2
    assert 33.0 <= m[("hotline_scheduler_lateness_seconds_sum", ())] < 45.0
    assert m[("hotline_scheduler_lateness_seconds_bucket", (("le", "2.5"),))] == 0
    assert m[("hotline_scheduler_lateness_seconds_bucket", (("le", "5"),))] == 1
    assert m[("hotline_scheduler_lateness_seconds_bucket", (("le", "30"),))] == 1
    assert m[("hotline_scheduler_lateness_seconds_bucket", (("le", "60"),))] == 2
    assert m[("hotline_scheduler_missed_total", ())] == 1
    db.engine.dispose()


def test_lag_histogram_counts_cumulatively_and_clamps_clock_skew() -> None:
    h = LagHistogram(buckets=(0.1, 1.0))
    for seconds in (0.05, 0.5, 3.0, -2.0):
        h.observe(seconds)
    buckets, count, total = h.snapshot()
    assert buckets == [("0.1", 2), ("1", 3), ("+Inf", 4)] and count == 4
    assert total == pytest.approx(3.55) and h.last == 0.0
