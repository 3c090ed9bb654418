"""HTTP for the channels: one POST/GET, turned into a reply or a `DeliveryError` with a safe message.

Errors never carry the URL (robot keys and tokens travel in query strings) nor the exception text.
"""

from __future__ import annotations

import asyncio
import functools
import json
import ssl
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from hotline.paging.base import SendResult

USER_AGENT = "hotline-paging/0.1"


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for all pages (loading the trust store for each request costs ~50 ms)."""
    return ssl.create_default_context()


class DeliveryError(Exception):
    """A send that failed, with a message safe to store (no secret, no URL)."""

    def __init__(self, error: str, *, retryable: bool) -> None:
        super().__init__(error)
        self.error = error
        self.retryable = retryable


@dataclass(frozen=True)
class HttpReply:
    status: int
    body: bytes

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object, or a non-retryable `DeliveryError`."""
        try:
            data = json.loads(self.body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise DeliveryError(f"应答不是 JSON 对象 / reply is not a JSON object (HTTP {self.status})",
                                retryable=False)
        return data


async def request(
    method: str,
    url: str,
    *,
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
    client: httpx.AsyncClient | None = None,
    check: bool = True,
) -> HttpReply:
    """Send one request; with `check`, a reply other than 2xx raises `DeliveryError` (429, 5xx retryable)."""
    all_headers = {"User-Agent": USER_AGENT, **(headers or {})}
    try:
        # `timeout` bounds the whole request: httpx's own timeouts are per read, so a receiver that
        # drips a byte now and then would otherwise hold the page for ever
        async with asyncio.timeout(timeout):
            if client is None:
                async with httpx.AsyncClient(timeout=timeout, verify=_tls()) as own:
                    response = await own.request(method, url, content=content, headers=all_headers)
            else:
                response = await client.request(method, url, content=content, headers=all_headers,
                                                timeout=timeout)
    except (httpx.TimeoutException, TimeoutError):
        raise DeliveryError("请求超时 / request timed out", retryable=True) from None
    except httpx.HTTPError as e:
        raise DeliveryError(f"连接失败 / connection failed ({type(e).__name__})", retryable=True) from None
    reply = HttpReply(response.status_code, response.content)
    if check and not 200 <= reply.status < 300:
        retryable = reply.status == 429 or reply.status >= 500
        raise DeliveryError(f"HTTP {reply.status}", retryable=retryable)
    return reply


async def post_json(url: str, body: Mapping[str, Any], *, timeout: float = 10.0,
                    client: httpx.AsyncClient | None = None,
                    headers: Mapping[str, str] | None = None) -> HttpReply:
    content = json.dumps(body, ensure_ascii=False).encode("utf-8")
    all_headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    return await request("POST", url, content=content, headers=all_headers, timeout=timeout, client=client)


async def as_result(channel: str, sending: Awaitable[str | None]) -> SendResult:
    """Await a send that returns the provider id; a `DeliveryError` becomes a failed result."""
    try:
        provider_id = await sending
    except DeliveryError as e:
        return SendResult(ok=False, channel=channel, error=e.error, retryable=e.retryable)
    return SendResult(ok=True, channel=channel, provider_id=provider_id)
