"""`hotline listen`, `hotline serve` and `hotline demo`: the long-running commands."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import time
from collections.abc import Coroutine, Mapping
from typing import Any

from hotline.cli import COMMON
from hotline.clock import SystemClock
from hotline.config import Settings
from hotline.domain.calls import Call
from hotline.domain.numbers import mask
from hotline.providers.asterisk.client import AmiClient, AmiLoginFailed
from hotline.runtime.assembly import AmiIngest, ensure_roster, open_database, tracker_config
from hotline.runtime.listener import AmiListener
from hotline.services.access.accounts import AccountService
from hotline.services.access.config import refuse_to_serve
from hotline.services.calls.ledger import Ledger

log = logging.getLogger(__name__)
EXIT_LOGIN_FAILED = 3


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("listen", parents=[COMMON], help="listen to the Asterisk AMI / 监听AMI")
    p.add_argument("--db", help="database URL (default from config)")
    p.set_defaults(func=cmd_listen)

    s = sub.add_parser("serve", parents=[COMMON], help="listener + API + dashboard / 完整服务")
    s.add_argument("--db", help="database URL (default from config)")
    s.add_argument("--no-listen", action="store_true", help="API only (e.g. a Twilio-only desk)")
    s.set_defaults(func=cmd_serve)

    d = sub.add_parser("demo", parents=[COMMON], help="simulated PBX + listener + dashboard / 演示")
    d.add_argument("--calls", type=int, default=None, help="stop after this many calls (default: run on)")
    d.add_argument("--speed", type=float, default=10.0, help="simulated seconds per real second")
    d.add_argument("--calls-per-hour", type=float, default=120.0)
    d.add_argument("--seed", type=int, default=None)
    d.add_argument("--port", type=int, default=None, help="API port (default from config; 0 = any free)")
    d.add_argument("--no-api", action="store_true")
    d.add_argument("--db", help="database URL (default: SQLite in the data folder)")
    d.set_defaults(func=cmd_demo)


def _printer(settings: Settings) -> Any:
    from hotline.cli.ledger import OUTCOME_ZH

    def show(calls: list[Call]) -> None:
        for c in calls:
            d = c.as_dict()
            started = c.started_at.astimezone(settings.tz).strftime("%H:%M:%S")
            wait = "-" if d["wait_seconds"] is None else f"{d['wait_seconds']:.1f}s"
            talk = "-" if d["talk_seconds"] is None else f"{d['talk_seconds']:.1f}s"
            # Terminals and their logs are read by more people than the callers agreed to: numbers masked.
            caller, called = (mask(n) if n else "-" for n in (d["caller"], d["called"]))
            print(f"{started}  {d['direction']:<8} {caller:<13} → {called:<12} "
                  f"{d['queue'] or '-':<8} {OUTCOME_ZH.get(d['outcome'], '?')} {d['outcome']:<13} "
                  f"{d['answered_by'] or '-':<12} 等待 wait {wait:>7}  通话 talk {talk:>7}", flush=True)

    return show


def _listener(settings: Settings, ledger: Ledger, client: AmiClient, on_calls: Any = None) -> AmiListener:
    ingest = AmiIngest(settings, ledger, batch=2000)
    return AmiListener(client, ingest, SystemClock(settings.tz), on_calls=on_calls,
                       retention_days=settings.database.raw_event_retention_days)


def cmd_listen(args: argparse.Namespace, settings: Settings) -> int:
    db = open_database(args.db or settings.database_url)
    ledger = Ledger(db.factory)
    reopened = ledger.load_open("asterisk")  # Twilio's open calls belong to the Twilio ledger
    client = AmiClient.from_settings(settings.ami, raw_only=tracker_config(settings).raw_only())
    listener = _listener(settings, ledger, client, _printer(settings))
    print(f"监听 listening to AMI {client.address} as {settings.ami.username}; "
          f"{reopened} open call(s) taken back from the database", file=sys.stderr)
    return _run_listener(listener)


def _run_listener(listener: AmiListener, *others: Any) -> int:
    async def main() -> None:
        tasks = [asyncio.create_task(listener.run()), *[asyncio.create_task(o) for o in others]]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                t.result()
        finally:
            await listener.client.close()
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t

    try:
        asyncio.run(main())
    except AmiLoginFailed as e:
        print(f"AMI 登录失败 / login failed: {e}", file=sys.stderr)
        return EXIT_LOGIN_FAILED
    except KeyboardInterrupt:
        return 130
    return 0


async def _api(settings: Settings, factory: Any, live: dict[str, Any], port: int) -> None:
    import uvicorn

    from hotline.api.app import create_app

    app = create_app(settings, factory, SystemClock(settings.tz), live)
    config = uvicorn.Config(app, host=settings.api.host, port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    live["api_server"] = server
    await server.serve()


def _originate(client: AmiClient) -> Any:
    """Voice pages to staff phones go out as AMI Originate actions on the listener's connection."""

    async def originate(headers: Mapping[str, str]) -> Mapping[str, str]:
        fields = [(k, v) for k, v in headers.items() if k.lower() != "action"]
        result = await client.send_action("Originate", fields)
        return dict(result.response)

    return originate


async def _with_monitor(settings: Settings, factory: Any, ledger: Ledger, live: dict[str, Any],
                        client: AmiClient | None, api: Coroutine[Any, Any, None]) -> None:
    """Start the monitor on the running loop (it needs HOTLINE_API_LINK_KEY), then serve the API."""
    from hotline.runtime.pbx_wiring import start_pbx_sync
    from hotline.runtime.retention import start_retention
    from hotline.runtime.scheduler import start_monitor

    jobs = start_monitor(settings, factory, ledger, live, os.environ,
                         originate=_originate(client) if client is not None else None)
    start_retention(jobs.scheduler, settings, factory, SystemClock(settings.tz))  # [privacy] retention, daily
    # The IVR dialplan reads who is on duty and the holiday calendar from AstDB: keep them current.
    pbx_sync = start_pbx_sync(settings, factory, client, SystemClock(settings.tz)) if client is not None else None
    try:
        await api
    finally:
        jobs.scheduler.shutdown(wait=False)
        if pbx_sync is not None:
            pbx_sync.cancel()


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    db = open_database(args.db or settings.database_url)
    refusal = refuse_to_serve(settings, AccountService(db.factory, SystemClock(settings.tz)).any_active())
    if refusal is not None:
        print(refusal, file=sys.stderr)
        return 2
    if ensure_roster(settings, db.factory):
        print("值班表为空，已载入值班表文件 / the roster was empty: loaded the roster file", file=sys.stderr)
    ledger = Ledger(db.factory)
    ledger.load_open("asterisk")  # Twilio's open calls belong to the Twilio ledger
    live: dict[str, Any] = {"ledger": ledger}
    if args.no_listen:
        asyncio.run(_with_monitor(settings, db.factory, ledger, live, None,
                                  _api(settings, db.factory, live, settings.api.port)))
        return 0
    client = AmiClient.from_settings(settings.ami, raw_only=tracker_config(settings).raw_only())
    listener = _listener(settings, ledger, client)
    live["listener"] = listener.status
    live["ami_listener"] = listener  # start_monitor: queue-member probe for the silence watch, voice page acks
    print(f"hotline: API on http://{settings.api.host}:{settings.api.port}, AMI {client.address}", file=sys.stderr)
    return _run_listener(listener, _with_monitor(settings, db.factory, ledger, live, client,
                                                 _api(settings, db.factory, live, settings.api.port)))


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.runtime.demo import run_demo

    return run_demo(settings, calls=args.calls, speed=args.speed, calls_per_hour=args.calls_per_hour,
                    seed=args.seed if args.seed is not None else int(time.time()),
                    port=settings.api.port if args.port is None else args.port, api=not args.no_api,
                    db_url=args.db or settings.database_url, printer=_printer(settings),
                    api_runner=_api)
