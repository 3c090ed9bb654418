"""Twilio's REST API for calls: placing outbound calls (click-to-call callbacks from an alert) and reading a
call's status (for calls whose final status callback never arrived)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import phonenumbers

from hotline.domain.numbers import NumberError, parse_number
from hotline.providers.twilio.rest_client import TWILIO_API_BASE_URL, rest_client

_DIGITS = re.compile(r"\D+")


class CallNotPlaced(RuntimeError):
    """Twilio refused the call or could not be reached; the message holds no secret."""


class StatusUnavailable(RuntimeError):
    """Twilio could not tell a call's status (unreachable, refused, unknown call); no secret in the message."""


@dataclass(frozen=True)
class CallStatus:
    """What Twilio's Call resource says: `status` (queued, ringing, in-progress, completed, busy, failed,
    no-answer, canceled) and, once it ended, when."""

    status: str
    end_time: datetime | None = None


def region_of(country_code: str) -> str:
    """The region of a country calling code: '+86' -> 'CN' (unknown codes give 'ZZ')."""
    digits = _DIGITS.sub("", country_code)
    return phonenumbers.region_code_for_country_code(int(digits)) if digits else "ZZ"


def e164(number: str, country_code: str = "+86") -> str:
    """The E.164 form Twilio dials, by `hotline.domain.numbers`: '13800138002' -> '+8613800138002',
    '010-8888-6666' -> '+861088886666'. A number with '+' or '00' keeps its own country code; extensions,
    short codes and invalid numbers raise ValueError (NumberError)."""
    parsed = parse_number(number, region=region_of(country_code))
    if parsed.e164 is None:
        raise NumberError(f"{number!r} 不是可外呼的号码 / is not a number Twilio can dial "
                          f"(分机或短号 / an extension or short code)")
    return parsed.e164


class RestCallPlacer:
    """Creates a call with the twilio library: Twilio rings `to`, then requests `url` for its TwiML."""

    def __init__(self, account_sid: str, auth_token: str, *, api_base_url: str = TWILIO_API_BASE_URL,
                 timeout: float = 10.0) -> None:
        self._client = rest_client(account_sid, auth_token, api_base_url=api_base_url, timeout=timeout)

    def place(self, *, to: str, from_: str, url: str, status_callback: str,
              status_events: Sequence[str]) -> str:
        from twilio.base.exceptions import TwilioException, TwilioRestException

        try:
            call = self._client.calls.create(to=to, from_=from_, url=url, method="POST",
                                             status_callback=status_callback, status_callback_method="POST",
                                             status_callback_event=list(status_events))
        except TwilioRestException as e:
            raise CallNotPlaced(f"Twilio 拒绝外呼 / Twilio refused the call: HTTP {e.status} code {e.code}"
                                f" ({e.msg})") from None
        except (TwilioException, OSError) as e:  # OSError: requests' connection errors and timeouts
            raise CallNotPlaced(f"无法连接 Twilio / Twilio could not be reached ({type(e).__name__})") from None
        return str(call.sid)

    def status(self, call_sid: str) -> CallStatus:
        """The call's status from `GET /2010-04-01/Accounts/{sid}/Calls/{CallSid}.json`."""
        from twilio.base.exceptions import TwilioException, TwilioRestException

        try:
            call = self._client.calls(call_sid).fetch()
        except TwilioRestException as e:
            raise StatusUnavailable(f"Twilio did not give the status of call {call_sid}: HTTP {e.status} "
                                    f"code {e.code}") from None
        except (TwilioException, OSError) as e:
            raise StatusUnavailable(f"Twilio could not be reached for call {call_sid} ({type(e).__name__})") from None
        end = call.end_time if isinstance(call.end_time, datetime) else None
        return CallStatus(str(call.status), end)
