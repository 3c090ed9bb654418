"""`hotline listen`, `hotline serve` and `hotline demo`: the long-running commands."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
from collections.abc import Coroutine, Iterator
from typing import TYPE_CHECKING, Any

from hotline.cli import COMMON
from hotline.config import ConfigError, Settings

if TYPE_CHECKING:  # the runtime loads when a command runs, not for `--help` (bench/bench_cli_startup.py)
    import socket

    from hotline.clock import Clock
    from hotline.domain.calls import Call
    from hotline.providers.asterisk.client import AmiClient
    from hotline.runtime.listener import AmiListener
    from hotline.services.calls.ledger import Ledger

log = logging.getLogger(__name__)
EXIT_LOGIN_FAILED = 3


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("listen", parents=[COMMON], help="监听 Asterisk AMI / listen to the Asterisk AMI")
    p.add_argument("--db", help="数据库地址 / database URL (default from config)")
    p.set_defaults(func=cmd_listen)

    s = sub.add_parser("serve", parents=[COMMON], help="完整服务 / listener + API + dashboard + scheduled jobs")
    s.add_argument("--db", help="数据库地址 / database URL (default from config)")
    s.add_argument("--no-listen", action="store_true", help="只运行 API / API only (e.g. a Twilio-only desk)")
    s.set_defaults(func=cmd_serve)

    d = sub.add_parser("demo", parents=[COMMON], help="演示 / simulated PBX + listener + dashboard (10x, Ctrl+C stops)")
    d.add_argument("--calls", type=int, default=None,
                   help="N 通后停止 / stop after this many calls (default: run on, Ctrl+C)")
    d.add_argument("--speed", type=float, default=10.0,
                   help="模拟倍速 / simulated seconds per real second (default 10)")
    d.add_argument("--calls-per-hour", type=float, default=120.0, help="每小时来电 / calls per simulated hour")
    d.add_argument("--seed", type=int, default=None, help="随机种子 / random seed (same seed, same calls)")
    d.add_argument("--port", type=int, default=None,
                   help="仪表盘端口 / API port (default from config; 0 = any free port)")
    d.add_argument("--no-api", action="store_true", help="不启动仪表盘 / no API or dashboard")
    d.add_argument("--db", help="数据库地址 / database URL (默认 default: a fresh <data_dir>/demo.db, "
                                "never the real ledger)")
    d.set_defaults(func=cmd_demo)


def _printer(settings: Settings) -> Any:
    from hotline.cli.ledger import OUTCOME_ZH, direction_text
    from hotline.cli.table import pad
    from hotline.domain.numbers import mask, masked_in_text

    def show(calls: list[Call]) -> None:
        for c in calls:
            d = c.as_dict()
            started = c.started_at.astimezone(settings.tz).strftime("%H:%M:%S")
            wait = "-" if d["wait_seconds"] is None else f"{d['wait_seconds']:.1f}s"
            talk = "-" if d["talk_seconds"] is None else f"{d['talk_seconds']:.1f}s"
            outcome = f"{OUTCOME_ZH.get(d['outcome'], '?')} {d['outcome']}"
            # Terminals and their logs are read by more people than the callers agreed to: numbers masked.
            caller, called = (mask(n) if n else "-" for n in (d["caller"], d["called"]))
            answered = masked_in_text(d["answered_by"] or "-")  # a callback answered by the customer's own phone
            print(f"{started}  {pad(direction_text(d['direction']), 14)} {pad(caller, 14)} → {pad(called, 13)} "
                  f"{pad(d['queue'] or '-', 8)} {pad(outcome, 22)} {pad(answered, 12)} "
                  f"等待 wait {wait:>7}  通话 talk {talk:>7}", flush=True)

    return show


def _listener(settings: Settings, ledger: Ledger, client: AmiClient, on_calls: Any = None) -> AmiListener:
    from hotline.clock import SystemClock
    from hotline.runtime.assembly import AmiIngest
    from hotline.runtime.listener import AmiListener

    ingest = AmiIngest(settings, ledger, batch=2000)
    return AmiListener(client, ingest, SystemClock(settings.tz), on_calls=on_calls,
                       flush_interval=settings.ami.flush_seconds,
                       retention_days=settings.database.raw_event_retention_days,
                       reconcile_seconds=settings.ami.reconcile_seconds or None,
                       max_call_seconds=settings.ami.max_call_seconds or None)


def cmd_listen(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.providers.asterisk.client import AmiClient
    from hotline.runtime.assembly import keep_rollup, open_database, tracker_config
    from hotline.services.calls.ledger import Ledger

    _need_ami_secret(settings)
    db = open_database(args.db or settings.database_url)
    ledger = Ledger(db.factory)
    keep_rollup(settings, db.factory, ledger)
    reopened = ledger.load_open("asterisk")  # Twilio's open calls belong to the Twilio ledger
    client = AmiClient.from_settings(settings.ami, raw_only=tracker_config(settings).raw_only())
    listener = _listener(settings, ledger, client, _printer(settings))
    print(f"监听 listening to AMI {client.address} as {settings.ami.username}; "
          f"{reopened} open call(s) taken back from the database", file=sys.stderr)
    return _run_listener(listener)


def _run_listener(listener: AmiListener, *others: Any, live: dict[str, Any] | None = None) -> int:
    """Run the listener (and `others`: the monitor and API) until one ends or SIGTERM / SIGINT asks to stop;
    then stop cleanly: the API finishes its requests, the listener writes its last batch, the stop is
    recorded as the start of a listener outage (ended when a listener connects again)."""
    import asyncio

    from hotline.providers.asterisk.client import AmiLoginFailed
    from hotline.runtime.stop import StopSignal

    stop = StopSignal()

    async def main() -> None:
        stop.install()
        tasks = [asyncio.create_task(listener.run(), name="listener"),
                 *[asyncio.create_task(o) for o in others]]
        stopping = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait([*tasks, stopping], return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                t.result()
        finally:
            stopping.cancel()
            api_server = (live or {}).get("api_server")
            if api_server is not None:
                api_server.should_exit = True  # uvicorn finishes its requests and its lifespan
                await asyncio.wait(tasks[1:], timeout=5)
            await listener.client.close()
            await asyncio.wait(tasks[:1], timeout=10)  # the listener's last write
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            if stop.received is not None:
                listener.record_stop(stop.reason)
            stop.remove()

    try:
        asyncio.run(main())
    except AmiLoginFailed as e:
        print(f"AMI 登录失败 / login failed: {e}", file=sys.stderr)
        return EXIT_LOGIN_FAILED
    except KeyboardInterrupt:
        return 130
    if stop.received is not None:
        ledger = listener.ingest.ledger
        print(f"已停止 / stopped ({stop.received.name}): {ledger.stats['calls']} call(s) seen, "
              f"{len(ledger.open)} still in progress (reconciled with the PBX at the next start)", file=sys.stderr)
        return stop.exit_code
    return 0


def _run_api_only(api: Coroutine[Any, Any, None], live: dict[str, Any]) -> int:
    """`serve --no-listen`: the API and monitor until SIGTERM / SIGINT, then uvicorn's clean shutdown
    (the Twilio ledger's last write runs in its lifespan)."""
    import asyncio

    from hotline.runtime.stop import StopSignal

    stop = StopSignal()

    async def main() -> None:
        stop.install()
        task = asyncio.create_task(api)
        stopping = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait([task, stopping], return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                task.result()
        finally:
            stopping.cancel()
            server = live.get("api_server")
            if server is not None:
                server.should_exit = True
            await asyncio.wait([task], timeout=10)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            stop.remove()

    asyncio.run(main())
    if stop.received is not None:
        print(f"已停止 / stopped ({stop.received.name})", file=sys.stderr)
    return stop.exit_code if stop.received is not None else 0


def server_config(app: Any) -> Any:
    """uvicorn's settings for the API. uvicorn's own proxy headers are off: it would believe
    X-Forwarded-For from any local process; the access guard believes it from `[access] trusted_proxies`
    only (hotline/domain/forwarded.py), so the audit log and the login throttle see the real client."""
    import uvicorn

    return uvicorn.Config(app, log_level="warning", lifespan="on", proxy_headers=False)


async def _api(settings: Settings, factory: Any, live: dict[str, Any], sock: socket.socket,
               clock: Clock | None = None) -> None:
    """The API and dashboard on an already bound socket (see `bind_api_socket`)."""
    import uvicorn

    from hotline.api.app import create_app
    from hotline.clock import SystemClock

    class ApiServer(uvicorn.Server):
        """uvicorn without its own signal handling: `StopSignal` owns SIGINT / SIGTERM and sets `should_exit`.
        uvicorn would take both signals over while it serves and raise them again once it stopped, so one
        Ctrl+C was logged twice (the second as 'already stopping')."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    app = create_app(settings, factory, clock or SystemClock(settings.tz), live)
    config = server_config(app)
    server = ApiServer(config)
    live["api_server"] = server
    await server.serve(sockets=[sock])
    if not server.started:  # e.g. another instance holds the Twilio webhooks lease (the error is logged above)
        raise SystemExit("hotline: API 未能启动 / the API did not start (see the error above)")


def _need_ami_secret(settings: Settings) -> None:
    """An empty secret would log in and be refused as a wrong one: say what is really missing."""
    if not settings.ami.secret:
        raise ConfigError("environment", "ami.secret",
                          "未设置 AMI 密码 / HOTLINE_AMI_SECRET is not set: export HOTLINE_AMI_SECRET=<the secret "
                          "of hotline's account in the PBX's manager.conf>")


async def _with_monitor(settings: Settings, factory: Any, ledger: Ledger, live: dict[str, Any],
                        client: AmiClient | None, api: Coroutine[Any, Any, None],
                        link_mode: str = "required") -> None:
    """Start the monitor on the running loop (it needs HOTLINE_API_LINK_KEY unless `link_mode` is
    'optional'), then serve the API."""
    from hotline.clock import SystemClock
    from hotline.runtime.page_calls import ami_originate
    from hotline.runtime.pbx_wiring import start_pbx_sync
    from hotline.runtime.retention import start_retention
    from hotline.runtime.scheduler import start_monitor

    jobs = start_monitor(settings, factory, ledger, live, os.environ,
                         originate=ami_originate(client) if client is not None else None, link_mode=link_mode)
    start_retention(jobs.scheduler, settings, factory, SystemClock(settings.tz))  # [privacy] retention, daily
    # The IVR dialplan reads who is on duty and the holiday calendar from AstDB: keep them current.
    pbx_sync = start_pbx_sync(settings, factory, client, SystemClock(settings.tz)) if client is not None else None
    try:
        await api
    finally:
        jobs.scheduler.shutdown(wait=False)
        if pbx_sync is not None:
            pbx_sync.cancel()


def _need_link_key(settings: Settings) -> None:
    """The monitor signs acknowledgement links; say so before anything starts."""
    if not settings.api.link_key:
        raise ConfigError("environment", "api.link_key",
                          "未设置确认链接密钥 / HOTLINE_API_LINK_KEY is not set (it signs the acknowledgement links "
                          "in pages): export HOTLINE_API_LINK_KEY=$(openssl rand -hex 32)")


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.clock import SystemClock
    from hotline.providers.asterisk.client import AmiClient
    from hotline.runtime.api_socket import bind_api_socket, bound_port
    from hotline.runtime.assembly import ensure_roster, keep_rollup, open_database, tracker_config
    from hotline.services.access.accounts import AccountService
    from hotline.services.access.config import refuse_to_serve
    from hotline.services.calls.ledger import Ledger

    if not args.no_listen:  # a Twilio-only desk (--no-listen) may page without acknowledgement links
        _need_ami_secret(settings)
        _need_link_key(settings)
    sock = bind_api_socket(settings.api.host, settings.api.port)  # a port taken fails here, before anything runs
    db = open_database(args.db or settings.database_url)
    refusal = refuse_to_serve(settings, AccountService(db.factory, SystemClock(settings.tz)).any_active())
    if refusal is not None:
        print(refusal, file=sys.stderr)
        return 2
    if ensure_roster(settings, db.factory):
        print("值班表为空，已载入值班表文件 / the roster was empty: loaded the roster file", file=sys.stderr)
    ledger = Ledger(db.factory)
    keep_rollup(settings, db.factory, ledger)
    ledger.load_open("asterisk")  # Twilio's open calls belong to the Twilio ledger
    live: dict[str, Any] = {"ledger": ledger}
    if args.no_listen:
        if not settings.api.link_key:  # a Twilio-only desk may page without acknowledgement links
            print("hotline: HOTLINE_API_LINK_KEY 未设置，通知中不含确认链接 / not set: pages carry no "
                  "acknowledgement links", file=sys.stderr)
        return _run_api_only(_with_monitor(settings, db.factory, ledger, live, None,
                                           _api(settings, db.factory, live, sock), link_mode="optional"), live)
    client = AmiClient.from_settings(settings.ami, raw_only=tracker_config(settings).raw_only())
    listener = _listener(settings, ledger, client)
    live["listener"] = listener.status
    live["ami_listener"] = listener  # start_monitor: queue-member probe for the silence watch, voice page acks
    print(f"仪表盘 dashboard: http://{settings.api.host}:{bound_port(sock)}/, AMI {client.address}", file=sys.stderr)
    return _run_listener(listener, _with_monitor(settings, db.factory, ledger, live, client,
                                                 _api(settings, db.factory, live, sock)), live=live)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.runtime.api_socket import bind_api_socket
    from hotline.runtime.demo import fresh_demo_database, run_demo

    sock = None if args.no_api else bind_api_socket(settings.api.host,
                                                    settings.api.port if args.port is None else args.port)
    args.db = args.db or fresh_demo_database(settings)  # never the ledger of `serve` and `listen`
    print(f"演示数据库 / demo database: {args.db}", file=sys.stderr)
    return run_demo(settings, calls=args.calls, speed=args.speed, calls_per_hour=args.calls_per_hour,
                    seed=args.seed if args.seed is not None else int(time.time()), sock=sock,
                    db_url=args.db, printer=_printer(settings), api_runner=_api)
