"""Survey engine benchmark: what the survey cycle adds to the monitor's loop.

On a desk with N resolved tickets (each from its own caller) among M closed ones:
1. the cycle that schedules a survey for each resolved ticket (per ticket);
2. the cycle that places the due tries into the outbox (per try);
3. an idle cycle (`next_due` + `tick` with nothing due), which the monitor runs every tick, measured side
   by side with the tickets' SLA engine's idle cycle (the floor: the engine already on that loop), as CPU time
   of this process (the machine is shared) and wall time (which includes PostgreSQL's own work); and the
   first cycle of a fresh engine, which sweeps the whole 24 h window for resolved tickets without a survey.

    python bench/bench_surveys.py [--resolved 5000] [--closed 50000] [--db postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

T0 = datetime.fromisoformat("2026-12-03T19:00:00+08:00")  # resolved at 19:30: tried next morning


def fill(factory: object, resolved: int, closed: int) -> None:
    from sqlalchemy import insert

    from hotline.store.base import unit_of_work
    from hotline.store.tickets import TicketRow

    rows = []
    for i in range(resolved + closed):
        done = i < resolved
        at = T0 - timedelta(minutes=30) if done else T0 - timedelta(days=30 + i % 300)
        key = f"+86138{i:08d}"
        rows.append({"ticket_id": f"GD{at:%Y%m%d}-{i:07d}", "caller_key": key, "open_caller": key if done else None,
                     "caller": key[3:], "ticket_type": "incident", "priority": "normal", "specialty": "network",
                     "status": "resolved" if done else "closed", "tier": "first_line", "assignee": "王芳",
                     "summary": "", "description": "", "service_window": "7x24", "opened_at": at,
                     "first_contact_at": at, "resolved_at": at + timedelta(hours=1), "reopened": 0,
                     "closed_at": None if done else at + timedelta(days=1), "updated_at": at})
    with unit_of_work(factory) as s:  # type: ignore[arg-type]
        for i in range(0, len(rows), 5000):
            s.execute(insert(TicketRow), rows[i:i + 5000])


def analyze(engine: object) -> None:
    """PostgreSQL: fresh statistics, as autovacuum keeps them on a running desk (SQLite runs without any)."""
    from sqlalchemy import text

    if engine.url.get_backend_name() == "postgresql":  # type: ignore[attr-defined]
        with engine.begin() as conn:  # type: ignore[attr-defined]
            conn.execute(text("ANALYZE"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolved", type=int, default=5000)
    parser.add_argument("--closed", type=int, default=50000)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()

    from hotline.clock import ManualClock
    from hotline.config import load_settings
    from hotline.runtime.assembly import open_database
    from hotline.services.roster.service import RosterService
    from hotline.services.surveys.build import build_surveys
    from hotline.services.tickets.build import build_tickets

    settings = load_settings(ROOT / "config" / "hotline.toml", env={})
    tmp = tempfile.TemporaryDirectory()
    db = open_database(args.db or f"sqlite:///{Path(tmp.name) / 'bench.db'}")
    clock = ManualClock(T0 + timedelta(minutes=45), settings.tz)  # 19:45: first tries tomorrow
    roster = RosterService(db.factory, settings, clock)
    roster.load_example(ROOT / "config" / "roster.yaml")
    roster.ensure_calendar()
    fill(db.factory, args.resolved, args.closed)
    analyze(db.engine)
    tickets = build_tickets(settings, db.factory, clock)
    surveys = build_surveys(settings, db.factory, clock, tickets.desk)
    engine = surveys.engine

    started = time.perf_counter()
    while engine.next_due() == clock.now():  # 200 tickets a batch
        engine.tick()
    schedule = time.perf_counter() - started

    clock.set(datetime.fromisoformat("2026-12-04T09:00:00+08:00"))
    started = time.perf_counter()
    placed = 0
    while (n := engine.tick()) > 0:
        placed += n
    place = time.perf_counter() - started

    def idle(run: object) -> tuple[float, float]:
        """Median CPU time (this process) and wall time of 20 runs, in ms."""
        cpu, wall = [], []
        for _ in range(20):
            c, t = time.process_time(), time.perf_counter()
            run()  # type: ignore[operator]
            cpu.append(time.process_time() - c)
            wall.append(time.perf_counter() - t)
        return statistics.median(cpu) * 1000, statistics.median(wall) * 1000

    clock.set(datetime.fromisoformat("2026-12-04T09:05:00+08:00"))  # tries out, answers awaited: nothing due
    analyze(db.engine)
    fresh = build_surveys(settings, db.factory, clock, tickets.desk).engine  # a restart: its first cycle sweeps
    c, t = time.process_time(), time.perf_counter()
    fresh.next_due(), fresh.tick()
    sweep = ((time.process_time() - c) * 1000, (time.perf_counter() - t) * 1000)
    survey_idle = idle(lambda: (fresh.next_due(), fresh.tick()))
    sla_idle = idle(lambda: (tickets.engine.next_due(), tickets.engine.tick()))
    print(f"database: {db.engine.url.get_backend_name()}, {args.resolved} resolved + {args.closed} closed tickets")
    print(f"schedule: {schedule:.2f} s for {args.resolved} surveys ({schedule / args.resolved * 1000:.2f} ms each)")
    print(f"place:    {place:.2f} s for {placed} tries into the outbox ({place / max(placed, 1) * 1000:.2f} ms each)")
    print("idle cycle (next_due + tick, median of 20; CPU time of this process / wall time):")
    print(f"  surveys {survey_idle[0]:.1f} / {survey_idle[1]:.1f} ms, tickets' SLA engine {sla_idle[0]:.1f} / "
          f"{sla_idle[1]:.1f} ms (floor)")
    print(f"  the first cycle after a start (a full sweep of the 24 h window for unsurveyed tickets; again every "
          f"15 min of desk time): {sweep[0]:.1f} / {sweep[1]:.1f} ms")
    db.engine.dispose()


if __name__ == "__main__":
    main()
