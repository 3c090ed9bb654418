"""`hotline demo`: a simulated PBX on loopback speaking AMI, the real listener connected to it over
TCP, the ledger filling live on screen and on the dashboard. Entry-point level (used by the CLI)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
import socket
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from hotline.clock import ScaledClock, SystemClock
from hotline.config import Settings
from hotline.domain.calls import Call
from hotline.providers.asterisk.client import AmiClient, AmiLoginFailed
from hotline.providers.asterisk.sim.server import FakeAmiServer
from hotline.providers.asterisk.sim.traffic import TrafficGenerator
from hotline.runtime.api_socket import bound_port
from hotline.runtime.assembly import AmiIngest, ensure_roster, keep_rollup, open_database, tracker_config
from hotline.runtime.listener import AmiListener
from hotline.runtime.stop import StopSignal
from hotline.services.calls.ledger import Ledger

log = logging.getLogger(__name__)
DEMO_SECRET = "demo-only"  # the simulated PBX's own account, not a credential of a real system

ApiRunner = Callable[[Settings, Any, dict[str, Any], socket.socket, ScaledClock], Coroutine[Any, Any, None]]


def _start_monitor(settings: Settings, factory: Any, ledger: Ledger, live: dict[str, Any],
                   clock: ScaledClock) -> Any:
    """The no-answer monitor on the simulated day's clock, paging in dry-run (pages printed), with a
    throw-away link key: missed calls open alerts, escalate and breach as they would on the desk."""
    try:
        from hotline.runtime.scheduler import start_monitor
    except ImportError:
        return None
    demo = dataclasses.replace(settings, api=dataclasses.replace(settings.api, link_key=secrets.token_hex(16)),
                               extra={**settings.extra,
                                      "paging": {**settings.section("paging"), "dry_run": True},
                                      "monitor": {**settings.section("monitor"), "tick_seconds": 1}})
    jobs = start_monitor(demo, factory, ledger, live, {}, clock=clock)
    # APScheduler counts wall time; the simulated day runs faster, so the demo drives the engine itself.
    jobs.scheduler.pause()
    return jobs


async def _drive_monitor(jobs: Any, interval: float = 0.5) -> None:
    """Run the monitor's engine cycle (decide pages, breaches; drain the outbox) on the simulated clock."""
    while True:
        await asyncio.sleep(interval)
        await jobs.run()


async def _feed(server: FakeAmiServer, gen: TrafficGenerator, calls: int | None, clock: ScaledClock) -> None:
    """Push the generator's packets to the server when the simulated clock reaches their time."""
    batch: list[bytes] = []
    for epoch, packet in gen.stream(calls):
        ahead = (epoch - clock.now().timestamp()) / clock.speed  # real seconds until the packet is due
        if ahead > 0:
            if batch:
                await server.feed(b"".join(batch))
                batch = []
            await asyncio.sleep(ahead)
        batch.append(packet)
    if batch:
        await server.feed(b"".join(batch))


def demo_database(settings: Settings) -> Path:
    """The demo's own SQLite file beside (never inside) the real ledger: `<data_dir>/demo.db`."""
    return Path(settings.hotline.data_dir) / "demo.db"


def fresh_demo_database(settings: Settings) -> str:
    """Each demo run starts from an empty `<data_dir>/demo.db` (its calls would otherwise stay open)."""
    path = demo_database(settings)
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    return f"sqlite:///{path}"


def _demo_account(factory: Any, settings: Settings) -> None:
    """The dashboard needs an account: a demo database without one gets `demo` (supervisor) with a random
    password, shown once on the terminal that started the demo."""
    from hotline.services.access.accounts import AccountService

    accounts = AccountService(factory, SystemClock(settings.tz))
    if accounts.any_active():
        return
    password = secrets.token_urlsafe(12)
    accounts.add("demo", "supervisor", password)
    print(f"演示账号 demo account: demo / {password}", file=sys.stderr)


def run_demo(settings: Settings, *, calls: int | None, speed: float, calls_per_hour: float, seed: int,
             sock: socket.socket | None, db_url: str, printer: Callable[[list[Call]], None],
             api_runner: ApiRunner) -> int:
    """Run the simulated desk on one clock: the simulated day, `speed` times faster than the wall clock,
    read by the PBX, the listener, the monitor, the roster and the dashboard alike."""
    clock = ScaledClock(SystemClock(settings.tz).now(), speed)
    if sock is not None:  # the dry-run pages' ack links point at this dashboard (with --port 0 too)
        here = f"http://{settings.api.host}:{bound_port(sock)}"
        settings = dataclasses.replace(settings, api=dataclasses.replace(settings.api, public_base_url=here))
    db = open_database(db_url)
    ensure_roster(settings, db.factory, clock)
    ledger = Ledger(db.factory)
    keep_rollup(settings, db.factory, ledger, clock)
    done: list[int] = [0]
    ended_open: list[int] = [0]
    finished = asyncio.Event()
    stop = StopSignal()

    def on_calls(batch: list[Call]) -> None:
        printer(batch)
        done[0] += len(batch)
        if calls is not None and done[0] >= calls:
            finished.set()

    async def main() -> None:
        stop.install()
        server = FakeAmiServer(secret=DEMO_SECRET)  # empty CoreShowChannels / QueueStatus lists
        await server.start()
        client = AmiClient("127.0.0.1", server.port, "hotline", DEMO_SECRET, ping_interval=5.0,
                           ping_timeout=5.0, encoding=settings.ami.encoding,
                           fallback_encoding=settings.ami.fallback_encoding,
                           raw_only=tracker_config(settings).raw_only())
        listener = AmiListener(client, AmiIngest(settings, ledger, batch=500), clock,
                               flush_interval=0.3, on_calls=on_calls,
                               reconcile_seconds=None)  # the simulated PBX lists no channels
        live: dict[str, Any] = {"ledger": ledger, "listener": listener.status}
        gen = TrafficGenerator(seed=seed, start_epoch=clock.start.timestamp(), calls_per_hour=calls_per_hour)
        jobs = _start_monitor(settings, db.factory, ledger, live, clock)
        print(f"模拟PBX simulated PBX: AMI on 127.0.0.1:{server.port}; {speed:g}x speed "
              f"(模拟时间快 {speed:g} 倍 / simulated time runs {speed:g}x), seed {seed}", file=sys.stderr)
        tasks = [asyncio.create_task(listener.run(), name="listener")]
        if jobs is not None:
            tasks.append(asyncio.create_task(_drive_monitor(jobs), name="monitor"))
        await client.wait_connected(10)
        tasks.append(asyncio.create_task(_feed(server, gen, calls, clock), name="pbx"))
        if sock is not None:
            tasks.append(asyncio.create_task(api_runner(settings, db.factory, live, sock, clock), name="api"))
            print(f"仪表盘 dashboard: http://{settings.api.host}:{bound_port(sock)}/", file=sys.stderr)
            _demo_account(db.factory, settings)
        print("按 Ctrl+C 停止 / press Ctrl+C to stop", file=sys.stderr)
        waiter = asyncio.create_task(finished.wait())
        stopping = asyncio.create_task(stop.wait())
        try:
            pending = {*tasks, waiter, stopping}
            while pending:
                done_set, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for t in done_set:
                    if t is waiter or t is stopping:
                        pending = set()
                        break
                    if t.get_name() == "pbx" and t.exception() is None:
                        continue  # all traffic sent: keep going until the last calls end
                    t.result()
        finally:
            if jobs is not None:
                jobs.scheduler.shutdown(wait=False)
            await client.close()
            server_obj = live.get("api_server")
            if server_obj is not None:
                server_obj.should_exit = True  # let uvicorn finish its lifespan cleanly
                api_tasks = [t for t in tasks if t.get_name() == "api"]
                await asyncio.wait(api_tasks, timeout=5)
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            waiter.cancel()
            stopping.cancel()
            await server.stop()
            # the simulated PBX is gone with this process: calls still up end now, estimated
            ended_open[0] = len(ledger.end_missing("asterisk", set(), SystemClock(settings.tz).now()))
            ledger.flush(force=True)
            stop.remove()

    try:
        asyncio.run(main())
    except AmiLoginFailed as e:
        print(f"AMI 登录失败 / login failed: {e}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        pass
    print(f"共 {done[0]} 通 / {done[0]} calls recorded in {db_url}; {ended_open[0]} call(s) still in progress "
          "ended as estimated", file=sys.stderr)
    return 0  # a demo stopped by Ctrl-C or SIGTERM ended as asked
