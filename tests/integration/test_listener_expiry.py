"""Open calls do not live for ever: the listener checks them against CoreShowChannels periodically (not
only after a reconnect) and ends those the PBX no longer has, and calls older than the maximum call
age, as estimated. Newchannel events without a Hangup no longer pile up in memory."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select

from hotline.clock import SystemClock
from hotline.config import Settings
from hotline.providers.asterisk.client import AmiClient
from hotline.providers.asterisk.sim.server import (
    ConnectionScript,
    FakeAmiServer,
    Pause,
    Replay,
    ReplyItem,
    list_reply,
)
from hotline.runtime.assembly import AmiIngest, open_database, tracker_config
from hotline.runtime.listener import AmiListener
from hotline.services.calls.ledger import Ledger
from hotline.store.calls import CallRow


def newchannel(uid: str, at: float, state: str, caller: str, name: str = "张伟") -> bytes:
    lines = ["Event: Newchannel", "Privilege: call,all", f"Timestamp: {at:.6f}", f"Channel: PJSIP/trunk-{uid}",
             f"ChannelState: {state}", "ChannelStateDesc: " + ("Ring" if state == "4" else "Down"),
             f"CallerIDNum: {caller}", f"CallerIDName: {name}", "Context: from-trunk", "Exten: 4008001234",
             "Priority: 1", f"Uniqueid: {uid}", f"Linkedid: {uid}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def shown(uid: str) -> list[tuple[str, str]]:
    return [("Event", "CoreShowChannel"), ("Channel", f"PJSIP/trunk-{uid}"), ("Uniqueid", uid), ("Linkedid", uid),
            ("ChannelState", "4"), ("Exten", "4008001234"), ("Duration", "00:00:30")]


async def test_calls_the_pbx_no_longer_has_and_too_old_calls_end_as_estimated(settings: Settings,
                                                                               db_url: str) -> None:
    now = time.time()
    lost = [f"{now - 60:.0f}.{i}" for i in range(300)]  # their Hangup never came
    others = [f"{now - 60:.0f}.{1000 + i}" for i in range(300)]  # channels that are not hotline calls
    zombies = [f"{now - 5 * 3600:.0f}.{i}" for i in range(5)]  # still listed by the PBX, 5 hours old
    young = [f"{now - 30:.0f}.{2000 + i}" for i in range(3)]  # real calls in progress
    packets = [newchannel(u, now - 60, "4", f"1380013{i:04d}") for i, u in enumerate(lost)]
    packets += [newchannel(u, now - 60, "0", "8001") for u in others]
    packets += [newchannel(u, now - 5 * 3600, "4", "13900139005", "陈静") for u in zombies]
    packets += [newchannel(u, now - 30, "4", "010-12345678", "周强") for u in young]
    asked = [0]

    def channels() -> list[ReplyItem]:
        asked[0] += 1
        return list_reply("CoreShowChannels", [] if asked[0] == 1 else [shown(u) for u in zombies + young])

    server = FakeAmiServer([ConnectionScript([Replay(packets), Pause(60)])], secret="pw",
                           snapshots={"CoreShowChannels": channels, "QueueStatus": list_reply("QueueStatus", [])})
    await server.start()
    db = open_database(db_url)
    ledger = Ledger(db.factory)
    client = AmiClient("127.0.0.1", server.port, "hotline", "pw", raw_only=tracker_config(settings).raw_only())
    ingest = AmiIngest(settings, ledger, batch=100)
    listener = AmiListener(client, ingest, SystemClock(settings.tz), flush_interval=0.05, reconcile_seconds=0.5,
                           max_call_seconds=3600)
    task = asyncio.create_task(listener.run())
    try:
        async with asyncio.timeout(20):
            while set(ledger.open) != set(young) or ledger.stats["calls"] < len(lost) + len(zombies) + len(young):
                await asyncio.sleep(0.1)
    finally:
        await client.close()
        await task
        await server.stop()
    assert set(ingest.pipeline.tracker.channels) == set(young)
    assert set(ingest.pipeline.tracker.calls) == set(young)
    with db.factory() as s:
        rows = {r.call_id: r for r in s.scalars(select(CallRow))}
    assert set(rows) == set(lost + zombies + young)
    for uid in lost + zombies:
        assert rows[uid].ended_at is not None and rows[uid].estimated, uid
    assert all(rows[u].ended_at is None for u in young)
    db.engine.dispose()
