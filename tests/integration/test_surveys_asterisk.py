"""A survey asked through Asterisk, against the fake AMI server over TCP in the byte format of the recorded
traces: the outbox delivers the try as an `Originate` of the caller's number into the survey IVR (our
Uniqueid via ChannelId); the call's keypresses come back as `VarSet` events of HOTLINE_SURVEY_SOLVED /
HOTLINE_SURVEY_SCORE, which the real listener hands to the surveys. The answers are stored with their
question text, a solved ticket closes, a low score opens a complaint ticket for the manager (paged), and the
satisfaction report counts it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from hotline.config import Settings
from hotline.domain.surveys import SurveyPolicy
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
        ("Context", "hotline-survey-solved" if variable.endswith("SOLVED") else "hotline-survey-score"),
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


async def test_asterisk_survey_call_keypresses_answer_the_survey(settings: Settings, db_url: str) -> None:
    config = SurveyConfig(policy=SurveyPolicy(delay=timedelta(minutes=30)), caller_id="4008001234")
    desk = SurveyDesk(settings, db_url, T0, config)
    tid = desk.resolved_ticket("13800138004", T0, T0 + timedelta(minutes=15))  # resolved 10:15 by 王芳
    originates: list[Mapping[str, str]] = []
    server: FakeAmiServer

    def originate(action: Mapping[str, str]) -> list[list[tuple[str, str]]]:
        originates.append(dict(action))
        uid, aid = action["ChannelId"], action["ActionID"]
        events = (originate_response(aid, uid) + var_set(uid, "HOTLINE_SURVEY_SOLVED", "1", "1", STAMP + 9)
                  + var_set(uid, "HOTLINE_SURVEY_SCORE", "2", "2", STAMP + 17))
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
        channels = survey_channels(settings, config, originate=ami_originate(client))
        dispatcher = SurveyOrDryRun(Dispatcher(channels, default_order=()))
        await desk.run_until(T0 + timedelta(minutes=45), dispatcher)  # the try at 10:45
        await wait_for(lambda: desk.surveys.desk.get(tid)["status"] == "answered")
        await desk.run_until(T0 + timedelta(minutes=46), dispatcher)  # the manager's page goes out
    finally:
        await client.close()
        await task
        await server.stop()

    [action] = originates
    assert action["Channel"] == "PJSIP/13800138004@trunk" and action["Context"] == "hotline-survey"
    assert (action["Exten"], action["Priority"], action["Async"]) == ("s", "1", "true")
    assert action["ChannelId"] == "hotline-survey-1-1-1" and action["CallerID"] == "4008001234"
    assert action["Variable"].startswith("HOTLINE_SURVEY_ID=1,HOTLINE_SURVEY_TOKEN=")
    survey = desk.surveys.desk.get(tid)
    assert (survey["solved"], survey["score"], survey["answered_via"]) == (True, 2, "asterisk")
    assert survey["answered_at"] == "2026-12-03T10:45:00+08:00"
    assert [(a["question"], a["value"]) for a in survey["answers"]] == [("solved", 1), ("overall", 2)]
    assert survey["answers"][0]["question_text"].startswith("您反映的问题是否已解决")
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
