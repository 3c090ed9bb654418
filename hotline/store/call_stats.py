"""Answer-rate figures counted by the database (GROUP BY), the same formulas as `domain/kpi.py`.

`domain.kpi.answer_rates` stays the reference: the tests run both on the same calls, on SQLite and
PostgreSQL. The 90th percentile of waits is `percentile_disc(0.9)` on PostgreSQL and the same nearest
rank over the waits read back on SQLite, reported in `domain.kpi.wait_step`s (tenths of a second, rounded
up) as the roll-up's histogram has it. Local days and hours use the desk's timezone: `timezone()`
on PostgreSQL, the `hotline_local` function registered on every SQLite connection (store.base).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, not_, select, tuple_
from sqlalchemy.orm import Session

from hotline.domain.calls import Outcome
from hotline.domain.kpi import (
    NO_SPECIALTY,
    OTHER_LINE,
    P90,
    UNANSWERED,
    AnswerRate,
    RateParams,
    WaitSums,
    step_seconds,
    wait_step,
)
from hotline.store.calls import CallRow

GROUPINGS = ("specialty", "day", "week", "hour", "agent", "line", "month", "all")
LOCAL_FORMATS = {  # (PostgreSQL to_char, SQLite/Python strftime)
    "month": ("YYYY-MM", "%Y-%m"),
    "day": ("YYYY-MM-DD", "%Y-%m-%d"),
    "week": ('IYYY-"W"IW', "%G-W%V"),  # ISO week; SQLite's own strftime has no %G/%V before 3.46
    "hour": ('HH24":00"', "%H:00"),
}


@dataclass(frozen=True)
class Span:
    """Which calls: started in [start, end), of one direction (None: all)."""

    start: datetime | None = None
    end: datetime | None = None
    direction: str | None = "inbound"

    def where(self) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = []
        if self.start is not None:
            conds.append(CallRow.started_at >= self.start)
        if self.end is not None:
            conds.append(CallRow.started_at < self.end)
        if self.direction is not None:
            conds.append(CallRow.direction == self.direction)
        return conds


def started_in(lo: datetime | None, hi: datetime | None) -> list[ColumnElement[bool]]:
    """Calls started in [lo, hi) (an open end is no condition), whatever their direction."""
    return Span(lo, hi, direction=None).where()


def calls_started(lo: datetime | None, hi: datetime | None, *, newest_first: bool = False,
                  limit: int | None = None) -> Select[CallRow]:
    """The ledger's rows started in [lo, hi), oldest first (ties by call id) or newest first."""
    order = (CallRow.started_at.desc(),) if newest_first else (CallRow.started_at, CallRow.call_id)
    stmt = select(CallRow).where(*started_in(lo, hi)).order_by(*order)
    return stmt if limit is None else stmt.limit(limit)


def _named(column: Any, fallback: str) -> ColumnElement[str]:
    return func.coalesce(func.nullif(column, ""), fallback)


def fixed_offset_minutes(tz: str, span: Span | None) -> int | None:
    """The timezone's UTC offset in minutes when it is the same over the whole span (no daylight-saving
    change inside it); None for an open span or a change."""
    if span is None or span.start is None or span.end is None:
        return None
    zone = ZoneInfo(tz)
    offsets = set()
    at = span.start.astimezone(UTC)
    while at < span.end:
        offsets.add(zone.utcoffset(at.replace(tzinfo=None)))
        at += timedelta(days=1)
    offsets.add(zone.utcoffset(span.end.astimezone(UTC).replace(tzinfo=None)))
    if len(offsets) != 1:
        return None
    (offset,) = offsets
    return None if offset is None else int(offset.total_seconds() // 60)


@dataclass(frozen=True)
class KeyColumns:
    """The columns a group is named from: the calls' own, or the roll-up's (store.call_rollup)."""

    started: Any
    specialty: Any
    agent: Any
    called: Any


CALL_KEYS = KeyColumns(CallRow.started_at, CallRow.specialty, CallRow.answered_by, CallRow.called)


def line_key(lines: dict[str, str] | Any, called: Any = None) -> ColumnElement[str]:
    """The named line of a call (`domain.kpi.line_name`): a CASE over the configured numbers."""
    column = CallRow.called if called is None else called
    if not lines:
        return literal(OTHER_LINE)
    return case(*[(column == number, name) for number, name in sorted(lines.items())], else_=literal(OTHER_LINE))


def group_key(session: Session, by: str, tz: str, span: Span | None = None,
              lines: dict[str, str] | None = None, cols: KeyColumns = CALL_KEYS) -> ColumnElement[str]:
    """The SQL expression naming a call's group, as `domain.kpi.GROUPINGS` names it. On SQLite a local
    day or hour is SQLite's own strftime shifted by the offset when the span has one offset, else the
    `hotline_local` function (a Python call per row)."""
    if by == "specialty":
        return _named(cols.specialty, NO_SPECIALTY)
    if by == "agent":
        return _named(cols.agent, UNANSWERED)
    if by == "all":
        return literal("total")
    if by == "line":
        return line_key(lines or {}, cols.called)
    if by == "month" and span is not None and span.start is not None and span.end is not None:
        return _month_case(tz, span.start, span.end, cols.started)
    if by in LOCAL_FORMATS:
        pg_fmt, py_fmt = LOCAL_FORMATS[by]
        if session.get_bind().dialect.name == "postgresql":
            return func.to_char(func.timezone(tz, cols.started), pg_fmt)
        offset = fixed_offset_minutes(tz, span)
        if offset is not None and by != "week":
            return func.strftime(py_fmt, cols.started, f"{offset:+d} minutes")
        return func.hotline_local(cols.started, tz, py_fmt)
    raise ValueError(f"unknown grouping {by!r}; choose one of {', '.join(GROUPINGS)}")


def _month_case(tz: str, start: datetime, end: datetime, started: Any = CallRow.started_at) -> ColumnElement[str]:
    """The local month of a call as a CASE over the months' boundaries: plain comparisons of the stored
    time, no conversion per row (a year of calls is read in one pass)."""
    zone = ZoneInfo(tz)
    local = start.astimezone(zone)
    first = datetime(local.year, local.month, 1, tzinfo=zone)
    whens = []
    while first < end:
        following = datetime(first.year + first.month // 12, first.month % 12 + 1, 1, tzinfo=zone)
        whens.append((started < following, first.strftime("%Y-%m")))
        first = following
    return case(*whens, else_=literal("later"))


def _flags(short: float) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """(is a short abandon, is offered) for the threshold `short` (0: no short abandons)."""
    outcome = CallRow.outcome
    if short > 0:
        is_short = and_(outcome == str(Outcome.ABANDONED), func.coalesce(CallRow.wait_seconds, 0.0) <= short)
    else:
        is_short = literal(False)
    offered_outcomes = [str(o) for o in (Outcome.ANSWERED, Outcome.ABANDONED, Outcome.TIMEOUT, Outcome.BUSY)]
    offered = and_(outcome.in_(offered_outcomes), not_(is_short)) if short > 0 else outcome.in_(offered_outcomes)
    return is_short, offered


def _count(cond: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def answer_rate_rows(session: Session, span: Span, by: str, tz: str,
                     params: RateParams | None = None) -> tuple[list[AnswerRate], AnswerRate]:
    """Answer-rate rows per group (sorted by group) and the total row, counted by the database.

    PostgreSQL: one scan (GROUPING SETS for the groups and the total, percentile_disc for P90);
    SQLite: the counts in one GROUP BY, the P90 from the sorted waits of one more query."""
    p = params or RateParams()
    key_expr = group_key(session, by, tz, span, dict(p.lines))
    figures, offered = rate_figures(p)
    postgres = session.get_bind().dialect.name == "postgresql"
    waited = and_(offered, CallRow.wait_seconds.is_not(None))
    if postgres:
        p90 = func.percentile_disc(P90).within_group(CallRow.wait_seconds).filter(waited)
        stmt = (select(key_expr, func.grouping(key_expr), *figures, p90).where(*span.where())
                .group_by(func.grouping_sets(tuple_(key_expr), tuple_())))
        found = [(None if is_total else str(grp), rest[:-1], rest[-1])
                 for grp, is_total, *rest in session.execute(stmt)]
    else:
        key = key_expr.label("grp")
        p90s, p90_total = _p90_sqlite(session, span, key, offered=offered)
        found = [(str(grp), rest, p90s.get(str(grp))) for grp, *rest in
                 session.execute(select(key, *figures).where(*span.where()).group_by(key))]
        totals = [sum(col) for col in zip(*(r for _, r, _ in found), strict=True)] if found else [0] * len(figures)
        found.append((None, totals, p90_total))
    rows: list[AnswerRate] = []
    total = new_row("total", p)
    for grp, values, p90_value in found:
        row = total if grp is None else new_row(grp, p)
        fill_row(row, values, p90_seconds(p90_value))
        if grp is not None:
            rows.append(row)
    rows.sort(key=lambda r: r.group)
    return rows, total


def new_row(group: str, p: RateParams) -> AnswerRate:
    return AnswerRate(group, target=p.target, service_level_seconds=p.service_level_seconds)


FIGURES = ("answered", "abandoned", "timeout", "busy", "ivr_abandoned", "failed", "short_abandoned",
           "answered_within", "wait_count", "wait_sum", "talk_count", "talk_sum", "answer_wait_count",
           "answer_wait_sum")


def fill_row(row: AnswerRate, values: Any, p90: float | None) -> None:
    """Set a row's counts from the figures in `FIGURES` order (summed by the database)."""
    (answered, aband, timeout, busy, ivr, failed, short, within, wn, ws, tn, ts, an, asum) = values
    row.answered, row.abandoned, row.timeout, row.busy = int(answered), int(aband), int(timeout), int(busy)
    row.ivr_abandoned, row.failed, row.short_abandoned = int(ivr), int(failed), int(short)
    row.answered_within = int(within)
    row.offered = row.answered + row.abandoned + row.timeout + row.busy
    row.sums = WaitSums(int(wn), float(ws), p90, int(tn), float(ts), int(an), float(asum))


def rate_figures(p: RateParams) -> tuple[list[Any], ColumnElement[bool]]:
    """The SQL sums in `FIGURES` order for the parameters, and the condition "offered"."""
    short_seconds = p.short_abandon_seconds
    is_short, offered = _flags(short_seconds)
    outcome = CallRow.outcome
    answered = outcome == str(Outcome.ANSWERED)
    waited = and_(offered, CallRow.wait_seconds.is_not(None))
    talked = and_(answered, CallRow.talk_seconds.is_not(None))
    answer_waited = and_(answered, CallRow.wait_seconds.is_not(None))
    abandoned = outcome == str(Outcome.ABANDONED)
    figures = [
        _count(answered),
        _count(and_(abandoned, not_(is_short)) if short_seconds > 0 else abandoned),
        _count(outcome == str(Outcome.TIMEOUT)),
        _count(outcome == str(Outcome.BUSY)),
        _count(outcome == str(Outcome.IVR_ABANDONED)),
        _count(outcome == str(Outcome.FAILED)),
        _count(is_short),
        _count(and_(answered, func.coalesce(CallRow.wait_seconds, 0.0) <= p.service_level_seconds)),
        _count(waited),
        func.coalesce(func.sum(case((waited, CallRow.wait_seconds), else_=None)), 0.0),
        _count(talked),
        func.coalesce(func.sum(case((talked, CallRow.talk_seconds), else_=None)), 0.0),
        _count(answer_waited),
        func.coalesce(func.sum(case((answer_waited, CallRow.wait_seconds), else_=None)), 0.0),
    ]
    return figures, offered


def p90_seconds(value: Any) -> float | None:
    """A percentile of waits as the reports give it: in whole `wait_step`s (tenths of a second, rounded up)."""
    return None if value is None else step_seconds(wait_step(float(value)))


def _p90_sqlite(session: Session, span: Span, key: Any,
                offered: ColumnElement[bool]) -> tuple[dict[str, float], float | None]:
    """The nearest-rank 90th percentile of offered calls' waits per group and over all (SQLite has no
    percentile_disc): the waits alone read back (one float per offered call) and ranked as
    `domain.kpi.percentile` does (ceil(q * n))."""
    stmt = select(key, CallRow.wait_seconds).where(*span.where(), offered, CallRow.wait_seconds.is_not(None))
    groups: dict[str, list[float]] = {}
    for grp, wait in session.execute(stmt):
        groups.setdefault(str(grp), []).append(float(wait or 0.0))
    for waits in groups.values():
        waits.sort()
    every = sorted(w for waits in groups.values() for w in waits)
    return {g: _nearest_rank(w) for g, w in groups.items()}, (_nearest_rank(every) if every else None)


def _nearest_rank(ordered: list[float]) -> float:
    return ordered[max(1, math.ceil(P90 * len(ordered))) - 1]


def outcome_counts(session: Session, span: Span, by: str = "specialty", tz: str = "UTC",
                   ) -> list[tuple[str, str | None, int]]:
    """(group, outcome, calls) for every group and outcome that occurs (metrics, tiles)."""
    key = group_key(session, by, tz, span).label("grp")
    stmt = select(key, CallRow.outcome, func.count()).where(*span.where()).group_by(key, CallRow.outcome)
    return [(str(g), o, int(n)) for g, o, n in session.execute(stmt)]


def offered_answered(session: Session, span: Span, by: str, tz: str) -> list[tuple[str, int, int]]:
    """(group, offered, answered) per group: the light count behind trend charts (no waits, no P90)."""
    key = group_key(session, by, tz, span).label("grp")
    offered = [str(o) for o in (Outcome.ANSWERED, Outcome.ABANDONED, Outcome.TIMEOUT, Outcome.BUSY)]
    stmt = (select(key, _count(CallRow.outcome.in_(offered)), _count(CallRow.outcome == str(Outcome.ANSWERED)))
            .where(*span.where()).group_by(key).order_by(key))
    return [(str(g), int(o), int(a)) for g, o, a in session.execute(stmt)]
