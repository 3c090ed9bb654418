"""The real listener (client + snapshot + ingest + store) against a fake AMI server on a real TCP
socket serving recorded fixture bytes: drops mid-call, reconnects, and the ledger ends complete and
without duplicates. A refused login is a clear error and a non-zero exit."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hotline.clock import ManualClock, SystemClock
from hotline.config import Settings
from hotline.providers.asterisk.client import AmiClient
from hotline.providers.asterisk.sim.server import (
    FakeAmiServer,
    Recording,
    SnapshotSource,
    list_reply,
    replay_with_drop,
)
from hotline.runtime.assembly import AmiIngest, open_database, tracker_config
from hotline.runtime.listener import AmiListener
from hotline.services.calls.ledger import Ledger
from hotline.store.calls import CallRow, OutageRow
from tests.integration.ami_snapshot import snapshot_at
from tests.truth import FIXTURES, mismatches, truth_for

ROOT = Path(__file__).resolve().parent.parent.parent


def lists(items: dict[str, list[list[tuple[str, str]]]]) -> dict[str, SnapshotSource]:
    return {name: list_reply(name, entries) for name, entries in items.items()}


async def run_listener(settings: Settings, db_url: str, server: FakeAmiServer, expect_calls: int,
                       clock_at: float) -> tuple[AmiListener, Ledger]:
    db = open_database(db_url)
    ledger = Ledger(db.factory)
    client = AmiClient("127.0.0.1", server.port, "hotline", "pw", ping_interval=1.0, ping_timeout=1.0,
                       reconnect_initial=0.05, reconnect_max=0.2, raw_only=tracker_config(settings).raw_only())
    clock = ManualClock(SystemClock(settings.tz).now())
    clock.set(clock.now().fromtimestamp(clock_at, settings.tz))
    listener = AmiListener(client, AmiIngest(settings, ledger, batch=50), clock, flush_interval=0.05)
    task = asyncio.create_task(listener.run())
    try:
        async with asyncio.timeout(20):
            while True:
                with db.factory() as s:
                    n = s.scalar(select(func.count()).select_from(CallRow).where(CallRow.ended_at.is_not(None)))
                if n is not None and n >= expect_calls and server.connections and len(server.connections) >= 2:
                    break
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # a chance for anything extra (duplicates) to show up
    finally:
        await client.close()
        await task
    return listener, ledger


@pytest.mark.parametrize("resume_gap", [0, 250], ids=["no-loss", "events-lost-in-outage"])
async def test_drop_mid_call_and_reconnect_leaves_a_complete_ledger(
        settings: Settings, db_url: str, resume_gap: int) -> None:
    trace = "reconnect_snapshot.monitor.ami"
    rec = Recording.load(FIXTURES / trace)
    drop = 150  # all three calls are up: c1 in its queue, c2 and c3 ringing/joining
    resume = drop + resume_gap
    empty = lists({"CoreShowChannels": [], "QueueStatus": []})
    at_resume = lists(snapshot_at(rec.events, resume))
    scripts = replay_with_drop(rec.events, drop_after=drop, resume_from=resume, linger=0.3,
                               snapshots=[empty, at_resume])
    server = FakeAmiServer(scripts, secret="pw", fully_booted=False)
    await server.start()
    try:
        last_ts = max(float(line.split(b": ")[1]) for raw in rec.events[:resume]
                      for line in raw.split(b"\r\n") if line.startswith(b"Timestamp: "))
        listener, ledger = await run_listener(settings, db_url, server, 3, last_ts)
    finally:
        await server.stop()
    assert listener.connects == 2
    db = open_database(db_url)
    with db.factory() as s:
        rows = s.scalars(select(CallRow)).all()
        outages = s.scalars(select(OutageRow)).all()
    assert len(rows) == 3  # no call lost, none twice
    truth = {c["caller_uniqueid"]: c for c in truth_for(trace)["calls"]}
    tolerance = 0.5 if resume_gap == 0 else 1.0
    for row in rows:
        got = {"direction": row.direction, "outcome": row.outcome, "caller": row.caller, "called": row.called,
               "queue": row.queue, "answered_by": row.answered_by, "hung_up_by": row.hung_up_by,
               "caller_name": row.caller_name, "wait_seconds": row.wait_seconds, "talk_seconds": row.talk_seconds}
        want = truth[row.call_id]
        bad = mismatches(got, want, tolerance)
        if resume_gap:
            # Events lost in the outage: who answered and the outcome come from the snapshot; the exact
            # ring time of a call answered while we were away cannot be known.
            bad.pop("wait_seconds", None)
        assert bad == {}, row.call_id
    assert len(outages) == 1 and outages[0].ended_at is not None
    assert not ledger.open


async def test_refused_login_is_a_clear_error_and_exit_3(tmp_path: Path) -> None:
    server = FakeAmiServer([], secret="right-secret")
    from hotline.providers.asterisk.sim.server import ConnectionScript

    server.script = [ConnectionScript(login="reject")]
    await server.start()
    env = {**os.environ, "HOTLINE_AMI_PORT": str(server.port), "HOTLINE_AMI_SECRET": "wrong-secret-123",
           "HOTLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}"}
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hotline", "listen", "--config", str(ROOT / "config" / "hotline.toml"),
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        await server.stop()
    text = (out + err).decode()
    assert proc.returncode == 3
    assert "login failed" in text and f"127.0.0.1:{server.port}" in text
    assert "wrong-secret-123" not in text
    assert len(server.connections) == 1  # no retry storm


async def test_listen_prints_calls_with_the_caller_number_masked(tmp_path: Path) -> None:
    from hotline.providers.asterisk.sim.server import ConnectionScript, Recording, Replay

    rec = Recording.load(FIXTURES / "abandoned_in_queue.ami")  # caller 13800138002
    server = FakeAmiServer([ConnectionScript([Replay(rec.events)])], secret="pw")
    await server.start()
    env = {**os.environ, "HOTLINE_AMI_PORT": str(server.port), "HOTLINE_AMI_SECRET": "pw",
           "HOTLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hotline", "listen", "--config", str(ROOT / "config" / "hotline.toml"),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        await server.stop()
    assert "abandoned" in line and "138****8002" in line
    assert "13800138002" not in line + out.decode() + err.decode()
