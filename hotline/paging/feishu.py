"""Feishu (飞书) custom bot, signed: `timestamp` + `sign` in the body, `<at user_id>` mention."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from hotline.paging.base import Page, SendResult
from hotline.paging.rate_limit import FEISHU_LIMITS, SendQueue
from hotline.paging.secret import Secret
from hotline.paging.texts import clip_utf8, group_text
from hotline.paging.transport import DeliveryError, as_result, post_json

FEISHU_BASE_URL = "https://open.feishu.cn"
MAX_TEXT_BYTES = 20000
RETRYABLE_CODES = {9499, 11232}  # too many requests; frequency limited


def feishu_sign(timestamp_s: int, secret: str) -> str:
    """base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b""))."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


def _bare(value: str) -> str:
    """Drop the characters that would break the `<at>` tag."""
    return "".join(ch for ch in value if ch not in '<>"')


def _check(reply: dict[str, Any]) -> None:
    code = reply.get("code", reply.get("StatusCode"))
    if code == 0:
        return
    message = str(reply.get("msg", reply.get("StatusMessage", "")))[:200]
    raise DeliveryError(f"机器人拒绝 / bot refused: code {code} {message}".strip(),
                        retryable=code in RETRYABLE_CODES)


class FeishuBotChannel:
    """Posts a signed text message to `/open-apis/bot/v2/hook/<hook id>`."""

    def __init__(self, hook: Secret, secret: Secret, *, queue: SendQueue | None = None,
                 base_url: str = FEISHU_BASE_URL, name: str = "feishu", timeout: float = 10.0,
                 client: httpx.AsyncClient | None = None, clock: Callable[[], float] = time.time) -> None:
        self.name = name
        self._hook = hook
        self._secret = secret
        self._queue = queue or SendQueue(FEISHU_LIMITS)
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._client = client
        self._clock = clock

    def message(self, page: Page, timestamp_s: int) -> dict[str, Any]:
        text = clip_utf8(group_text(page), MAX_TEXT_BYTES - 200)
        uid = page.recipient.feishu_id
        if uid:
            text = f'<at user_id="{_bare(uid)}">{_bare(page.recipient.name)}</at> {text}'
        return {"timestamp": str(timestamp_s), "sign": feishu_sign(timestamp_s, self._secret.reveal()),
                "msg_type": "text", "content": {"text": text}}

    async def _send(self, page: Page) -> str | None:
        url = f"{self._base_url}/open-apis/bot/v2/hook/{quote(self._hook.reveal(), safe='')}"
        await self._queue.acquire()
        message = self.message(page, int(self._clock()))
        reply = await post_json(url, message, timeout=self._timeout, client=self._client)
        _check(reply.json_object())
        return None

    async def send(self, page: Page) -> SendResult:
        return await as_result(self.name, self._send(page))

    def __repr__(self) -> str:
        return f"FeishuBotChannel(name={self.name!r}, base_url={self._base_url!r})"
