"""One send queue per robot: sends pass in arrival order, never more than the provider allows.

A page that must wait is queued (never dropped); each robot has its own queue, so a busy robot
never holds up another one, and the robot is never pushed over its limit and blocked.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Limit:
    """At most `count` sends in any `per` seconds."""

    count: int
    per: float


WECOM_LIMITS = (Limit(20, 60.0),)  # 20 messages a minute per group robot
DINGTALK_LIMITS = (Limit(20, 60.0),)  # 20 a minute; over it the robot is blocked for 10 minutes
FEISHU_LIMITS = (Limit(100, 60.0), Limit(5, 1.0))  # 100 a minute and 5 a second per custom bot


class SendQueue:
    """A FIFO gate for one robot: `await queue.acquire()` before each send."""

    def __init__(self, limits: Sequence[Limit], *, clock: Clock = time.monotonic,
                 sleep: Sleep = asyncio.sleep) -> None:
        if not limits or any(lim.count < 1 or lim.per <= 0 for lim in limits):
            raise ValueError("limits need count >= 1 and per > 0")
        self.limits = tuple(limits)
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()  # fair: waiters are woken first come, first served
        self._sent: deque[float] = deque()
        self._horizon = max(lim.per for lim in self.limits)

    def delay(self, now: float) -> float:
        """Seconds until one more send is allowed (0 when it is allowed now)."""
        while self._sent and self._sent[0] <= now - self._horizon:
            self._sent.popleft()
        wait = 0.0
        for lim in self.limits:
            recent = [t for t in self._sent if t > now - lim.per]
            if len(recent) >= lim.count:
                wait = max(wait, recent[-lim.count] + lim.per - now)
        return wait

    async def acquire(self) -> float:
        """Wait for this robot's turn and count one send; returns the seconds waited."""
        async with self._lock:
            start = now = self._clock()
            while (wait := self.delay(now)) > 0:
                await self._sleep(wait)
                now = self._clock()
            self._sent.append(now)
            return now - start


class SendQueues:
    """The send queues of all robots, one per robot identity (shared when two channels use one robot)."""

    def __init__(self, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self._queues: dict[str, SendQueue] = {}

    def for_robot(self, robot: str, limits: Sequence[Limit]) -> SendQueue:
        queue = self._queues.get(robot)
        if queue is None:
            queue = self._queues[robot] = SendQueue(limits, clock=self._clock, sleep=self._sleep)
        return queue
