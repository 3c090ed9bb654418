"""The desk's formulas, in one place: answer rate (接通率), waits, satisfaction.

接通率 (answer rate) = answered / offered, where offered = calls put through to staff (outcomes
answered, abandoned, timeout, busy). IVR hang-ups are reported apart and are not offered. With a
short-abandon threshold N > 0, callers who abandoned within N seconds of reaching staff are shown
apart and left out of offered; N = 0 (the default) is the desk's plain formula.

Service level (服务水平) = calls answered within S seconds of reaching staff / offered (a call answered with
no wait recorded counts as answered at once); average speed of answer (平均应答速度, ASA) = the mean wait
of the answered calls; abandon rate (放弃率) = abandoned / offered, short abandons apart
(short abandons / (offered + short abandons)).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hotline.domain.calls import OFFERED, Outcome

P90 = 0.9
NO_SPECIALTY = "(none)"
UNANSWERED = "(unanswered)"
OTHER_LINE = "(other)"
# The groupings a supervisor may ask for (the CLI's --by, the API's `by`).
REPORT_GROUPS = ("specialty", "day", "week", "hour", "agent", "line")
SERVICE_LEVEL_SECONDS = 20.0


@dataclass(frozen=True, slots=True)
class CallFigures:
    """What the formulas need of one call (decoupled from storage)."""

    outcome: str | None
    specialty: str | None
    answered_by: str | None
    started_at: datetime
    wait_seconds: float | None
    talk_seconds: float | None
    called: str | None = None


@dataclass(frozen=True, slots=True)
class WaitSums:
    """Waits and talk times already summed elsewhere (by the database): counts, sums, the 90th percentile."""

    wait_count: int = 0
    wait_sum: float = 0.0
    p90_wait: float | None = None
    talk_count: int = 0
    talk_sum: float = 0.0
    answer_wait_count: int = 0
    answer_wait_sum: float = 0.0


@dataclass
class AnswerRate:
    group: str
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    timeout: int = 0
    busy: int = 0
    ivr_abandoned: int = 0
    failed: int = 0
    short_abandoned: int = 0
    answered_within: int = 0
    target: float = 0.75
    service_level_seconds: float = SERVICE_LEVEL_SECONDS
    waits: list[float] = field(default_factory=list)
    talks: list[float] = field(default_factory=list)
    answer_waits: list[float] = field(default_factory=list)
    sums: WaitSums | None = None  # when set, the averages and P90 come from here instead of the lists

    @property
    def answer_rate(self) -> float | None:
        return None if self.offered == 0 else self.answered / self.offered

    @property
    def met(self) -> bool | None:
        rate = self.answer_rate
        return None if rate is None else rate >= self.target

    @property
    def service_level(self) -> float | None:
        """Answered within `service_level_seconds` / offered."""
        return None if self.offered == 0 else self.answered_within / self.offered

    @property
    def abandon_rate(self) -> float | None:
        return None if self.offered == 0 else self.abandoned / self.offered

    @property
    def short_abandon_rate(self) -> float | None:
        """Short abandons among the calls that reached staff (offered + short abandons)."""
        reached = self.offered + self.short_abandoned
        return None if reached == 0 else self.short_abandoned / reached

    @property
    def asa(self) -> float | None:
        """Average speed of answer: the mean wait of the answered calls."""
        if self.sums is not None:
            return None if not self.sums.answer_wait_count else self.sums.answer_wait_sum / self.sums.answer_wait_count
        return mean(self.answer_waits)

    @property
    def avg_wait(self) -> float | None:
        if self.sums is not None:
            return None if not self.sums.wait_count else self.sums.wait_sum / self.sums.wait_count
        return mean(self.waits)

    @property
    def p90_wait(self) -> float | None:
        """The 90th percentile of the offered calls' waits, in tenths of a second rounded up (`wait_step`)."""
        if self.sums is not None:
            return self.sums.p90_wait
        value = percentile(self.waits, P90)
        return None if value is None else step_seconds(wait_step(value))

    @property
    def avg_talk(self) -> float | None:
        if self.sums is not None:
            return None if not self.sums.talk_count else self.sums.talk_sum / self.sums.talk_count
        return mean(self.talks)

    def as_dict(self) -> dict[str, Any]:
        rate = self.answer_rate
        return {
            "group": self.group,
            "offered": self.offered,
            "answered": self.answered,
            "answer_rate": None if rate is None else round(rate, 4),
            "target": self.target,
            "met": self.met,
            "abandoned": self.abandoned,
            "timeout": self.timeout,
            "busy": self.busy,
            "short_abandoned": self.short_abandoned,
            "ivr_abandoned": self.ivr_abandoned,
            "failed": self.failed,
            "avg_wait_seconds": _r(self.avg_wait),
            "p90_wait_seconds": _r(self.p90_wait),
            "avg_talk_seconds": _r(self.avg_talk),
            "service_level_seconds": self.service_level_seconds,
            "answered_within": self.answered_within,
            "service_level": _r4(self.service_level),
            "asa_seconds": _r(self.asa),
            "abandon_rate": _r4(self.abandon_rate),
            "short_abandon_rate": _r4(self.short_abandon_rate),
        }


def _r4(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 1)


def mean(values: Sequence[float]) -> float | None:
    return None if not values else sum(values) / len(values)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least q of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


# The P90 wait's resolution: tenths of a second, rounded up ("90% of the callers waited at most 12.4 s").
# The roll-up keeps a histogram of waits in these steps (store.call_rollup); rounding up is monotone, so
# the nearest-rank percentile of the steps is the step of the nearest-rank percentile: exact at this
# resolution. The slack (a tenth of a microsecond) keeps 12.3 s (12.3 * 10 = 123.00000000000001) in step
# 123; the database computes the same expression in the same floating point.
WAIT_STEPS_PER_SECOND = 10
WAIT_STEP_SLACK = 1e-6


def wait_step(seconds: float) -> int:
    """The step (tenth of a second, rounded up) a wait falls in: 0.0 -> 0, 0.01 -> 1, 12.3 -> 123."""
    return math.ceil(seconds * WAIT_STEPS_PER_SECOND - WAIT_STEP_SLACK)


def step_seconds(step: int) -> float:
    return step / WAIT_STEPS_PER_SECOND


def iso_week(at: datetime) -> str:
    """The ISO week of a local time, `2026-W48` (weeks start on Monday; the first has the year's Thursday)."""
    year, week, _ = at.isocalendar()
    return f"{year}-W{week:02d}"


def line_name(called: str | None, lines: Mapping[str, str]) -> str:
    """The named line (the hotline, a duty line) a call came in on: its called number's name."""
    return lines.get(called or "", OTHER_LINE)


GROUPINGS: dict[str, Callable[[CallFigures], str]] = {
    "specialty": lambda c: c.specialty or NO_SPECIALTY,
    "day": lambda c: c.started_at.strftime("%Y-%m-%d"),
    "week": lambda c: iso_week(c.started_at),
    "hour": lambda c: c.started_at.strftime("%H:00"),
    "agent": lambda c: c.answered_by or UNANSWERED,
    "line": lambda c: line_name(c.called, {}),
}


@dataclass(frozen=True, slots=True)
class RateParams:
    """How the answer rate is counted: the target, the short-abandon threshold, the service level's
    seconds and the named lines (called number -> name)."""

    target: float = 0.75
    short_abandon_seconds: float = 0.0
    service_level_seconds: float = SERVICE_LEVEL_SECONDS
    lines: Mapping[str, str] = field(default_factory=dict)


def answer_rates(calls: Iterable[CallFigures], by: str = "specialty", target: float = 0.75,
                 short_abandon_seconds: float = 0.0, service_level_seconds: float = SERVICE_LEVEL_SECONDS,
                 lines: Mapping[str, str] | None = None) -> tuple[list[AnswerRate], AnswerRate]:
    """Answer-rate rows per group (sorted by group) and the total row."""
    if by not in GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}; choose one of {', '.join(GROUPINGS)}")
    named = dict(lines or {})
    key = GROUPINGS[by] if by != "line" else (lambda c: line_name(c.called, named))
    groups: dict[str, AnswerRate] = {}
    total = AnswerRate("total", target=target, service_level_seconds=service_level_seconds)
    for call in calls:
        name = key(call)
        row = groups.get(name)
        if row is None:
            row = groups[name] = AnswerRate(name, target=target, service_level_seconds=service_level_seconds)
        for r in (row, total):
            _count(r, call, short_abandon_seconds)
    return [groups[k] for k in sorted(groups)], total


def _count(row: AnswerRate, call: CallFigures, short: float) -> None:
    outcome = call.outcome
    if outcome == Outcome.IVR_ABANDONED:
        row.ivr_abandoned += 1
        return
    if outcome == Outcome.FAILED:
        row.failed += 1
        return
    if outcome not in OFFERED:
        return  # still in progress
    if outcome == Outcome.ABANDONED and short > 0 and (call.wait_seconds or 0.0) <= short:
        row.short_abandoned += 1
        return
    row.offered += 1
    if outcome == Outcome.ANSWERED:
        row.answered += 1
        if (call.wait_seconds or 0.0) <= row.service_level_seconds:
            row.answered_within += 1
        if call.wait_seconds is not None:
            row.answer_waits.append(call.wait_seconds)
        if call.talk_seconds is not None:
            row.talks.append(call.talk_seconds)
    elif outcome == Outcome.ABANDONED:
        row.abandoned += 1
    elif outcome == Outcome.TIMEOUT:
        row.timeout += 1
    elif outcome == Outcome.BUSY:
        row.busy += 1
    if call.wait_seconds is not None:
        row.waits.append(call.wait_seconds)


def satisfaction(scores: Iterable[int], full_score: int = 5) -> float | None:
    """Customer satisfaction = average score / full score (0..1); None without scores."""
    values = list(scores)
    if not values:
        return None
    return (sum(values) / len(values)) / full_score
