"""SMS and voice call through Twilio, with the `twilio` library's REST client.

The client is synchronous (requests), so each send runs in a worker thread. `api_base_url`
replaces `https://api.twilio.com` (a local fake API in tests, or a regional proxy).
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from hotline.paging.base import Page, SendResult
from hotline.paging.secret import Secret
from hotline.paging.texts import VOICE_NO_INPUT, short_text, voice_prompt
from hotline.paging.transport import DeliveryError, as_result

TWILIO_API_BASE_URL = "https://api.twilio.com"


def make_client(account_sid: str, auth_token: Secret, *, api_base_url: str = TWILIO_API_BASE_URL,
                timeout: float = 10.0) -> Any:
    """A twilio `Client` whose API domain is `api_base_url`; it never reads `os.environ`."""
    client = Client(account_sid, auth_token.reveal(), http_client=TwilioHttpClient(timeout=timeout),
                    environment={"HOTLINE": "1"})  # non-empty: an empty mapping means os.environ
    client.api.base_url = api_base_url.rstrip("/")
    return client


def e164(mobile: str, country_code: str = "+86") -> str:
    """'138 0013 8000' -> '+8613800138000'; a number with '+' or '00' keeps its own country code."""
    digits = "".join(ch for ch in mobile if ch.isdigit())
    if mobile.strip().startswith("+"):
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    return country_code + digits.lstrip("0")


def _twilio_error(e: TwilioException) -> DeliveryError:
    if isinstance(e, TwilioRestException):
        status = int(e.status)
        retryable = status == 429 or status >= 500
        return DeliveryError(f"Twilio 拒绝 / Twilio refused: HTTP {status} code {e.code}", retryable=retryable)
    return DeliveryError(f"Twilio 出错 / Twilio error ({type(e).__name__})", retryable=True)


async def _create(create: Any, **kwargs: Any) -> str | None:
    try:
        resource = await asyncio.to_thread(create, **kwargs)
    except TwilioException as e:
        raise _twilio_error(e) from None
    except OSError as e:  # requests' connection errors are OSErrors
        raise DeliveryError(f"Twilio 连接失败 / connection failed ({type(e).__name__})", retryable=True) from None
    sid = getattr(resource, "sid", None)
    return str(sid) if sid else None


def _mobile(page: Page) -> str:
    if not page.recipient.mobile:
        raise DeliveryError("收件人没有手机号 / recipient has no mobile number", retryable=False)
    return page.recipient.mobile


class TwilioSmsChannel:
    """POST `/2010-04-01/Accounts/{sid}/Messages.json`; the message SID is the provider id."""

    def __init__(self, client: Any, *, from_number: str | None = None, messaging_service_sid: str | None = None,
                 country_code: str = "+86", name: str = "twilio_sms") -> None:
        if not from_number and not messaging_service_sid:
            raise ValueError("Twilio SMS needs from_number or messaging_service_sid")
        self.name = name
        self._client = client
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.country_code = country_code

    async def _send(self, page: Page) -> str | None:
        kwargs: dict[str, Any] = {"to": e164(_mobile(page), self.country_code), "body": short_text(page)}
        if self.messaging_service_sid:
            kwargs["messaging_service_sid"] = self.messaging_service_sid
        else:
            kwargs["from_"] = self.from_number
        return await _create(self._client.messages.create, **kwargs)

    async def send(self, page: Page) -> SendResult:
        return await as_result(self.name, self._send(page))

    def __repr__(self) -> str:
        return f"TwilioSmsChannel(name={self.name!r})"


def voice_twiml(page: Page, *, action_url: str | None, voice: str, language: str) -> str:
    """Read the alert in Mandarin twice, waiting for one key; the `action_url` acknowledges on `1`."""
    response = VoiceResponse()
    for _ in range(2):
        target = {"action": action_url, "method": "POST"} if action_url else {}
        gather = response.gather(num_digits=1, timeout=8, **target)
        gather.say(voice_prompt(page), voice=voice, language=language)
    response.say(VOICE_NO_INPUT, voice=voice, language=language)
    return str(response)


def ack_action_url(base: str | None, page: Page) -> str | None:
    """The Gather action: `base` with the page key, alert id and ack code as query parameters."""
    if not base:
        return page.ack_url
    query = urlencode({k: v for k, v in (("page", page.key), ("alert", page.alert_id),
                                         ("code", page.ack_code)) if v})
    return f"{base}{'&' if '?' in base else '?'}{query}"


class TwilioVoiceChannel:
    """POST `/2010-04-01/Accounts/{sid}/Calls.json` with inline TwiML; the call SID is the provider id."""

    def __init__(self, client: Any, *, from_number: str, ack_action_url: str | None = None,
                 voice: str = "Polly.Zhiyu", language: str = "cmn-CN", ring_seconds: int = 30,
                 country_code: str = "+86", name: str = "twilio_voice") -> None:
        self.name = name
        self._client = client
        self.from_number = from_number
        self.ack_action_url = ack_action_url
        self.voice = voice
        self.language = language
        self.ring_seconds = ring_seconds
        self.country_code = country_code

    async def _send(self, page: Page) -> str | None:
        twiml = voice_twiml(page, action_url=ack_action_url(self.ack_action_url, page),
                            voice=self.voice, language=self.language)
        return await _create(self._client.calls.create, to=e164(_mobile(page), self.country_code),
                             from_=self.from_number, twiml=twiml, timeout=self.ring_seconds)

    async def send(self, page: Page) -> SendResult:
        return await as_result(self.name, self._send(page))

    def __repr__(self) -> str:
        return f"TwilioVoiceChannel(name={self.name!r})"
