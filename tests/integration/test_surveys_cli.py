"""`hotline surveys due|run|show|record|cancel` and `hotline report satisfaction --json` on SQLite and
PostgreSQL; the report exact on a hand-computed month, overall and by staff member, and the monthly quality
report (质量月报) shows the same figures instead of "not measured"."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from hotline.cli import main
from hotline.config import Settings
from hotline.domain.calls import Call, Direction
from hotline.domain.surveys import SurveyPolicy, Way
from hotline.services.monitor.outbox import DryRunSender
from hotline.services.reports.monthly import indicator_table, month_context
from hotline.services.surveys.config import SurveyConfig
from hotline.services.surveys.report import satisfaction
from tests.conftest import ROOT
from tests.integration.survey_desk import SurveyDesk

CONFIG = str(ROOT / "config" / "hotline.toml")
DAY = datetime.fromisoformat("2026-12-03T09:00:00+08:00")


def run(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> list[dict[str, Any]]:
    assert main([*argv, "--config", CONFIG]) == code
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


async def test_report_satisfaction_is_exact_on_a_hand_computed_month(
        settings: Settings, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Four tickets resolved in December: 王芳's two answered 5 and 4 within 24 h; 刘洋's one answered 3 after
    30 h, one never reached. Satisfaction (5+4+3)/3/5 = 80%, sample 3, response 3/4, within 24 h 2/4."""
    desk = SurveyDesk(settings, db_url, DAY, SurveyConfig(policy=SurveyPolicy(way=Way.MANUAL)))
    h = timedelta(hours=1)
    t1 = desk.resolved_ticket("13800138004", DAY, DAY + h, by_ext="8003")  # 王芳
    t2 = desk.resolved_ticket("13800138011", DAY + h, DAY + 2 * h, by_ext="8003")
    t3 = desk.resolved_ticket("13800138012", DAY + h, DAY + 2 * h, by_ext="8004", specialty="servers")  # 刘洋
    t4 = desk.resolved_ticket("13800138013", DAY + h, DAY + 2 * h, by_ext="8004", specialty="servers")
    await desk.run_until(DAY + 3 * h, DryRunSender())
    desk.surveys.desk.record(t1, {"solved": 1, "overall": 5}, "刘洋")
    desk.surveys.desk.record(t2, {"solved": 1, "overall": 4}, "刘洋")
    await desk.run_until(DAY + 32 * h, DryRunSender())  # t3, t4: no answer recorded within 24 h
    desk.surveys.desk.record(t3, {"solved": 1, "overall": 3}, "王芳")  # late, by hand
    assert desk.surveys.desk.get(t4)["status"] == "unreachable"

    url = desk.db.engine.url.render_as_string(hide_password=False)
    [overall] = run(capsys, "report", "satisfaction", "--month", "2026-12", "--json", "--db", url)
    assert overall == {"month": "2026-12", "group": "all", "satisfaction": 0.8, "average_score": 4.0,
                       "full_score": 5, "sample": 3, "resolved": 4, "answered": 3, "response_rate": 0.75,
                       "within_24h": 2, "within_24h_share": 0.5, "unreachable": 1}
    by_staff = run(capsys, "report", "satisfaction", "--month", "2026-12", "--by", "staff", "--json", "--db", url)
    assert [(r["group"], r["satisfaction"], r["sample"], r["response_rate"], r["within_24h_share"],
             r["unreachable"]) for r in by_staff] == [("刘洋", 0.6, 1, 0.5, 0.0, 1), ("王芳", 0.9, 2, 1.0, 1.0, 0)]
    assert run(capsys, "report", "satisfaction", "--month", "2026-11", "--json", "--db", url)[0]["sample"] == 0
    run(capsys, "report", "satisfaction", "--month", "12/2026", "--db", url, code=2)

    ctx = month_context(desk.db.factory, settings, DAY.date().replace(day=1), DAY + 40 * h)
    shown = {i.key: i for i in indicator_table(ctx)}
    score = shown["satisfaction.score"]
    assert score.measured and score.actual == pytest.approx(0.8) and score.met is False  # target 90%
    assert "3" in (score.detail or "")
    assert shown["satisfaction.response_rate"].actual == pytest.approx(0.75)
    assert shown["satisfaction.within_24h"].actual == pytest.approx(0.5)
    desk.dispose()


async def test_surveys_commands(settings: Settings, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    start = datetime.fromisoformat("2026-11-10T09:00:00+08:00")
    desk = SurveyDesk(settings, db_url, start, SurveyConfig(policy=SurveyPolicy(way=Way.MANUAL)))
    t1 = desk.resolved_ticket("13800138004", start, start + timedelta(hours=1))
    t2 = desk.resolved_ticket("13800138011", start, start + timedelta(hours=1))
    t3 = desk.resolved_ticket("13800138012", start, start + timedelta(hours=1))
    await desk.run_until(start + timedelta(hours=2), DryRunSender())  # scheduled on the desk's clock
    url = desk.db.engine.url.render_as_string(hide_password=False)
    due = run(capsys, "surveys", "due", "--json", "--db", url)
    assert {d["ticket_id"] for d in due} == {t1, t2, t3} and all(d["way"] == "manual" for d in due)
    assert main(["surveys", "due", "--config", CONFIG, "--db", url]) == 0  # the table: times as the others show them
    table = capsys.readouterr().out
    assert f"{t1}" in table and " 11-11 10:00" in table and "T10:00" not in table  # due by: 24 h after resolving
    assert main(["surveys", "record", t1, "--by", "王芳", "--score", "5", "--config", CONFIG, "--db", url]) == 1
    assert "cannot record its score" in capsys.readouterr().err
    [done] = run(capsys, "surveys", "record", t1, "--by", "刘洋", "--solved", "1", "--score", "4",
                 "--answer", "skill=5", "--json", "--db", url)
    assert (done["status"], done["score"], done["recorded_by"]) == ("answered", 4, "刘洋")
    assert {a["question"]: a["value"] for a in done["answers"]} == {"solved": 1, "overall": 4, "skill": 5}
    run(capsys, "surveys", "record", t2, "--by", "刘洋", "--score", "9", "--db", url, code=1)
    [cancelled] = run(capsys, "surveys", "cancel", t2, "--by", "周强", "--reason", "客户要求不回访", "--json",
                      "--db", url)
    assert cancelled["status"] == "cancelled" and "客户要求不回访" in cancelled["note"]
    [shown] = run(capsys, "surveys", "show", str(done["survey_id"]), "--json", "--db", url)
    assert shown["ticket_id"] == t1
    run(capsys, "surveys", "show", "GD20991231-0001", "--db", url, code=1)
    # a cycle now (the system clock, long after November): t3 was never recorded within its 24 h
    assert run(capsys, "surveys", "run", "--json", "--db", url) == [{"actions": 1}]
    assert run(capsys, "surveys", "show", t3, "--json", "--db", url)[0]["status"] == "unreachable"
    assert run(capsys, "surveys", "due", "--json", "--db", url) == []
    assert main(["surveys", "show", t1, "--config", CONFIG, "--db", url]) == 0
    text = capsys.readouterr().out
    assert "已回访 answered" in text and "总体满意度" in text
    desk.dispose()


async def test_a_low_score_opens_a_complaint_whose_source_is_the_survey(
        settings: Settings, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """solved 1, score 2 (at or below the low score): the ticket closes and a follow-up complaint ticket is
    opened; its source is `survey` (回访低分) in the ticket and in `report complaints --json`."""
    start = datetime.fromisoformat("2026-11-10T09:00:00+08:00")
    desk = SurveyDesk(settings, db_url, start, SurveyConfig(policy=SurveyPolicy(way=Way.MANUAL)))
    tid = desk.resolved_ticket("13800138004", start, start + timedelta(hours=1))
    await desk.run_until(start + timedelta(hours=2), DryRunSender())
    done = desk.surveys.desk.record(tid, {"solved": 1, "overall": 2}, "刘洋")
    follow = done["complaint_ticket_id"]
    assert follow and follow != tid
    complaint = desk.tickets.desk.get(follow).ticket
    assert (complaint.ticket_type, complaint.complaint_source, complaint.complained_at) == (
        "complaint", "survey", start + timedelta(hours=2))
    assert any(c.field == "complaint_source" and c.new == "survey" for c in desk.tickets.desk.timeline(follow))
    url = desk.db.engine.url.render_as_string(hide_password=False)
    capsys.readouterr()
    assert main(["report", "complaints", "--month", "2026-11", "--json", "--db", url, "--config", CONFIG]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(c["ticket_id"], c["source"]) for c in doc["complaints"]] == [(follow, "survey")]
    desk.dispose()



async def test_a_low_score_at_night_goes_to_the_named_managers(settings: Settings, db_url: str) -> None:
    """21:00 on a Tuesday: no project manager on duty. The complaint follow-up of a low score is given to and
    paged to `[tickets] complaint_managers` (周强 in the shipped config), not left to nobody."""
    start = datetime.fromisoformat("2026-11-10T20:00:00+08:00")
    desk = SurveyDesk(settings, db_url, start, SurveyConfig(policy=SurveyPolicy(way=Way.MANUAL)))
    tid = desk.resolved_ticket("13800138004", start, start + timedelta(minutes=30))
    await desk.run_until(start + timedelta(hours=1), DryRunSender())  # the survey is planned
    assert desk.tickets.desk.ctx.staff.on_duty(desk.clock.now(), "manager", "network") == []
    done = desk.surveys.desk.record(tid, {"solved": 1, "overall": 1}, "刘洋")
    await desk.run_until(start + timedelta(hours=1, minutes=5), DryRunSender())
    follow = desk.surveys.desk.get(tid)["complaint_ticket_id"]
    assert follow and done["score"] == 1
    assert desk.tickets.desk.get(follow).ticket.assignee == "周强"
    pages = [(p.purpose, p.person) for p in desk.pages() if p.purpose == "survey_outcome"]
    assert pages == [("survey_outcome", "周强")], pages
    desk.dispose()


async def test_a_ticket_escalated_at_night_counts_for_whoever_solved_it(settings: Settings, db_url: str) -> None:
    """Escalated at 21:30 with no second line on duty, the ticket is unassigned; 杨磊 resolves it: the survey's
    figures by staff are his, not 'nobody'."""
    start = datetime.fromisoformat("2026-11-10T21:30:00+08:00")
    desk = SurveyDesk(settings, db_url, start, SurveyConfig(policy=SurveyPolicy(way=Way.MANUAL)))
    c = Call("n1", "asterisk", Direction.INBOUND, start, caller="13800138004", called="4008001234",
             specialty="network", staff_reached_at=start, answered_at=start + timedelta(seconds=8),
             answered_by="8002")
    c.ended_at = start + timedelta(minutes=4)
    desk.tickets.opener.on_call(c)
    (view,) = desk.tickets.desk.find()
    tid = view.ticket.ticket_id
    desk.clock.set(start + timedelta(minutes=10))
    assert desk.tickets.desk.escalate(tid, "需二线处理", "李娜").ticket.assignee is None
    desk.clock.set(start + timedelta(minutes=50))
    desk.tickets.desk.resolve(tid, "远程重启交换机", "杨磊")
    await desk.run_until(start + timedelta(hours=2), DryRunSender())
    desk.surveys.desk.record(tid, {"solved": 1, "overall": 5}, "刘洋")
    (f,) = satisfaction(desk.db.factory, start - timedelta(hours=1), start + timedelta(days=1), by="staff")
    assert (f.group, f.sample, f.satisfaction) == ("杨磊", 1, 1.0)
    desk.dispose()


async def test_surveys_show_reads_the_solved_answer_as_yes_or_no(
        settings: Settings, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The solved answer is stored as 1 (yes) / 0 (no); what a person reads is 是 yes / 否 no, never 0."""
    start = datetime.fromisoformat("2026-11-10T09:00:00+08:00")
    desk = SurveyDesk(settings, db_url, start, SurveyConfig(policy=SurveyPolicy(way=Way.MANUAL)))
    no = desk.resolved_ticket("13800138004", start, start + timedelta(hours=1))
    yes = desk.resolved_ticket("13800138011", start, start + timedelta(hours=1))
    await desk.run_until(start + timedelta(hours=2), DryRunSender())
    url = desk.db.engine.url.render_as_string(hide_password=False)
    [shown] = run(capsys, "surveys", "record", no, "--by", "刘洋", "--solved", "2", "--score", "3", "--json",
                  "--db", url)
    assert {a["question"]: a["value"] for a in shown["answers"]} == {"solved": 0, "overall": 3}  # stored as was
    assert {a["question"]: a["value_text"] for a in shown["answers"]} == {"solved": "否 no", "overall": "3"}
    run(capsys, "surveys", "record", yes, "--by", "刘洋", "--solved", "1", "--score", "5", "--db", url)
    for ticket_id, word in ((no, "否 no"), (yes, "是 yes")):
        assert main(["surveys", "show", ticket_id, "--config", CONFIG, "--db", url]) == 0
        text = capsys.readouterr().out
        assert f"    问题是否已解决 solved: {word}\n" in text
        assert "    总体满意度 overall: " in text
        assert ": 0\n" not in text
        assert "方式 way 人工回访 manual" in text and "解决于 resolved 2026-11-10 10:00  " in text  # no microseconds
    desk.dispose()


async def test_report_satisfaction_text_names_specialties_and_the_total(
        settings: Settings, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The text table reads the configured specialty names with their codes, 未分类 / none for tickets
    without one, and 合计 total for the overall row; --json keeps the codes."""
    desk = SurveyDesk(settings, db_url, DAY, SurveyConfig(policy=SurveyPolicy(way=Way.MANUAL)))
    h = timedelta(hours=1)
    t1 = desk.resolved_ticket("13800138004", DAY, DAY + h)  # network
    desk.resolved_ticket("13800138011", DAY, DAY + h, specialty="servers")
    desk.resolved_ticket("13800138012", DAY, DAY + h, specialty="")  # no specialty
    await desk.run_until(DAY + 2 * h, DryRunSender())
    desk.surveys.desk.record(t1, {"solved": 1, "overall": 4}, "刘洋")
    url = desk.db.engine.url.render_as_string(hide_password=False)
    capsys.readouterr()
    assert main(["report", "satisfaction", "--month", "2026-12", "--by", "specialty", "--config", CONFIG,
                 "--db", url]) == 0
    out = capsys.readouterr().out
    rows = out.splitlines()[2:]
    assert [r.split("  ")[0] for r in rows] == ["未分类 / none", "网络 / Network (network)",
                                                "服务器 / Servers (servers)"]
    assert "80.0%" in rows[1] and "network" not in rows[0] + rows[2]
    assert main(["report", "satisfaction", "--month", "2026-12", "--config", CONFIG, "--db", url]) == 0
    [total] = capsys.readouterr().out.splitlines()[2:]
    assert total.startswith("合计 total  ") and " all " not in f" {total} "
    codes = run(capsys, "report", "satisfaction", "--month", "2026-12", "--by", "specialty", "--json", "--db", url)
    assert [r["group"] for r in codes] == ["(none)", "network", "servers"]
    desk.dispose()
