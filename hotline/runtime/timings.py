"""How late the running parts are, for /metrics: the AMI events' lag (the PBX's event time to its
receipt, its receipt to its call being stored) and the scheduler's lateness (a job's due time to its
start). Each is a cumulative histogram, the shape Prometheus reads."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

# Seconds: a healthy listener stays in the first buckets, a stalled one shows in the last.
LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class LagHistogram:
    """Observed delays in seconds: cumulative bucket counts, sum, count and the latest (thread-safe:
    the scheduler's listener runs in its threads)."""

    def __init__(self, buckets: Sequence[float] = LAG_BUCKETS) -> None:
        self.buckets = tuple(buckets)
        self.counts = [0] * len(self.buckets)
        self.count = 0
        self.sum = 0.0
        self.last: float | None = None
        self._lock = threading.Lock()

    def observe(self, seconds: float) -> None:
        """One delay; a negative one (clocks apart) counts as 0."""
        value = max(0.0, seconds)
        with self._lock:
            self.count += 1
            self.sum += value
            self.last = value
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    self.counts[i] += 1

    def snapshot(self) -> tuple[list[tuple[str, int]], int, float]:
        """([(le, cumulative count)] ending with +Inf, count, sum)."""
        with self._lock:
            pairs = [(_le(b), n) for b, n in zip(self.buckets, self.counts, strict=True)]
            pairs.append(("+Inf", self.count))
            return pairs, self.count, self.sum


def _le(bound: float) -> str:
    return f"{bound:g}"


class SchedulerLateness:
    """The scheduler's lateness: each job submission's delay after its due time, and the runs missed."""

    def __init__(self, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.now = now
        self.lateness = LagHistogram()
        self.missed = 0

    def on_event(self, event: Any) -> None:
        from apscheduler.events import EVENT_JOB_MISSED

        if event.code == EVENT_JOB_MISSED:
            self.missed += 1
            return
        times = getattr(event, "scheduled_run_times", None) or []
        if times:
            self.lateness.observe((self.now() - min(times)).total_seconds())

    def watch(self, scheduler: Any) -> SchedulerLateness:
        """Listen to `scheduler`'s submissions and misses (APScheduler 3)."""
        from apscheduler.events import EVENT_JOB_MISSED, EVENT_JOB_SUBMITTED

        scheduler.add_listener(self.on_event, EVENT_JOB_SUBMITTED | EVENT_JOB_MISSED)
        return self
