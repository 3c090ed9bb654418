"""A survey asked through Asterisk, against the fake AMI server over TCP in the byte format of the recorded
traces: the outbox delivers the try as an `Originate` of the caller's number into the survey IVR (our
Uniqueid via ChannelId); the call's keypresses come back as `VarSet` events of HOTLINE_SURVEY_SOLVED /
HOTLINE_SURVEY_SCORE, which the real listener hands to the surveys. The answers are stored with their
question text, a solved ticket closes, a low score opens a complaint ticket for the manager (paged), and the
satisfaction report counts it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime, timedelta

from hotline.config import Settings
from hotline.domain.surveys import QUESTIONS, SurveyPolicy
from hotline.paging.base import Page, SendResult
from hotline.paging.dispatcher import Dispatcher
from hotline.providers.asterisk.client import AmiClient
from hotline.providers.asterisk.sim.server import FakeAmiServer
from hotline.runtime.assembly import AmiIngest, tracker_config
from hotline.runtime.listener import AmiListener
from hotline.runtime.page_calls import ami_originate
from hotline.services.calls.ledger import Ledger
from hotline.services.monitor.outbox import DryRunSender
from hotline.services.surveys.build import survey_channels
from hotline.services.surveys.config import SurveyConfig
from hotline.services.surveys.keypad import record_keypress
from hotline.services.surveys.report import figures_dict, satisfaction
from tests.integration.survey_desk import SurveyDesk

T0 = datetime.fromisoformat("2026-12-03T10:00:00+08:00")
STAMP = 1796263500.0  # 2026-12-03 10:45 +08:00


def trace_event(lines: list[tuple[str, str]]) -> bytes:
    """An event as the recorded traces carry it (CRLF lines, a blank line after)."""
    return "".join(f"{k}: {v}\r\n" for k, v in lines).encode() + b"\r\n"


def keypresses(uid: str, presses: Sequence[tuple[str, str]]) -> bytes:
    """VarSet events of the survey menus' variables, eight seconds apart."""
    return b"".join(var_set(uid, variable, value, value, STAMP + 9 + 8 * i)
                    for i, (variable, value) in enumerate(presses))


def originate_response(action_id: str, uniqueid: str, response: str = "Success", reason: str = "4") -> bytes:
    return trace_event([("Event", "OriginateResponse"), ("Privilege", "call,all"), ("Timestamp", f"{STAMP:.6f}"),
                        ("ActionID", action_id), ("Response", response),
                        ("Channel", "PJSIP/trunk-00000007"), ("Context", "hotline-survey"), ("Exten", "s"),
                        ("Reason", reason), ("Uniqueid", uniqueid), ("CallerIDNum", "13800138004"),
                        ("CallerIDName", "<unknown>")])


def var_set(uniqueid: str, variable: str, value: str, exten: str, at: float) -> bytes:
    return trace_event([
        ("Event", "VarSet"), ("Privilege", "dialplan,all"), ("Timestamp", f"{at:.6f}"),
        ("Channel", "PJSIP/trunk-00000007"), ("ChannelState", "6"), ("ChannelStateDesc", "Up"),
        ("CallerIDNum", "13800138004"), ("CallerIDName", "<unknown>"), ("ConnectedLineNum", "<unknown>"),
        ("ConnectedLineName", "<unknown>"), ("Language", "zh"), ("AccountCode", ""),
        ("Context", f"hotline-survey-{variable.rsplit('_', 1)[-1].lower()}"),  # the menu that set it
        ("Exten", exten), ("Priority", "1"), ("Uniqueid", uniqueid), ("Linkedid", uniqueid),
        ("Variable", variable), ("Value", value)])


class SurveyOrDryRun:
    """Survey tries through the real channels; the staff's pages (the manager's) as a dry run."""

    def __init__(self, surveys: Dispatcher) -> None:
        self.surveys, self.dry = surveys, DryRunSender()

    async def deliver(self, page: Page, order: Sequence[str] | None = None) -> list[SendResult]:
        if page.extra.get("purpose") == "survey":
            return await self.surveys.deliver(page, order)
        return await self.dry.deliver(page, order)


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def survey_pbx(settings: Settings, desk: SurveyDesk, presses: Sequence[tuple[str, str]],
                     originates: list[Mapping[str, str]] | None = None) -> AsyncIterator[SurveyOrDryRun]:
    """The fake AMI server answering every Originate with the call's keypresses (VarSet events), the real
    listener handing them to the surveys, and a sender delivering the survey tries through AMI."""
    server: FakeAmiServer

    def originate(action: Mapping[str, str]) -> list[list[tuple[str, str]]]:
        if originates is not None:
            originates.append(dict(action))
        uid = action["ChannelId"]
        events = originate_response(action["ActionID"], uid) + keypresses(uid, presses)
        asyncio.get_running_loop().call_later(0.05, lambda: asyncio.ensure_future(server.feed(events)))
        return [[("Response", "Success"), ("Message", "Originate successfully queued")]]

    server = FakeAmiServer(secret="pw", actions={"originate": originate})
    await server.start()
    client = AmiClient("127.0.0.1", server.port, "hotline", "pw", ping_interval=5.0,
                       raw_only=tracker_config(settings).raw_only())
    listener = AmiListener(client, AmiIngest(settings, Ledger(desk.db.factory), batch=50), desk.clock,
                           flush_interval=0.05, on_survey_key=lambda k: record_keypress(desk.surveys.desk, k))
    task = asyncio.create_task(listener.run())
    try:
        await server.wait_for_logins(1)
        await wait_for(lambda: listener.status.get("last_snapshot") is not None)
        yield SurveyOrDryRun(Dispatcher(survey_channels(settings, desk.config, originate=ami_originate(client)), ()))
    finally:
        await client.close()
        await task
        await server.stop()


async def test_asterisk_survey_call_keypresses_answer_the_survey(settings: Settings, db_url: str) -> None:
    config = SurveyConfig(policy=SurveyPolicy(delay=timedelta(minutes=30)), caller_id="4008001234")
    desk = SurveyDesk(settings, db_url, T0, config)
    tid = desk.resolved_ticket("13800138004", T0, T0 + timedelta(minutes=15))  # resolved 10:15 by 王芳
    originates: list[Mapping[str, str]] = []
    async with survey_pbx(settings, desk, [("HOTLINE_SURVEY_SOLVED", "1"), ("HOTLINE_SURVEY_SCORE", "2")],
                          originates) as sender:
        await desk.run_until(T0 + timedelta(minutes=45), sender)  # the try at 10:45
        await wait_for(lambda: desk.surveys.desk.get(tid)["status"] == "answered")
        await desk.run_until(T0 + timedelta(minutes=46), sender)  # the manager's page goes out

    [action] = originates
    assert action["Channel"] == "PJSIP/13800138004@trunk" and action["Context"] == "hotline-survey"
    assert (action["Exten"], action["Priority"], action["Async"]) == ("s", "1", "true")
    assert action["ChannelId"] == "hotline-survey-1-1-1" and action["CallerID"] == "4008001234"
    assert action["Variable"].startswith("HOTLINE_SURVEY_ID=1,HOTLINE_SURVEY_TOKEN=")
    survey = desk.surveys.desk.get(tid)
    assert (survey["solved"], survey["score"], survey["answered_via"]) == (True, 2, "asterisk")
    assert survey["answered_at"] == "2026-12-03T10:45:00+08:00"
    assert [(a["question"], a["value"]) for a in survey["answers"]] == [("solved", 1), ("overall", 2)]
    assert [a["question_text"] for a in survey["answers"]] == [  # the prompts as the caller heard them
        "请问您反映的问题是否已经解决?已解决请按 1,未解决请按 2。 / Was your problem solved? Press 1 for yes, "
        "2 for no.",
        "请为本次服务评分:非常满意请按 5,满意请按 4,一般请按 3,不满意请按 2,非常不满意请按 1。 / Please rate our "
        "service from 1 to 5. Press 5 for very satisfied, down to 1 for very dissatisfied."]
    assert [t["outcome"] for t in survey["try_list"]] == ["answered"]
    ticket = desk.tickets.desk.get(tid).ticket
    assert ticket.status == "closed" and ticket.confirmed_by == "回访 / survey"
    complaint = desk.tickets.desk.get(survey["complaint_ticket_id"]).ticket
    assert complaint.ticket_type == "complaint" and complaint.caller == "13800138004"
    assert any(c.field == "origin" and c.new == tid for c in desk.tickets.desk.timeline(complaint.ticket_id))
    assert any(c.field == "follow_up" and c.new == complaint.ticket_id for c in desk.tickets.desk.timeline(tid))
    [page] = desk.pages("survey_outcome")
    assert page.step == "complaint" and tid in page.text
    assert page.tier == "manager" and page.person == complaint.assignee and page.status == "sent"
    assert desk.surveys.desk.history("+8613800138004")[0]["survey_id"] == survey["survey_id"]
    (f,) = satisfaction(desk.db.factory, T0 - timedelta(hours=10), T0 + timedelta(days=1))
    assert figures_dict(f) == {"group": "all", "satisfaction": 0.4, "average_score": 2.0, "full_score": 5,
                               "sample": 1, "resolved": 1, "answered": 1, "response_rate": 1.0,
                               "within_24h": 1, "within_24h_share": 1.0, "unreachable": 0}
    desk.dispose()


async def test_an_unanswered_survey_call_is_tried_again_later(settings: Settings, db_url: str) -> None:
    desk = SurveyDesk(settings, db_url, T0, SurveyConfig(policy=SurveyPolicy(delay=timedelta(minutes=30))))
    tid = desk.resolved_ticket("13800138004", T0, T0 + timedelta(minutes=15))
    server: FakeAmiServer

    def originate(action: Mapping[str, str]) -> list[list[tuple[str, str]]]:
        events = originate_response(action["ActionID"], action["ChannelId"], response="Failure", reason="3")
        asyncio.get_running_loop().call_later(0.05, lambda: asyncio.ensure_future(server.feed(events)))
        return [[("Response", "Success"), ("Message", "Originate successfully queued")]]

    server = FakeAmiServer(secret="pw", actions={"originate": originate})
    await server.start()
    client = AmiClient("127.0.0.1", server.port, "hotline", "pw", ping_interval=5.0)
    await client.start()
    try:
        await server.wait_for_logins(1)
        await wait_for(lambda: client.connected)
        sender = SurveyOrDryRun(Dispatcher(survey_channels(settings, desk.config,
                                                           originate=ami_originate(client)), ()))
        await desk.run_until(T0 + timedelta(minutes=50), sender)
    finally:
        await client.close()
        await server.stop()
    survey = desk.surveys.desk.get(tid)
    assert survey["status"] == "scheduled" and survey["next_try_at"] == "2026-12-03T12:45:00+08:00"
    [attempt] = survey["try_list"]
    assert attempt["outcome"] == "no_answer" and "无人接听" in attempt["detail"]
    [row] = desk.pages("survey")
    assert row.status == "failed" and row.attempts == 1  # not retried by the outbox: the engine spaces tries
    desk.dispose()


async def test_sub_scores_asked_when_enabled_and_a_hang_up_during_them(settings: Settings, db_url: str) -> None:
    """With 响应及时 and 服务态度 enabled, the call goes on after the score; the caller rates the response, then
    hangs up before 服务态度: when the wait for keypresses ends, the survey is answered with what was pressed."""
    asked = tuple(q for q in QUESTIONS if q.key in ("solved", "overall", "response", "attitude"))
    config = SurveyConfig(policy=SurveyPolicy(delay=timedelta(minutes=30), questions=asked))
    desk = SurveyDesk(settings, db_url, T0, config)
    tid = desk.resolved_ticket("13800138004", T0, T0 + timedelta(minutes=15))
    presses = [("HOTLINE_SURVEY_SOLVED", "1"), ("HOTLINE_SURVEY_SCORE", "4"), ("HOTLINE_SURVEY_RESPONSE", "5")]
    async with survey_pbx(settings, desk, presses) as sender:
        await desk.run_until(T0 + timedelta(minutes=45), sender)  # the try at 10:45
        await wait_for(lambda: len(desk.surveys.desk.get(tid)["answers"]) == 3)
        assert desk.surveys.desk.get(tid)["status"] == "calling"  # 服务态度 is still to come
        await desk.run_until(T0 + timedelta(minutes=56), sender)  # the wait (10 min) is over at 10:55
    survey = desk.surveys.desk.get(tid)
    assert (survey["status"], survey["solved"], survey["score"]) == ("answered", True, 4)
    assert survey["answered_at"] == "2026-12-03T10:45:00+08:00"  # when the last key was pressed
    assert [(a["question"], a["value"]) for a in survey["answers"]] == [("solved", 1), ("overall", 4),
                                                                        ("response", 5)]
    assert survey["answers"][2]["question_text"] == ("响应是否及时:请按 1 到 5 评分,5 分最满意。 / How timely was our "
                                                     "response: press 1 to 5, 5 is the best.")
    assert [t["outcome"] for t in survey["try_list"]] == ["answered"]
    assert desk.tickets.desk.get(tid).ticket.status == "closed"
    (f,) = satisfaction(desk.db.factory, T0 - timedelta(hours=10), T0 + timedelta(days=1))
    assert (f.sample, f.satisfaction, f.response_rate, f.within_24h) == (1, 0.8, 1.0, 1)
    desk.dispose()
