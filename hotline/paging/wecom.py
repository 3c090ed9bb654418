"""WeCom (企业微信) group robot: text message with @mention by mobile number."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from hotline.paging.base import Page, SendResult
from hotline.paging.rate_limit import WECOM_LIMITS, SendQueue
from hotline.paging.secret import Secret
from hotline.paging.texts import clip_utf8, group_text
from hotline.paging.transport import DeliveryError, as_result, post_json

WECOM_BASE_URL = "https://qyapi.weixin.qq.com"
MAX_TEXT_BYTES = 2048
RETRYABLE_CODES = {-1, 45009, 45033}  # system busy; API frequency out of limit; too many concurrent


def robot_error(reply: dict[str, Any]) -> None:
    """Raise `DeliveryError` unless the robot said errcode 0 (shared by WeCom and DingTalk)."""
    code = reply.get("errcode")
    if code == 0:
        return
    message = str(reply.get("errmsg", ""))[:200]
    raise DeliveryError(f"机器人拒绝 / robot refused: errcode {code} {message}".strip(),
                        retryable=code in RETRYABLE_CODES or code == 130101)


class WeComRobotChannel:
    """Posts `{"msgtype": "text", ...}` to `/cgi-bin/webhook/send?key=...`, one queue per robot."""

    def __init__(self, key: Secret, *, queue: SendQueue | None = None, base_url: str = WECOM_BASE_URL,
                 name: str = "wecom", timeout: float = 10.0, client: httpx.AsyncClient | None = None) -> None:
        self.name = name
        self._key = key
        self._queue = queue or SendQueue(WECOM_LIMITS)
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._client = client

    def message(self, page: Page) -> dict[str, Any]:
        text: dict[str, Any] = {"content": clip_utf8(group_text(page), MAX_TEXT_BYTES)}
        if page.recipient.mobile:
            text["mentioned_mobile_list"] = [page.recipient.mobile]
        return {"msgtype": "text", "text": text}

    async def _send(self, page: Page) -> str | None:
        url = f"{self._base_url}/cgi-bin/webhook/send?key={quote(self._key.reveal(), safe='')}"
        await self._queue.acquire()
        reply = await post_json(url, self.message(page), timeout=self._timeout, client=self._client)
        robot_error(reply.json_object())
        return None

    async def send(self, page: Page) -> SendResult:
        return await as_result(self.name, self._send(page))

    def __repr__(self) -> str:
        return f"WeComRobotChannel(name={self.name!r}, base_url={self._base_url!r})"
