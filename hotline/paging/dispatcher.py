"""Deliver one page: the person's channels in order, each with its own retry, falling back on failure.

Every attempt, failed or not, is returned so the caller (the monitor's outbox) can store it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence

from hotline.paging.base import Page, PagingChannel, SendResult
from hotline.paging.retry import RetryPolicy, Sleep, send_with_retry

IsAcked = Callable[[Page], Awaitable[bool]]


class Dispatcher:
    """Tries channels in order until one succeeds; retries each by its own `RetryPolicy`."""

    def __init__(self, channels: Mapping[str, PagingChannel], default_order: Sequence[str], *,
                 retry: RetryPolicy | None = None, retries: Mapping[str, RetryPolicy] | None = None,
                 rounds: int = 3, interval: float = 120.0, sleep: Sleep = asyncio.sleep) -> None:
        self.channels = dict(channels)
        self.default_order = tuple(default_order)
        self.retry = retry or RetryPolicy()
        self.retries = dict(retries or {})
        self.rounds = rounds  # "call until reached": deliveries at most, and seconds between them
        self.interval = interval
        self._sleep = sleep

    def order_for(self, page: Page, order: Sequence[str] | None = None) -> tuple[str, ...]:
        """`order` if given, else the recipient's own channels, else the default order; no repeats."""
        names = order if order is not None else (page.recipient.channels or self.default_order)
        return tuple(dict.fromkeys(names))

    async def deliver(self, page: Page, order: Sequence[str] | None = None) -> list[SendResult]:
        """Every attempt in order; the last one is the success, if any."""
        attempts: list[SendResult] = []
        for name in self.order_for(page, order):
            channel = self.channels.get(name)
            if channel is None:
                attempts.append(SendResult(ok=False, channel=name,
                                           error="通道未启用 / channel not enabled"))
                continue
            policy = self.retries.get(name, self.retry)
            attempts += await send_with_retry(channel, page, policy, self._sleep)
            if attempts[-1].ok:
                break
        return attempts

    async def deliver_until_acked(self, page: Page, is_acked: IsAcked, *, rounds: int | None = None,
                                  interval: float | None = None, order: Sequence[str] | None = None,
                                  ) -> list[SendResult]:
        """"Call until reached": deliver, wait `interval`, and deliver again while nobody acknowledged.

        Meant for voice orders (a placed call is not a reached person); at most `rounds` deliveries.
        """
        attempts: list[SendResult] = []
        for round_number in range(self.rounds if rounds is None else rounds):
            if round_number:
                await self._sleep(self.interval if interval is None else interval)
            if await is_acked(page):
                break
            attempts += await self.deliver(page, order)
        return attempts
