"""The outbox channels that ask a survey: an Asterisk `Originate` of the caller's number into the rendered
survey IVR, a Twilio outbound call (REST `calls.create`, answering-machine detection on), and an SMS with a
digit reply. Each try is an outbox row (`survey_<way>`), so the outbox's claim fencing sends it once.

A try that reached nobody (no answer, busy) is a failed, *not retryable* delivery: the survey engine places
the next try hours later, inside calling hours. Only a try that could not be placed at all (AMI down, Twilio
unreachable) is retried by the outbox.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from typing import Any

from hotline.domain.surveys import Question
from hotline.ivr.survey_script import VARIABLES as SCRIPT_VARIABLES
from hotline.paging.aliyun_sms import AliyunSmsChannel
from hotline.paging.base import Page, SendResult
from hotline.paging.originate import NotAnswered, Originate, originate_action, place_call
from hotline.paging.transport import DeliveryError, as_result
from hotline.paging.twilio_channels import e164
from hotline.services.surveys.keys import survey_of_key, ticket_of_subject

CHANNEL_ID = "hotline-survey-{survey}-{round}-{try_no}"  # the Uniqueid of the survey call (Originate ChannelId)
_CHANNEL_ID = re.compile(r"^hotline-survey-(\d+)-(\d+)-(\d+)$")
# channel variable (HOTLINE_SURVEY_SOLVED, HOTLINE_SURVEY_SCORE, HOTLINE_SURVEY_ATTITUDE, ...) -> question
VARIABLES = {f"HOTLINE_{variable.upper()}": question for variable, question in SCRIPT_VARIABLES.items()}


def try_of(key: str) -> tuple[int, int, int]:
    found = survey_of_key(key)
    if found is None:
        raise DeliveryError(f"不是回访的发送键 / not a survey key: {key}", retryable=False)
    return found


def survey_of_channel(uniqueid: str | None) -> tuple[int, int, int] | None:
    """(survey, round, try) of a survey call's Uniqueid, else None."""
    m = _CHANNEL_ID.match(uniqueid or "")
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


class AsteriskSurveyCall:
    """`Originate` of `channel.format(number=...)` into the survey context; the call's Uniqueid is ours
    (`ChannelId`), so its channel variables (AMI VarSet) name the survey and the try."""

    def __init__(self, originate: Originate, *, channel: str = "PJSIP/{number}@trunk",
                 context: str = "hotline-survey", caller_id: str = "", ring_seconds: int = 40,
                 timeout: float = 10.0, name: str = "survey_asterisk") -> None:
        self.name, self._originate, self.channel, self.context = name, originate, channel, context
        self.caller_id, self.ring_seconds, self.timeout = caller_id, ring_seconds, timeout

    def action(self, page: Page) -> dict[str, str]:
        survey, round_no, try_no = try_of(page.key)
        number = "".join(ch for ch in (page.recipient.mobile or "") if ch.isdigit())
        if not number:
            raise DeliveryError("回访没有可拨打的号码 / the survey has no number to call", retryable=False)
        return originate_action(
            action_id=f"survey-{page.key}", channel=self.channel.format(number=number), context=self.context,
            exten="s", priority=1, ring_seconds=self.ring_seconds,
            channel_id=CHANNEL_ID.format(survey=survey, round=round_no, try_no=try_no),
            variables={"HOTLINE_SURVEY_ID": str(survey), "HOTLINE_SURVEY_TOKEN": page.ack_code or ""},
            caller_id=self.caller_id)

    async def _send(self, page: Page) -> str | None:
        action = self.action(page)
        try:
            response = await place_call(self._originate, action, timeout=self.timeout, ring_seconds=self.ring_seconds)
        except NotAnswered as e:  # nobody answered: the survey engine places the next try, hours later
            raise DeliveryError(e.error, retryable=False) from None
        return response.get("Uniqueid") or action["ChannelId"]

    async def send(self, page: Page) -> SendResult:
        return await as_result(self.name, self._send(page))


def twilio_sid(create: Callable[..., Any], **fields: Any) -> str:
    """The SID of the resource that the Twilio REST client's `create(**fields)` made; Twilio's refusal or
    absence is a `DeliveryError` (retryable for HTTP 429 and 5xx, and when Twilio could not be reached)."""
    from twilio.base.exceptions import TwilioException, TwilioRestException

    try:
        resource = create(**fields)
    except TwilioRestException as e:
        raise DeliveryError(f"Twilio 拒绝 / Twilio refused ({e.status}): {str(e.msg)[:200]}",
                            retryable=e.status >= 500 or e.status == 429) from None
    except (TwilioException, OSError) as e:
        raise DeliveryError(f"Twilio 不可用 / Twilio unavailable ({type(e).__name__})", retryable=True) from None
    return str(resource.sid)


class TwilioSurveyCall:
    """REST `calls.create` to the caller; the TwiML comes from our signed survey webhook, and answering-machine
    detection tells a voicemail from a person (a voicemail is no survey)."""

    def __init__(self, client: Any, from_number: str, public_base_url: str, *, name: str = "survey_twilio",
                 timeout_seconds: int = 40) -> None:
        self.name, self.client, self.from_number = name, client, from_number
        self.base = public_base_url.rstrip("/")
        self.timeout_seconds = timeout_seconds

    def url(self, page: Page) -> str:
        survey, _, _ = try_of(page.key)
        return f"{self.base}/twilio/survey/{survey}/{page.ack_code or ''}/survey"

    def _create(self, page: Page) -> str | None:
        return twilio_sid(self.client.calls.create, to=e164(page.recipient.mobile or ""), from_=self.from_number,
                          url=self.url(page), method="POST", machine_detection="Enable", timeout=self.timeout_seconds)

    async def send(self, page: Page) -> SendResult:
        return await as_result(self.name, asyncio.to_thread(self._create, page))


_COUNT_ZH = {1: "一", 2: "两", 3: "三", 4: "四", 5: "五", 6: "六", 7: "七"}


def sms_text(ticket_id: str, questions: Sequence[Question], full_score: int, signature: str = "IT服务台") -> str:
    """The survey SMS asking `questions` (in order): a digit reply, no link a scanner could 'click'."""
    zh, en = [], []
    for q in questions:
        if q.key == "solved":
            zh.append("问题是否已解决（1 是，2 否）")
            en.append("solved (1 yes, 2 no)")
        else:
            zh.append("满意度" if q.key == "overall" else q.zh)
            en.append("your satisfaction" if q.key == "overall" else q.en.lower())
    scores = sum(q.kind == "score" for q in questions)
    each_zh, each_en = ("各 ", "each ") if scores > 1 else ("", "")
    listed = "、".join(zh[:-1]) + "和" + zh[-1] if len(zh) > 1 else zh[0]
    example = " ".join("1" if q.key == "solved" else str(full_score) for q in questions)
    n = len(questions)
    return (f"【{signature}】您好，您的工单 {ticket_id} 已处理。请直接回复{_COUNT_ZH.get(n, str(n))}个数字：{listed}"
            f"（{each_zh}1-{full_score} 分，{full_score} 最满意），例如“{example}”。Please reply with {n} digits: "
            f"{', '.join(en)} ({each_en}1-{full_score}), e.g. '{example}'.")


class AliyunSmsSurvey(AliyunSmsChannel):
    """The survey SMS through Aliyun: the approved survey template with the ticket number as `${ticket}`
    (replies come back by Aliyun's SmsUp push); with `with_ticket=False`, a template without variables (the
    thank-you after a reply)."""

    def __init__(self, *args: Any, with_ticket: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.with_ticket = with_ticket

    def template(self, page: Page) -> dict[str, str]:
        ticket = ticket_of_subject(page.subject)
        if ticket is None:
            raise DeliveryError("不是回访短信 / not a survey SMS", retryable=False)
        return {"ticket": ticket[:20]} if self.with_ticket else {}


class SmsSurvey:
    """An SMS through Twilio (the reply arrives on the signed SMS webhook)."""

    def __init__(self, client: Any, from_number: str, *, name: str = "survey_sms") -> None:
        self.name, self.client, self.from_number = name, client, from_number

    def _create(self, page: Page) -> str | None:
        return twilio_sid(self.client.messages.create, to=e164(page.recipient.mobile or ""), from_=self.from_number,
                          body=page.text)

    async def send(self, page: Page) -> SendResult:
        return await as_result(self.name, asyncio.to_thread(self._create, page))
