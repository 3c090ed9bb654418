"""A survey SMS through the domestic provider (Aliyun SMS), against a local HTTP server standing in for
Dysmsapi that recomputes the v1.0 signature: `SendSms` with the approved survey template and the ticket
number as `${ticket}`; the caller's reply arrives as Aliyun's SmsUp HTTP push (a JSON array) on the route
whose shared token stands in for the signature Aliyun does not offer. With the 服务态度 sub-score enabled the
reply carries three digits; the answers keep the SMS as the caller read it, and the report counts them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta

from hotline.api.app import create_app
from hotline.config import Settings
from hotline.domain.surveys import QUESTIONS, SurveyPolicy, Way
from hotline.paging.base import Page, Recipient
from hotline.paging.dispatcher import Dispatcher
from hotline.paging.secret import Secret
from hotline.services.surveys.build import survey_channels
from hotline.services.surveys.calls import AliyunSmsSurvey
from hotline.services.surveys.config import AliyunSurveyConfig, SurveyConfig
from hotline.services.surveys.keys import survey_subject
from hotline.services.surveys.report import figures_dict, satisfaction
from tests.integration.paging_fakes import FakeServer, Responder, fake_server_fixture  # noqa: F401
from tests.integration.survey_desk import SurveyDesk
from tests.integration.test_paging_aliyun import KEY_ID, KEY_SECRET, aliyun_api
from tests.integration.test_surveys_asterisk import SurveyOrDryRun
from tests.signin import client

T0 = datetime.fromisoformat("2026-12-03T10:00:00+08:00")
TOKEN = "sms-up-7d1f0c2b9a4e"
TEMPLATE = ("您好，您的工单${ticket}已处理。请回复三个数字：是否已解决（1是2否）、满意度、服务态度（1-5分），"
            "例如“1 5 5”。")
THANKS = "感谢您对工单${ticket}的评价，我们会继续改进服务。"
Start = Callable[[Responder], FakeServer]


async def test_aliyun_survey_sms_and_its_smsup_reply(settings: Settings, db_url: str, fake_server: Start) -> None:
    server = fake_server(aliyun_api())
    asked = tuple(q for q in QUESTIONS if q.key in ("solved", "overall", "attitude"))
    config = SurveyConfig(policy=SurveyPolicy(delay=timedelta(minutes=30), way=Way.SMS, questions=asked),
                          sms_provider="aliyun", sms_up_token=Secret(TOKEN),
                          aliyun=AliyunSurveyConfig(sign_name="华信科技", template_code="SMS_281930007",
                                                    template_text=TEMPLATE, thanks_template_code="SMS_281930008",
                                                    thanks_template_text=THANKS, endpoint=server.url))
    desk = SurveyDesk(settings, db_url, T0, config)
    env = {"HOTLINE_ALIYUN_ACCESS_KEY_ID": KEY_ID, "HOTLINE_ALIYUN_ACCESS_KEY_SECRET": KEY_SECRET}
    sender = SurveyOrDryRun(Dispatcher(survey_channels(settings, config, env=env), ()))
    tid = desk.resolved_ticket("13800138004", T0, T0 + timedelta(minutes=15))
    await desk.run_until(T0 + timedelta(minutes=45), sender)

    [send] = server.requests  # signed correctly, else the stand-in answers SignatureDoesNotMatch
    params = send.query
    assert (params["Action"], params["PhoneNumbers"], params["SignName"], params["TemplateCode"]) == \
        ("SendSms", "13800138004", "华信科技", "SMS_281930007")
    assert json.loads(params["TemplateParam"]) == {"ticket": tid}
    [row] = desk.pages("survey")
    assert row.status == "sent" and row.channel == "survey_sms" and row.provider_id == "900619746936498440^0"
    sms = TEMPLATE.replace("${ticket}", tid)
    assert row.text == sms

    app = create_app(settings, desk.db.factory, desk.clock)
    app.state.tickets, app.state.surveys = desk.tickets, desk.surveys
    http = client(app)
    push = [{"phone_number": "13800138004", "content": "1 4 5", "send_time": "2026-12-03 10:47:12",
             "dest_code": "1234", "sequence_id": 1234567890}]
    assert http.post("/aliyun/survey-sms/not-the-token", json=push).status_code == 403
    assert http.post(f"/aliyun/survey-sms/{TOKEN}", json={"phone_number": "13800138004"}).status_code == 400
    assert desk.surveys.desk.get(tid)["status"] == "calling"
    desk.clock.set(T0 + timedelta(minutes=47))
    r = http.post(f"/aliyun/survey-sms/{TOKEN}", json=push)
    assert r.status_code == 200 and r.json()["code"] == 0  # the answer Aliyun's push expects

    survey = desk.surveys.desk.get(tid)
    assert (survey["status"], survey["solved"], survey["score"], survey["answered_via"]) == \
        ("answered", True, 4, "sms")
    assert [(a["question"], a["value"]) for a in survey["answers"]] == [("solved", 1), ("overall", 4),
                                                                        ("attitude", 5)]
    assert {a["question_text"] for a in survey["answers"]} == {sms}  # the SMS as the caller read it
    assert desk.tickets.desk.get(tid).ticket.status == "closed"
    again = http.post(f"/aliyun/survey-sms/{TOKEN}", json=push)  # Aliyun pushes again: nothing changes
    assert again.status_code == 200 and desk.surveys.desk.get(tid)["answered_at"] == "2026-12-03T10:47:00+08:00"

    # Aliyun cannot answer a reply in kind: the engine's next cycle sends the approved thank-you template, once
    assert len(server.requests) == 1
    await desk.run_until(T0 + timedelta(minutes=50), sender)
    await desk.run_until(T0 + timedelta(minutes=55), sender)
    _, thanks = server.requests
    assert (thanks.query["TemplateCode"], thanks.query["PhoneNumbers"], thanks.query["SignName"]) == \
        ("SMS_281930008", "13800138004", "华信科技")
    assert json.loads(thanks.query["TemplateParam"]) == {"ticket": tid}  # the template has ${ticket}
    [_, row] = desk.pages("survey")
    assert (row.status, row.channel, row.text) == ("sent", "survey_sms_thanks", THANKS.replace("${ticket}", tid))
    (f,) = satisfaction(desk.db.factory, T0 - timedelta(hours=10), T0 + timedelta(days=1))
    assert figures_dict(f)["satisfaction"] == 0.8 and (f.sample, f.response_rate) == (1, 1.0)
    desk.dispose()


def test_a_thank_you_template_without_variables_gets_none() -> None:
    page = Page(key="survey-thanks-7", recipient=Recipient(name="来电 138****8004", mobile="13800138004"),
                subject=survey_subject("GD20261203-0007"), text="感谢您的评价！")
    plain = AliyunSmsSurvey(KEY_ID, Secret(KEY_SECRET), sign_name="华信科技", template_code="SMS_2",
                            with_ticket=False)
    assert plain.template(page) == {} and json.loads(plain.params(page)["TemplateParam"]) == {}
    assert AliyunSmsSurvey(KEY_ID, Secret(KEY_SECRET), sign_name="华信科技", template_code="SMS_1",
                           ).template(page) == {"ticket": "GD20261203-0007"}
