"""Retry one channel with exponential backoff (tenacity); every attempt is kept for the outbox."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from tenacity import AsyncRetrying, RetryCallState, retry_if_result, stop_after_attempt, wait_exponential

from hotline.paging.base import Page, PagingChannel, SendResult

Sleep = Callable[[float], Awaitable[None]]
log = logging.getLogger("hotline.paging")


@dataclass(frozen=True)
class RetryPolicy:
    """Up to `attempts` tries; waits `initial`, `initial*multiplier`, ... seconds, at most `maximum`."""

    attempts: int = 3
    initial: float = 1.0
    multiplier: float = 2.0
    maximum: float = 30.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.initial < 0 or self.multiplier < 1 or self.maximum < 0:
            raise ValueError("retry needs attempts >= 1, initial >= 0, multiplier >= 1, maximum >= 0")


async def _attempt(channel: PagingChannel, page: Page, number: int) -> SendResult:
    try:
        result = await channel.send(page)
    except Exception as e:  # a channel's bug must not stop the fallback; its text may hold a secret
        log.error("寻呼通道 %s 出错 / paging channel %s raised %s", channel.name, channel.name, type(e).__name__)
        result = SendResult(ok=False, channel=channel.name,
                            error=f"通道内部错误 / channel error ({type(e).__name__})")
    return replace(result, attempt=number)


def _should_retry(result: SendResult) -> bool:
    return not result.ok and result.retryable


def _last_result(state: RetryCallState) -> SendResult | None:
    return state.outcome.result() if state.outcome is not None else None


async def send_with_retry(channel: PagingChannel, page: Page, policy: RetryPolicy,
                          sleep: Sleep = asyncio.sleep) -> list[SendResult]:
    """Send through one channel, retrying retryable failures; returns every attempt, first first."""
    attempts: list[SendResult] = []

    async def one() -> SendResult:
        result = await _attempt(channel, page, len(attempts) + 1)
        attempts.append(result)
        return result

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.attempts),
        wait=wait_exponential(multiplier=policy.initial, exp_base=policy.multiplier, max=policy.maximum),
        retry=retry_if_result(_should_retry),
        sleep=sleep,
        retry_error_callback=_last_result,
    )
    await retrying(one)
    return attempts
