"""A survey asked through Twilio, against a local HTTP server standing in for Twilio's REST API: the call
(REST calls.create with MachineDetection) and its answers on signed webhooks (the survey IVR's TwiML and
<Gather> digits); a voicemail is no survey; the SMS with a digit reply on the signed SMS webhook; and the
answers recorded by hand on the API, never by the staff member who solved the ticket."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from fastapi.testclient import TestClient

from hotline.api.app import create_app
from hotline.config import Settings
from hotline.domain.surveys import QUESTIONS, SurveyPolicy, Way
from hotline.paging.base import Page, SendResult
from hotline.paging.dispatcher import Dispatcher
from hotline.paging.secret import Secret
from hotline.paging.twilio_channels import make_client
from hotline.providers.twilio.signature import sign
from hotline.services.monitor.outbox import DryRunSender
from hotline.services.surveys.build import survey_channels
from hotline.services.surveys.config import SurveyConfig
from hotline.services.surveys.report import figures_dict, satisfaction
from tests.integration.paging_fakes import FakeServer, Responder, fake_server_fixture  # noqa: F401
from tests.integration.survey_desk import SurveyDesk
from tests.integration.test_paging_twilio import SID, TOKEN, twilio_api
from tests.signin import BASE_URL, client, signed_in

T0 = datetime.fromisoformat("2026-12-03T10:00:00+08:00")
FROM = "+864008001234"
Start = Callable[[Responder], FakeServer]


class SurveyOrDryRun:
    def __init__(self, surveys: Dispatcher) -> None:
        self.surveys, self.dry = surveys, DryRunSender()

    async def deliver(self, page: Page, order: Sequence[str] | None = None) -> list[SendResult]:
        if page.extra.get("purpose") == "survey":
            return await self.surveys.deliver(page, order)
        return await self.dry.deliver(page, order)


@dataclass
class Rig:
    desk: SurveyDesk
    http: TestClient
    server: FakeServer
    sender: SurveyOrDryRun


@pytest.fixture
def rig(settings: Settings, db_url: str, fake_server: Start, request: pytest.FixtureRequest) -> Iterator[Rig]:
    way, asked = getattr(request, "param", (Way.TWILIO, ("solved", "overall")))
    configured = replace(settings, twilio=replace(settings.twilio, account_sid=SID, auth_token=TOKEN))
    questions = tuple(q for q in QUESTIONS if q.key in asked)
    config = SurveyConfig(policy=SurveyPolicy(delay=timedelta(minutes=30), way=way, questions=questions),
                          twilio_from=FROM)
    desk = SurveyDesk(configured, db_url, T0, config)
    app = create_app(configured, desk.db.factory, desk.clock)
    app.state.tickets, app.state.surveys = desk.tickets, desk.surveys
    server = fake_server(twilio_api())
    twilio = make_client(SID, Secret(TOKEN), api_base_url=server.url)
    sender = SurveyOrDryRun(Dispatcher(survey_channels(configured, config, twilio_client=twilio), ()))
    yield Rig(desk, client(app), server, sender)
    desk.dispose()


def post(rig: Rig, url: str, params: dict[str, str]) -> str:
    """POST like Twilio: signed for the public URL."""
    parts = urlsplit(url)
    r = rig.http.post(parts.path + (f"?{parts.query}" if parts.query else ""), data=params,
                      headers={"X-Twilio-Signature": sign(TOKEN, url, params)})
    assert r.status_code == 200, r.text
    return str(r.text)


def gather_action(twiml: str) -> str:
    found = re.search(r'<Gather action="([^"]+)"', twiml)
    assert found, twiml
    action = found.group(1).replace("&amp;", "&")
    return BASE_URL + action if action.startswith("/") else action  # Twilio resolves it against our URL


async def test_twilio_call_gathers_the_answers_on_signed_webhooks(rig: Rig) -> None:
    tid = rig.desk.resolved_ticket("13800138004", T0, T0 + timedelta(minutes=15))
    await rig.desk.run_until(T0 + timedelta(minutes=45), rig.sender)
    [create] = rig.server.requests
    form = dict(parse_qsl(create.body.decode()))
    token = rig.desk.surveys.desk.get(tid)["try_list"] and rig.desk.pages("survey")[0].ack_code
    assert create.path == f"/2010-04-01/Accounts/{SID}/Calls.json"
    assert (form["To"], form["From"], form["MachineDetection"]) == ("+8613800138004", FROM, "Enable")
    assert form["Url"] == f"{BASE_URL}/twilio/survey/1/{token}/survey"

    call = {"CallSid": "CA" + "e" * 32, "AccountSid": SID, "From": FROM, "To": "+8613800138004"}
    unsigned = rig.http.post(urlsplit(form["Url"]).path, data={**call, "AnsweredBy": "human"})
    assert unsigned.status_code == 403
    first = post(rig, form["Url"], {**call, "AnsweredBy": "human"})
    assert "是否已经解决" in first and "<Gather" in first
    second = post(rig, gather_action(first), {**call, "Digits": "2"})  # not solved
    assert "请为本次服务评分" in second
    last = post(rig, gather_action(second), {**call, "Digits": "1"})  # very dissatisfied
    assert "<Hangup" in last

    survey = rig.desk.surveys.desk.get(tid)
    assert (survey["status"], survey["solved"], survey["score"], survey["answered_via"]) == \
        ("answered", False, 1, "twilio")
    assert [a["question"] for a in survey["answers"]] == ["solved", "overall"]
    ticket = rig.desk.tickets.desk.get(tid).ticket
    assert ticket.status == "in_progress" and ticket.reopened == 1  # not solved: reopened
    await rig.desk.run_until(T0 + timedelta(minutes=46), rig.sender)
    pages = {p.step: p for p in rig.desk.pages("survey_outcome")}
    assert pages["reopen"].person == "王芳" and pages["reopen"].status == "sent"
    assert pages["complaint"].tier == "manager"  # the caller's ticket is open again: the manager is paged
    assert survey["complaint_ticket_id"] is None
    (f,) = satisfaction(rig.desk.db.factory, T0 - timedelta(hours=10), T0 + timedelta(days=1))
    assert (f.sample, f.satisfaction, f.response_rate) == (1, 0.2, 1.0)


@pytest.mark.parametrize("rig", [(Way.TWILIO, ("solved", "overall", "skill"))], indirect=True)
async def test_twilio_call_asks_the_enabled_sub_score(rig: Rig) -> None:
    tid = rig.desk.resolved_ticket("13800138004", T0, T0 + timedelta(minutes=15))
    await rig.desk.run_until(T0 + timedelta(minutes=45), rig.sender)
    url = dict(parse_qsl(rig.server.requests[0].body.decode()))["Url"]
    call = {"CallSid": "CA" + "c" * 32, "AccountSid": SID, "From": FROM, "To": "+8613800138004"}
    solved = post(rig, url, {**call, "AnsweredBy": "human"})
    score = post(rig, gather_action(solved), {**call, "Digits": "1"})
    skill = post(rig, gather_action(score), {**call, "Digits": "5"})
    assert "专业能力" in skill and "<Gather" in skill  # asked after the score: enabled in the policy
    assert "响应是否及时" not in skill and rig.desk.surveys.desk.get(tid)["status"] == "calling"
    assert "<Hangup" in post(rig, gather_action(skill), {**call, "Digits": "3"})
    survey = rig.desk.surveys.desk.get(tid)
    assert (survey["status"], survey["score"]) == ("answered", 5)
    assert [(a["question"], a["value"]) for a in survey["answers"]] == [("solved", 1), ("overall", 5), ("skill", 3)]
    assert survey["answers"][2]["question_text"] == ("工程师的专业能力:请按 1 到 5 评分,5 分最满意。 / The engineer's "
                                                     "professional skill: press 1 to 5, 5 is the best.")
    (f,) = satisfaction(rig.desk.db.factory, T0 - timedelta(hours=10), T0 + timedelta(days=1))
    assert (f.sample, f.satisfaction) == (1, 1.0)


async def test_a_voicemail_is_no_survey(rig: Rig) -> None:
    tid = rig.desk.resolved_ticket("13800138011", T0, T0 + timedelta(minutes=15))
    await rig.desk.run_until(T0 + timedelta(minutes=45), rig.sender)
    form = dict(parse_qsl(rig.server.requests[0].body.decode()))
    call = {"CallSid": "CA" + "d" * 32, "AccountSid": SID, "AnsweredBy": "machine_start"}
    assert "<Hangup" in post(rig, form["Url"], call)
    await rig.desk.run_until(T0 + timedelta(minutes=46), rig.sender)
    survey = rig.desk.surveys.desk.get(tid)
    assert survey["status"] == "scheduled" and survey["next_try_at"] == "2026-12-03T12:45:00+08:00"
    assert survey["try_list"][0]["outcome"] == "no_answer" and "machine" in survey["try_list"][0]["detail"]
    assert survey["answers"] == []


@pytest.mark.parametrize("rig", [(Way.SMS, ("solved", "overall"))], indirect=True)
async def test_sms_with_a_digit_reply(rig: Rig) -> None:
    tid = rig.desk.resolved_ticket("13800138004", T0, T0 + timedelta(minutes=15))
    await rig.desk.run_until(T0 + timedelta(minutes=45), rig.sender)
    [create] = rig.server.requests
    form = dict(parse_qsl(create.body.decode()))
    assert create.path == f"/2010-04-01/Accounts/{SID}/Messages.json" and form["To"] == "+8613800138004"
    assert "回复两个数字" in form["Body"] and tid in form["Body"] and "http" not in form["Body"]
    sms = {"MessageSid": "SM" + "a" * 32, "AccountSid": SID, "From": "+8613800138004", "To": FROM,
           "Body": "1 4"}
    assert "感谢" in post(rig, f"{BASE_URL}/twilio/survey-sms", sms)
    survey = rig.desk.surveys.desk.get(tid)
    assert (survey["status"], survey["solved"], survey["score"], survey["answered_via"]) == \
        ("answered", True, 4, "sms")
    assert {a["question_text"] for a in survey["answers"]} == {form["Body"]}  # the SMS as the caller read it
    assert rig.desk.tickets.desk.get(tid).ticket.status == "closed"
    again = post(rig, f"{BASE_URL}/twilio/survey-sms", {**sms, "Body": "1 1"})  # no survey awaits a reply
    assert "感谢" not in again and rig.desk.surveys.desk.get(tid)["score"] == 4
    (f,) = satisfaction(rig.desk.db.factory, T0 - timedelta(hours=10), T0 + timedelta(days=1))
    assert figures_dict(f)["satisfaction"] == 0.8 and f.sample == 1


@pytest.mark.parametrize("rig", [(Way.MANUAL, ("solved", "overall"))], indirect=True)
async def test_by_hand_on_the_api_but_not_by_who_solved_the_ticket(rig: Rig) -> None:
    tid = rig.desk.resolved_ticket("13800138004", T0, T0 + timedelta(minutes=15))
    await rig.desk.run_until(T0 + timedelta(minutes=20), rig.sender)
    assert [s["ticket_id"] for s in rig.desk.surveys.desk.due()] == [tid] and rig.server.requests == []
    app = rig.http.app
    solver = signed_in(app, "staff", "王芳")  # type: ignore[arg-type]
    refused = solver.post(f"/api/surveys/{tid}/record", json={"answers": {"solved": 1, "overall": 5}})
    assert refused.status_code == 409 and "cannot record its score" in refused.json()["detail"]
    other = signed_in(app, "staff", "刘洋")  # type: ignore[arg-type]
    bad = other.post(f"/api/surveys/{tid}/record", json={"answers": {"solved": 1, "overall": 9}})
    assert bad.status_code == 409 and "1 to 5" in bad.json()["detail"]
    ok = other.post(f"/api/surveys/{tid}/record",
                    json={"answers": {"solved": 1, "overall": 5, "attitude": 4}, "note": "电话回访"})
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert (body["status"], body["recorded_by"], body["answered_via"], body["score"]) == \
        ("answered", "刘洋", "manual", 5)
    assert [a["question_text"] for a in body["answers"]][2] == "服务态度 / Service attitude"
    viewer = signed_in(app, "viewer", None)  # type: ignore[arg-type]
    assert viewer.post(f"/api/surveys/{tid}/record", json={"answers": {"overall": 5}}).status_code == 403
    report = viewer.get("/api/reports/satisfaction", params={"month": "2026-12"}).json()
    assert report["groups"][0]["satisfaction"] == 1.0 and report["groups"][0]["sample"] == 1
    shown = viewer.get(f"/api/surveys/{tid}").json()
    assert shown["score"] == 5 and "138****8004" in shown["caller"]  # a viewer sees the number masked


async def test_twilio_refusing_or_missing_is_read_the_same_by_the_survey_call_and_the_sms(fake_server: Start) -> None:
    """Twilio's errors become the survey try's error once (`twilio_sid`): a server error and an unreachable
    Twilio are retried, a refusal (wrong credentials) is not; neither says the token."""
    from hotline.paging.base import Recipient
    from hotline.services.surveys.calls import SmsSurvey, TwilioSurveyCall
    from tests.integration.paging_fakes import sample_page

    page = replace(sample_page(key="S7:r1t2:caller:survey_twilio"), ack_code="tok",
                   recipient=Recipient(name="张先生", mobile="13800138000"))
    gone = fake_server(twilio_api())
    gone.stop()
    read = {}
    for name, url, token in (("server error", fake_server(twilio_api(status=503)).url, TOKEN),
                             ("refused", fake_server(twilio_api()).url, "bad-token"),
                             ("unreachable", gone.url, TOKEN)):
        client = make_client(SID, Secret(token), api_base_url=url, timeout=2)
        for channel in (TwilioSurveyCall(client, FROM, BASE_URL), SmsSurvey(client, FROM)):
            result = await channel.send(page)
            read[name, channel.name] = (result.ok, result.retryable, result.error)
    refused = "Twilio 拒绝 / Twilio refused ({}): Unable to create record: {}"
    unavailable = "Twilio 不可用 / Twilio unavailable (ConnectionError)"
    assert read == {
        ("server error", "survey_twilio"): (False, True, refused.format(503, "Internal Server Error")),
        ("server error", "survey_sms"): (False, True, refused.format(503, "Internal Server Error")),
        ("refused", "survey_twilio"): (False, False, refused.format(401, "Authenticate")),
        ("refused", "survey_sms"): (False, False, refused.format(401, "Authenticate")),
        ("unreachable", "survey_twilio"): (False, True, unavailable),
        ("unreachable", "survey_sms"): (False, True, unavailable),
    }
