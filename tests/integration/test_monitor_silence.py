"""The hotline going silent pages too: AMI down (from the listener's outages), Twilio quiet, a queue
with nobody available on site; the alert clears when the condition ends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from hotline.services.monitor.silence import HotlineStatus, SilenceWatch, store_status
from hotline.store.base import unit_of_work
from hotline.store.calls import OutageRow
from tests.integration.monitor_fakes import MIN, T0, TZ, ZHANG, Rig, rig


@pytest.fixture
def r(db_url: str) -> Iterator[Rig]:
    rig_ = rig(db_url)
    yield rig_
    rig_.dispose()


def test_ami_outage_pages_after_the_threshold_and_clears_when_back(r: Rig) -> None:
    with unit_of_work(r.monitor.factory) as s:
        s.add(OutageRow(provider="asterisk", started_at=T0, reason="connection refused"))
    watch = SilenceWatch(r.monitor, store_status(r.monitor.factory, twilio_in_use=False))
    r.clock.set(T0 + MIN)
    assert watch.check() == []  # under the 2-minute threshold
    r.clock.set(T0 + 2 * MIN)
    assert watch.check() == ["open ami"]
    assert watch.check() == []  # one alert per outage
    events = r.monitor.events()
    assert [(e.type, e.caller, e.person) for e in events] == [("alert", "ami", None), ("page", "ami", ZHANG.name)]
    with unit_of_work(r.monitor.factory) as s:
        for row in s.query(OutageRow).all():
            row.ended_at = T0 + 3 * MIN
    r.clock.set(T0 + 3 * MIN)
    assert watch.check() == ["clear ami"]
    assert r.monitor.alerts("open") == []


def test_twilio_silence_and_empty_queue(r: Rig) -> None:
    status = HotlineStatus(twilio_last_seen=T0 - 61 * MIN, queues_empty_since={"network": T0 - 6 * MIN})
    watch = SilenceWatch(r.monitor, lambda: status)
    assert sorted(watch.check()) == ["open queue:network", "open twilio"]
    status = HotlineStatus(twilio_last_seen=T0)
    assert sorted(watch.check()) == ["clear queue:network", "clear twilio"]


def test_empty_queue_pages_only_during_on_site_hours(db_url: str) -> None:
    evening = datetime(2026, 11, 23, 20, 0, tzinfo=TZ)
    r = rig(db_url, start=evening)
    try:
        watch = SilenceWatch(r.monitor, lambda: HotlineStatus(queues_empty_since={"network": evening - 30 * MIN}))
        assert watch.check() == []
    finally:
        r.dispose()
