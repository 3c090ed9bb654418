"""A person's data in the satisfaction surveys and the complaint forms (SQLite and PostgreSQL): a resolved ticket
surveyed by SMS, the answers recorded by staff with a note, a low score opening a complaint follow-up whose
《客户投诉反馈表》 is filled in. `privacy export` lists the survey (answers, tries) and the form (with its
versions); `privacy erase` and the tickets' retention leave the number, its E.164 form, the caller's name and
their own words in no table, while the scores, dates and statuses stay for the statistics."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from hotline.cli import main
from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.domain.surveys import SurveyPolicy, Way
from hotline.services.complaints.desk import ComplaintService
from hotline.services.monitor.outbox import DryRunSender
from hotline.services.privacy.service import PrivacyService, Retention
from hotline.services.surveys.config import SurveyConfig
from hotline.store.alerts import OutboxRow
from hotline.store.complaints import ComplaintFormRow, ComplaintFormVersionRow
from hotline.store.privacy import ERASED, ERASED_RECIPIENT
from hotline.store.surveys import SurveyAnswerRow, SurveyRow, SurveyTryRow
from tests.conftest import ROOT
from tests.integration.survey_desk import SurveyDesk
from tests.integration.test_privacy_retention import TABLES, mentions

CONFIG = str(ROOT / "config" / "hotline.toml")
T0 = datetime.fromisoformat("2026-12-03T10:00:00+08:00")
CALLER = "13800138031"
E164 = "+8613800138031"
NAME = "钱女士"
NOTE = f"{NAME}说打印机还是卡纸，请回电 138 0013 8031"  # staff's note of what the caller said
COMPLAINT = "工程师两次未按约定时间到场，打印机至今无法使用"  # the caller's own words
CONFIRMATION = "客户认可处理结果，同意结案"  # the caller's confirmation
# every table that may hold the caller's data, the outbox (survey SMS to the caller) included
ALL_TABLES = (*TABLES, "calls", "alerts", "outbox", "page_attempts")
NEEDLES = (CALLER, E164, NAME, COMPLAINT, CONFIRMATION)


def _surveyed(settings: Settings, db_url: str) -> tuple[SurveyDesk, str]:
    """(desk, a ticket of the caller resolved at 10:15, surveyed by SMS), the caller's name filled in."""
    desk = SurveyDesk(settings, db_url, T0, SurveyConfig(policy=SurveyPolicy(way=Way.SMS)))
    tid = desk.resolved_ticket(CALLER, T0, T0 + timedelta(minutes=15))
    desk.tickets.desk.edit(tid, "王芳", caller_name=NAME)
    desk.tickets.desk.set_caller(CALLER, name=NAME, organisation="财务部")
    return desk, tid


async def _complained(settings: Settings, db_url: str) -> tuple[SurveyDesk, str, str]:
    """(desk, the surveyed ticket, the complaint follow-up of its low score), every personal field filled in."""
    desk, tid = _surveyed(settings, db_url)
    await desk.run_until(T0 + timedelta(minutes=50), DryRunSender())  # the survey SMS goes out
    [sms] = desk.pages("survey")
    assert sms.status == "sent" and CALLER in sms.recipient and sms.caller == CALLER
    desk.clock.set(T0 + timedelta(minutes=55))
    done = desk.surveys.desk.record(tid, {"solved": 1, "overall": 2}, "刘洋", note=NOTE)
    follow = str(done["complaint_ticket_id"])
    complaints = ComplaintService(desk.tickets.desk.ctx, desk.tickets.desk)
    complaints.reply(follow, f"已致电{NAME}致歉", "周强")
    complaints.save_form(follow, "周强", complaint=COMPLAINT, investigation=f"回电 {CALLER} 核实，调度未通知客户",
                         cause="临时调度未同步给客户", measures="改约必须电话告知客户")
    complaints.save_form(follow, "周强", feedback=f"已向{NAME}致歉并改约，回电 {E164}", confirmation=CONFIRMATION)
    return desk, tid, follow


def _statistics(desk: SurveyDesk, tid: str, follow: str) -> dict[str, Any]:
    with desk.db.factory() as s:
        survey = s.scalars(select(SurveyRow).where(SurveyRow.ticket_id == tid)).one()
        form = s.get(ComplaintFormRow, follow)
        assert form is not None
        return {"survey": (survey.status, survey.score, survey.solved, survey.resolved_at, survey.answered_at,
                           survey.answered_via, survey.complaint_ticket_id),
                "answers": sorted(s.execute(select(SurveyAnswerRow.question, SurveyAnswerRow.value,
                                                   SurveyAnswerRow.at)).all()),
                "tries": s.execute(select(SurveyTryRow.round, SurveyTryRow.try_no, SurveyTryRow.at,
                                          SurveyTryRow.outcome)).all(),
                "form": (form.version, form.cause, form.measures, form.updated_at),
                "versions": s.scalar(select(func.count()).select_from(ComplaintFormVersionRow)),
                "outbox": s.execute(select(OutboxRow.key, OutboxRow.status, OutboxRow.created_at)
                                    .order_by(OutboxRow.id)).all()}


def _erased(desk: SurveyDesk, tid: str, follow: str) -> None:
    with desk.db.factory() as s:
        survey = s.scalars(select(SurveyRow).where(SurveyRow.ticket_id == tid)).one()
        assert (survey.caller, survey.caller_key) == (ERASED, ERASED)
        form = s.get(ComplaintFormRow, follow)
        assert form is not None and (form.complaint, form.confirmation) == ("", "")
        assert form.feedback == f"已向{ERASED}致歉并改约，回电 {ERASED}"  # staff's words stay, without the caller
        assert form.investigation == f"回电 {ERASED} 核实，调度未通知客户"
        [sms] = s.scalars(select(OutboxRow).where(OutboxRow.purpose == "survey")).all()
        assert json.loads(sms.recipient).get("mobile") is None and sms.caller is None


async def test_export_and_erase_cover_the_surveys_and_complaint_forms(
        settings: Settings, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    desk, tid, follow = await _complained(settings, db_url)
    url = desk.db.engine.url.render_as_string(hide_password=False)
    assert {"surveys", "complaint_forms", "complaint_form_versions", "outbox", "tickets"} <= set(
        mentions(desk.db, NEEDLES, ALL_TABLES))
    statistics = _statistics(desk, tid, follow)
    capsys.readouterr()

    assert main(["privacy", "export", "--number", CALLER, "--db", url, "--config", CONFIG]) == 0
    held = json.loads(capsys.readouterr().out)
    [survey] = held["surveys"]
    assert (survey["ticket_id"], survey["score"], survey["note"]) == (tid, 2, NOTE)
    assert {(a["question"], a["value"]) for a in survey["answers"]} == {("solved", 1), ("overall", 2)}
    assert [t["try_no"] for t in survey["tries"]] == [1]
    [form] = held["complaint_forms"]
    assert (form["ticket_id"], form["complaint"], form["confirmation"], form["version"]) == (
        follow, COMPLAINT, CONFIRMATION, 2)
    assert [v["version"] for v in form["versions"]] == [1, 2]
    assert any(p["purpose"] == "survey" for p in held["pages"])

    assert main(["privacy", "erase", "--number", "+86 138 0013 8031", "--yes", "--db", url, "--config", CONFIG]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts["surveys"] == 1 and counts["complaint_forms"] == 1 and counts["tickets"] == 2
    assert mentions(desk.db, NEEDLES, ALL_TABLES) == {}
    assert _statistics(desk, tid, follow) == statistics  # scores, dates, statuses stay
    _erased(desk, tid, follow)
    desk.dispose()


async def test_retention_anonymises_the_surveys_and_forms_of_closed_tickets(
        settings: Settings, db_url: str) -> None:
    desk, tid, follow = await _complained(settings, db_url)
    desk.tickets.desk.resolve(follow, "已改约上门并更换硒鼓", "周强")
    desk.tickets.desk.close(follow, "周强")
    statistics = _statistics(desk, tid, follow)
    service = PrivacyService(desk.db.factory, ManualClock(T0 + timedelta(days=31), settings.tz))

    counts = service.purge(Retention(tickets_days=30))
    assert (counts["tickets"], counts["surveys"], counts["complaint_forms"]) == (2, 1, 1)
    assert mentions(desk.db, NEEDLES, ALL_TABLES) == {}
    assert _statistics(desk, tid, follow) == statistics
    _erased(desk, tid, follow)
    desk.dispose()


async def test_erasing_cancels_a_survey_still_to_be_asked(settings: Settings, db_url: str,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """The caller asked to be forgotten: the survey SMS not sent yet is not sent, and no try follows."""
    desk, tid = _surveyed(settings, db_url)
    await desk.run_until(T0 + timedelta(minutes=20), DryRunSender())  # scheduled: the first try at 10:45
    assert await _erased_then_run(desk, tid, capsys) == ("cancelled", ERASED)
    assert mentions(desk.db, (CALLER, E164, NAME), ALL_TABLES) == {}
    desk.dispose()


async def test_a_ticket_erased_before_its_survey_is_not_surveyed(settings: Settings, db_url: str,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Erased between the resolution and the survey engine's next cycle: nobody to ask, no SMS to '已删除'."""
    desk, tid = _surveyed(settings, db_url)
    assert await _erased_then_run(desk, tid, capsys) == ("skipped", ERASED)
    desk.dispose()


async def _erased_then_run(desk: SurveyDesk, tid: str, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """`privacy erase` of the caller, then the engines for 30 h: no survey try goes out; the survey's state."""
    url = desk.db.engine.url.render_as_string(hide_password=False)
    assert main(["privacy", "erase", "--number", CALLER, "--yes", "--db", url, "--config", CONFIG]) == 0
    capsys.readouterr()
    await desk.run_until(T0 + timedelta(hours=30), DryRunSender())
    assert desk.pages("survey") == []
    with desk.db.factory() as s:
        survey = s.scalars(select(SurveyRow).where(SurveyRow.ticket_id == tid)).one()
        return survey.status, survey.caller


async def test_the_page_text_retention_drops_the_mobile_a_survey_went_to(settings: Settings, db_url: str) -> None:
    desk, _, _ = await _complained(settings, db_url)
    service = PrivacyService(desk.db.factory, ManualClock(T0 + timedelta(days=2), settings.tz))
    assert service.purge(Retention(page_text_days=1))["page_texts"] >= 1
    with desk.db.factory() as s:
        [sms] = s.scalars(select(OutboxRow).where(OutboxRow.purpose == "survey")).all()
        assert (sms.recipient, sms.text, sms.caller, sms.status) == (ERASED_RECIPIENT, "", None, "sent")
    desk.dispose()
