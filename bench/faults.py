"""Fault injection: what reaches the ledger and the pagers when the database or the process fails.

Scenarios (each prints calls sent / stored / lost and, where missed calls page, pages expected / sent /
duplicated):

  pg-outage    PostgreSQL made unavailable mid-burst (a database of its own: ALLOW_CONNECTIONS false and
               every backend terminated), allowed again after --outage seconds
  sqlite-lock  the SQLite file locked (BEGIN EXCLUSIVE) past the busy timeout for --outage seconds
  bad-text     caller names no encoding can carry, NUL bytes, names longer than the column
  kill-listen  `hotline listen` killed with SIGKILL during a live AMI stream, then restarted: calls
               stored exactly, recovered (ended as estimated by the restart's snapshot) and lost

    python bench/faults.py [--calls 300] [--outage 3] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]
                           [--only pg-outage,sqlite-lock,bad-text,kill-listen]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, inspect, select  # noqa: E402

from hotline.clock import SystemClock  # noqa: E402
from hotline.providers.asterisk.sim.server import (  # noqa: E402
    ConnectionScript,
    FakeAmiServer,
    Pause,
    ReplyItem,
    list_reply,
)
from hotline.services.calls.batch_writer import WritePolicy  # noqa: E402
from hotline.services.calls.ledger import Ledger  # noqa: E402
from hotline.store.alerts import AlertCallRow  # noqa: E402
from hotline.store.base import make_engine, session_factory  # noqa: E402
from hotline.store.calls import CallRow  # noqa: E402
from tests.integration.db_faults import NAMES, call_events, pg_database, sqlite_locked  # noqa: E402
from tests.integration.monitor_fakes import T0, TZ, RecordingSender, Rig, rig  # noqa: E402

POLICY = WritePolicy(first_retry=0.1, max_retry=1.0)


def report(name: str, **figures: object) -> None:
    print(f"{name:<12} " + "  ".join(f"{k.replace('_', ' ')} {v}" for k, v in figures.items()), flush=True)


def run_burst(r: Rig, calls: int, outage: float, fault: Callable[[], object], heal: Callable[[], object],
              rate: float = 100.0) -> dict[str, object]:
    """`calls` calls at `rate` a second into a ledger feeding the monitor; the fault starts a third of the way
    in and is healed `outage` seconds later (while calls keep coming); then everything is written and paged."""
    ledger = Ledger(r.monitor.factory, clock=SystemClock(TZ), policy=POLICY)
    told: Counter[str] = Counter()
    ledger.on_completed(lambda c: told.update([c.call_id]))
    ledger.on_completed(r.monitor.on_call)
    healer: threading.Timer | None = None
    started = time.monotonic()
    for i in range(calls):
        if i == calls // 3:
            fault()
            healer = threading.Timer(outage, heal)
            healer.start()
        ledger.apply(call_events(i, T0 + timedelta(seconds=i * 0.1), missed=i % 3 == 0))
        ledger.add_raw([{"provider": "asterisk", "call_id": f"f{i:05d}", "first_at": T0, "last_at": T0, "events": 1,
                         "names": "Newchannel", "digest": f"d{i:05d}", "raw": b"Event: Newchannel"}])
        ledger.flush()
        time.sleep(1 / rate)
    burst = time.monotonic() - started
    if healer is not None:
        healer.join()
    while ledger.pending or ledger.retell:
        time.sleep(0.05)
        ledger.flush()
    caught_up = time.monotonic() - started - burst
    with r.monitor.factory() as s:
        stored = Counter(s.scalars(select(CallRow.call_id).where(CallRow.ended_at.is_not(None))).all())
        alerted = Counter(s.scalars(select(AlertCallRow.call_id)).all())
    r.clock.set(T0 + timedelta(seconds=calls * 0.1 + 60))  # every first page due, before any escalation
    r.monitor.tick()
    sender = RecordingSender()

    async def deliver() -> None:
        while await r.outbox.drain(sender):
            pass

    asyncio.run(deliver())
    pages = Counter(p.alert_id for p, _ in sender.sent)
    expected = len([i for i in range(calls) if i % 3 == 0])
    return {"calls_sent": calls, "stored": len(stored), "stored_twice": sum(1 for n in stored.values() if n > 1),
            "lost": calls - len(stored), "alerts": len(alerted), "pages_expected": expected,
            "pages_sent": len(pages), "pages_duplicated": sum(n - 1 for n in pages.values()),
            "retries": ledger.writer.stats["retries"], "burst_s": round(burst, 1),
            "all_written_s_after_burst": round(caught_up, 1)}


def scenario_pg(args: argparse.Namespace) -> None:
    with pg_database(args.pg) as db:
        r = rig(db.url)
        try:
            figures = run_burst(r, args.calls, args.outage, db.make_unavailable, db.allow)
        finally:
            r.dispose()
    report("pg-outage", outage_s=args.outage, **figures)


def scenario_sqlite(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "hotline.db"
        r = rig(f"sqlite:///{path}?timeout=0.5")
        lock = sqlite_locked(str(path))
        try:
            figures = run_burst(r, args.calls, args.outage, lock.__enter__, lambda: lock.__exit__(None, None, None))
        finally:
            r.dispose()
    report("sqlite-lock", locked_s=args.outage, busy_timeout_s=0.5, **figures)


def scenario_bad_text(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as d:
        r = rig(f"sqlite:///{Path(d) / 'hotline.db'}")
        try:
            figures = run_burst(r, len(NAMES) * 10, 0.0, lambda: None, lambda: None)
        finally:
            r.dispose()
    report("bad-text", names=len(NAMES), **figures)


# -- kill -9 during a live stream ------------------------------------------------------------------------


def _packet(lines: list[str]) -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def newchannel(uid: str, at: float, caller: str, name: str) -> bytes:
    return _packet(["Event: Newchannel", "Privilege: call,all", f"Timestamp: {at:.6f}",
                    f"Channel: PJSIP/trunk-{uid}", "ChannelState: 4", "ChannelStateDesc: Ring",
                    f"CallerIDNum: {caller}", f"CallerIDName: {name}", "Context: from-trunk", "Exten: 4008001234",
                    "Priority: 1", f"Uniqueid: {uid}", f"Linkedid: {uid}"])


def hangup(uid: str, at: float) -> bytes:
    return _packet(["Event: Hangup", "Privilege: call,all", f"Timestamp: {at:.6f}", f"Channel: PJSIP/trunk-{uid}",
                    "ChannelState: 6", f"Uniqueid: {uid}", f"Linkedid: {uid}", "Cause: 16",
                    "Cause-txt: Normal Clearing"])


def _count(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        if "calls" not in inspect(engine).get_table_names():
            return {"ended": 0, "estimated": 0, "open": 0}
        with session_factory(engine)() as s:
            ended = s.scalar(select(func.count()).select_from(CallRow).where(CallRow.ended_at.is_not(None))) or 0
            est = s.scalar(select(func.count()).select_from(CallRow).where(CallRow.estimated.is_(True))) or 0
            still = s.scalar(select(func.count()).select_from(CallRow).where(CallRow.ended_at.is_(None))) or 0
        return {"ended": ended, "estimated": est, "open": still}
    finally:
        engine.dispose()


async def kill_listen(calls: int, rate: float, call_seconds: float) -> dict[str, object]:
    """Stream calls (each `call_seconds` long, `rate` starting a second) to a `hotline listen` process, kill
    it with SIGKILL after `calls` calls started, then start it again and let its snapshot reconcile."""
    up: dict[str, float] = {}

    def channels() -> list[ReplyItem]:
        return list_reply("CoreShowChannels", [[("Event", "CoreShowChannel"), ("Uniqueid", u), ("Linkedid", u),
                                                ("Channel", f"PJSIP/trunk-{u}"), ("ChannelState", "4"),
                                                ("Exten", "4008001234"), ("Duration", "00:00:01")] for u in up])

    server = FakeAmiServer([ConnectionScript([Pause(600)]), ConnectionScript([Pause(600)])], secret="pw",
                           snapshots={"CoreShowChannels": channels, "QueueStatus": list_reply("QueueStatus", [])})
    await server.start()
    d = tempfile.mkdtemp()
    url = f"sqlite:///{d}/hotline.db"
    env = {**os.environ, "HOTLINE_AMI_PORT": str(server.port), "HOTLINE_AMI_SECRET": "pw", "HOTLINE_DATABASE_URL": url}
    cmd = [sys.executable, "-m", "hotline", "listen", "--config", str(ROOT / "config" / "hotline.toml")]
    proc = await asyncio.create_subprocess_exec(*cmd, env=env, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.DEVNULL)
    try:
        async with asyncio.timeout(30):
            while not server.live:
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # the connect snapshot applied
        started: list[str] = []
        ends: list[tuple[float, str]] = []
        t0 = time.time()
        while len(started) < calls:
            now = time.time()
            for at, uid in [e for e in ends if e[0] <= now]:
                ends.remove((at, uid))
                up.pop(uid, None)
                await server.feed(hangup(uid, at))
            uid = f"{t0:.0f}.{len(started)}"
            i = len(started)
            up[uid] = now
            await server.feed(newchannel(uid, now, f"1380013{i % 10000:04d}", NAMES[i % 5]))
            started.append(uid)
            ends.append((now + call_seconds, uid))
            await asyncio.sleep(1 / rate)
        while ends and ends[0][0] <= time.time() + 0.01:  # hang-ups due by now
            at, uid = ends.pop(0)
            up.pop(uid, None)
            await server.feed(hangup(uid, at))
        completed_before_kill = calls - len(ends)
        proc.send_signal(signal.SIGKILL)  # acknowledged by the socket, maybe not yet written
        await proc.wait()
        at_kill = await asyncio.to_thread(_count, url)
        for _at, uid in ends:  # the calls still up end while nobody listens
            up.pop(uid, None)
        proc = await asyncio.create_subprocess_exec(*cmd, env=env, stdout=asyncio.subprocess.DEVNULL,
                                                    stderr=asyncio.subprocess.DEVNULL)
        async with asyncio.timeout(30):
            while (await asyncio.to_thread(_count, url))["open"] > 0 or len(server.connections) < 2:
                await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)
        after = await asyncio.to_thread(_count, url)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            await proc.wait()
        await server.stop()
    stored = after["ended"]
    return {"calls_sent": calls, "completed_before_kill": completed_before_kill, "in_db_at_kill": at_kill["ended"]
            + at_kill["open"], "stored": stored, "stored_exact": stored - after["estimated"],
            "recovered_estimated": after["estimated"], "lost": calls - stored}


def scenario_kill(args: argparse.Namespace) -> None:
    figures = asyncio.run(kill_listen(args.calls, rate=args.rate, call_seconds=args.call_seconds))
    report("kill-listen", rate_per_s=args.rate, call_s=args.call_seconds, **figures)


SCENARIOS = {"pg-outage": scenario_pg, "sqlite-lock": scenario_sqlite, "bad-text": scenario_bad_text,
             "kill-listen": scenario_kill}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=300)
    p.add_argument("--outage", type=float, default=3.0, help="seconds the database is away")
    p.add_argument("--rate", type=float, default=20.0, help="kill-listen: calls starting per second")
    p.add_argument("--call-seconds", type=float, default=2.0, help="kill-listen: how long each call lasts")
    p.add_argument("--pg", default=os.environ.get("HOTLINE_TEST_PG_URL", ""), help="PostgreSQL to create a database in")
    p.add_argument("--only", default=",".join(SCENARIOS))
    p.add_argument("--verbose", action="store_true", help="show hotline's own log lines (outage, recovery)")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING if args.verbose else logging.CRITICAL,
                        format="    log: %(levelname)s %(message).160s")
    for name in args.only.split(","):
        if name == "pg-outage" and not args.pg:
            print("pg-outage    skipped: no --pg / HOTLINE_TEST_PG_URL", flush=True)
            continue
        SCENARIOS[name](args)


if __name__ == "__main__":
    main()
