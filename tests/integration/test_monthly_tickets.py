"""The tickets' indicators of the monthly report (质量月报) on a hand-computed month, on SQLite and PostgreSQL:
tickets made through the real services on a virtual clock (calls in, start, escalate 一线 → 二线 → 厂商,
resolve, reopen), then `hotline report monthly --month 2026-11` in json, html, xlsx and pdf.

November 2026 (Asia/Shanghai, 7x24 window):
  T1 13800138000  missed 11-10 09:40, reached 10:00 (response 20), work 10:30 (repair start 30), resolved
                  12:00 (resolution 120)
  T2 13800138001  call 11-12 13:59, answered 14:00 (1); 二线 15:00 (60); 厂商 16:00; resolved 19:00 (300:
                  missed); vendor leg 180
  T3 010-12345678 call 11-20 08:58, answered 09:00 (2); never started: repair start and resolution overdue
  T4 13800138004  call 11-25 09:58, answered 10:00 (2); work 10:10 (10); resolved 10:40; reopened 11-26 09:00,
                  resolved 09:50 (40 + 50 = 90; the night spent resolved does not count)
October: T0 13800138005 call 10-15 09:55, answered 10:00 (5); work 10:20 (20); resolved 11:00 (60).
Figures: responses 20, 1, 2, 2 (n 4, longest 20, mean 6.25, 4/4 in time); repair starts 30, 60, 10 (n 3,
longest 60, 3/3); resolutions 120, 300, 90 (n 3, MTTR 170, 2/3 in time); 1 ticket overdue at the month's end
(2 clocks); escalations: 1 to second line, 1 to the vendor (1 leg, 180 min); 1 reopened."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hotline.cli import main
from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.domain.calls import AttemptResult, Call, Direction
from hotline.runtime.assembly import open_database
from hotline.services.roster.service import RosterService
from hotline.services.tickets.build import Tickets, build_tickets
from hotline.services.tickets.config import TicketConfig, VendorContact
from tests.conftest import ROOT

TZ = ZoneInfo("Asia/Shanghai")
CONFIG = str(ROOT / "config" / "hotline.toml")
VENDOR = VendorContact("新华三售后", "4008100000", "support@vendor.example", "HT-2026-017")


def at(month: int, day: int, hh: int, mm: int) -> datetime:
    return datetime(2026, month, day, hh, mm, tzinfo=TZ)


def answered(call_id: str, caller: str, started: datetime, answer: datetime, by: str = "8003") -> Call:
    c = Call(call_id, "asterisk", Direction.INBOUND, started, caller=caller, called="4008001234", specialty="network",
             staff_reached_at=answer, answered_at=answer, answered_by=by)
    c.ended_at = answer + timedelta(minutes=5)
    return c


def missed(call_id: str, caller: str, started: datetime) -> Call:
    c = Call(call_id, "asterisk", Direction.INBOUND, started, caller=caller, called="4008001234", specialty="network")
    c.attempt_result = AttemptResult.ABANDONED
    c.ended_at = started + timedelta(minutes=1)
    return c


def ticket_of(t: Tickets, caller: str) -> str:
    (view,) = t.desk.find(state="all", caller="+86" + caller)
    return view.ticket.ticket_id


@pytest.fixture
def month_db(settings: Settings, db_url: str) -> str:
    db = open_database(db_url)
    clock = ManualClock(at(10, 15, 9, 0), settings.tz)
    RosterService(db.factory, settings, clock).load_example(ROOT / "config" / "roster.yaml")
    t = build_tickets(settings, db.factory, clock, config=TicketConfig(vendors={"network": VENDOR}))

    def when(moment: datetime) -> None:
        clock.set(moment)

    # October: T0
    when(at(10, 15, 10, 0))
    t.opener.on_call(answered("o1", "13800138005", at(10, 15, 9, 55), at(10, 15, 10, 0)))
    t0 = ticket_of(t, "13800138005")
    when(at(10, 15, 10, 20))
    t.desk.start(t0, "王芳")
    when(at(10, 15, 11, 0))
    t.desk.resolve(t0, "重启交换机", "王芳")
    # T1: a missed call first; the response clock starts at its first ring
    when(at(11, 10, 9, 41))
    t.opener.on_call(missed("m1", "13800138000", at(11, 10, 9, 40)))
    when(at(11, 10, 10, 0))
    t.opener.on_call(answered("a1", "13800138000", at(11, 10, 9, 59), at(11, 10, 10, 0)))
    t1 = ticket_of(t, "13800138000")
    when(at(11, 10, 10, 30))
    t.desk.start(t1, "王芳")
    when(at(11, 10, 12, 0))
    t.desk.resolve(t1, "更换网线", "王芳")
    # T2: escalated to second line, then to the vendor; resolved late
    when(at(11, 12, 14, 0))
    t.opener.on_call(answered("a2", "13800138001", at(11, 12, 13, 59), at(11, 12, 14, 0)))
    t2 = ticket_of(t, "13800138001")
    t.desk.edit(t2, "王芳", ticket_type="request")
    when(at(11, 12, 15, 0))
    t.desk.escalate(t2, "核心交换机故障，一线无法处理", "王芳")
    when(at(11, 12, 16, 0))
    t.desk.escalate(t2, "需要厂商更换板卡", "陈静")
    when(at(11, 12, 19, 0))
    t.desk.resolve(t2, "厂商更换板卡", "陈静")
    # T3: a landline; nobody starts work before the month ends
    when(at(11, 20, 9, 0))
    t.opener.on_call(answered("a3", "010-12345678", at(11, 20, 8, 58), at(11, 20, 9, 0)))
    # T4: resolved, reopened the next morning, resolved again
    when(at(11, 25, 10, 0))
    t.opener.on_call(answered("a4", "13800138004", at(11, 25, 9, 58), at(11, 25, 10, 0)))
    t4 = ticket_of(t, "13800138004")
    when(at(11, 25, 10, 10))
    t.desk.start(t4, "王芳")
    when(at(11, 25, 10, 40))
    t.desk.resolve(t4, "重装打印机驱动", "王芳")
    when(at(11, 26, 9, 0))
    t.desk.reopen(t4, "张伟", "打印机又无法连接")
    when(at(11, 26, 9, 50))
    t.desk.resolve(t4, "更换打印机网卡", "王芳")
    db.engine.dispose()
    return db_url


def monthly(url: str, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    capsys.readouterr()
    assert main(["report", "monthly", "--month", "2026-11", "--db", url, "--config", CONFIG, *extra]) == 0
    return capsys.readouterr().out


def test_ticket_indicators_of_a_hand_computed_month(month_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    doc = json.loads(monthly(month_db, capsys, "--format", "json"))
    ind = {i["key"]: i for i in doc["indicators"]}
    assert (ind["tickets.opened"]["actual"], ind["tickets.opened"]["detail"]) == (4, "故障 3 · 服务请求 1")
    response = ind["tickets.response"]
    assert (response["actual"], response["target"], response["met"], response["last_month"]) == (20, 60, True, 5)
    assert response["measured"] is True and response["detail"] == "4 张工单，平均 6.2 分钟 / 4 tickets, mean 6.2 min"
    assert (ind["tickets.response.within"]["actual"], ind["tickets.response.within"]["detail"]) == (1.0, "4 / 4")
    repair = ind["tickets.repair_start"]
    assert (repair["actual"], repair["target"], repair["met"], repair["last_month"]) == (60, 240, True, 20)
    assert repair["detail"].startswith("3 张工单") and ind["tickets.repair_start.within"]["detail"] == "3 / 3"
    mttr = ind["tickets.mttr"]
    assert (mttr["actual"], mttr["target"], mttr["met"], mttr["last_month"]) == (170, 240, True, 60)
    assert mttr["actual_text"] == "170.0 分钟" and mttr["detail"].startswith("3 张工单")
    within = ind["tickets.resolution.within"]
    assert (within["actual"], within["detail"], within["met"]) == (0.6667, "2 / 3", None)
    assert (ind["tickets.overdue"]["actual"], ind["tickets.overdue"]["detail"]) == (1, "开始修复 1、解决 1")
    assert (ind["tickets.escalated.second_line"]["actual"], ind["tickets.escalated.second_line"]["detail"]) == (
        1, "本月升级 1 次，本月新开工单 4 张 / 1 hand-offs in the month, 4 tickets opened")  # a count, no share
    vendor = ind["tickets.escalated.vendor"]
    assert (vendor["actual"], vendor["detail"]) == (1, "厂商处理 1 次，平均 180.0 分钟 / 1 vendor legs, mean 180.0 min")
    assert (ind["tickets.reopened"]["actual"], ind["tickets.reopened"]["last_month"]) == (1, 0)
    # only measured misses need a cause and an action: none of the ticket indicators missed its target
    assert not [a for a in doc["analysis"] if a["key"].startswith("tickets.")]


def test_a_month_without_tickets_has_no_data_not_zero(settings: Settings, db_url: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    open_database(db_url).engine.dispose()
    doc = json.loads(monthly(db_url, capsys, "--format", "json"))
    ind = {i["key"]: i for i in doc["indicators"]}
    for key in ("tickets.response", "tickets.repair_start", "tickets.mttr", "tickets.response.within"):
        assert (ind[key]["measured"], ind[key]["actual"], ind[key]["met"]) == (True, None, None), key
        assert ind[key]["actual_text"] == "无数据 / no data"
    assert ind["tickets.opened"]["actual"] == 0


def test_ticket_rows_in_html_xlsx_and_pdf(month_db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    html = monthly(month_db, capsys, "--format", "html")
    for text in ("最长响应时间 / Longest response time", "平均修复时间 / Mean time to repair", "170.0 分钟",
                 "升级厂商 / Escalated to the vendor", "2 / 3"):
        assert text in html, text
    out = tmp_path / "2026-11.xlsx"
    monthly(month_db, capsys, "--format", "xlsx", "-o", str(out))
    with zipfile.ZipFile(out) as z:
        strings = z.read("xl/sharedStrings.xml").decode()
    assert "最长响应时间 / Longest response time" in strings and "按时解决率 / Resolved in time" in strings
    if not shutil.which("pdftotext"):
        pytest.fail("poppler-utils (pdftotext) is needed for the PDF check")
    pdf = tmp_path / "2026-11.pdf"
    monthly(month_db, capsys, "--format", "pdf", "-o", str(pdf))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True,
                          text=True).stdout
    for needle in ("最长响应时间", "平均修复时间", "170.0 分钟", "升级二线", "重开工单"):
        assert needle in text, needle
