"""`hotline report monthly` on a hand-computed month (November 2026, October beside it), on SQLite and
PostgreSQL: every figure of the indicator table, the answer-rate rows in the shape of
`report answer-rate --json`, the not-measured sources, and the HTML, XLSX (native charts) and PDF
(Chinese text extracted by pdftotext, page 1 rendered to PNG by pdftoppm) renderings."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hotline.cli import main
from hotline.config import Settings
from hotline.runtime.assembly import open_database
from hotline.store.alerts import AlertRow, IncidentRow, OutboxRow, PageAttemptRow
from hotline.store.base import unit_of_work
from hotline.store.calls import CallRow, OutageRow
from tests.conftest import ROOT

TZ = ZoneInfo("Asia/Shanghai")
CONFIG = str(ROOT / "config" / "hotline.toml")


def at(day: int, hh: int, mm: int, month: int = 11) -> datetime:
    return datetime(2026, month, day, hh, mm, tzinfo=TZ)


def call(cid: str, when: datetime, outcome: str, specialty: str | None, wait: float | None = None,
         talk: float | None = None, by: str | None = None, direction: str = "inbound") -> CallRow:
    return CallRow(call_id=cid, provider="asterisk", direction=direction, caller="13800138004", called="4008001234",
                   specialty=specialty, outcome=outcome, answered_by=by, started_at=when,
                   ended_at=when + timedelta(minutes=5), wait_seconds=wait, talk_seconds=talk, estimated=False)


def alert(aid: str, kind: str, opened: datetime, *, breached: datetime | None = None, cleared: datetime | None = None,
          acked: datetime | None = None, step: int = 0, caller: str | None = "13800138004",
          window: str = "onsite") -> AlertRow:
    return AlertRow(alert_id=aid, kind=kind, state="cleared" if cleared else "open", window=window, caller=caller,
                    specialty="network", opened_at=opened, deadline_at=opened + timedelta(minutes=15), missed_calls=1,
                    step_index=step, repeat_no=0, breached_at=breached, cleared_at=cleared, acked_at=acked,
                    acked_by="张伟" if acked else None)


def page(oid: int, when: datetime, channel: str, ok: bool, purpose: str = "page",
         alert_id: str = "a1") -> tuple[OutboxRow, PageAttemptRow]:
    box = OutboxRow(id=oid, key=f"k{oid}", alert_id=alert_id if purpose == "page" else None, purpose=purpose,
                    person="张伟", channel=channel, fallback="",
                    recipient="{}", subject="未接来电", text="未接来电", created_at=when,
                    status="sent" if ok else "failed", attempts=1, next_attempt_at=when)
    return box, PageAttemptRow(outbox_id=oid, at=when, channel=channel, ok=ok)


@pytest.fixture
def month_db(db_url: str) -> str:
    db = open_database(db_url)
    rows: list[object] = [
        # November, network: 3 answered (waits 5, 10, 20; talks 60, 120, 180), 1 abandoned (wait 30)
        call("n1", at(10, 10, 0), "answered", "network", 5, 60, "张伟"),
        call("n2", at(10, 10, 5), "answered", "network", 10, 120, "张伟"),
        call("n3", at(10, 11, 0), "answered", "network", 20, 180, "李娜"),
        call("n4", at(10, 10, 20), "abandoned", "network", 30),
        # servers: 1 answered (wait 8, talk 300), 1 timeout (wait 60), 1 busy (wait 2)
        call("s1", at(11, 14, 0), "answered", "servers", 8, 300, "王芳"),
        call("s2", at(11, 14, 10), "timeout", "servers", 60),
        call("s3", at(11, 15, 0), "busy", "servers", 2),
        call("i1", at(12, 9, 0), "ivr_abandoned", None),  # not offered
        call("o1", at(12, 9, 30), "answered", None, 3, 40, "张伟", direction="outbound"),  # a callback: not counted
        call("late", at(1, 0, 30, month=12), "answered", "network", 1, 1, "张伟"),  # December: not counted
        # October, network: 1 answered, 1 abandoned -> 50 %
        call("x1", at(15, 10, 0, month=10), "answered", "network", 4, 30, "李娜"),
        call("x2", at(15, 10, 30, month=10), "abandoned", "network", 12),
        # a missed call breached (opened 10:20, breached 10:35, returned 10:41: 21 min), one returned in 5 min
        alert("a1", "missed_call", at(10, 10, 20), breached=at(10, 10, 35), cleared=at(10, 10, 41),
              acked=at(10, 10, 25), step=2),
        alert("a2", "missed_call", at(12, 9, 0), cleared=at(12, 9, 5), step=1),
        # an alert a replay paged in a dry run only (remote duty, acked after 1 min): nothing was sent, so it is
        # not a paged alert (were it counted, 2 / 3 acknowledged in 3 min)
        alert("a3", "missed_call", at(14, 9, 0), cleared=at(14, 9, 2), acked=at(14, 9, 1), step=1, window="remote"),
        # a major incident reported after 45 minutes
        alert("inc1", "incident", at(20, 14, 0), cleared=at(20, 14, 45), caller=None),
        IncidentRow(incident_id="inc1", alert_id="inc1", title="核心交换机宕机", declared_by="周强",
                    declared_at=at(20, 14, 0), report_deadline_at=at(20, 14, 30), reported_at=at(20, 14, 45),
                    reported_by="周强"),
        # outages: listener 03:00-03:12 and silence 03:05-03:20 (one outage, 20 min); 10:00-10:45 (45 min)
        OutageRow(provider="asterisk", started_at=at(5, 3, 0), ended_at=at(5, 3, 12), reason="connection lost"),
        alert("sil1", "silence", at(5, 3, 5), cleared=at(5, 3, 20), caller="ami"),
        OutageRow(provider="asterisk", started_at=at(25, 10, 0), ended_at=at(25, 10, 45), reason="pbx restart"),
    ]
    with unit_of_work(db.factory) as s:
        s.add_all(rows)
        s.flush()
        # a1 paged twice (one failed), a2 once; two survey tries (calls to callers, one unanswered): no pages
        for oid, (when, channel, ok, purpose, alert_id) in enumerate([
                (at(10, 10, 20), "sms", True, "page", "a1"), (at(10, 10, 23), "voice", False, "page", "a1"),
                (at(12, 9, 0), "sms", True, "page", "a2"), (at(13, 9, 0), "survey_asterisk", False, "survey", ""),
                (at(13, 11, 0), "survey_sms", True, "survey", "")], start=1):
            box, attempt = page(oid, when, channel, ok, purpose, alert_id)
            s.add(box)
            s.flush()
            s.add(attempt)
        # a page a dry run printed (a replay of a day into this database): not sent, counted apart
        box, attempt = page(6, at(14, 9, 0), "dry_run", True, alert_id="a3")
        attempt.provider_id = "dry-run:k6"
        s.add(box)
        s.flush()
        s.add(attempt)
    db.engine.dispose()
    return db_url


def monthly(url: str, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    capsys.readouterr()
    assert main(["report", "monthly", "--month", "2026-11", "--db", url, "--config", CONFIG, *extra]) == 0
    return capsys.readouterr().out


def test_monthly_json_has_the_hand_computed_figures(month_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    doc = json.loads(monthly(month_db, capsys, "--format", "json"))
    assert doc["month"] == "2026-11" and doc["period"] == {"from": "2026-11-01", "to": "2026-11-30",
                                                           "timezone": "Asia/Shanghai"}
    ind = {i["key"]: i for i in doc["indicators"]}
    total = ind["answer_rate.total"]
    assert (total["actual"], total["target"], total["met"], total["detail"]) == (0.5714, 0.75, False, "4 / 7")
    assert total["actual_text"] == "57.1%" and total["target_text"] == "≥ 75.0%" and total["met_text"] == "否 / no"
    assert (total["last_month"], total["last_month_text"]) == (0.5, "50.0%")
    network = ind["answer_rate.network"]
    assert (network["actual"], network["met"], network["detail"], network["last_month"]) == (0.75, True, "3 / 4", 0.5)
    assert ind["answer_rate.servers"]["actual"] == 0.3333 and ind["answer_rate.servers"]["met"] is False
    apps = ind["answer_rate.applications"]  # no calls: no data, not a 0 % and not a miss
    assert (apps["actual"], apps["met"], apps["actual_text"]) == (None, None, "无数据 / no data")
    assert (ind["unanswered.breaches"]["actual"], ind["unanswered.breaches"]["met"]) == (1, False)
    assert (ind["unanswered.longest"]["actual"], ind["unanswered.longest"]["met"]) == (21.0, False)
    assert ind["unanswered.longest"]["actual_text"] == "21.0 分钟"
    assert ind["incidents.count"]["actual"] == 1
    assert (ind["incidents.report"]["actual"], ind["incidents.report"]["met"]) == (45.0, False)
    assert (ind["outage.longest"]["actual"], ind["outage.longest"]["met"]) == (45.0, False)
    assert (ind["outage.total"]["actual"], ind["outage.total"]["met"]) == (65.0, False)
    assert ind["outage.longest"]["detail"] == "中断 2 次 / 2 outages"
    assert (ind["pages.sent"]["actual"], ind["pages.failed"]["actual"]) == (2, 1)  # the survey tries left out
    assert ind["pages.sent"]["detail"] == "另有演练 1 条（未发送）/ 1 more in dry run (not sent)"
    # a1 (acked after 5 min) and a2 were paged; a3 only in a dry run: not a paged alert
    assert (ind["pages.acked"]["actual"], ind["pages.acked"]["detail"]) == (0.5, "1 / 2")
    assert ind["pages.ack_minutes"]["actual"] == 5.0
    assert ind["roster.gaps"]["measured"] is True
    # complaints are measured: none this month is no data, not a 0 % and not a miss
    assert (ind["complaints.count"]["actual"], ind["complaints.count"]["measured"]) == (0, True)
    reply = ind["complaints.reply"]
    assert (reply["measured"], reply["actual"], reply["met"], reply["target"]) == (True, None, None, 60)
    assert ind["complaints.replied_in_time"]["detail"] == "0 / 0"
    # surveys are measured (docs/surveys.md): no resolved ticket this month is no data, never 0 and never a miss
    for key in ("satisfaction.score", "satisfaction.response_rate", "satisfaction.within_24h"):
        assert (ind[key]["measured"], ind[key]["actual"], ind[key]["met"]) == (True, None, None), key
        assert ind[key]["actual_text"] == "无数据 / no data"
    assert "样本 0" in ind["satisfaction.score"]["detail"]
    assert ind["satisfaction.score"]["target"] == 0.9 and ind["tickets.mttr"]["target"] == 240
    # tickets are measured (test_monthly_tickets.py): a month without tickets has no data, not a 0 or a miss
    assert (ind["tickets.mttr"]["measured"], ind["tickets.mttr"]["actual"], ind["tickets.mttr"]["met"]) == (True, None,
                                                                                                          None)
    # every missed target has its cause / action fields, nothing else
    assert {a["key"] for a in doc["analysis"]} == {k for k, i in ind.items() if i["met"] is False}
    assert all(a["cause"] == "" and a["action"] == "" for a in doc["analysis"])
    # per staff, busiest hours, trend, breaches (caller masked), incidents, outages
    agents = {r["group"]: r for r in doc["answer_rate"]["by_agent"]}
    assert (agents["张伟"]["answered"], agents["张伟"]["avg_talk_seconds"]) == (2, 90.0)
    assert doc["busiest_hours"][0] == {"hour": "10:00", "offered": 3, "answered": 2, "answer_rate": 0.6667}
    assert [(m["month"], m["offered"], m["answered"]) for m in doc["trend"]] == [("2026-10", 2, 1), ("2026-11", 7, 4)]
    assert [(b["caller"], b["breached_at"]) for b in doc["breaches"]] == [("138****8004", "2026-11-10T10:35:00+08:00")]
    assert [(i["title"], i["report_minutes"], i["late"]) for i in doc["incidents"]] == [("核心交换机宕机", 45.0, True)]
    assert [o["minutes"] for o in doc["outages"]] == [20.0, 45.0]


def test_answer_rate_rows_have_the_shape_of_report_answer_rate(month_db: str,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    doc = json.loads(monthly(month_db, capsys))
    capsys.readouterr()
    assert main(["report", "answer-rate", "--from", "2026-11-01", "--to", "2026-11-30", "--json", "--db", month_db,
                 "--config", CONFIG]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert doc["answer_rate"]["by_specialty"] == lines
    assert [r["group"] for r in lines] == ["(none)", "network", "servers", "total"]  # (none): the IVR hang-up
    total = lines[-1]
    figures = ("offered", "answered", "abandoned", "timeout", "busy", "ivr_abandoned", "avg_wait_seconds",
               "p90_wait_seconds")
    assert tuple(total[k] for k in figures) == (7, 4, 1, 1, 1, 1, 19.3, 60.0)


def test_html_and_xlsx(month_db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    html = monthly(month_db, capsys, "--format", "html")
    assert "指标" in html and "上月" in html and "无数据 / no data" in html and "<svg" in html
    assert "原因分析" in html and "网络 / Network" in html
    out = tmp_path / "2026-11.xlsx"
    monthly(month_db, capsys, "--format", "xlsx", "-o", str(out))
    from openpyxl import load_workbook

    wb = load_workbook(out)
    assert wb.sheetnames[:3] == ["指标 Indicators", "分专业 Specialty", "坐席 Staff"]
    rows = list(wb["分专业 Specialty"].iter_rows(min_row=2, values_only=True))
    assert rows[1][:4] == ("网络 / Network", 4, 3, 0.75) and rows[-1][:4] == ("合计 total", 7, 4, 0.5714)
    breaches = list(wb["超时 Breaches"].iter_rows(values_only=True))  # headers named, times as Excel desk times
    assert breaches[0] == ("来电 Caller", "专业 Specialty", "告警 Opened", "超时 Breached", "回复 Returned",
                           "确认人 Acked by")
    assert breaches[1][2:5] == (datetime(2026, 11, 10, 10, 20), datetime(2026, 11, 10, 10, 35),
                                datetime(2026, 11, 10, 10, 41))
    incidents = list(wb["故障 Incidents"].iter_rows(values_only=True))
    assert incidents[1] == ("核心交换机宕机", datetime(2026, 11, 20, 14, 0), datetime(2026, 11, 20, 14, 45), 45,
                            "是 yes")
    with zipfile.ZipFile(out) as z:  # native Excel charts, not pictures
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) >= 3
        assert b"<c:barChart>" in z.read(charts[0])


def require_poppler() -> None:
    if not shutil.which("pdftotext"):
        if os.environ.get("HOTLINE_REQUIRE_PDF") == "1":
            pytest.fail("poppler-utils required here (HOTLINE_REQUIRE_PDF=1) but pdftotext is not installed")
        pytest.skip("poppler-utils not installed")


def test_pdf_has_the_indicator_table_in_chinese(month_db: str, capsys: pytest.CaptureFixture[str],
                                                tmp_path: Path) -> None:
    require_poppler()
    pdf = tmp_path / "质量月报-2026-11.pdf"
    monthly(month_db, capsys, "--format", "pdf", "-o", str(pdf))
    assert pdf.read_bytes()[:5] == b"%PDF-"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True,
                          text=True).stdout
    for words in ("热线服务质量月报", "指标", "标准", "实际", "达标", "上月", "接通率（网络", "57.1%",
                  "≥ 75.0%", "无数据", "原因分析", "核心交换机宕机", "138****8004"):
        assert words in text, words
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, check=True, text=True).stdout
    assert "Noto-Sans-CJK-SC" in fonts  # the Chinese text is drawn in an embedded CJK font, not tofu
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True)
    png = next(tmp_path.glob("page*.png"))
    assert png.stat().st_size > 10_000  # a page with a table drawn on it, kept for a reviewer to look at


def test_issuing_needs_cause_and_action_then_freezes_and_versions(
        month_db: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    issue = ["report", "issue", "--month", "2026-11", "--by", "周强", "--db", month_db, "--config", CONFIG]
    capsys.readouterr()
    assert main(issue) == 2  # missed targets without their cause and action
    err = capsys.readouterr().err
    assert "原因分析" in err and "answer_rate.total" in err and "outage.total" in err

    draft = json.loads(monthly(month_db, capsys))
    notes = tmp_path / "analysis.yaml"
    entry = "{key}:\n  cause: 服务器专业人手不足（{key}）\n  action: 增加二线值守，每周复盘"
    notes.write_text("\n".join(entry.format(key=a["key"]) for a in draft["analysis"]), encoding="utf-8")
    capsys.readouterr()
    assert main([*issue, "--analysis", str(notes)]) == 0
    assert "第 1 版" in capsys.readouterr().out

    # a call arrives later (a late import): the live figures change, the issued report does not
    db = open_database(month_db)
    with unit_of_work(db.factory) as s:
        s.add(call("n5", at(28, 10, 0), "answered", "servers", 3, 30, "王芳"))
    db.engine.dispose()
    live = json.loads(monthly(month_db, capsys))
    frozen = json.loads(monthly(month_db, capsys, "--issued"))
    live_total = next(i for i in live["indicators"] if i["key"] == "answer_rate.total")
    frozen_total = next(i for i in frozen["indicators"] if i["key"] == "answer_rate.total")
    assert (live_total["detail"], frozen_total["detail"]) == ("5 / 8", "4 / 7")
    assert frozen["issued"]["version"] == 1 and frozen["issued"]["issued_by"] == "周强"
    assert frozen["analysis"][0]["action"] == "增加二线值守，每周复盘"
    html = monthly(month_db, capsys, "--issued", "--format", "html")
    assert "第 1 版 已发布" in html and "增加二线值守" in html

    # a correction is a new version; the first stays as issued
    capsys.readouterr()
    assert main([*issue, "--analysis", str(notes)]) == 0
    assert json.loads(monthly(month_db, capsys, "--issued"))["issued"]["version"] == 2
    assert json.loads(monthly(month_db, capsys, "--issued", "--version", "1"))["answer_rate"]["by_specialty"][-1][
        "offered"] == 7
    capsys.readouterr()
    assert main(["report", "issued", "--db", month_db, "--config", CONFIG]) == 0
    listing = capsys.readouterr().out.splitlines()[1:]
    assert [line.split()[:2] for line in listing] == [["2026-11", "2"], ["2026-11", "1"]]


async def test_the_report_on_the_dashboard(month_db: str, settings: Settings) -> None:
    import httpx

    from hotline.api.app import create_app
    from hotline.clock import ManualClock
    from tests.signin import BASE_URL, login

    db = open_database(month_db)
    app = create_app(settings, db.factory, ManualClock(at(3, 9, 0, month=12), TZ), live={})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as http:
        await login(http, db.factory, "supervisor", None)  # reports: a supervisor's
        doc = (await http.get("/api/reports/monthly/2026-11.json")).json()
        html = await http.get("/api/reports/monthly/2026-11.html")
        xlsx = await http.get("/api/reports/monthly/2026-11.xlsx")
        bad_month = await http.get("/api/reports/monthly/2026-13.json")
        bad_format = await http.get("/api/reports/monthly/2026-11.doc")
    assert next(i for i in doc["indicators"] if i["key"] == "answer_rate.total")["detail"] == "4 / 7"
    assert html.status_code == 200 and "上月" in html.text and html.headers["content-type"].startswith("text/html")
    assert xlsx.content[:2] == b"PK" and "quality-report-2026-11.xlsx" in xlsx.headers["content-disposition"]
    assert bad_month.status_code == 422 and "YYYY-MM" in bad_month.json()["detail"]
    assert bad_format.status_code == 404
    db.engine.dispose()
