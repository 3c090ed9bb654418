"""Satisfaction surveys (回访) over HTTP: the due list, one survey (by id or ticket number), answers recorded by
staff who called the customer themselves, cancelling, one engine cycle, the satisfaction report; and Twilio's
signed webhooks of a survey call (the survey IVR's TwiML, <Gather> digits, answering-machine detection) and
of an SMS reply."""

from __future__ import annotations

import dataclasses
import hmac
import logging
from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from hotline.api.prefix import base_path
from hotline.api.tickets import tickets_of
from hotline.api.twilio import XML, load_ivr, signed_params
from hotline.config import ConfigError
from hotline.domain.numbers import try_parse_number
from hotline.domain.surveys import SurveyError, Way
from hotline.ivr.survey_script import VARIABLES, asked_script
from hotline.services.surveys.build import Surveys, build_surveys
from hotline.services.surveys.desk import SurveyNotFound
from hotline.services.surveys.report import GROUPS, figures_dict, month_span, satisfaction

log = logging.getLogger(__name__)
router = APIRouter(tags=["surveys"])



class RecordBody(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt answer is a 422 naming it, never dropped

    by: str = Field("", max_length=128)  # the signed-in person when there is a sign-in
    answers: dict[str, int] = Field(min_length=1, max_length=10)
    note: str | None = Field(None, max_length=2000)


class CancelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: str = Field("", max_length=128)
    reason: str = Field(min_length=1, max_length=2000)


def surveys_of(request: Request) -> Surveys:
    """The running surveys (`live['surveys']`), or built from the app's settings on first use."""
    state = request.app.state
    surveys: Surveys | None = state.live.get("surveys") or getattr(state, "surveys", None)
    if surveys is None:
        try:
            surveys = build_surveys(state.settings, state.factory, state.clock, tickets_of(request).desk)
        except ConfigError as e:
            raise HTTPException(503, str(e)) from None
        state.surveys = surveys
    return surveys


def _who(request: Request, given: str) -> str:
    principal = getattr(request.state, "principal", None)
    return principal.name if principal is not None else given


def _do(act: Any) -> dict[str, Any]:
    try:
        result: dict[str, Any] = act()
        return result
    except SurveyNotFound as e:
        raise HTTPException(404, str(e)) from None
    except SurveyError as e:
        raise HTTPException(409, str(e)) from None


@router.get("/api/surveys")
def due(request: Request, caller: str | None = None, limit: int = Query(200, ge=1, le=1000)) -> list[dict[str, Any]]:
    """Surveys still to be asked, the soonest limit first; with `caller`, that caller's surveys (newest first)."""
    if caller:
        number = try_parse_number(caller)
        if number is None:
            raise HTTPException(400, f"不是电话号码 / not a phone number: {caller!r}")
        return surveys_of(request).desk.history(number.key, limit)
    return surveys_of(request).desk.due(limit)


@router.get("/api/surveys/{ref}")
def show(request: Request, ref: str) -> dict[str, Any]:
    """One survey by its id or its ticket's number, with its tries and answers."""
    return _do(lambda: surveys_of(request).desk.get(ref))


@router.post("/api/surveys/{ref}/record")
def record(request: Request, ref: str, body: RecordBody) -> dict[str, Any]:
    """Answers of a survey staff asked on the phone themselves (not by who solved the ticket)."""
    who = _who(request, body.by)
    return _do(lambda: surveys_of(request).desk.record(ref, body.answers, who, body.note))


@router.post("/api/surveys/{ref}/cancel")
def cancel(request: Request, ref: str, body: CancelBody) -> dict[str, Any]:
    who = _who(request, body.by)
    return _do(lambda: surveys_of(request).desk.cancel(ref, who, body.reason))


@router.post("/api/surveys/run")
def run(request: Request) -> dict[str, Any]:
    """One cycle of the survey engine now (the running scheduler does this by itself)."""
    return {"actions": surveys_of(request).engine.tick()}


@router.get("/api/reports/satisfaction")
def report(request: Request, month: str | None = None, by: str = "all") -> dict[str, Any]:
    """满意度 per month: average / full score with its sample, response rate, share within 24 h."""
    settings = request.app.state.settings
    if by not in GROUPS:
        raise HTTPException(400, f"by 应为 all、specialty 或 staff / by must be all, specialty or staff: {by!r}")
    try:
        today = request.app.state.clock.now().astimezone(settings.tz).date()
        first = date.fromisoformat(f"{month}-01") if month else today.replace(day=1)
    except ValueError:
        raise HTTPException(400, f"月份格式应为 YYYY-MM / month must be YYYY-MM: {month!r}") from None
    policy = surveys_of(request).engine.policy
    start, end = month_span(first, settings.tz)
    rows = satisfaction(request.app.state.factory, start, end, by, policy.full_score, policy.limit)
    return {"month": f"{first:%Y-%m}", "by": by, "groups": [figures_dict(f) for f in rows]}


# ---- Twilio: the survey call and the SMS reply (signed like every Twilio request) --------------------


@router.post("/twilio/survey/{survey_id}/{token}/{script}", response_class=Response)
async def survey_call(request: Request, survey_id: str, token: str, script: str) -> Response:
    """The survey IVR's TwiML for a survey call; digits of its menus are the answers. A voicemail (answering
    machine detection) is no survey: the call ends and the try counts as not answered."""
    params = await signed_params(request)  # before anything else: an unsigned request learns nothing
    if not survey_id.isdigit():
        raise HTTPException(404, f"没有此回访 / no survey {survey_id!r}")
    sid = int(survey_id)
    desk = surveys_of(request).desk
    answered_by = params.get("AnsweredBy", "")
    if answered_by.startswith("machine") or answered_by == "fax":
        try:
            desk.machine(sid, token, answered_by)
        except (SurveyError, SurveyNotFound) as e:
            log.warning("survey %s: machine detection ignored: %s", survey_id, e)
        hangup = VoiceResponse()
        hangup.hangup()
        return Response(str(hangup), media_type=XML)
    ivr = _survey_ivr(request, sid, token)
    if ivr is None:
        raise HTTPException(503, "回访语音脚本不可用 / the survey IVR script cannot be served")
    from hotline.ivr.twiml import step

    query = {k: v for k, v in request.query_params.items() if k in ("node", "event", "tries")}
    result = step(ivr[0], query.get("node"), {**params, **query}, "onsite", ivr[1], {})
    for variable, question in VARIABLES.items():
        if variable in result.variables:
            try:
                desk.keypress(sid, token, question, result.variables[variable], Way.TWILIO)
            except (SurveyError, SurveyNotFound) as e:
                log.warning("survey %s: keypress ignored: %s", survey_id, e)
    return Response(result.twiml, media_type=XML)


def _survey_ivr(request: Request, survey_id: int, token: str) -> tuple[Any, Any] | None:
    state = request.app.state
    loaded = getattr(state, "survey_ivr", None)
    if loaded is None:
        loaded = load_ivr(state.settings, "survey")
        if loaded is None:
            return None
        state.survey_ivr = loaded
    prefix = base_path(state.settings.api.public_base_url)
    ctx = dataclasses.replace(loaded.ctx, twilio_path=f"{prefix}/twilio/survey/{survey_id}/{token}")
    asked = [q.key for q in surveys_of(request).engine.policy.questions]  # the sub-scores the policy enables
    return asked_script(loaded.script, asked), ctx


@router.post("/twilio/survey-sms", response_class=Response)
async def survey_sms(request: Request) -> Response:
    """A reply to the survey SMS ('1 5'): stored as the answers; the caller gets a short thank-you."""
    params = await signed_params(request)
    reply = MessagingResponse()
    try:
        surveys_of(request).desk.sms_reply(params.get("From", ""), params.get("Body", ""))
        reply.message("感谢您的评价！/ Thank you for your feedback!")
    except SurveyNotFound as e:
        log.warning("survey SMS reply not matched: %s", e)
    except SurveyError as e:
        reply.message(f"{e}")
    return Response(str(reply), media_type=XML)


# ---- Aliyun: the replies to the survey SMS (上行短信, SmsUp by HTTP batch push) ----------------------------


class SmsUp(BaseModel):
    """One reply of Aliyun's SmsUp push (a JSON array of these)."""

    phone_number: str = Field(max_length=32)
    content: str = Field("", max_length=1000)
    send_time: str | None = Field(None, max_length=32)
    dest_code: str | None = Field(None, max_length=32)
    sequence_id: int | str | None = None
    sign_name: str | None = Field(None, max_length=64)


SMS_UP = TypeAdapter(list[SmsUp])


@router.post("/aliyun/survey-sms/{token}")
async def aliyun_survey_sms(request: Request, token: str) -> dict[str, Any]:
    """Replies to the survey SMS sent through Aliyun. Aliyun signs no push: the URL configured in its console
    carries a shared token (HOTLINE_ALIYUN_SMS_UP_TOKEN), compared in constant time before anything else (403
    also when none is set). Answered as Aliyun asks (`{"code": 0}`); a reply that matches no survey is logged
    and dropped, a failure to store one answers 500 so that Aliyun pushes it again."""
    surveys = surveys_of(request)
    expected = surveys.engine.ctx.config.sms_up_token
    if not expected or not hmac.compare_digest(token.encode(), expected.reveal().encode()):
        raise HTTPException(403, "令牌不符或未配置 / wrong token, or HOTLINE_ALIYUN_SMS_UP_TOKEN not set")
    try:
        replies = SMS_UP.validate_json(await request.body())
    except ValidationError as e:
        raise HTTPException(400, f"不是阿里云上行短信推送 / not an Aliyun SmsUp push ({e.error_count()} errors)"
                            ) from None
    for reply in replies:
        try:
            surveys.desk.sms_reply(reply.phone_number, reply.content)
        except SurveyNotFound as e:
            log.warning("survey SMS reply (Aliyun %s) not matched: %s", reply.sequence_id, e)
        except SurveyError as e:  # a reply that is no answer ("ok"): nothing to store; Aliyun sends no reply
            log.warning("survey SMS reply (Aliyun %s) refused: %s", reply.sequence_id, e)
    return {"code": 0, "msg": "接收成功"}
