"""Clocks: manual (tests, replay) and scaled (the demo's simulated day)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hotline.clock import ManualClock, ScaledClock

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_manual_clock_moves_only_forward() -> None:
    clock = ManualClock(T0)
    clock.advance(timedelta(minutes=5))
    clock.set(T0)  # never backwards
    assert clock.now() == T0 + timedelta(minutes=5)
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2026, 1, 1))


def test_scaled_clock_runs_speed_times_faster() -> None:
    ticks = iter([100.0, 100.0, 103.0])
    clock = ScaledClock(T0, speed=10, monotonic=lambda: next(ticks))
    assert clock.now() == T0
    assert clock.now() == T0 + timedelta(seconds=30)
    with pytest.raises(ValueError, match="speed"):
        ScaledClock(T0, speed=0)


def test_today_is_the_desks_date_not_utcs() -> None:
    from datetime import UTC, date, datetime

    from hotline.clock import DEFAULT_TZ, ManualClock, today

    clock = ManualClock(datetime(2026, 12, 3, 16, 30, tzinfo=UTC))  # 00:30 on the 4th in Shanghai
    assert today(clock, DEFAULT_TZ) == date(2026, 12, 4)
    assert today(clock, UTC) == date(2026, 12, 3)
