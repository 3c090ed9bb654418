"""The calls' roll-up: answer-rate figures summed per UTC hour, specialty, agent and called number.

One row per (hour_start, specialty, agent, called) of inbound calls, with the counts and sums of
`call_stats.FIGURES` as the raw GROUP BY counts them for the thresholds in `call_rollup_state`. An hour's
rows are derived data: `refresh_hours` deletes and recounts them from the calls (idempotent, right
whatever changed in the hour, however late), `rebuild` recounts everything. Keyed by the UTC hour, any
local day, week, month or hour of a timezone with whole-hour offsets is a sum of rows; the call counts
in the hour it started (a call that ends after midnight stays on the day it started, as in the raw path).

Beside each row, `call_hour_waits` holds the histogram of its offered calls' waits in `domain.kpi.wait_step`s
(tenths of a second, rounded up): the 90th percentile of any sum of rows is the nearest rank of the summed
histogram, exact at that resolution (migration 0018).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    String,
    and_,
    cast,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from hotline.domain.kpi import (
    P90,
    WAIT_STEP_SLACK,
    WAIT_STEPS_PER_SECOND,
    AnswerRate,
    RateParams,
    step_seconds,
)
from hotline.store.base import Base, UtcDateTime
from hotline.store.call_stats import (
    FIGURES,
    LOCAL_FORMATS,
    KeyColumns,
    Span,
    fill_row,
    group_key,
    new_row,
    rate_figures,
)
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


class CallHourWaitRow(Base):
    """How many offered calls of a roll-up row waited a given `wait_step` (tenths of a second, rounded up)."""

    __tablename__ = "call_hour_waits"

    hour_start: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    specialty: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent: Mapped[str] = mapped_column(String(64), primary_key=True)
    called: Mapped[str] = mapped_column(String(64), primary_key=True)
    wait_step: Mapped[int] = mapped_column(Integer, primary_key=True)
    calls: Mapped[int] = mapped_column(Integer)


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


def _wait_step(session: Session) -> Any:
    """`domain.kpi.wait_step` of a call's wait in SQL, in the same floating point: ceil(wait * 10 - 1e-6)
    (SQLite may lack ceil(): the integer part, plus one when something is left above it)."""
    scaled = CallRow.wait_seconds * WAIT_STEPS_PER_SECOND - literal(WAIT_STEP_SLACK, Float)
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.ceil(scaled), Integer)
    whole = cast(scaled, Integer)
    return whole + cast(scaled > whole, Integer)


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
    where = [CallRow.direction == "inbound"]
    if lo is not None:
        where.append(CallRow.started_at >= lo)
    if hi is not None:
        where.append(CallRow.started_at < hi)
    for table in (CallHourRow, CallHourWaitRow):
        gone = delete(table)
        if lo is not None:
            gone = gone.where(table.hour_start >= lo)
        if hi is not None:
            gone = gone.where(table.hour_start < hi)
        session.execute(gone)
    figures, offered = rate_figures(params)
    bucket = _bucket(session)
    keys = [func.coalesce(CallRow.specialty, literal("")), func.coalesce(CallRow.answered_by, literal("")),
            func.coalesce(CallRow.called, literal(""))]
    # in hour order: a month's rows lie together on disk (PostgreSQL reads a few pages, not the table)
    query = select(bucket, *keys, *figures).where(*where).group_by(bucket, *keys).order_by(bucket, *keys)
    columns = ["hour_start", "specialty", "agent", "called", *FIGURES]
    result = session.execute(insert(CallHourRow).from_select(columns, query))
    step = _wait_step(session)
    waits = (select(bucket, *keys, step, func.count()).where(*where, and_(offered, CallRow.wait_seconds.is_not(None)))
             .group_by(bucket, *keys, step).order_by(bucket, *keys, step))
    session.execute(insert(CallHourWaitRow).from_select(["hour_start", "specialty", "agent", "called", "wait_step",
                                                         "calls"], waits))
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




def covers(span: Span) -> bool:
    """Whether the roll-up can answer for the span: inbound calls, both ends on whole UTC hours."""
    if span.direction != "inbound" or span.start is None or span.end is None:
        return False
    return all(hour_of(t) == t.astimezone(UTC) for t in (span.start, span.end))


def _keyed(session: Session, stmt: Any, table: Any, span: Span, by: str, tz: str,
           lines: dict[str, str]) -> tuple[Any, Any]:
    """`stmt` over the span's rows of `table` with the group key. A local day, week, hour or month on
    PostgreSQL is named once per hour of the span (a join with the span's hours) rather than once per
    row: the histograms have about a row per call."""
    where = (table.hour_start >= span.start, table.hour_start < span.end)
    if by in LOCAL_FORMATS and session.get_bind().dialect.name == "postgresql":
        assert span.start is not None and span.end is not None
        series = select(func.generate_series(span.start, span.end - HOUR, literal_column("interval '1 hour'"))
                        .label("h")).subquery("span_series")
        named = group_key(session, by, tz, span, lines, KeyColumns(series.c.h, None, None, None))
        # OFFSET 0 keeps the names in the subquery (computed per hour, not per joined row)
        hours = select(series.c.h, named.label("grp")).offset(0).subquery("span_hours")
        stmt = stmt.add_columns(hours.c.grp).select_from(table).join(hours, hours.c.h == table.hour_start)
        return stmt.where(*where), hours.c.grp
    keys = KeyColumns(table.hour_start, table.specialty, table.agent, table.called)
    key = group_key(session, by, tz, span, lines, keys).label("grp")
    return stmt.add_columns(key).where(*where), key


def _sums(session: Session, span: Span, by: str, tz: str, lines: dict[str, str],
          figures: list[str]) -> list[tuple[str, list[Any]]]:
    sums = [func.coalesce(func.sum(getattr(CallHourRow, f)), 0) for f in figures]
    stmt, key = _keyed(session, select(*sums), CallHourRow, span, by, tz, lines)
    return sorted((str(grp), list(values)) for *values, grp in session.execute(stmt.group_by(key)))


def wait_p90(session: Session, span: Span, by: str, tz: str, lines: dict[str, str],
             ) -> tuple[dict[str, float], float | None]:
    """The 90th percentile of the offered calls' waits per group and over all, from the summed wait
    histograms (in `wait_step`s: tenths of a second, rounded up). The database ranks: the nearest rank
    (`domain.kpi.percentile`) is the smallest step whose running count reaches 0.9 * n (the count is a
    whole number, so reaching 0.9 * n is reaching ceil(0.9 * n))."""
    stmt, key = _keyed(session, select(CallHourWaitRow.wait_step.label("step"),
                                       func.sum(CallHourWaitRow.calls).label("n")),
                       CallHourWaitRow, span, by, tz, lines)
    hist = stmt.group_by(key, CallHourWaitRow.wait_step).cte("hist")
    ranked = select(hist.c.grp, hist.c.step,
                    func.sum(hist.c.n).over(partition_by=hist.c.grp, order_by=hist.c.step).label("running"),
                    func.sum(hist.c.n).over(partition_by=hist.c.grp).label("n")).subquery("ranked")
    every = select(hist.c.step, func.sum(hist.c.n).label("n")).group_by(hist.c.step).subquery("every")
    overall = select(every.c.step, func.sum(every.c.n).over(order_by=every.c.step).label("running"),
                     func.sum(every.c.n).over().label("n")).subquery("overall")
    per_group = (select(ranked.c.grp, func.min(ranked.c.step))
                 .where(ranked.c.running >= P90 * ranked.c.n).group_by(ranked.c.grp))
    total = select(literal(None, String), func.min(overall.c.step)).where(overall.c.running >= P90 * overall.c.n)
    groups: dict[str, float] = {}
    p90_total: float | None = None
    for grp, step in session.execute(union_all(per_group, total)):
        if grp is not None:
            groups[str(grp)] = step_seconds(int(step))
        elif step is not None:
            p90_total = step_seconds(int(step))
    return groups, p90_total


def rollup_rate_rows(session: Session, span: Span, by: str, tz: str, params: RateParams,
                     with_p90: bool = True) -> tuple[list[AnswerRate], AnswerRate]:
    """Answer-rate rows per group and the total from the roll-up (the caller checked `covers` and the
    state's thresholds); the P90 waits from the wait histograms unless `with_p90` is False (None then)."""
    groups, p90_total = wait_p90(session, span, by, tz, dict(params.lines)) if with_p90 else ({}, None)
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
