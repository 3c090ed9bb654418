"""Placing outbound calls through Twilio's REST API (click-to-call callbacks from an alert)."""

from __future__ import annotations

from collections.abc import Sequence


class RestCallPlacer:
    """Creates a call with the twilio library: Twilio rings `to`, then requests `url` for its TwiML."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        from twilio.rest import Client

        self._client = Client(account_sid, auth_token)

    def place(self, *, to: str, from_: str, url: str, status_callback: str,
              status_events: Sequence[str]) -> str:
        call = self._client.calls.create(to=to, from_=from_, url=url, method="POST",
                                         status_callback=status_callback, status_callback_method="POST",
                                         status_callback_event=list(status_events))
        return str(call.sid)
