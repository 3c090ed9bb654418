"""Survey scheduling on a virtual clock, on SQLite and PostgreSQL: a ticket resolved at 19:30 with calling
hours to 20:00 is tried the next morning, within 24 h; three unanswered tries make it unreachable (counted in
the report); a restart between tries sends no try twice; a reopened ticket cancels its survey."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest

from hotline.config import Settings
from hotline.domain.surveys import SurveyPolicy, Way
from hotline.services.monitor.outbox import DryRunSender
from hotline.services.surveys.config import SurveyConfig
from hotline.services.surveys.report import figures_dict, satisfaction
from tests.integration.survey_desk import NoAnswer, SurveyDesk

T0 = datetime.fromisoformat("2026-12-03T19:00:00+08:00")  # a Thursday


async def test_three_unanswered_tries_next_morning_then_unreachable_across_restarts(
        settings: Settings, db_url: str) -> None:
    desk = SurveyDesk(settings, db_url, T0)
    resolved = T0 + timedelta(minutes=30)  # 19:30; the first try would be 20:00, outside calling hours
    tid = desk.resolved_ticket("13800138004", T0, resolved)
    sender = NoAnswer()
    await desk.run_until(resolved + timedelta(minutes=1), sender)
    [survey] = desk.surveys.desk.due()
    assert survey["ticket_id"] == tid and survey["status"] == "scheduled"
    assert survey["next_try_at"] == "2026-12-04T09:00:00+08:00"
    assert survey["staff"] == "王芳" and survey["way"] == "asterisk"

    await desk.run_until(datetime.fromisoformat("2026-12-04T10:00:00+08:00"), sender)
    desk.restart()  # between the first and the second try
    await desk.run_until(datetime.fromisoformat("2026-12-04T12:00:00+08:00"), sender)
    desk.restart()
    await desk.run_until(resolved + timedelta(hours=30), sender)

    tries = [p for p in desk.pages("survey")]
    assert [p.created_at for p in tries] == [datetime.fromisoformat(f"2026-12-04T{h}:00:00+08:00")
                                             for h in ("09", "11", "13")]
    assert all(t.created_at - resolved < timedelta(hours=24) for t in tries)
    assert all(p.channel == "survey_asterisk" and p.status == "failed" for p in tries)
    assert Counter(p.key for p in sender.sent if p.extra.get("purpose") == "survey") == {p.key: 1 for p in tries}
    done = desk.surveys.desk.get(tid)
    assert done["status"] == "unreachable" and done["tries"] == 3
    assert [t["outcome"] for t in done["try_list"]] == ["no_answer"] * 3
    assert desk.surveys.desk.due() == []

    start, end = (datetime.fromisoformat("2026-12-01T00:00:00+08:00"),
                  datetime.fromisoformat("2027-01-01T00:00:00+08:00"))
    (f,) = satisfaction(desk.db.factory, start, end)
    assert figures_dict(f) == {"group": "all", "satisfaction": None, "average_score": None, "full_score": 5,
                               "sample": 0, "resolved": 1, "answered": 0, "response_rate": 0.0,
                               "within_24h": 0, "within_24h_share": 0.0, "unreachable": 1}
    desk.dispose()


async def test_a_try_inside_calling_hours_and_a_call_without_keypress_is_no_answer(
        settings: Settings, db_url: str) -> None:
    config = SurveyConfig(policy=SurveyPolicy(delay=timedelta(0), attempts=2))
    desk = SurveyDesk(settings, db_url, T0, config)
    resolved = T0 + timedelta(minutes=30)
    tid = desk.resolved_ticket("13800138004", T0, resolved)
    await desk.run_until(resolved + timedelta(minutes=5), DryRunSender())  # the call is answered ...
    [first] = desk.pages("survey")
    assert first.created_at == resolved and first.status == "sent"  # 19:30, before 20:00
    await desk.run_until(resolved + timedelta(hours=20), DryRunSender())  # ... but no key is pressed
    s = desk.surveys.desk.get(tid)
    assert s["status"] == "unreachable" and [t["outcome"] for t in s["try_list"]] == ["no_answer", "no_answer"]
    assert s["try_list"][1]["at"] == "2026-12-04T09:00:00+08:00"
    desk.dispose()


async def test_a_reopened_ticket_cancels_its_survey_and_the_next_resolution_surveys_again(
        settings: Settings, db_url: str) -> None:
    desk = SurveyDesk(settings, db_url, T0)
    tid = desk.resolved_ticket("13800138004", T0, T0 + timedelta(minutes=30))
    await desk.run_until(T0 + timedelta(minutes=31), NoAnswer())
    assert desk.surveys.desk.get(tid)["status"] == "scheduled"
    desk.tickets.desk.reopen(tid, "刘洋", "来电：打印机又脱机")
    await desk.run_until(T0 + timedelta(minutes=40), NoAnswer())
    s = desk.surveys.desk.get(tid)
    assert s["status"] == "cancelled" and "reopened" in s["note"]
    await desk.run_until(datetime.fromisoformat("2026-12-04T10:00:00+08:00"), NoAnswer())
    assert desk.pages("survey") == []  # the cancelled survey placed no try
    desk.tickets.desk.resolve(tid, "更换硒鼓", "王芳")
    await desk.run_until(datetime.fromisoformat("2026-12-04T10:01:00+08:00"), NoAnswer())
    again = desk.surveys.desk.get(tid)
    assert (again["status"], again["round"]) == ("scheduled", 2)
    assert again["next_try_at"] == "2026-12-04T10:30:00+08:00"
    desk.dispose()


async def test_do_not_call_and_sampling_skip_the_survey(settings: Settings, db_url: str) -> None:
    config = SurveyConfig(policy=SurveyPolicy(do_not_call=frozenset({"+8613800138004"})))
    desk = SurveyDesk(settings, db_url, T0, config)
    listed = desk.resolved_ticket("13800138004", T0, T0 + timedelta(minutes=30))
    other = desk.resolved_ticket("13800138011", T0, T0 + timedelta(minutes=30))
    await desk.run_until(T0 + timedelta(hours=20), NoAnswer())
    skipped = desk.surveys.desk.get(listed)
    assert skipped["status"] == "skipped" and "do-not-call" in skipped["note"] and skipped["try_list"] == []
    assert desk.surveys.desk.get(other)["tries"] == 3  # the other caller is called
    assert all(p.caller == "13800138011" for p in desk.pages("survey"))
    desk.dispose()


async def test_a_ticket_out_of_the_sample_is_not_surveyed(settings: Settings, db_url: str) -> None:
    none = SurveyDesk(settings, db_url, T0, SurveyConfig(policy=SurveyPolicy(sampling=0.0)))
    tid = none.resolved_ticket("13800138012", T0, T0 + timedelta(minutes=30))
    await none.run_until(T0 + timedelta(hours=1), NoAnswer())
    assert none.surveys.desk.get(tid)["status"] == "skipped" and none.pages("survey") == []
    none.dispose()


async def test_an_outcome_that_fails_is_retried_after_a_pause_not_in_a_loop(
        settings: Settings, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    desk = SurveyDesk(settings, db_url, T0, SurveyConfig(policy=SurveyPolicy(way=Way.MANUAL)))
    tid = desk.resolved_ticket("13800138004", T0, T0 + timedelta(minutes=30))
    await desk.run_until(T0 + timedelta(minutes=35), NoAnswer())
    tries: list[str] = []

    def database_away(*args: object, **kwargs: object) -> None:
        tries.append("close")
        raise RuntimeError("database away")

    monkeypatch.setattr(desk.tickets.desk, "close", database_away)
    answered = desk.surveys.desk.record(tid, {"solved": 1, "overall": 5}, "刘洋")  # stored; outcome failed
    assert answered["status"] == "answered" and tries == ["close"]
    await desk.run_until(T0 + timedelta(minutes=39), NoAnswer())  # one retry by the engine, then a pause
    assert tries == ["close", "close"]
    assert desk.surveys.engine.next_due() == T0 + timedelta(minutes=40)
    monkeypatch.undo()
    await desk.run_until(T0 + timedelta(minutes=41), NoAnswer())
    assert desk.tickets.desk.get(tid).ticket.status == "closed"
    desk.dispose()
