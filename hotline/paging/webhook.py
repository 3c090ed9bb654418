"""Generic JSON webhook: the page as JSON, optionally signed with HMAC-SHA256.

Signature (when a secret is set): `X-Hotline-Timestamp: <unix seconds>` and
`X-Hotline-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}." + body)>`; the receiver
recomputes it over the raw body and rejects old timestamps.

`X-Hotline-Page-Key` carries the page key percent-encoded as UTF-8 (keys hold the recipient's name,
e.g. 张伟, and HTTP header values are ASCII); the body's `key` is the key as it is.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from hotline.paging.base import Page, SendResult
from hotline.paging.secret import Secret
from hotline.paging.transport import as_result, request


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def header_key(key: str) -> str:
    """The page key as an ASCII header value: UTF-8 percent-encoded (ASCII punctuation kept, `%` escaped)."""
    return quote(key, safe="!#$&'()*+,/:;=?@[]~-._")


def page_json(page: Page) -> dict[str, Any]:
    r = page.recipient
    return {
        "key": page.key,
        "alert_id": page.alert_id,
        "subject": page.subject,
        "text": page.text,
        "caller": page.caller,
        "specialty": page.specialty,
        "ack_url": page.ack_url,
        "ack_code": page.ack_code,
        "at": page.at.isoformat() if page.at is not None else None,
        "recipient": {"name": r.name, "mobile": r.mobile, "email": r.email, "extension": r.extension},
        "extra": dict(page.extra),
    }


class WebhookChannel:
    """POSTs `page_json(page)` to `url`; any 2xx reply is success."""

    def __init__(self, url: str, *, secret: Secret | None = None, name: str = "webhook",
                 timeout: float = 10.0, client: httpx.AsyncClient | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.name = name
        self._url = url
        self._secret = secret
        self._timeout = timeout
        self._client = client
        self._clock = clock

    def headers(self, body: bytes, page: Page) -> dict[str, str]:
        headers = {"Content-Type": "application/json; charset=utf-8", "X-Hotline-Page-Key": header_key(page.key)}
        if self._secret:
            ts = int(self._clock())
            headers["X-Hotline-Timestamp"] = str(ts)
            headers["X-Hotline-Signature"] = webhook_signature(self._secret.reveal(), ts, body)
        return headers

    async def _send(self, page: Page) -> str | None:
        body = json.dumps(page_json(page), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        reply = await request("POST", self._url, content=body, headers=self.headers(body, page),
                              timeout=self._timeout, client=self._client)
        try:
            data = json.loads(reply.body) if reply.body else None
        except ValueError:
            data = None
        provider_id = data.get("id") if isinstance(data, dict) else None
        return str(provider_id) if provider_id is not None else None

    async def send(self, page: Page) -> SendResult:
        return await as_result(self.name, self._send(page))

    def __repr__(self) -> str:
        return f"WebhookChannel(name={self.name!r}, signed={bool(self._secret)})"
