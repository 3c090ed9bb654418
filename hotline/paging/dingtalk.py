"""DingTalk (钉钉) group robot, signed: `timestamp` + `sign` in the URL, @mention by mobile."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, quote_plus

import httpx

from hotline.paging.base import Page, SendResult
from hotline.paging.rate_limit import DINGTALK_LIMITS, SendQueue
from hotline.paging.secret import Secret
from hotline.paging.texts import clip_utf8, group_text
from hotline.paging.transport import as_result, post_json
from hotline.paging.wecom import robot_error

DINGTALK_BASE_URL = "https://oapi.dingtalk.com"
MAX_TEXT_BYTES = 20000


def dingtalk_sign(timestamp_ms: int, secret: str) -> str:
    """base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}")), before URL encoding."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class DingTalkRobotChannel:
    """Posts a text message to `/robot/send?access_token=...&timestamp=...&sign=...`."""

    def __init__(self, token: Secret, secret: Secret, *, queue: SendQueue | None = None,
                 base_url: str = DINGTALK_BASE_URL, name: str = "dingtalk", timeout: float = 10.0,
                 client: httpx.AsyncClient | None = None, clock: Callable[[], float] = time.time) -> None:
        self.name = name
        self._token = token
        self._secret = secret
        self._queue = queue or SendQueue(DINGTALK_LIMITS)
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._client = client
        self._clock = clock

    def message(self, page: Page) -> dict[str, Any]:
        mobile = page.recipient.mobile
        text = clip_utf8(group_text(page), MAX_TEXT_BYTES - 40)
        if mobile:
            text = f"@{mobile} {text}"  # the mention shows only when the text holds @mobile
        return {"msgtype": "text", "text": {"content": text},
                "at": {"atMobiles": [mobile] if mobile else [], "isAtAll": False}}

    def url(self, timestamp_ms: int) -> str:
        sign = quote_plus(dingtalk_sign(timestamp_ms, self._secret.reveal()))
        token = quote(self._token.reveal(), safe="")
        return f"{self._base_url}/robot/send?access_token={token}&timestamp={timestamp_ms}&sign={sign}"

    async def _send(self, page: Page) -> str | None:
        await self._queue.acquire()
        url = self.url(int(self._clock() * 1000))  # signed after the wait: DingTalk allows 1 hour skew
        reply = await post_json(url, self.message(page), timeout=self._timeout, client=self._client)
        robot_error(reply.json_object())
        return None

    async def send(self, page: Page) -> SendResult:
        return await as_result(self.name, self._send(page))

    def __repr__(self) -> str:
        return f"DingTalkRobotChannel(name={self.name!r}, base_url={self._base_url!r})"
