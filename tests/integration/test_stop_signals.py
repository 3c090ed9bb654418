"""SIGTERM (systemd, docker stop) stops `listen`, `serve` and `demo` as cleanly as Ctrl-C: the last calls
written, a summary printed, exit 0; the time a listener is not running (clean stop or kill -9) is
recorded as a listener outage; the demo ends the calls its simulated PBX took with it, as estimated."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from sqlalchemy import func, inspect, select

from hotline.providers.asterisk.sim.server import ConnectionScript, FakeAmiServer, Pause, Recording, Replay
from hotline.store.base import make_engine, session_factory
from hotline.store.calls import CallRow, HeartbeatRow, OutageRow
from tests.truth import FIXTURES

ROOT = Path(__file__).resolve().parent.parent.parent
CONFIG = str(ROOT / "config" / "hotline.toml")


def count(url: str, stmt: object) -> int:
    engine = make_engine(url)
    try:
        if "calls" not in inspect(engine).get_table_names():
            return 0
        with session_factory(engine)() as s:
            return int(s.scalar(stmt) or 0)  # type: ignore[call-overload]
    finally:
        engine.dispose()


async def wait_for(url: str, stmt: object, at_least: int, seconds: float = 40) -> None:
    async with asyncio.timeout(seconds):
        while await asyncio.to_thread(count, url, stmt) < at_least:
            await asyncio.sleep(0.2)


async def start(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "hotline", *args, "--config", CONFIG, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def stop(proc: asyncio.subprocess.Process, sig: int = signal.SIGTERM) -> str:
    proc.send_signal(sig)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    return (out + err).decode()


ENDED = select(func.count()).select_from(CallRow).where(CallRow.ended_at.is_not(None))
OPEN_OUTAGES = select(func.count()).select_from(OutageRow).where(OutageRow.ended_at.is_(None))
CLOSED_OUTAGES = select(func.count()).select_from(OutageRow).where(OutageRow.ended_at.is_not(None))
BEATS = select(func.count()).select_from(HeartbeatRow)


async def test_listen_stops_cleanly_on_sigterm_and_a_restart_is_an_outage(tmp_path: Path) -> None:
    rec = Recording.load(FIXTURES / "answered_caller_hangup.ami")
    scripts = [ConnectionScript(steps=[Replay(rec.events), Pause(60)]), ConnectionScript(steps=[Pause(60)]),
               ConnectionScript(steps=[Pause(60)]), ConnectionScript(steps=[Pause(60)])]
    server = FakeAmiServer(scripts, secret="pw")
    await server.start()
    url = f"sqlite:///{tmp_path / 'h.db'}"
    env = {**os.environ, "HOTLINE_AMI_PORT": str(server.port), "HOTLINE_AMI_SECRET": "pw", "HOTLINE_DATABASE_URL": url}
    try:
        proc = await start("listen", env=env)
        await wait_for(url, ENDED, 1)
        text = await stop(proc)
        assert proc.returncode == 0, text
        assert "SIGTERM" in text and "stopped" in text
        assert await asyncio.to_thread(count, url, OPEN_OUTAGES) == 1  # the listener is away from now

        proc = await start("listen", env=env)  # back: the outage ends at its first connect
        await wait_for(url, CLOSED_OUTAGES, 1)
        assert await asyncio.to_thread(count, url, OPEN_OUTAGES) == 0
        await wait_for(url, BEATS, 1)
        proc.kill()  # kill -9: no clean stop, nothing written on the way out
        await proc.wait()

        proc = await start("listen", env=env)  # the crash is an outage from the last heartbeat
        await wait_for(url, CLOSED_OUTAGES, 2)
        text = await stop(proc, signal.SIGINT)
        assert proc.returncode == 130, text
    finally:
        await server.stop()
    engine = make_engine(url)
    with session_factory(engine)() as s:
        outages = s.scalars(select(OutageRow).order_by(OutageRow.id)).all()
        assert s.scalar(ENDED) == 1
    engine.dispose()
    assert ["SIGTERM" in (o.reason or "") for o in outages] == [True, False, False]
    assert "without a clean stop" in (outages[1].reason or "") and outages[1].ended_at is not None
    assert outages[2].ended_at is None and "SIGINT" in (outages[2].reason or "")


async def test_serve_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    import socket

    rec = Recording.load(FIXTURES / "answered_caller_hangup.ami")
    server = FakeAmiServer([ConnectionScript(steps=[Replay(rec.events), Pause(60)])], secret="pw")
    await server.start()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"sqlite:///{tmp_path / 'h.db'}"
    env = {**os.environ, "HOTLINE_AMI_PORT": str(server.port), "HOTLINE_AMI_SECRET": "pw", "HOTLINE_DATABASE_URL": url,
           "HOTLINE_API_PORT": str(port), "HOTLINE_API_LINK_KEY": "k" * 32}
    try:
        proc = await start("serve", env=env)
        await wait_for(url, ENDED, 1)
        text = await stop(proc)
    finally:
        await server.stop()
    assert proc.returncode == 0, text
    assert "stopped (SIGTERM)" in text and "Traceback" not in text
    assert await asyncio.to_thread(count, url, OPEN_OUTAGES) == 1


async def test_demo_stops_on_sigterm_and_ends_its_open_calls_as_estimated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    proc = await start("demo", "--no-api", "--speed", "60", "--calls-per-hour", "600", "--seed", "7", "--db", url,
                       env=dict(os.environ))
    await wait_for(url, ENDED, 2, seconds=60)
    text = await stop(proc)
    assert proc.returncode == 0, text
    assert "calls recorded" in text
    engine = make_engine(url)
    with session_factory(engine)() as s:
        still_open = s.scalar(select(func.count()).select_from(CallRow).where(CallRow.ended_at.is_(None)))
        total = s.scalar(select(func.count()).select_from(CallRow))
    engine.dispose()
    assert still_open == 0 and total and total >= 2
