"""Clocks: the one place that reads the time. Everything else is given a Clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    """Source of the current time (always timezone-aware)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, in a given timezone."""

    def __init__(self, tz: ZoneInfo = DEFAULT_TZ) -> None:
        self.tz = tz

    def now(self) -> datetime:
        return datetime.now(UTC).astimezone(self.tz)


class ManualClock:
    """A clock that moves only when told to: for tests and for replaying traces."""

    def __init__(self, start: datetime, tz: ZoneInfo = DEFAULT_TZ) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self.tz = tz
        self._now = start.astimezone(tz)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        """Jump to `when`; a clock never goes backwards."""
        if when.tzinfo is None:
            raise ValueError("ManualClock.set needs a timezone-aware time")
        with self._lock:
            if when > self._now:
                self._now = when.astimezone(self.tz)

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now = self._now + delta
            return self._now


class ScaledClock:
    """Time that runs `speed` times faster than the wall clock from `start` (the demo's simulated day)."""

    def __init__(self, start: datetime, speed: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        if start.tzinfo is None:
            raise ValueError("ScaledClock needs a timezone-aware start time")
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.start = start
        self.speed = speed
        self._monotonic = monotonic
        self._t0 = monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(self._monotonic() - self._t0) * self.speed)


def today(clock: Clock, tz: tzinfo) -> date:
    """Today's date in the desk's timezone (not the process's, not UTC)."""
    return clock.now().astimezone(tz).date()


def from_epoch(seconds: float, tz: ZoneInfo = DEFAULT_TZ) -> datetime:
    """An aware datetime from epoch seconds (AMI `Timestamp`)."""
    return datetime.fromtimestamp(seconds, tz)
