"""Reports for supervisors: answer rate per specialty / day / hour / agent, from the ledger."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from hotline.domain.kpi import GROUPINGS, AnswerRate, CallFigures, answer_rates
from hotline.store.base import unit_of_work
from hotline.store.call_stats import Span, answer_rate_rows
from hotline.store.calls import load_calls


def day_span(start: date | None, end: date | None, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """[start 00:00, end+1 00:00) in the desk's timezone; open ends stay None."""
    lo = datetime.combine(start, time(0), tz) if start else None
    hi = datetime.combine(end + timedelta(days=1), time(0), tz) if end else None
    return lo, hi


def inbound_figures(factory: sessionmaker[Session], tz: ZoneInfo, start: date | None = None,
                    end: date | None = None) -> list[CallFigures]:
    lo, hi = day_span(start, end, tz)
    with unit_of_work(factory) as s:
        rows = load_calls(s, lo, hi, direction="inbound")
        return [
            CallFigures(outcome=r.outcome, specialty=r.specialty, answered_by=r.answered_by,
                        started_at=r.started_at.astimezone(tz), wait_seconds=r.wait_seconds,
                        talk_seconds=r.talk_seconds)
            for r in rows
        ]


def reference_answer_rate_report(factory: sessionmaker[Session], tz: ZoneInfo, *, start: date | None = None,
                                 end: date | None = None, by: str = "specialty", target: float = 0.75,
                                 short_abandon_seconds: float = 0.0) -> tuple[list[AnswerRate], AnswerRate]:
    """The report counted in Python by `domain.kpi` from every call: the reference the SQL is tested
    against (slow: it loads each call)."""
    figures = inbound_figures(factory, tz, start, end)
    return answer_rates(figures, by=by, target=target, short_abandon_seconds=short_abandon_seconds)


def answer_rate_report(factory: sessionmaker[Session], tz: ZoneInfo, *, start: date | None = None,
                       end: date | None = None, by: str = "specialty", target: float = 0.75,
                       short_abandon_seconds: float = 0.0) -> tuple[list[AnswerRate], AnswerRate]:
    """Answer-rate rows per group and the total, counted by the database (GROUP BY)."""
    if by not in GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}; choose one of {', '.join(GROUPINGS)}")
    lo, hi = day_span(start, end, tz)
    with unit_of_work(factory) as s:
        return answer_rate_rows(s, Span(lo, hi), by, str(tz), target=target,
                                short_abandon_seconds=short_abandon_seconds)
