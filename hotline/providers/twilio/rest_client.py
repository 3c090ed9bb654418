"""The twilio library's REST `Client`, built one way for every use of Twilio's REST API here (callbacks,
recordings): its API domain from configuration (a stand-in server in tests) and never from os.environ."""

from __future__ import annotations

from typing import Any

TWILIO_API_BASE_URL = "https://api.twilio.com"


def rest_client(account_sid: str, auth_token: str, *, api_base_url: str = TWILIO_API_BASE_URL,
                timeout: float = 10.0) -> Any:
    """A twilio `Client` whose API domain is `api_base_url`, requests time out after `timeout` seconds."""
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    # A non-empty `environment`: the client never reads TWILIO_* variables from os.environ.
    client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout),
                    environment={"HOTLINE": "1"})
    client.api.base_url = api_base_url.rstrip("/")
    return client
