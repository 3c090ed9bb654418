"""Tickets benchmark.

1. Ingest with ticket opening vs without: the recorded fixtures repeated, parsed, reconstructed and stored,
   once with the ledger alone and once with the tickets' listeners (opening, linking, missed calls, clocks);
   each mode in its own process, side by side in every round, alternating which goes first; each round's
   ratio and the medians printed. Two streams: `same` (bench_ingest's stream: every copy a new set of calls
   from the same callers, so after the first copy every call is linked to an open ticket) and `new` (every
   copy's callers are new numbers: every copy opens new tickets, the desk's usual day).
2. The ticket list on a desk with many tickets: `TicketService.find` (the list staff open: not-closed
   tickets overdue first, a person's, a tier's, a caller's) timed on N stored tickets.

    python bench/bench_tickets.py [--events 300000] [--tickets 1000000] [--db postgresql+psycopg://...]
                                  [--ingest-db postgresql+psycopg://...]

`--instructions` counts the instructions each ingest executes (valgrind's callgrind, which counts the same
for the same run whatever else the machine does; about 50x slower, so use `--events 100000`): each mode is run
on the stream and on an empty one, and the difference (the ingest without start-up) compared. On this
project's shared machines the CPU time of identical runs varies by up to 40%; the instruction counts do not.

`--ingest-db` runs the ingest on PostgreSQL (each child in a private schema, dropped after) instead of a
SQLite file per child. Every figure is CPU time of the child process (`time.process_time`: user + system) besides
wall time; the ratios to read are the CPU ones (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_ingest import EPOCH, SCENARIOS, build_stream, fixture_events  # noqa: E402  (bench/ is the script's own folder)

CALLER = re.compile(rb"(?<!\d)1380013(\d{4})(?!\d)")  # the fixtures' outside callers: 13800138000 ...

T0 = datetime.fromisoformat("2026-11-02T08:00:00+08:00")


def mode_ingest(path: Path, db: str, tickets: bool) -> dict[str, float]:
    from hotline.clock import ManualClock
    from hotline.config import load_settings
    from hotline.runtime.assembly import AmiIngest, open_database, packets_of_file
    from hotline.services.calls.ledger import Ledger
    from hotline.services.roster.service import RosterService
    from hotline.services.tickets.build import build_tickets

    settings = load_settings(ROOT / "config" / "hotline.toml", env={})
    database = open_database(db)
    ledger = Ledger(database.factory)
    opened = 0
    listener_cpu = [0.0]
    if tickets:
        clock = ManualClock(T0, settings.tz)
        RosterService(database.factory, settings, clock).load_example(ROOT / "config" / "roster.yaml")
        t = build_tickets(settings, database.factory, clock)

        def opening(calls: list[Any]) -> None:  # the listener's own CPU time, measured in the same process
            c = time.process_time()
            try:
                t.opener.on_calls(calls)
            finally:
                listener_cpu[0] += time.process_time() - c

        ledger.on_calls(opening)
    ingest = AmiIngest(settings, ledger, batch=20_000, keep_raw=True)
    t0, c0 = time.perf_counter(), time.process_time()
    n = calls = 0
    for packet in packets_of_file(path, settings):
        calls += len(ingest.feed(packet))
        n += 1
    calls += len(ingest.finish())
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    if tickets:
        opened = t.desk.count()
    return {"events": n, "seconds": dt, "cpu": cpu, "listener_cpu": listener_cpu[0], "calls": calls,
            "tickets": opened}


def build_new_callers_stream(path: Path, target: int) -> int:
    """bench_ingest's stream with the callers of every copy renumbered (139<copy><last two digits>): every
    copy is new calls from new callers. Returns the number of events written."""
    bodies = [fixture_events(s) for s in SCENARIOS]
    per_round = sum(b.count(b"\r\n\r\n") for b in bodies)
    rounds = max(1, target // per_round)
    with path.open("wb") as f:
        f.write(b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: login\r\n"
                b"Message: Authentication accepted\r\n\r\n")
        for r in range(rounds):
            shift = (r + 1) * 100_000

            def bump(m: re.Match[bytes], shift: int = shift) -> bytes:
                return str(int(m.group(1)) + shift).encode() + b"." + m.group(2)

            def renumber(m: re.Match[bytes], r: int = r) -> bytes:
                return b"139%06d" % r + m.group(1)[-2:]

            for body in bodies:
                f.write(CALLER.sub(renumber, EPOCH.sub(bump, body)))
    return rounds * per_round


def count_instructions(mode: str, stream: Path, db: str) -> int:
    """The instructions a child executes from start to exit under callgrind (client side only)."""
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__,
           "--child", mode, "--stream", str(stream), "--db", db]
    err = subprocess.run(cmd, check=True, capture_output=True, text=True).stderr
    found = re.search(r"Collected : (\d+)", err)
    if found is None:
        raise RuntimeError(f"no instruction count from callgrind: {err[-500:]}")
    return int(found.group(1))


def instructions(kind: str, stream: Path, tmp: Path, base: str) -> None:
    """Ledger only vs with ticket opening, by instruction count: each on `stream` and on an empty stream
    (start-up only), the four runs two at a time (one per core)."""
    from concurrent.futures import ThreadPoolExecutor

    empty = tmp / "empty.ami"
    empty.write_bytes(b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: login\r\n"
                      b"Message: Authentication accepted\r\n\r\n")

    def one(job: tuple[str, Path]) -> int:
        mode, path = job
        with fresh_database(base, tmp, f"ir-{kind}-{mode}-{path.stem}") as url:
            return count_instructions(mode, path, url)

    jobs = [("plain", stream), ("tickets", stream), ("plain", empty), ("tickets", empty)]
    with ThreadPoolExecutor(2) as pool:
        plain, tickets, plain0, tickets0 = pool.map(one, jobs)
    p, t = plain - plain0, tickets - tickets0
    print(f"ingest, {kind} callers, instructions (callgrind): ledger only {p / 1e9:.3f} G, with ticket opening "
          f"{t / 1e9:.3f} G (start-up {plain0 / 1e9:.2f} G / {tickets0 / 1e9:.2f} G left out); "
          f"ratio {p / t:.3f}", flush=True)


def run_child(mode: str, stream: Path, db: str) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", mode, "--stream", str(stream), "--db", db]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


@contextmanager
def fresh_database(base: str, tmp: Path, name: str) -> Iterator[str]:
    """An empty database for one child: a SQLite file in `tmp`, or a private schema of PostgreSQL `base`."""
    if not base.startswith("postgresql"):
        yield f"sqlite:///{tmp / f'{name}.db'}"
        return
    from sqlalchemy import create_engine

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")

    def run(sql: str) -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(sql)

    run(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        run(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def fill_tickets(db: str, n: int) -> None:
    """`n` tickets over a year of a desk: 2% not closed, five clocks... written with plain executemany."""
    from sqlalchemy import insert

    from hotline.runtime.assembly import open_database
    from hotline.store.tickets import TicketCallRow, TicketClockRow, TicketRow

    database = open_database(db)
    people = ["张伟", "李娜", "王芳", "刘洋", "陈静", "杨磊", "赵敏"]
    tiers = ["first_line"] * 4 + ["second_line"] * 3
    specialties = ["network", "servers", "applications"]
    tickets: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    clocks: list[dict[str, Any]] = []

    def flush() -> None:
        with database.engine.begin() as conn:
            conn.execute(insert(_table(TicketRow)), tickets)
            conn.execute(insert(_table(TicketCallRow)), calls)
            conn.execute(insert(_table(TicketClockRow)), clocks)
        for rows in (tickets, calls, clocks):
            rows.clear()

    for i in range(n):
        opened = T0 + timedelta(seconds=i * 30)
        open_ = i % 50 == 0
        status = ("new", "in_progress", "escalated")[i % 3] if open_ else "closed"
        key = f"+86139{i:08d}"
        p = i % len(people)
        tickets.append({
            "ticket_id": f"GD{opened:%Y%m%d}-{i:07d}", "caller_key": key, "open_caller": key if open_ else None,
            "caller": key[3:], "caller_name": None, "ticket_type": "incident", "priority": "normal",
            "specialty": specialties[i % 3], "status": status, "tier": tiers[p], "assignee": people[p],
            "summary": "打印机脱机", "description": "", "solution": None if open_ else "重启", "cause": None,
            "service_window": "7x24", "opened_at": opened, "first_contact_at": opened, "responded_at": opened,
            "work_started_at": None, "resolved_at": None if open_ else opened + timedelta(hours=1),
            "closed_at": None if open_ else opened + timedelta(days=1), "confirmed_by": None, "reopened": 0,
            "vendor_started_at": None, "vendor_ended_at": None, "major_reported_at": None, "updated_at": opened})
        calls.append({"call_id": f"b{i}", "ticket_id": tickets[-1]["ticket_id"], "role": "reached",
                      "started_at": opened, "at": opened, "staff": people[p]})
        due = opened + timedelta(hours=4)
        breached = open_ and i % 7 == 0
        clocks.append({"ticket_id": tickets[-1]["ticket_id"], "clock": "resolution", "service_window": "7x24",
                       "started_at": opened, "due_at": due, "warn_at": due - timedelta(minutes=15),
                       "done_at": None if open_ else opened + timedelta(hours=1), "minutes": None if open_ else 60.0,
                       "met": False if breached else (None if open_ else True), "warned_at": None,
                       "breached_at": due if breached else None,
                       "next_due_at": None if (breached or not open_) else due})
        if len(tickets) == 20_000:
            flush()
    if tickets:
        flush()
    with database.engine.begin() as conn:  # committed: an ANALYZE rolled back with its transaction leaves the
        if database.engine.dialect.name == "postgresql":  # statistics of the empty tables (plans then scan all)
            conn.exec_driver_sql("ANALYZE")
    database.engine.dispose()


def _table(row: Any) -> Any:
    return row.__table__


def time_lists(db: str, repeat: int = 20) -> dict[str, float]:
    from hotline.clock import ManualClock
    from hotline.config import load_settings
    from hotline.runtime.assembly import open_database
    from hotline.services.tickets.build import build_tickets

    settings = load_settings(ROOT / "config" / "hotline.toml", env={})
    database = open_database(db)
    desk = build_tickets(settings, database.factory, ManualClock(T0, settings.tz)).desk
    queries: dict[str, dict[str, Any]] = {
        "open, overdue first": {"state": "open"},
        "mine (assignee)": {"state": "not_closed", "assignee": "王芳"},
        "second line's": {"state": "open", "tier": "second_line"},
        "a caller's history": {"state": "all", "caller": "+8613900000050"},
        "all, newest first": {"state": "all"},
    }
    out = {}
    for name, q in queries.items():
        desk.find(**q)  # warm
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            found = desk.find(**q)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        out[name] = statistics.median(times)
        out[name + " p95"] = times[int(len(times) * 0.95) - 1]
        out[name + " rows"] = len(found)
    database.engine.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=300_000)
    ap.add_argument("--tickets", type=int, default=100_000)
    ap.add_argument("--db", default="", help="database for the ticket list (default: a SQLite file)")
    ap.add_argument("--ingest-db", default="", help="PostgreSQL URL for the ingest (default: SQLite files)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--streams", default="same,new", help="which ingest streams: same, new or both (same,new)")
    ap.add_argument("--skip-ingest", action="store_true")
    ap.add_argument("--instructions", action="store_true",
                    help="count instructions under valgrind instead of timing (the ingest figures only)")
    ap.add_argument("--skip-lists", action="store_true", help="only the ingest figures")
    ap.add_argument("--skip-fill", action="store_true", help="time the lists on tickets already in --db")
    ap.add_argument("--child")
    ap.add_argument("--stream")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(mode_ingest(Path(args.stream), args.db, args.child == "tickets")))
        return
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_ingest:
            for kind in args.streams.split(","):
                stream = Path(tmp) / f"{kind}.ami"
                n = (build_stream if kind == "same" else build_new_callers_stream)(stream, args.events)
                if args.instructions:
                    instructions(kind, stream, Path(tmp), args.ingest_db)
                    continue
                plain, with_tickets = [], []
                for r in range(args.rounds):
                    order = ("plain", "tickets") if r % 2 == 0 else ("tickets", "plain")
                    got = {}
                    for m in order:
                        with fresh_database(args.ingest_db, Path(tmp), f"{kind}-{m}{r}") as url:
                            got[m] = run_child(m, stream, url)
                    plain.append(got["plain"])
                    with_tickets.append(got["tickets"])
                    ratio = got["plain"]["seconds"] / got["tickets"]["seconds"]
                    cpu_ratio = got["plain"]["cpu"] / got["tickets"]["cpu"]
                    own = got["tickets"]["listener_cpu"] / got["tickets"]["cpu"]
                    print(f"  {kind} callers, round {r + 1}: ledger only {got['plain']['seconds']:.2f} s "
                          f"(cpu {got['plain']['cpu']:.2f} s), with tickets {got['tickets']['seconds']:.2f} s "
                          f"(cpu {got['tickets']['cpu']:.2f} s); rate ratio {ratio:.3f}, cpu {cpu_ratio:.3f}; "
                          f"ticket opening's own share of the CPU time {own:.3f}", flush=True)
                p_rate = statistics.median(x["events"] / x["seconds"] for x in plain)
                t_rate = statistics.median(x["events"] / x["seconds"] for x in with_tickets)
                ratios = sorted(p["seconds"] / t["seconds"] for p, t in zip(plain, with_tickets, strict=True))
                cpu = sorted(p["cpu"] / t["cpu"] for p, t in zip(plain, with_tickets, strict=True))
                own = statistics.median(t["listener_cpu"] / t["cpu"] for t in with_tickets)
                engine = "PostgreSQL" if args.ingest_db.startswith("postgresql") else "SQLite"
                print(f"ingest, {kind} callers, {n:,} events, {int(plain[-1]['calls']):,} calls, {engine}, "
                      f"{args.rounds} rounds: ledger only median {p_rate:,.0f} events/s; with ticket opening "
                      f"{t_rate:,.0f} events/s ({int(with_tickets[-1]['tickets']):,} tickets); ratio of medians "
                      f"{t_rate / p_rate:.3f}; the rounds' ratios: median {statistics.median(ratios):.3f} "
                      f"(min {ratios[0]:.3f}, max {ratios[-1]:.3f}); on CPU time (the machine's other load "
                      f"left out): median {statistics.median(cpu):.3f} (min {cpu[0]:.3f}, max {cpu[-1]:.3f}); "
                      f"ticket opening's own share of the CPU time, measured in the process: median {own:.3f} "
                      f"(ratio 1 - share: {1 - own:.3f})", flush=True)
        if args.skip_lists:
            return
        db = args.db or f"sqlite:///{Path(tmp) / 'list.db'}"
        if not args.skip_fill:
            t0 = time.perf_counter()
            fill_tickets(db, args.tickets)
            print(f"ticket list: {args.tickets:,} tickets stored in {time.perf_counter() - t0:.0f} s "
                  f"({db.split(':')[0]})")
        for name, ms in time_lists(db).items():
            if name.endswith(" rows"):
                continue
            print(f"  {name:<28} {ms:8.1f} ms")


if __name__ == "__main__":
    main()
