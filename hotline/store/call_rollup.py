"""The calls' roll-up: answer-rate figures summed per UTC hour, specialty, agent and called number.

One row per (hour_start, specialty, agent, called) of inbound calls, with the counts and sums of
`call_stats.FIGURES` as the raw GROUP BY counts them for the thresholds in `call_rollup_state`. An hour's
rows are derived data: `refresh_hours` deletes and recounts them from the calls (idempotent, right
whatever changed in the hour, however late), `rebuild` recounts everything. Keyed by the UTC hour, any
local day, week, month or hour of a timezone with whole-hour offsets is a sum of rows; the call counts
in the hour it started (a call that ends after midnight stays on the day it started, as in the raw path).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Float, Integer, String, delete, func, insert, literal, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from hotline.domain.kpi import AnswerRate, RateParams
from hotline.store.base import Base, UtcDateTime
from hotline.store.call_stats import FIGURES, KeyColumns, Span, fill_row, group_key, new_row, rate_figures
from hotline.store.calls import CallRow

HOUR = timedelta(hours=1)
COUNTS = [f for f in FIGURES if not f.endswith("_sum")]


class CallHourRow(Base):
    __tablename__ = "call_hours"

    hour_start: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    specialty: Mapped[str] = mapped_column(String(64), primary_key=True)  # '' when none
    agent: Mapped[str] = mapped_column(String(64), primary_key=True)  # '' when unanswered
    called: Mapped[str] = mapped_column(String(64), primary_key=True)  # '' when unknown
    answered: Mapped[int] = mapped_column(Integer)
    abandoned: Mapped[int] = mapped_column(Integer)
    timeout: Mapped[int] = mapped_column(Integer)
    busy: Mapped[int] = mapped_column(Integer)
    ivr_abandoned: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)
    short_abandoned: Mapped[int] = mapped_column(Integer)
    answered_within: Mapped[int] = mapped_column(Integer)
    wait_count: Mapped[int] = mapped_column(Integer)
    wait_sum: Mapped[float] = mapped_column(Float)
    talk_count: Mapped[int] = mapped_column(Integer)
    talk_sum: Mapped[float] = mapped_column(Float)
    answer_wait_count: Mapped[int] = mapped_column(Integer)
    answer_wait_sum: Mapped[float] = mapped_column(Float)


class CallRollupStateRow(Base):
    """One row (id 1) once the roll-up was built: the thresholds its counts are for and when."""

    __tablename__ = "call_rollup_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    short_abandon_seconds: Mapped[float] = mapped_column(Float)
    service_level_seconds: Mapped[float] = mapped_column(Float)
    built_at: Mapped[datetime] = mapped_column(UtcDateTime)


@dataclass(frozen=True)
class RollupState:
    short_abandon_seconds: float
    service_level_seconds: float
    built_at: datetime

    def serves(self, params: RateParams) -> bool:
        """Whether the roll-up's counts are the ones these parameters ask for."""
        return (self.short_abandon_seconds == params.short_abandon_seconds
                and self.service_level_seconds == params.service_level_seconds)


def hour_of(at: datetime) -> datetime:
    """The UTC hour an instant falls in."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _bucket(session: Session) -> Any:
    """The UTC hour of a call's start, in SQL (stored in the same form as `hour_of`)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.timezone("UTC", func.date_trunc("hour", func.timezone("UTC", CallRow.started_at)))
    return func.strftime("%Y-%m-%d %H:00:00.000000", CallRow.started_at)


def _runs(hours: Iterable[datetime]) -> list[tuple[datetime, datetime]]:
    """Sorted UTC hours as [first, last + 1 h) runs of consecutive hours."""
    runs: list[tuple[datetime, datetime]] = []
    for h in sorted({hour_of(h) for h in hours}):
        if runs and runs[-1][1] == h:
            runs[-1] = (runs[-1][0], h + HOUR)
        else:
            runs.append((h, h + HOUR))
    return runs


def _recount(session: Session, params: RateParams, lo: datetime | None, hi: datetime | None) -> int:
    """Delete the rows of [lo, hi) (whole hours; None: open) and insert them again from the calls."""
    gone = delete(CallHourRow)
    where = [CallRow.direction == "inbound"]
    if lo is not None:
        gone = gone.where(CallHourRow.hour_start >= lo)
        where.append(CallRow.started_at >= lo)
    if hi is not None:
        gone = gone.where(CallHourRow.hour_start < hi)
        where.append(CallRow.started_at < hi)
    session.execute(gone)
    figures, _ = rate_figures(params)
    bucket = _bucket(session)
    keys = [func.coalesce(CallRow.specialty, literal("")), func.coalesce(CallRow.answered_by, literal("")),
            func.coalesce(CallRow.called, literal(""))]
    query = select(bucket, *keys, *figures).where(*where).group_by(bucket, *keys)
    columns = ["hour_start", "specialty", "agent", "called", *FIGURES]
    result = session.execute(insert(CallHourRow).from_select(columns, query))
    return max(0, int(result.rowcount or 0))  # type: ignore[attr-defined]  # -1: the driver did not count


def refresh_hours(session: Session, hours: Iterable[datetime], params: RateParams) -> int:
    """Recount the given UTC hours (any instant inside them) from the calls; returns rows written."""
    return sum(_recount(session, params, lo, hi) for lo, hi in _runs(hours))


def rebuild(session: Session, params: RateParams, now: datetime) -> int:
    """Recount every hour and record the thresholds (the state row); returns rows written."""
    _recount(session, params, None, None)
    written = row_count(session)
    state = session.get(CallRollupStateRow, 1)
    if state is None:
        state = CallRollupStateRow(id=1)
        session.add(state)
    state.short_abandon_seconds = params.short_abandon_seconds
    state.service_level_seconds = params.service_level_seconds
    state.built_at = now
    return written


def rollup_state(session: Session) -> RollupState | None:
    row = session.get(CallRollupStateRow, 1)
    if row is None:
        return None
    return RollupState(row.short_abandon_seconds, row.service_level_seconds, row.built_at)


def row_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(CallHourRow)) or 0)


ROLLUP_KEYS = KeyColumns(CallHourRow.hour_start, CallHourRow.specialty, CallHourRow.agent, CallHourRow.called)


def covers(span: Span) -> bool:
    """Whether the roll-up can answer for the span: inbound calls, both ends on whole UTC hours."""
    if span.direction != "inbound" or span.start is None or span.end is None:
        return False
    return all(hour_of(t) == t.astimezone(UTC) for t in (span.start, span.end))


def _sums(session: Session, span: Span, by: str, tz: str, lines: dict[str, str],
          figures: list[str]) -> list[tuple[str, list[Any]]]:
    key = group_key(session, by, tz, span, lines, ROLLUP_KEYS).label("grp")
    sums = [func.coalesce(func.sum(getattr(CallHourRow, f)), 0) for f in figures]
    stmt = (select(key, *sums).where(CallHourRow.hour_start >= span.start, CallHourRow.hour_start < span.end)
            .group_by(key).order_by(key))
    return [(str(grp), list(values)) for grp, *values in session.execute(stmt)]


def rollup_rate_rows(session: Session, span: Span, by: str, tz: str, params: RateParams,
                     p90s: tuple[dict[str, float], float | None] | None = None,
                     ) -> tuple[list[AnswerRate], AnswerRate]:
    """Answer-rate rows per group and the total from the roll-up (the caller checked `covers` and the
    state's thresholds); the P90 waits from `p90s` when given (they are not in the roll-up), else None."""
    groups, p90_total = p90s if p90s is not None else ({}, None)
    rows: list[AnswerRate] = []
    totals = [0] * len(FIGURES)
    for grp, values in _sums(session, span, by, tz, dict(params.lines), list(FIGURES)):
        row = new_row(grp, params)
        fill_row(row, values, groups.get(grp))
        rows.append(row)
        totals = [a + b for a, b in zip(totals, values, strict=True)]
    total = new_row("total", params)
    fill_row(total, totals, p90_total)
    rows.sort(key=lambda r: r.group)
    return rows, total


def rollup_offered_answered(session: Session, span: Span, by: str, tz: str) -> list[tuple[str, int, int]]:
    """(group, offered, answered) per group from the roll-up (offered without the short-abandon
    threshold, as `call_stats.offered_answered` counts it)."""
    out = []
    for grp, (answered, abandoned, timeout, busy, short) in _sums(
            session, span, by, tz, {}, ["answered", "abandoned", "timeout", "busy", "short_abandoned"]):
        out.append((grp, int(answered + abandoned + timeout + busy + short), int(answered)))
    return out
