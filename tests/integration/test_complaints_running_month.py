"""The complaint figures of a month still in progress, on SQLite and PostgreSQL: a complaint whose deadline has
not passed at the report's "now" and that is not done yet is pending (未到期), never late; the shares are of
the complaints whose outcome is known, with the pending beside; the longest wait for a first reply counts a
complaint not replied yet with its wait so far. Also `report complaints` as a person reads it."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from hotline.cli import main
from hotline.config import Settings
from hotline.services.complaints.desk import ComplaintService
from hotline.services.complaints.figures import month_report
from hotline.services.reports.indicators import ComplaintIndicators, MonthContext
from hotline.services.tickets.config import TicketConfig
from tests.conftest import ROOT
from tests.integration.test_tickets_sla import Desk

CONFIG = str(ROOT / "config" / "hotline.toml")
T0 = datetime.fromisoformat("2026-12-03T10:00:00+08:00")  # Thursday, on-site hours
MONTH = date(2026, 12, 1)
CALLERS = ("13800138001", "13800138002", "13800138003", "13800138004")


def five_complaints(desk: Desk) -> list[str]:
    """10:00 one complaint, replied 12 s later; 10:05 .. 10:20 four more, not replied."""
    c = ComplaintService(desk.tickets.desk.ctx, desk.tickets.desk)
    first = c.open("13800138000", "打印机维修拖延", "王芳").ticket.ticket_id
    desk.clock.set(T0 + timedelta(seconds=12))
    c.reply(first, "已致歉，下午处理", "王芳")
    ids = [first]
    for i, caller in enumerate(CALLERS, start=1):
        desk.clock.set(T0 + timedelta(minutes=5 * i))
        ids.append(c.open(caller, "工程师未按约定时间到场", "王芳").ticket.ticket_id)
    return ids


def indicators(desk: Desk, settings: Settings, now: datetime) -> dict[str, tuple[float | None, bool | None, str]]:
    ctx = MonthContext(desk.db.factory, settings, MONTH, datetime(2026, 12, 1, tzinfo=settings.tz),
                       datetime(2027, 1, 1, tzinfo=settings.tz), now)
    return {i.key: (i.actual, i.met, i.detail) for i in ComplaintIndicators().indicators(ctx)}


async def test_complaints_not_due_yet_are_pending_and_unreplied_ones_past_due_are_late(
        settings: Settings, db_url: str) -> None:
    desk = Desk(settings, db_url, T0, TicketConfig())
    ids = five_complaints(desk)

    now = T0 + timedelta(minutes=30)  # the four unreplied were made 10-25 min ago: their 1 h is still running
    shown = indicators(desk, settings, now)
    assert shown["complaints.replied_in_time"] == (1.0, None, "1 / 1，未到期 4 / not yet due 4")  # not 1 / 5
    longest, met, detail = shown["complaints.reply"]
    assert (longest, met) == (25.0, True)  # the 10:05 complaint has waited 25 min so far: within 60
    assert "未到期 4" in detail and "late 0" in detail
    doc = month_report(desk.db.factory, MONTH, settings.tz, now)
    assert doc["as_of"] == "2026-12-03T10:30:00+08:00"
    assert (doc["count"], doc["replied"]) == (5, 1)
    assert doc["replied_in_time"] == {"count": 1, "of": 1, "share": 1.0, "late": 0, "pending": 4}  # not 1 / 5
    assert doc["resolved_in_time"] == {"count": 0, "of": 0, "share": None, "late": 0, "pending": 5}
    lines = doc["complaints"]
    assert [c["replied_in_time"] for c in lines] == [True, None, None, None, None]  # None: not due yet
    assert lines[1]["reply_due_at"] == "2026-12-03T11:05:00+08:00" and lines[1]["reply_minutes"] is None

    now = T0 + timedelta(hours=2)  # all four deadlines passed without a reply (the engine not run: no breach)
    shown = indicators(desk, settings, now)
    longest, met, detail = shown["complaints.reply"]
    assert (longest, met) == (115.0, False)  # not "0.2 min, met" while four complainants wait past the hour
    assert "超时未回复 4" in detail and "4 not replied yet" in detail
    assert shown["complaints.replied_in_time"] == (0.2, None, "1 / 5")
    doc = month_report(desk.db.factory, MONTH, settings.tz, now)
    assert doc["replied_in_time"] == {"count": 1, "of": 5, "share": 0.2, "late": 4, "pending": 0}
    assert [c["replied_in_time"] for c in doc["complaints"]] == [True, False, False, False, False]

    c = ComplaintService(desk.tickets.desk.ctx, desk.tickets.desk)  # a late reply is late, not pending
    desk.clock.set(T0 + timedelta(hours=2))
    c.reply(ids[1], "已回电致歉", "王芳")
    doc = month_report(desk.db.factory, MONTH, settings.tz, T0 + timedelta(hours=3))
    assert doc["replied_in_time"] == {"count": 1, "of": 5, "share": 0.2, "late": 4, "pending": 0}
    assert doc["complaints"][1]["reply_minutes"] == 115.0
    desk.db.engine.dispose()


async def test_report_complaints_text_reads_states_and_waits(
        settings: Settings, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from hotline.cli.complaints import report_text

    desk = Desk(settings, db_url, T0, TicketConfig())
    ids = five_complaints(desk)
    text = "\n".join(report_text(month_report(desk.db.factory, MONTH, settings.tz, T0 + timedelta(minutes=30))))
    assert "投诉 / complaints 2026-12: 5（截至 as of 2026-12-03 10:30）" in text
    assert "1 小时内回复 / replied within 60 min: 1 / 1 (100.0%)，超时 late 0，未到期 pending 4" in text
    doc = month_report(desk.db.factory, MONTH, settings.tz, T0 + timedelta(minutes=30))
    assert report_text(doc, 30)[1].startswith("30 分钟内回复 / replied within 30 min: ")  # the configured target
    assert "按时解决 / resolved in time: 0 / 0 (-)，超时 late 0，未到期 pending 5" in text
    [first, second] = [line for line in text.splitlines() if ids[0] in line or ids[1] in line]
    assert "回复 replied 0.2 分钟 min 按时 in time" in first
    assert "  处理中 in_progress  " in first and "  新建 new  " in second
    assert "未回复 not replied，未到期 not due yet（时限 due 12-03 11:05）" in second
    assert " - 分钟" not in text and "  new  " not in text
    late = report_text(month_report(desk.db.factory, MONTH, settings.tz, T0 + timedelta(hours=2)))
    assert "未回复 not replied，已超时 overdue（时限 due 12-03 11:05）" in "\n".join(late)
    desk.db.engine.dispose()


def test_report_complaints_on_the_system_clock_counts_a_complaint_made_just_now_as_pending(
        settings: Settings, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    now = datetime.now(settings.tz)
    desk = Desk(settings, db_url, now, TicketConfig())
    tid = ComplaintService(desk.tickets.desk.ctx, desk.tickets.desk).open(
        "13900139999", "刚刚登记的投诉", "王芳").ticket.ticket_id
    desk.db.engine.dispose()
    capsys.readouterr()
    assert main(["report", "complaints", "--month", f"{now:%Y-%m}", "--db", db_url, "--config", CONFIG]) == 0
    out = capsys.readouterr().out
    assert "1 小时内回复 / replied within 60 min: 0 / 0 (-)，超时 late 0，未到期 pending 1" in out
    [line] = [x for x in out.splitlines() if tid in x]
    assert "未回复 not replied，未到期 not due yet" in line
