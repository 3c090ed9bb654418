"""The monthly quality report's indicators (质量月报): what each target is, whether the month met it,
and the rule that an indicator without data is "not measured", never 0.

An indicator is compared one way: `at_least` (answer rate >= 75%) or `at_most` (longest unanswered
<= 15 min). `actual` is None when nothing was measured; `met` is then None too. Spans of time are
merged before they are summed (two overlapping outage records are one outage).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

NOT_MEASURED = "未测量 / not measured"


@dataclass(frozen=True)
class Indicator:
    """One row of the indicator table: 指标 / 标准 / 实际 / 达标 / 上月."""

    key: str
    name: str                     # "接通率（网络） / Answer rate (Network)"
    target: float | None          # None: reported, no target
    compare: str = "at_least"     # at_least | at_most
    unit: str = "%"               # % | min | count | s
    actual: float | None = None   # None: not measured
    measured: bool = True         # False: the data source is not there yet
    detail: str = ""              # e.g. "1,234 / 1,500"
    last_month: float | None = None
    last_measured: bool = True

    @property
    def met(self) -> bool | None:
        if not self.measured or self.actual is None or self.target is None:
            return None
        if self.compare == "at_most":
            return self.actual <= self.target + 1e-9
        return self.actual >= self.target - 1e-9

    def with_last_month(self, previous: Indicator | None) -> Indicator:
        if previous is None:  # e.g. a specialty without calls last month: no data, but measured
            return replace(self, last_month=None, last_measured=True)
        return replace(self, last_month=previous.actual, last_measured=previous.measured)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "name": self.name, "target": self.target, "compare": self.compare,
            "unit": self.unit, "target_text": format_target(self), "measured": self.measured,
            "actual": _round(self.actual), "actual_text": format_value(self.actual, self.unit, self.measured),
            "met": self.met, "met_text": met_text(self.met, self.measured), "detail": self.detail,
            "last_month": _round(self.last_month),
            "last_month_text": format_value(self.last_month, self.unit, self.last_measured),
        }


def not_measured(key: str, name: str, target: float | None, compare: str = "at_least", unit: str = "%",
                 why: str = "") -> Indicator:
    """An indicator whose data source is not there yet (no tickets, no surveys)."""
    return Indicator(key, name, target, compare, unit, actual=None, measured=False, detail=why)


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


def format_value(value: float | None, unit: str, measured: bool = True) -> str:
    if not measured:
        return NOT_MEASURED
    if value is None:
        return "无数据 / no data"
    if unit == "%":
        return f"{value * 100:.1f}%"
    if unit == "min":
        return f"{value:.1f} 分钟"
    if unit == "s":
        return f"{value:.1f} 秒"
    return f"{value:.0f}"


def format_target(ind: Indicator) -> str:
    if ind.target is None:
        return "—"
    sign = "≥" if ind.compare == "at_least" else "≤"
    return f"{sign} {format_value(ind.target, ind.unit)}"


def met_text(met: bool | None, measured: bool = True) -> str:
    if not measured:
        return "—"
    if met is None:
        return "—"
    return "是 / yes" if met else "否 / no"


@dataclass(frozen=True)
class Outages:
    """Hotline outages of a month: each merged span's minutes, the longest and the total."""

    spans: list[tuple[datetime, datetime]] = field(default_factory=list)

    @property
    def minutes(self) -> list[float]:
        return [(e - s).total_seconds() / 60 for s, e in self.spans]

    @property
    def longest(self) -> float:
        return max(self.minutes, default=0.0)

    @property
    def total(self) -> float:
        return sum(self.minutes)


def merge_spans(spans: Iterable[tuple[datetime, datetime]], lo: datetime, hi: datetime) -> Outages:
    """Spans clipped to [lo, hi) and merged where they overlap or touch."""
    clipped = sorted((max(s, lo), min(e, hi)) for s, e in spans if e > lo and s < hi and e > s)
    merged: list[tuple[datetime, datetime]] = []
    for s, e in clipped:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return Outages(merged)


def minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


def share(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def missed_targets(indicators: Sequence[Indicator]) -> list[Indicator]:
    """Indicators measured and not met: each needs a 原因分析 and an 改进措施 before the report is issued."""
    return [i for i in indicators if i.met is False]
