"""Escalation benchmark: 1,000 alerts open at once; how late does each page leave after its due time?

The real engine, outbox and APScheduler wiring run on the wall clock against SQLite (a file) and
PostgreSQL (a private schema, when --pg or HOTLINE_TEST_PG_URL is given). The chain is the shipped one
scaled from minutes to seconds (first line at 0, second line at 5 s, manager at 10 s, breach at 15 s,
the breach paged to the manager), so a run takes about 20 s. Lateness = when the page is handed to
the paging channel (a dry-run sender) minus its due time: the engine cycle, roster lookup, outbox
insert and claim included; the time until the outbox records it as sent is printed beside it.

    python bench/bench_alerts.py [--alerts 1000] [--step-seconds 5] [--pg URL] [--no-sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402

from hotline.clock import SystemClock  # noqa: E402
from hotline.domain.alerts import AlertKind  # noqa: E402
from hotline.domain.rules import Chain, Rule, RuleBook, Step  # noqa: E402
from hotline.paging.base import Page, Recipient, SendResult  # noqa: E402
from hotline.runtime.scheduler import MonitorJobs  # noqa: E402
from hotline.services.monitor.engine import MonitorOptions, MonitorService  # noqa: E402
from hotline.services.monitor.outbox import DryRunSender, Outbox  # noqa: E402
from hotline.store.alerts import AlertCallRow, AlertRow, AlertStepRow, OutboxRow  # noqa: E402
from hotline.store.base import make_engine, migrate, session_factory, unit_of_work  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
PEOPLE = {"first_line": Recipient("张伟", mobile="13800138001", channels=("sms",)),
          "second_line": Recipient("陈静", mobile="13900139005", channels=("wecom", "voice")),
          "manager": Recipient("周强", mobile="13700137008", channels=("voice",))}


class TimingSender(DryRunSender):
    """The dry-run sender, noting when each page was handed to it (the moment a channel would send)."""

    def __init__(self) -> None:
        self.handed: dict[str, datetime] = {}

    async def deliver(self, page: Page, order: Sequence[str] | None = None) -> list[SendResult]:
        self.handed.setdefault(page.key, datetime.now(TZ))
        return await super().deliver(page, order)


class AlwaysOnDuty:
    """Everybody on duty, on-site, all the time: the benchmark measures the engine, not the roster."""

    def people(self, at: datetime, tier: str, specialty: str | None = None) -> Sequence[Recipient]:
        return [PEOPLE[tier]] if tier in PEOPLE else []

    def classify(self, at: datetime) -> str:
        return "onsite"


def rules(step: float) -> RuleBook:
    s = timedelta(seconds=step)
    chain = Chain(deadline=3 * s, steps=(Step(0 * s, "first_line"), Step(s, "second_line"), Step(2 * s, "manager")),
                  breach_tiers=("manager",))
    return RuleBook({"no_answer": Rule("no_answer", {"onsite": chain, "remote": chain, "holiday": chain},
                                       outcomes=frozenset({"abandoned"}))})


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run(url: str, alerts: int, step: float) -> dict[str, float]:
    engine = make_engine(url)
    migrate(engine)
    factory = session_factory(engine)
    clock = SystemClock(TZ)
    monitor = MonitorService(factory, rules(step), AlwaysOnDuty(), clock, options=MonitorOptions(tz=TZ))
    outbox = Outbox(factory, clock)
    scheduler = AsyncIOScheduler(timezone=TZ)
    sender = TimingSender()
    jobs = MonitorJobs(scheduler, monitor, outbox, sender, tick_seconds=step)
    scheduler.start()
    jobs.start()
    await asyncio.sleep(0.2)
    # All open at the same instant, 8 s from now: storing 1,000 alerts takes up to ~4 s on PostgreSQL here,
    # and that set-up time must not count as lateness.
    opened = clock.now() + timedelta(seconds=8)
    started = time.monotonic()
    with unit_of_work(factory) as s:
        for n in range(alerts):
            row = monitor.open_in(s, AlertKind.MISSED_CALL, opened, caller=f"138{n:08d}", specialty="network")
            s.add(AlertCallRow(call_id=f"bench-{n}", alert_id=row.alert_id, at=opened, outcome="abandoned"))
    open_seconds = time.monotonic() - started
    jobs.wake(opened)
    expected = alerts * 4  # three steps and the breach notice
    deadline = time.monotonic() + 3 * step + 30
    while time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        with unit_of_work(factory) as s:
            sent = s.scalar(select(text("count(*)")).select_from(OutboxRow).where(OutboxRow.status == "sent"))
        if sent == expected:
            break
    scheduler.shutdown(wait=False)
    with unit_of_work(factory) as s:
        due = {(a, st): d for a, st, d in s.execute(select(AlertStepRow.alert_id, AlertStepRow.step,
                                                             AlertStepRow.due_at))}
        deadlines = {a: d for a, d in s.execute(select(AlertRow.alert_id, AlertRow.deadline_at))}
        rows = s.execute(select(OutboxRow.key, OutboxRow.alert_id, OutboxRow.step, OutboxRow.sent_at)).all()
    late: list[float] = []  # due -> handed to the channel
    stored: list[float] = []  # due -> recorded as sent in the outbox
    by_step: dict[str, list[float]] = {}
    for key, alert_id, st, sent_at in rows:
        if sent_at is None or key not in sender.handed or alert_id is None or st is None:
            continue
        due_at = deadlines[alert_id] if st == "breach" else due[(alert_id, st)]
        late.append((sender.handed[key] - due_at).total_seconds())
        stored.append((sent_at - due_at).total_seconds())
        by_step.setdefault(st, []).append(late[-1])
    engine.dispose()
    steps = {f"p99 {st}": percentile(v, 99) for st, v in sorted(by_step.items())}
    return {"pages": len(late), "expected": expected, "open_s": open_seconds, "p50": percentile(late, 50),
            "p99": percentile(late, 99), "max": max(late), "mean": statistics.fmean(late),
            "within_1s": sum(1 for x in late if x <= 1.0) / len(late), "stored_p99": percentile(stored, 99),
            "stored_max": max(stored), **steps}


def pg_schema(base: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


def drop_schema(base: str, schema: str) -> None:
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def report(name: str, r: dict[str, float]) -> None:
    print(f"{name:<11} pages {int(r['pages'])}/{int(r['expected'])}  lateness (due -> handed to the channel) "
          f"p50 {r['p50'] * 1000:.0f} ms  p99 {r['p99'] * 1000:.0f} ms  max {r['max'] * 1000:.0f} ms  "
          f"within 1 s: {r['within_1s']:.1%}")
    print(f"{'':<11} due -> recorded as sent: p99 {r['stored_p99'] * 1000:.0f} ms  max {r['stored_max'] * 1000:.0f} ms;"
          f"  1,000 alerts opened in {r['open_s']:.2f} s")
    print(" " * 12 + "  ".join(f"{k} {v * 1000:.0f} ms" for k, v in r.items() if k.startswith("p99 ")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--step-seconds", type=float, default=5.0)
    parser.add_argument("--pg", default=os.environ.get("HOTLINE_TEST_PG_URL", ""), help="PostgreSQL base URL")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    print(f"{args.alerts} alerts open at once; steps at 0, {args.step_seconds:g}, {2 * args.step_seconds:g} s, "
          f"breach at {3 * args.step_seconds:g} s")
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            report("SQLite", asyncio.run(run(f"sqlite:///{tmp}/bench.db", args.alerts, args.step_seconds)))
    if args.pg:
        url, schema = pg_schema(args.pg)
        try:
            report("PostgreSQL", asyncio.run(run(url, args.alerts, args.step_seconds)))
        finally:
            drop_schema(args.pg, schema)


if __name__ == "__main__":
    main()
