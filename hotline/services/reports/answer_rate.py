"""Reports for supervisors: answer rate per specialty / day / week / hour / agent / line, from the ledger.

The parameters (target, short-abandon threshold, service level's seconds, named lines) are resolved from
the configuration and a caller's overrides in one place, `rate_params`, for the CLI, the API and the
reports that run on their own (the monthly report, the dashboard)."""

from __future__ import annotations

import math
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from hotline.config import Settings
from hotline.domain.day_range import day_span
from hotline.domain.kpi import GROUPINGS, REPORT_GROUPS, AnswerRate, CallFigures, RateParams, answer_rates
from hotline.services.reports.rollup import rates
from hotline.store.base import unit_of_work
from hotline.store.call_stats import Span
from hotline.store.calls import load_calls

__all__ = ["GROUPS", "answer_rate_report", "day_span", "rate_params", "reference_answer_rate_report"]

GROUPS = REPORT_GROUPS


class RateParamError(ValueError):
    """A parameter of the answer rate that is not a number of seconds, 0 or more."""

    def __init__(self, name: str, value: object) -> None:
        self.name = name
        self.value = value
        super().__init__(f"参数 {name} 的值 {value!r} 无效，应为不小于 0 的秒数 / "
                         f"query parameter `{name}`: {value!r} is not a number of seconds, 0 or more")


def _seconds(name: str, value: float | str | None, default: float) -> float:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise RateParamError(name, value) from None
    if not math.isfinite(seconds) or seconds < 0:
        raise RateParamError(name, value)
    return seconds


def rate_params(settings: Settings, short_abandon: float | str | None = None,
                service_level: float | str | None = None) -> RateParams:
    """The answer rate's parameters: the configuration's, with a caller's overrides (None or blank: the
    configuration's); RateParamError names a bad override."""
    r = settings.reports
    return RateParams(target=r.answer_rate_target,
                      short_abandon_seconds=_seconds("short_abandon", short_abandon, r.short_abandon_seconds),
                      service_level_seconds=_seconds("service_level", service_level, r.service_level_seconds),
                      lines=dict(r.lines))


def check_grouping(by: str) -> str:
    if by not in GROUPS:
        raise ValueError(f"unknown grouping {by!r}; choose one of {', '.join(GROUPS)}")
    return by


def inbound_figures(factory: sessionmaker[Session], tz: ZoneInfo, start: date | None = None,
                    end: date | None = None) -> list[CallFigures]:
    lo, hi = day_span(start, end, tz)
    with unit_of_work(factory) as s:
        rows = load_calls(s, lo, hi, direction="inbound")
        return [
            CallFigures(outcome=r.outcome, specialty=r.specialty, answered_by=r.answered_by,
                        started_at=r.started_at.astimezone(tz), wait_seconds=r.wait_seconds,
                        talk_seconds=r.talk_seconds, called=r.called)
            for r in rows
        ]


def reference_answer_rate_report(factory: sessionmaker[Session], tz: ZoneInfo, *, start: date | None = None,
                                 end: date | None = None, by: str = "specialty",
                                 params: RateParams | None = None) -> tuple[list[AnswerRate], AnswerRate]:
    """The report counted in Python by `domain.kpi` from every call: the reference the SQL is tested
    against (slow: it loads each call)."""
    p = params or RateParams()
    if by not in GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}; choose one of {', '.join(GROUPINGS)}")
    figures = inbound_figures(factory, tz, start, end)
    return answer_rates(figures, by=by, target=p.target, short_abandon_seconds=p.short_abandon_seconds,
                        service_level_seconds=p.service_level_seconds, lines=p.lines)


def answer_rate_report(factory: sessionmaker[Session], tz: ZoneInfo, *, start: date | None = None,
                       end: date | None = None, by: str = "specialty",
                       params: RateParams | None = None) -> tuple[list[AnswerRate], AnswerRate]:
    """Answer-rate rows per group and the total, counted by the database: from the roll-up when it
    serves the request, else the calls (GROUP BY)."""
    check_grouping(by)
    lo, hi = day_span(start, end, tz)
    with unit_of_work(factory) as s:
        return rates(s, Span(lo, hi), by, str(tz), params or RateParams())
