"""Complaints benchmark.

1. The month's complaint figures (`hotline report complaints`, the monthly report's indicators and the
   dashboard tile) on a desk with N tickets over a year, 1 in 100 a complaint with its two clocks, timed
   beside the floor: counting the month's tickets by `opened_at` (an index-backed range count).
2. The 《客户投诉反馈表》 exports: XLSX (openpyxl) and PDF (WeasyPrint, Noto CJK), timed beside the floor of
   each library (an empty workbook; a one-line Chinese PDF).

    python bench/bench_complaints.py [--tickets 200000] [--db postgresql+psycopg://...] [--repeat 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime.fromisoformat("2026-01-01T08:00:00+08:00")


def fill(db: str, n: int) -> None:
    """`n` tickets over a year (one every ~158 s); every 100th a complaint with its reply and resolution
    clocks, some late."""
    from sqlalchemy import insert

    from hotline.runtime.assembly import open_database
    from hotline.store.tickets import TicketClockRow, TicketRow

    database = open_database(db)
    step = timedelta(days=365) / n
    tickets: list[dict[str, Any]] = []
    clocks: list[dict[str, Any]] = []

    def flush() -> None:
        with database.engine.begin() as conn:
            conn.execute(insert(TicketRow), tickets)
            if clocks:
                conn.execute(insert(TicketClockRow), clocks)
        tickets.clear()
        clocks.clear()

    for i in range(n):
        opened = T0 + step * i
        complaint = i % 100 == 0
        tid = f"GD{opened:%Y%m%d}-{i:07d}"
        tickets.append({
            "ticket_id": tid, "caller_key": f"+86139{i:08d}", "open_caller": None, "caller": f"139{i:08d}",
            "caller_name": None, "ticket_type": "complaint" if complaint else "incident", "priority": "normal",
            "specialty": "network", "status": "closed", "tier": "first_line", "assignee": "王芳",
            "summary": "打印机脱机", "description": "", "solution": "重启", "cause": None,
            "service_window": "7x24", "opened_at": opened, "first_contact_at": opened, "responded_at": opened,
            "work_started_at": opened, "resolved_at": opened + timedelta(hours=2),
            "closed_at": opened + timedelta(days=1), "confirmed_by": None, "reopened": 0,
            "vendor_started_at": None, "vendor_ended_at": None, "major_reported_at": None, "updated_at": opened,
            "complained_at": opened if complaint else None, "complaint_source": "hand" if complaint else None,
            "complaint_replied_at": opened + timedelta(minutes=30 + i % 60) if complaint else None,
            "complaint_due_at": None})
        if complaint:
            late = i % 700 == 0
            for name, target, done in (("complaint", timedelta(hours=1), timedelta(minutes=30 + i % 60)),
                                       ("complaint_solved", timedelta(hours=24),
                                        timedelta(hours=30 if late else 2))):
                due = opened + target
                clocks.append({"ticket_id": tid, "clock": name, "service_window": "7x24", "started_at": opened,
                               "due_at": due, "warn_at": due - timedelta(minutes=15), "done_at": opened + done,
                               "minutes": done.total_seconds() / 60, "met": opened + done <= due,
                               "warned_at": None, "breached_at": due if opened + done > due else None,
                               "next_due_at": None})
        if len(tickets) == 20_000:
            flush()
    if tickets:
        flush()
    with database.engine.connect() as conn:
        if database.engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE")
    database.engine.dispose()


class Timing:
    """Medians of CPU time (this process: the machine is shared) and wall time (with PostgreSQL's own work)."""

    def __init__(self, cpu: float, wall: float) -> None:
        self.cpu, self.wall = cpu, wall

    def __format__(self, spec: str) -> str:
        return f"{self.cpu:{spec}} ms CPU / {self.wall:{spec}} ms wall"


def median_ms(fn: Callable[[], object], repeat: int) -> Timing:
    fn()  # warm
    cpu, wall = [], []
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - t0) * 1000)
    return Timing(statistics.median(cpu), statistics.median(wall))


def time_report(db: str, repeat: int) -> None:
    from sqlalchemy import func, select

    from hotline.runtime.assembly import open_database
    from hotline.services.complaints.figures import month_report
    from hotline.store.base import unit_of_work
    from hotline.store.tickets import TicketRow

    database = open_database(db)
    first = date(2026, 11, 1)
    start, end = datetime(2026, 11, 1, tzinfo=TZ), datetime(2026, 12, 1, tzinfo=TZ)

    def floor() -> int:
        with unit_of_work(database.factory) as s:
            return int(s.scalar(select(func.count()).select_from(TicketRow).where(
                TicketRow.opened_at >= start, TicketRow.opened_at < end)) or 0)

    now = datetime(2026, 12, 2, 9, tzinfo=TZ)  # the month is over: every deadline has come
    doc = month_report(database.factory, first, TZ, now)
    print(f"  month's tickets (floor count):        {median_ms(floor, repeat):8.2f}  ({floor()} tickets)")
    ms = median_ms(lambda: month_report(database.factory, first, TZ, now), repeat)
    print(f"  report complaints (figures + lines):  {ms:8.2f}"
          f"  ({doc['count']} complaints, {doc['escalated']['count']} escalated)")
    database.engine.dispose()


def time_exports(repeat: int) -> None:
    from openpyxl import Workbook

    from hotline.domain.complaints import FeedbackForm
    from hotline.domain.tickets import Ticket, TicketType
    from hotline.services.complaints.exports import form_pdf, form_xlsx

    t = Ticket("GD20261203-0001", "+8613800138004", "13800138004", T0, T0, ticket_type=TicketType.COMPLAINT,
               summary="工程师三次未按约定时间到场", assignee="王芳", complained_at=T0, complaint_source="hand")
    form = FeedbackForm(complaint="客户刘洋投诉工程师三次未按约定时间到场。" * 5, investigation="排班冲突。" * 10,
                        cause="临时调度未同步给客户", measures="改约必须电话告知客户。" * 5, feedback="已致歉",
                        confirmation="客户认可")

    def empty_xlsx() -> bytes:
        import io

        out = io.BytesIO()
        Workbook().save(out)
        return out.getvalue()

    def line_pdf() -> bytes:
        from weasyprint import HTML

        pdf: bytes = HTML(string='<p style="font-family: Noto Sans CJK SC">客户投诉反馈表</p>').write_pdf()
        return pdf

    print(f"  empty workbook (floor):               {median_ms(empty_xlsx, repeat):8.2f}")
    xlsx = median_ms(lambda: form_xlsx(t, form, 2, "周强", T0, TZ), repeat)
    print(f"  feedback form XLSX:                   {xlsx:8.2f}")
    print(f"  one-line Chinese PDF (floor):         {median_ms(line_pdf, max(3, repeat // 4)):8.2f}")
    pdf = median_ms(lambda: form_pdf(t, form, 2, "周强", T0, TZ), max(3, repeat // 4))
    print(f"  feedback form PDF:                    {pdf:8.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tickets", type=int, default=200_000)
    ap.add_argument("--db", help="a database URL (default: a fresh SQLite file)")
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or f"sqlite:///{tmp}/bench.db"
        t0 = time.perf_counter()
        fill(db, args.tickets)
        print(f"{args.tickets} tickets ({args.tickets // 100} complaints) on {db.split(':')[0]}, "
              f"filled in {time.perf_counter() - t0:.1f} s")
        time_report(db, args.repeat)
    print("exports of one form")
    time_exports(args.repeat)


if __name__ == "__main__":
    main()
