"""Figures of the moment, for the dashboard's tiles, the wallboard and /metrics: callers waiting now,
open alerts and the oldest, pages sent and failed per channel, the paging outbox's depth, today's calls
per specialty and outcome. Each is one small query (or none: waiting callers come from the live ledger)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session, sessionmaker

from hotline.domain.alerts import ACTIVE, AlertKind
from hotline.domain.calls import Call, Direction
from hotline.paging.base import DRY_RUN_ID_PREFIX
from hotline.store.alerts import AlertRow, OutboxRow, PageAttemptRow
from hotline.store.base import unit_of_work
from hotline.store.call_stats import Span, outcome_counts

OUTBOX_WAITING = ("pending", "sending")


@dataclass(frozen=True)
class Waiting:
    """Inbound callers in a queue (not yet answered) right now, and how long the longest has waited."""

    count: int
    longest_seconds: float | None
    by_specialty: dict[str, int] = field(default_factory=dict)


def callers_waiting(open_calls: Iterable[Call], now: datetime) -> Waiting:
    count, longest = 0, None
    by: dict[str, int] = {}
    for call in open_calls:
        if call.direction != Direction.INBOUND or call.answered_at is not None or call.ended_at is not None:
            continue
        if call.queue is None and call.staff_reached_at is None:
            continue  # still in the IVR menu: not waiting for staff yet
        since = call.staff_reached_at or call.started_at
        waited = max(0.0, (now - since).total_seconds())
        count += 1
        longest = waited if longest is None else max(longest, waited)
        key = call.specialty or "(none)"
        by[key] = by.get(key, 0) + 1
    return Waiting(count, longest, by)


@dataclass(frozen=True)
class OpenAlerts:
    by_kind: dict[str, int]
    oldest_opened_at: datetime | None
    breached: int

    @property
    def count(self) -> int:
        return sum(self.by_kind.values())


def open_alerts(session: Session) -> OpenAlerts:
    active = [str(s) for s in ACTIVE]
    by_kind = {str(k): 0 for k in AlertKind}
    for kind, n in session.execute(select(AlertRow.kind, func.count()).where(AlertRow.state.in_(active))
                                   .group_by(AlertRow.kind)):
        by_kind[kind] = int(n)
    oldest = session.scalar(select(func.min(AlertRow.opened_at)).where(AlertRow.state.in_(active)))
    breached = session.scalar(select(func.count()).where(AlertRow.state.in_(active),
                                                         AlertRow.breached_at.is_not(None))) or 0
    return OpenAlerts(by_kind, oldest, int(breached))


def breaches_between(session: Session, start: datetime, end: datetime) -> int:
    """Missed-call alerts whose 15-minute deadline passed in [start, end)."""
    return int(session.scalar(select(func.count()).where(
        AlertRow.kind == str(AlertKind.MISSED_CALL), AlertRow.breached_at.is_not(None),
        AlertRow.breached_at >= start, AlertRow.breached_at < end)) or 0)


def attempt_result() -> ColumnElement[str]:
    """A page attempt as 'sent', 'failed' or 'dry_run' (printed or skipped by a dry run: never counted as sent)."""
    return case((PageAttemptRow.provider_id.startswith(DRY_RUN_ID_PREFIX, autoescape=True), "dry_run"),
                (PageAttemptRow.ok, "sent"), else_="failed")


def page_attempts(session: Session) -> list[tuple[str, str, int]]:
    """(channel, result, attempts) over the whole outbox history; result as `attempt_result`."""
    result = attempt_result()
    stmt = select(PageAttemptRow.channel, result, func.count()).group_by(PageAttemptRow.channel, result)
    return [(c, str(r), int(n)) for c, r, n in session.execute(stmt)]


def outbox_depth(session: Session) -> dict[str, int]:
    """Pages waiting to leave, by status (pending, sending)."""
    depth = dict.fromkeys(OUTBOX_WAITING, 0)
    for status, n in session.execute(select(OutboxRow.status, func.count()).where(
            OutboxRow.status.in_(OUTBOX_WAITING)).group_by(OutboxRow.status)):
        depth[status] = int(n)
    return depth


def calls_between(session: Session, start: datetime, end: datetime) -> list[tuple[str, str | None, int]]:
    """(specialty, outcome, calls) of inbound calls started in [start, end); outcome None: in progress."""
    return outcome_counts(session, Span(start, end), by="specialty")


@dataclass(frozen=True)
class Snapshot:
    """Everything the tiles and /metrics show that comes from the database, read in one transaction."""

    alerts: OpenAlerts
    pages: list[tuple[str, str, int]]  # (channel, sent | failed | dry_run, attempts)
    outbox: dict[str, int]
    calls_today: list[tuple[str, str | None, int]]
    breaches_today: int


def snapshot(factory: sessionmaker[Session], day_start: datetime, day_end: datetime) -> Snapshot:
    with unit_of_work(factory) as s:
        return Snapshot(open_alerts(s), page_attempts(s), outbox_depth(s), calls_between(s, day_start, day_end),
                        breaches_between(s, day_start, day_end))
