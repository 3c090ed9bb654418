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
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from hotline.paging.base import Page, SendResult
from hotline.paging.transport import DeliveryError, as_result
from hotline.paging.twilio_channels import e164
from hotline.services.surveys.keys import survey_of_key

Originate = Callable[[Mapping[str, str]], Awaitable[Mapping[str, str]]]
CHANNEL_ID = "hotline-survey-{survey}-{round}-{try_no}"  # the Uniqueid of the survey call (Originate ChannelId)
_CHANNEL_ID = re.compile(r"^hotline-survey-(\d+)-(\d+)-(\d+)$")
VARIABLES = {"HOTLINE_SURVEY_SOLVED": "solved", "HOTLINE_SURVEY_SCORE": "overall"}  # channel variable -> question
REASONS = {"0": "呼叫失败 / call failed", "1": "对方挂断 / hung up before answering", "3": "无人接听 / no answer",
           "5": "忙线 / busy", "8": "线路拥塞 / congestion"}


def try_of(key: str) -> tuple[int, int, int]:
    found = survey_of_key(key)
    if found is None:
        raise DeliveryError(f"不是回访的发送键 / not a survey key: {key}", retryable=False)
    return found


def survey_of_channel(uniqueid: str | None) -> tuple[int, int, int] | None:
    """(survey, round, try) of a survey call's Uniqueid, else None."""
    m = _CHANNEL_ID.match(uniqueid or "")
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


def _value(text: str) -> str:
    return re.sub(r"[\r\n,]", " ", text).strip()


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
        action = {
            "Action": "Originate", "ActionID": _value(f"survey-{page.key}"),
            "Channel": self.channel.format(number=number), "Context": self.context, "Exten": "s",
            "Priority": "1", "Timeout": str(self.ring_seconds * 1000),
            "ChannelId": CHANNEL_ID.format(survey=survey, round=round_no, try_no=try_no),
            "Variable": f"HOTLINE_SURVEY_ID={survey},HOTLINE_SURVEY_TOKEN={_value(page.ack_code or '')}",
            "Async": "true",
        }
        if self.caller_id:
            action["CallerID"] = _value(self.caller_id)
        return action

    async def _send(self, page: Page) -> str | None:
        action = self.action(page)
        try:
            response = await asyncio.wait_for(self._originate(action), 2 * self.timeout + self.ring_seconds)
        except (OSError, TimeoutError, ConnectionError) as e:
            raise DeliveryError(f"AMI 不可用 / AMI unavailable ({type(e).__name__})", retryable=True) from None
        if response.get("Response", "").lower() != "success":
            reason = response.get("Reason")
            if reason is not None:
                raise DeliveryError(REASONS.get(reason, f"未接通 / not connected (reason {_value(reason)[:8]})"),
                                    retryable=False)
            raise DeliveryError(f"Originate 失败 / Originate failed: {_value(response.get('Message', ''))[:200]}",
                                retryable=True)
        return response.get("Uniqueid") or action["ChannelId"]

    async def send(self, page: Page) -> SendResult:
        return await as_result(self.name, self._send(page))


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
        from twilio.base.exceptions import TwilioException, TwilioRestException

        try:
            call = self.client.calls.create(to=e164(page.recipient.mobile or ""), from_=self.from_number,
                                            url=self.url(page), method="POST", machine_detection="Enable",
                                            timeout=self.timeout_seconds)
        except TwilioRestException as e:
            raise DeliveryError(f"Twilio 拒绝 / Twilio refused ({e.status}): {str(e.msg)[:200]}",
                                retryable=e.status >= 500 or e.status == 429) from None
        except (TwilioException, OSError) as e:
            raise DeliveryError(f"Twilio 不可用 / Twilio unavailable ({type(e).__name__})", retryable=True) from None
        return str(call.sid)

    async def send(self, page: Page) -> SendResult:
        return await as_result(self.name, asyncio.to_thread(self._create, page))


def sms_text(ticket_id: str, signature: str = "IT服务台") -> str:
    """The survey SMS: a digit reply, no link a scanner could 'click'."""
    return (f"【{signature}】您好，您的工单 {ticket_id} 已处理。请直接回复两个数字：问题是否已解决（1 是，2 否）"
            f"和满意度（1-5 分，5 最满意），例如“1 5”。Please reply with two digits: solved (1 yes, 2 no) and "
            f"your satisfaction 1-5, e.g. '1 5'.")


class SmsSurvey:
    """An SMS through Twilio (the reply arrives on the signed SMS webhook)."""

    def __init__(self, client: Any, from_number: str, *, name: str = "survey_sms") -> None:
        self.name, self.client, self.from_number = name, client, from_number

    def _create(self, page: Page) -> str | None:
        from twilio.base.exceptions import TwilioException, TwilioRestException

        try:
            message = self.client.messages.create(to=e164(page.recipient.mobile or ""), from_=self.from_number,
                                                  body=page.text)
        except TwilioRestException as e:
            raise DeliveryError(f"Twilio 拒绝 / Twilio refused ({e.status}): {str(e.msg)[:200]}",
                                retryable=e.status >= 500 or e.status == 429) from None
        except (TwilioException, OSError) as e:
            raise DeliveryError(f"Twilio 不可用 / Twilio unavailable ({type(e).__name__})", retryable=True) from None
        return str(message.sid)

    async def send(self, page: Page) -> SendResult:
        return await as_result(self.name, asyncio.to_thread(self._create, page))
