"""The 《客户投诉反馈表》 stored with its versions and exported (XLSX read back with openpyxl, PDF text read
back with pdftotext: Chinese, not boxes), and `hotline report complaints --json` exact on a hand-computed
month, with the monthly report's complaint indicators from the same data; SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from hotline.cli import main
from hotline.config import Settings
from hotline.runtime.assembly import open_database
from hotline.services.complaints.desk import ComplaintService, TicketError
from hotline.services.reports.dashboard import today_summary
from hotline.services.reports.indicators import ComplaintIndicators, MonthContext
from hotline.services.tickets.config import TicketConfig
from hotline.store.base import unit_of_work
from hotline.store.calls import upsert_calls
from hotline.store.tickets import TicketEventRow
from tests.conftest import ROOT
from tests.integration.monitor_fakes import missed
from tests.integration.test_tickets_sla import Desk, answered

CONFIG = str(ROOT / "config" / "hotline.toml")
T0 = datetime.fromisoformat("2026-12-03T10:00:00+08:00")


CST = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"2026-{text}+08:00")


def service(desk: Desk) -> ComplaintService:
    return ComplaintService(desk.tickets.desk.ctx, desk.tickets.desk)


def test_the_form_keeps_every_version_and_exports_as_xlsx_and_pdf(
        settings: Settings, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    desk = Desk(settings, db_url, T0, TicketConfig())
    c = service(desk)
    tid = c.open("13800138000", "工程师三次未按约定时间到场", "王芳").ticket.ticket_id
    assert c.form(tid) is None
    v1 = c.save_form(tid, "王芳", complaint="客户刘洋投诉：工程师三次未按约定时间到场，打印机仍无法使用。",
                     investigation="查排班记录：冯婷当日被临时调往机房，未通知客户。")
    desk.clock.set(T0 + timedelta(hours=2))
    v2 = c.save_form(tid, "周强", cause="临时调度未同步给客户", measures="改约时间必须电话告知客户；当日更换硒鼓。",
                     feedback="已电话致歉并说明整改措施。", confirmation="客户表示认可，同意结单。")
    assert (v1.version, v2.version) == (1, 2)
    assert c.save_form(tid, "周强", cause="临时调度未同步给客户").version == 2  # unchanged: no new version
    history = c.form_history(tid)
    assert [(h.version, h.saved_by, h.form.cause) for h in history] == [
        (1, "王芳", ""), (2, "周强", "临时调度未同步给客户")]
    assert history[1].form.complaint == v1.form.complaint  # fields not given are kept
    current = c.form(tid)
    assert current is not None and current.form == v2.form and current.saved_at == T0 + timedelta(hours=2)
    assert [e.new for e in desk.tickets.desk.timeline(tid) if e.action == "form"] == ["v1", "v2"]
    with pytest.raises(TicketError, match="no field"):
        c.save_form(tid, "周强", reason="x")
    desk.tickets.opener.on_call(answered("i1", "13900139999", T0))
    incident = next(v for v in desk.tickets.desk.find() if v.ticket.caller == "13900139999").ticket.ticket_id
    with pytest.raises(TicketError, match="不是投诉"):
        c.save_form(incident, "王芳", complaint="x")
    desk.db.engine.dispose()

    xlsx, pdf = tmp_path / "form.xlsx", tmp_path / "form.pdf"
    for kind, out in (("xlsx", xlsx), ("pdf", pdf)):
        assert main(["complaints", "export", tid, "--format", kind, "-o", str(out), "--db", db_url,
                     "--config", CONFIG]) == 0
    ws = load_workbook(xlsx).active
    assert ws is not None
    cells = {str(r[0]): r[1] for r in ws.iter_rows(values_only=True) if r[0]}
    assert cells["工单号 / Ticket"] == tid and str(ws["A1"].value).startswith("客户投诉反馈表")
    assert cells["原因分析 / Cause"] == "临时调度未同步给客户"
    assert cells["客户确认 / Customer confirmation"] == "客户表示认可，同意结单。"
    assert cells["投诉时间 / Made at"] == "2026-12-03 10:00"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    for phrase in ("客户投诉反馈表", "调查情况", "临时调度未同步给客户", "客户表示认可，同意结单。", tid, "周强"):
        assert phrase in text, phrase
    capsys.readouterr()
    assert main(["complaints", "form", tid, "--json", "--db", db_url, "--config", CONFIG]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["version"], shown["measures"]) == (2, "改约时间必须电话告知客户；当日更换硒鼓。")


def test_report_complaints_json_is_exact_on_a_hand_computed_month(
        settings: Settings, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    desk = Desk(settings, db_url, at("11-10T10:00"), TicketConfig())
    c = service(desk)

    def move(text: str) -> None:
        desk.clock.set(at(text))
        desk.tickets.engine.tick()

    a = c.open("13800138000", "打印机维修拖延", "王芳").ticket.ticket_id  # replied in 30 min, solved in 5 h
    move("11-10T10:30")
    c.reply(a, "已致歉，下午处理", "王芳")
    move("11-10T15:00")
    desk.tickets.desk.resolve(a, "更换定影组件", "王芳")
    move("11-12T09:00")
    b = c.open("010-12345678", "工程师态度生硬", "李娜").ticket.ticket_id  # replied in 80 min, solved late
    move("11-12T10:20")
    c.reply(b, "已联系客户说明", "李娜")
    move("11-13T10:00")  # the 24 h passed at 11-13 09:00: the project manager is paged
    move("11-14T09:00")
    desk.tickets.desk.resolve(b, "更换工程师并回访", "李娜")
    move("11-15T11:00")
    desk.tickets.opener.on_call(answered("x1", "13600136000", at("11-15T11:00")))  # an incident: not counted
    move("11-20T14:00")
    cc = c.open("13900139999", "多次来电无人接听", "王芳").ticket.ticket_id  # replied in 50 min, never solved
    move("11-20T14:50")
    c.reply(cc, "已回电致歉", "王芳")
    move("11-21T15:00")
    move("12-01T09:00")
    c.open("13700137000", "十二月的投诉", "王芳")  # December: not in the November report
    desk.db.engine.dispose()

    capsys.readouterr()
    assert main(["report", "complaints", "--month", "2026-11", "--json", "--db", db_url, "--config", CONFIG]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc.pop("as_of") > "2026-12-01"  # the system clock's now: every November deadline has come
    line = {"source": "hand", "replied_in_time": True, "resolved": True, "resolved_in_time": True,
            "escalated": False}
    assert doc == {
        "type": "complaints", "month": "2026-11", "count": 3, "replied": 3,
        "replied_in_time": {"count": 2, "of": 3, "share": 0.6667, "late": 1, "pending": 0}, "resolved": 2,
        "resolved_in_time": {"count": 1, "of": 3, "share": 0.3333, "late": 2, "pending": 0},
        "escalated": {"count": 2, "of": 3, "share": 0.6667},
        "complaints": [
            {**line, "ticket_id": a, "caller": "138****8000", "complained_at": "2026-11-10T10:00:00+08:00",
             "status": "closed", "reply_minutes": 30.0, "reply_due_at": "2026-11-10T11:00:00+08:00",
             "resolve_due_at": "2026-11-11T10:00:00+08:00"},
            {**line, "ticket_id": b, "caller": "010****5678", "complained_at": "2026-11-12T09:00:00+08:00",
             "status": "closed", "reply_minutes": 80.0, "replied_in_time": False, "resolved_in_time": False,
             "escalated": True, "reply_due_at": "2026-11-12T10:00:00+08:00",
             "resolve_due_at": "2026-11-13T09:00:00+08:00"},
            {**line, "ticket_id": cc, "caller": "139****9999", "complained_at": "2026-11-20T14:00:00+08:00",
             "status": "in_progress", "reply_minutes": 50.0, "resolved": False, "resolved_in_time": False,
             "escalated": True, "reply_due_at": "2026-11-20T15:00:00+08:00",
             "resolve_due_at": "2026-11-21T14:00:00+08:00"},
        ]}
    assert main(["report", "complaints", "--month", "2026-11", "--db", db_url, "--config", CONFIG]) == 0
    text = capsys.readouterr().out
    assert "1 小时内回复 / replied within 60 min: 2 / 3 (66.7%)，超时 late 1，未到期 pending 0" in text
    assert "上报项目经理 / escalated to the project manager: 2 / 3 (66.7%)" in text
    for bad in ("2026-13", "26-11", "2026-1"):  # a two-digit year was read as the year 26
        for command in (["report", "complaints"], ["report", "satisfaction"], ["report", "monthly"]):
            assert main([*command, "--month", bad, "--db", db_url, "--config", CONFIG]) == 2, (command, bad)
            assert f"month {bad!r} is not valid: expected YYYY-MM" in capsys.readouterr().err

    db = open_database(db_url)  # the monthly report's indicators over the same rows
    ctx = MonthContext(db.factory, settings, date(2026, 11, 1), at("11-01T00:00"), at("12-01T00:00"),
                       at("12-02T09:00"))
    ind = {i.key: i for i in ComplaintIndicators().indicators(ctx)}
    tile = today_summary(db.factory, settings, at("11-25T09:00"))["complaints"]  # the dashboard's figure
    db.engine.dispose()
    assert tile == {"month": "2026-11", "count": 3,
                    "replied_in_time": {"count": 2, "of": 3, "share": 0.6667, "late": 1, "pending": 0},
                    "resolved_in_time": {"count": 1, "of": 3, "share": 0.3333, "late": 2, "pending": 0},
                    "escalated": {"count": 2, "of": 3, "share": 0.6667}}
    assert ind["complaints.count"].actual == 3
    assert (ind["complaints.reply"].actual, ind["complaints.reply"].target, ind["complaints.reply"].met) == (
        80.0, 60, False)
    assert ind["complaints.replied_in_time"].detail == "2 / 3"
    assert ind["complaints.resolved_in_time"].actual == pytest.approx(1 / 3)
    assert (ind["complaints.escalated"].actual, ind["complaints.escalated"].detail) == (2, "2 / 3")


def test_cli_opens_marks_replies_and_agrees_with_clear_errors(
        settings: Settings, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    desk = Desk(settings, db_url, T0, TicketConfig())
    desk.tickets.opener.on_call(answered("cli1", "13900139999", T0))
    desk.db.engine.dispose()

    def run(*argv: str, code: int = 0) -> dict[str, object]:
        capsys.readouterr()
        assert main([*argv, "--db", db_url, "--config", CONFIG]) == code
        out = capsys.readouterr()
        return json.loads(out.out) if code == 0 and "--json" in argv else {"err": out.err}

    opened = run("complaints", "open", "010-12345678", "--summary", "网络多次中断未处理", "--by", "刘洋", "--json")
    assert (opened["ticket_type"], opened["caller"], opened["assignee"]) == ("complaint", "01012345678", "刘洋")
    tid = str(opened["ticket_id"])
    replied = run("complaints", "reply", tid, "--text", "已电话答复，今日修复", "--by", "刘洋", "--json")
    assert replied["status"] == "in_progress" and isinstance(replied["complaint"], dict)
    # the command runs on the system clock: the deadline agreed is two days from today (a fixed date here made
    # this test fail once it had passed)
    due = (datetime.now(CST) + timedelta(days=2)).replace(hour=17, minute=0, second=0, microsecond=0)
    agreed = run("complaints", "agree", tid, "--due", f"{due:%Y-%m-%dT%H:%M%z}", "--by", "刘洋", "--json")
    assert isinstance(agreed["complaint"], dict)
    assert agreed["complaint"]["agreed_due_at"] == due.isoformat()
    again = run("complaints", "open", "01012345678", "--summary", "承诺今日修复仍未修复", "--by", "王芳", "--json")
    assert again["ticket_id"] == tid and again["summary"] == "网络多次中断未处理"  # one ticket per caller
    db = open_database(db_url)
    with db.factory() as s:
        last = s.scalars(select(TicketEventRow).where(TicketEventRow.ticket_id == tid)
                         .order_by(TicketEventRow.id.desc())).first()
        assert last is not None
        assert (last.actor, last.action, last.new, last.note) == ("王芳", "complaint", "承诺今日修复仍未修复",
                                                                  "再次投诉 / complained again")
    db.engine.dispose()
    capsys.readouterr()
    assert main(["complaints", "mark-call", "cli1", "--by", "冯婷", "--json", "--db", db_url, "--config", CONFIG]) == 0
    out = capsys.readouterr()
    marked = json.loads(out.out)
    assert (marked["ticket_type"], marked["caller"]) == ("complaint", "13900139999")
    # the complaint counts from the call's start (2026-12-03 10:00): its reply deadline has long passed, said
    assert "注意 / note: 投诉回复期限 12-03 11:00 已过" in out.err and "pages it as missed now" in out.err
    db = open_database(db_url)
    with unit_of_work(db.factory) as s:  # a missed call: in the ledger, linked to no ticket
        upsert_calls(s, [missed("13700137000", T0, "cli2")])
    db.engine.dispose()
    assert "complaints open 13700137000" in str(run("complaints", "mark-call", "cli2", "--by", "刘洋", code=1)["err"])
    assert "号码无效" in str(run("complaints", "open", "12", "--summary", "x", "--by", "刘洋", code=1)["err"])
    assert "no call 'nope' in the ledger" in str(run("complaints", "mark-call", "nope", "--by", "刘洋", code=1)["err"])
    assert "YYYY-MM-DDTHH:MM" in str(run("complaints", "agree", tid, "--due", "明天", "--by", "刘洋", code=2)["err"])
    assert "--by" in str(run("complaints", "form", tid, "--cause", "x", code=1)["err"])
