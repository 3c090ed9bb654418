"""A queue with no available member during on-site hours pages: the real listener over TCP to a fake AMI
server sends QueueMemberStatus events (raw-only in the parser), the listener's queue-member tracker is
the silence watch's probe, and after `queue_empty_after` (5m in monitors/silence.yaml) a silence alert
opens and its page goes out; staffed again before the threshold, nothing opens."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime

import pytest

from hotline.config import Settings
from hotline.providers.asterisk.client import AmiClient
from hotline.providers.asterisk.sim.server import FakeAmiServer, event, list_reply
from hotline.runtime.assembly import AmiIngest, open_database, tracker_config
from hotline.runtime.listener import AmiListener
from hotline.services.calls.ledger import Ledger
from hotline.services.monitor.silence import SilenceWatch, store_status
from tests.integration.monitor_fakes import MIN, T0, ZHANG, RecordingSender, Rig, rig

AGENTS = {"apps": ["agent3", "agent4"], "network": ["agent1", "agent2"]}


def member_item(queue: str, agent: str, status: str) -> list[tuple[str, str]]:
    loc = f"Local/{agent}@agents/n"
    return [("Event", "QueueMember"), ("Queue", queue), ("Name", agent), ("Location", loc),
            ("StateInterface", loc), ("Membership", "static"), ("InCall", "0"), ("Status", status),
            ("Paused", "0")]


def member_status(queue: str, agent: str, status: str, at: datetime, paused: str = "0") -> list[tuple[str, str]]:
    loc = f"Local/{agent}@agents/n"
    return event("QueueMemberStatus", ("Queue", queue), ("MemberName", agent), ("Interface", loc),
                 ("StateInterface", loc), ("Membership", "static"), ("InCall", "0"), ("Status", status),
                 ("Paused", paused), ("PausedReason", ""), timestamp=at.timestamp())


@dataclass
class Desk:
    rig: Rig
    server: FakeAmiServer
    listener: AmiListener
    watch: SilenceWatch


@pytest.fixture
def monitor_rig(db_url: str) -> Iterator[Rig]:
    r = rig(db_url)  # Monday 13:48, on-site hours
    yield r
    r.dispose()


@pytest.fixture
async def desk(settings: Settings, db_url: str, monitor_rig: Rig) -> AsyncIterator[Desk]:
    """Every queue staffed at login (the QueueStatus snapshot), then the listener running."""
    items = [member_item(q, a, "1") for q, agents in AGENTS.items() for a in agents]
    server = FakeAmiServer(secret="pw", snapshots={"QueueStatus": list_reply("QueueStatus", items)})
    await server.start()
    db = open_database(db_url)
    client = AmiClient("127.0.0.1", server.port, "hotline", "pw", ping_interval=5.0,
                       raw_only=tracker_config(settings).raw_only())
    listener = AmiListener(client, AmiIngest(settings, Ledger(db.factory), batch=50), monitor_rig.clock,
                           flush_interval=0.05)
    task = asyncio.create_task(listener.run())
    watch = SilenceWatch(monitor_rig.monitor, store_status(monitor_rig.monitor.factory, twilio_in_use=False,
                                                           queues_empty_since=listener.queue_members.empty_queues))
    try:
        await server.wait_for_logins(1)
        await wait_for(lambda: listener.status.get("last_snapshot") is not None)
        yield Desk(monitor_rig, server, listener, watch)
    finally:
        await client.close()
        await task
        await server.stop()
        db.engine.dispose()


async def wait_for(predicate: object, timeout: float = 5.0) -> None:
    assert callable(predicate)
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


async def test_empty_queue_pages_after_the_threshold(desk: Desk) -> None:
    r = desk.rig
    assert desk.listener.queue_members.empty_queues() == {}  # seeded staffed from the snapshot
    went = T0
    await desk.server.feed([member_status("apps", "agent3", "5", went),  # logged off / unreachable
                            member_status("apps", "agent4", "1", went, paused="1")])  # paused
    await wait_for(lambda: desk.listener.queue_members.empty_since("apps") is not None)
    assert desk.listener.queue_members.empty_queues() == {"apps": went}
    r.clock.set(went + 4 * MIN)
    assert desk.watch.check() == []  # under queue_empty_after (5m)
    r.clock.set(went + 5 * MIN)
    assert desk.watch.check() == ["open queue:apps"]
    assert desk.watch.check() == []  # one alert per empty spell
    [alert] = r.monitor.alerts("open")
    assert alert.caller == "queue:apps" and alert.title is not None and "apps" in alert.title
    sender = RecordingSender()
    delivered = await r.outbox.drain(sender)
    assert [(p.alert_id, p.recipient.name) for p, _ in sender.sent] == [(alert.alert_id, ZHANG.name)]
    assert len(delivered) == 1
    # agent3 back: the condition ended, the alert clears
    await desk.server.feed([member_status("apps", "agent3", "1", went + 6 * MIN)])
    await wait_for(lambda: desk.listener.queue_members.empty_since("apps") is None)
    r.clock.set(went + 6 * MIN)
    assert desk.watch.check() == ["clear queue:apps"]
    assert r.monitor.alerts("open") == []


async def test_staffed_again_before_the_threshold_pages_nobody(desk: Desk) -> None:
    r = desk.rig
    went = T0
    await desk.server.feed([member_status("apps", "agent3", "5", went), member_status("apps", "agent4", "5", went)])
    await wait_for(lambda: desk.listener.queue_members.empty_since("apps") is not None)
    r.clock.set(went + 3 * MIN)
    assert desk.watch.check() == []
    await desk.server.feed([member_status("apps", "agent4", "2", went + 4 * MIN)])  # back, on a call: staffed
    await wait_for(lambda: desk.listener.queue_members.empty_since("apps") is None)
    r.clock.set(went + 10 * MIN)
    assert desk.watch.check() == []
    assert r.monitor.alerts("all") == []
    sender = RecordingSender()
    assert await r.outbox.drain(sender) == [] and sender.sent == []
