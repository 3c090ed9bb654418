"""Report benchmark: fill N generated calls over 12 months, then time each report beside the plain-SQL
floor (the simplest GROUP BY that counts the same calls), on SQLite (a file) and PostgreSQL (a private
schema, with --pg URL or HOTLINE_TEST_PG_URL).

    python bench/bench_reports.py [--calls 500000] [--big (5,000,000)] [--pg URL] [--no-sqlite]
                                  [--reference] [--keep NAME [--fill-only]]

Figures: a month's answer rate by specialty / day / week / hour / agent / line three ways side by side:
from the calls (GROUP BY, P90 by percentile_disc on PostgreSQL), from the hourly roll-up (the P90 from its
wait histograms), from the roll-up without the P90; the 12-month trend; the roll-up's rebuild and one
hour's recount; the whole monthly quality report's figures before and after the roll-up is built, the
dashboard summary of a day computed once (20 clients over HTTP: bench_dashboard_load.py); with
--reference also the old path (every call loaded and counted in Python by domain/kpi.py) for one month.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from hotline.config import load_settings  # noqa: E402
from hotline.runtime.assembly import open_database  # noqa: E402
from hotline.services.reports import rollup  # noqa: E402
from hotline.services.reports.answer_rate import rate_params, reference_answer_rate_report  # noqa: E402
from hotline.store.base import unit_of_work  # noqa: E402
from hotline.store.call_rollup import refresh_hours  # noqa: E402
from hotline.store.call_stats import Span, answer_rate_rows, offered_answered  # noqa: E402
from hotline.store.calls import CallRow  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
MONTH = date(2026, 11, 1)
END = datetime(2026, 12, 1, tzinfo=TZ)  # the calls fill the 365 days before this
SPECIALTIES = ["network", "servers", "applications"]
PEOPLE = ["张伟", "李娜", "王芳", "刘洋", "陈静", "杨磊", "赵敏", "黄勇"]
OUTCOMES = ["answered"] * 16 + ["abandoned"] * 2 + ["timeout", "busy", "ivr_abandoned"]
COLUMNS = ["call_id", "provider", "direction", "caller", "called", "specialty", "outcome", "answered_by",
           "started_at", "ended_at", "wait_seconds", "talk_seconds", "estimated"]


def generated(n: int, seed: int = 5) -> Any:
    """n calls over the 365 days before END, busier in office hours; one tuple per call (UTC times)."""
    rnd = random.Random(seed)
    first = END - timedelta(days=365)
    span = 365 * 86400
    for i in range(n):
        at = first + timedelta(seconds=rnd.randrange(span))
        if not 8 <= at.hour <= 18 and rnd.random() < 0.6:  # fold most night calls into the day
            at = at.replace(hour=rnd.randrange(9, 18))
        outcome = rnd.choice(OUTCOMES)
        wait = round(rnd.expovariate(1 / 20), 3) if outcome != "ivr_abandoned" else None
        talk = round(rnd.uniform(20, 900), 3) if outcome == "answered" else None
        utc = at.astimezone(UTC)
        yield (f"b{i:08d}", "asterisk", "inbound" if rnd.random() > 0.08 else "outbound",
               f"138{rnd.randrange(10**8):08d}", "4008001234" if rnd.random() > 0.15 else "4008005678",
               rnd.choice(SPECIALTIES), outcome,
               rnd.choice(PEOPLE) if outcome == "answered" else None, utc, utc + timedelta(seconds=300),
               wait, talk, False)


def fill(factory: sessionmaker[Session], n: int) -> float:
    t0 = time.perf_counter()
    with factory() as s:
        conn = s.connection()
        if conn.dialect.name == "postgresql":
            raw = conn.connection.driver_connection
            assert raw is not None
            with raw.cursor().copy(f"COPY calls ({', '.join(COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in generated(n):
                    copy.write_row(row)
        else:
            batch: list[dict[str, Any]] = []
            for row in generated(n):
                batch.append(dict(zip(COLUMNS, row, strict=True)))
                if len(batch) == 20000:
                    conn.execute(insert(CallRow), batch)
                    batch = []
            if batch:
                conn.execute(insert(CallRow), batch)
        s.commit()
        if conn.dialect.name == "postgresql":
            s.execute(text("ANALYZE calls"))
        else:
            s.execute(text("ANALYZE"))
        s.commit()
    return time.perf_counter() - t0


RUNS = [3]  # --runs: each figure is the best of this many runs


def best(fn: Callable[[], Any], runs: int | None = None) -> float:
    times = []
    for _ in range(runs or RUNS[0]):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def floor_sql(factory: sessionmaker[Session], lo: datetime, hi: datetime, key: str) -> Callable[[], Any]:
    """The plain-SQL floor: count offered and answered per group, nothing else."""
    def run() -> Any:
        with factory() as s:
            dialect = s.get_bind().dialect.name
            if dialect == "sqlite":
                lo_v: Any = lo.astimezone(UTC).replace(tzinfo=None)
                hi_v: Any = hi.astimezone(UTC).replace(tzinfo=None)
            else:
                lo_v, hi_v = lo, hi
            sql = (f"SELECT {key}, count(*), sum(CASE WHEN outcome = 'answered' THEN 1 ELSE 0 END) FROM calls "
                   "WHERE direction = 'inbound' AND started_at >= :lo AND started_at < :hi GROUP BY 1")
            return s.execute(text(sql), {"lo": lo_v, "hi": hi_v}).all()
    return run


def local_key(dialect: str, by: str) -> str:
    if by in ("specialty", "agent", "line"):
        return {"specialty": "specialty", "agent": "answered_by", "line": "called"}[by]
    fmt = {"day": ("YYYY-MM-DD", "%Y-%m-%d"), "hour": ("HH24", "%H:00"), "week": ('IYYY-"W"IW', "%G-W%V"),
           "month": ("YYYY-MM", "%Y-%m")}[by]
    if dialect == "postgresql":
        return f"to_char(timezone('Asia/Shanghai', started_at), '{fmt[0]}')"
    return f"hotline_local(started_at, 'Asia/Shanghai', '{fmt[1]}')"


def filled(url: str, n: int) -> Any:
    """The database, filled with n calls unless it holds calls already (--keep)."""
    db = open_database(url)
    with db.factory() as s:
        have = s.execute(text("SELECT count(*) FROM calls")).scalar_one()
    if have == 0:
        print(f"  filled {n:,} calls in {fill(db.factory, n):.1f} s")
    else:
        print(f"  reusing {have:,} calls already in the database")
    return db


def bench(url: str, n: int, reference: bool) -> None:
    db = filled(url, n)
    settings = load_settings(ROOT / "config" / "hotline.toml", env={})
    last = (MONTH.replace(month=MONTH.month % 12 + 1) - timedelta(days=1))
    lo, hi = datetime(2026, 11, 1, tzinfo=TZ), datetime(2026, 12, 1, tzinfo=TZ)
    with db.factory() as s:
        month_calls = s.execute(text("SELECT count(*) FROM calls WHERE started_at >= :lo AND started_at < :hi"),
                                {"lo": lo.astimezone(UTC).replace(tzinfo=None) if db.engine.dialect.name == "sqlite"
                                 else lo, "hi": hi.astimezone(UTC).replace(tzinfo=None)
                                 if db.engine.dialect.name == "sqlite" else hi}).scalar()
    print(f"  a month (2026-11) = {month_calls:,} calls")
    dialect = db.engine.dialect.name
    tz = str(TZ)
    span = Span(lo, hi)
    params = rate_params(settings)
    monthly_raw = _monthly(db, settings)  # before the roll-up is built: the reports read the calls
    t0 = time.perf_counter()
    built = rollup.rebuild(db.factory, params, datetime(2026, 12, 1, 8, tzinfo=TZ))
    print(f"  roll-up rebuilt: {built:,} rows in {time.perf_counter() - t0:.1f} s")
    hour = datetime(2026, 11, 30, 10, tzinfo=TZ)
    with unit_of_work(db.factory) as s:
        t_hour = best(lambda: refresh_hours(s, [hour], params))
    print(f"  {'roll-up: one hour recounted (a flush)':<44}{t_hour * 1000:>8.1f}ms")
    print(f"  {'figure':<44}{'calls SQL':>10}{'roll-up':>10}{'no P90':>10}{'SQL floor':>11}{'roll-up/floor':>14}")
    for by in ("specialty", "day", "week", "hour", "agent", "line"):
        def raw(by: str = by) -> object:
            with unit_of_work(db.factory) as s:
                return answer_rate_rows(s, span, by, tz, params)

        def up(by: str = by, p90: bool = True) -> object:
            with unit_of_work(db.factory) as s:
                return rollup.rates(s, span, by, tz, params, with_p90=p90)

        t_raw, t_up, t_np = best(raw), best(up), best(lambda: up(p90=False))
        f = best(floor_sql(db.factory, lo, hi, local_key(dialect, by)))
        print(f"  {'month answer rate by ' + by:<44}{t_raw:>9.3f}s{t_up:>9.3f}s{t_np:>9.3f}s{f:>10.3f}s"
              f"{t_up / f:>13.1f}x")
    year = Span(datetime(2025, 12, 1, tzinfo=TZ), hi)

    def trend_raw() -> object:
        with unit_of_work(db.factory) as s:
            return offered_answered(s, year, "month", tz)

    def trend_up() -> object:
        with unit_of_work(db.factory) as s:
            return rollup.offered_answered(s, year, "month", tz)

    f = best(floor_sql(db.factory, year.start, hi, local_key(dialect, "month")))  # type: ignore[arg-type]
    t_raw, t_up = best(trend_raw), best(trend_up)
    print(f"  {'12-month trend (offered, answered)':<44}{t_raw:>9.3f}s{t_up:>9.3f}s{'':>10}{f:>10.3f}s"
          f"{t_up / f:>13.1f}x")
    monthly_up = _monthly(db, settings)
    f = sum(best(floor_sql(db.factory, lo, hi, local_key(dialect, by))) for by in ("specialty", "agent", "day", "hour"))
    print(f"  {'monthly quality report (all figures)':<44}{monthly_raw:>9.3f}s{monthly_up:>9.3f}s{'':>10}{f:>10.3f}s"
          f"{monthly_up / f:>13.1f}x")
    from hotline.services.reports.monthly import build_monthly
    from hotline.services.reports.monthly_render import monthly_pdf

    doc = build_monthly(db.factory, settings, MONTH, datetime(2026, 12, 1, 8, tzinfo=TZ))
    t = best(lambda: monthly_pdf(doc), runs=1)
    print(f"  {'monthly report PDF rendering (WeasyPrint)':<44}{t:>9.3f}s")
    summary(db, settings)
    if reference:
        t = best(lambda: reference_answer_rate_report(db.factory, TZ, start=MONTH, end=last), runs=1)
        f = best(floor_sql(db.factory, lo, hi, "specialty"))
        print(f"  {'month answer rate, old path (Python)':<44}{t:>9.3f}s{f:>11.3f}s{t / f:>7.1f}x")
    db.engine.dispose()


def _monthly(db: Any, settings: Any) -> float:
    from hotline.services.reports.monthly import build_monthly

    return best(lambda: build_monthly(db.factory, settings, MONTH, datetime(2026, 12, 1, 8, tzinfo=TZ)),
                runs=min(2, RUNS[0]))


def summary(db: Any, settings: Any) -> None:
    """The dashboard summary of one busy day, computed once (cold: the month's days not yet cached) and
    again (warm). Under 20 clients over HTTP: bench/bench_dashboard_load.py (a server process of its own)."""
    from hotline.services.reports.dashboard import Dashboard

    now = datetime(2026, 11, 30, 16, 0, tzinfo=TZ)
    board = Dashboard(db.factory, settings)
    for name in ("cold", "warm"):
        t0 = time.perf_counter()
        board.summary(now)
        print(f"  {'dashboard summary, one computation (' + name + ')':<44}"
              f"{(time.perf_counter() - t0) * 1000:>8.1f}ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=500_000)
    ap.add_argument("--big", action="store_true", help="5,000,000 calls (the issue's figure)")
    ap.add_argument("--pg", default=os.environ.get("HOTLINE_TEST_PG_URL", ""))
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--reference", action="store_true", help="also time the old Python path for one month")
    ap.add_argument("--keep", metavar="NAME", default="",
                    help="keep the filled data and reuse it on the next run: SQLite file .bench/NAME.db, "
                         "PostgreSQL schema NAME (filling 5M calls takes 10-20 min)")
    ap.add_argument("--fill-only", action="store_true", help="fill (with --keep) and stop")
    ap.add_argument("--runs", type=int, default=3, help="each figure is the best of N runs")
    args = ap.parse_args()
    RUNS[0] = args.runs
    n = 5_000_000 if args.big else args.calls

    def run(url: str) -> None:
        if args.fill_only:
            _fill_only(url, n)
        else:
            bench(url, n, args.reference)

    if not args.no_sqlite:
        if args.keep:
            (ROOT / ".bench").mkdir(exist_ok=True)
            print(f"SQLite ({n:,} calls)")
            run(f"sqlite:///{ROOT / '.bench' / args.keep}.db")
        else:
            with tempfile.TemporaryDirectory() as tmp:
                print(f"SQLite ({n:,} calls)")
                run(f"sqlite:///{tmp}/bench.db")
    if args.pg:
        schema = args.keep or f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        try:
            sep = "&" if "?" in args.pg else "?"
            print(f"PostgreSQL ({n:,} calls)")
            run(f"{args.pg}{sep}options=-csearch_path%3D{schema}")
        finally:
            if not args.keep:
                with admin.connect() as c:
                    c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def _fill_only(url: str, n: int) -> None:
    filled(url, n).engine.dispose()


if __name__ == "__main__":
    main()
