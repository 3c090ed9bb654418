"""The tickets' figures of a period, for the monthly quality report (质量月报): plain SQL over the clock rows
(due at, done at, minutes, met) and the timeline, each figure with its sample size.

Which tickets count: a clock counts in the period it stopped in (a ticket opened on the 30th and resolved on
the 1st counts in the month of the 1st); a clock whose deadline passed in the period and that had not
stopped by its end is "overdue at the end"; escalations and reopens count in the period they happened in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from hotline.domain.sla import ClockName
from hotline.domain.tickets import Status, TicketTier
from hotline.store.base import unit_of_work
from hotline.store.tickets import TicketClockRow, TicketEventRow, TicketRow


@dataclass(frozen=True)
class ClockFigures:
    """The clocks of one kind that stopped in the period."""

    done: int = 0  # the sample size
    met: int = 0
    mean_minutes: float | None = None  # service-window minutes
    longest_minutes: float | None = None


@dataclass(frozen=True)
class TicketPeriod:
    opened: int = 0
    opened_by_type: dict[str, int] = field(default_factory=dict)
    clocks: dict[ClockName, ClockFigures] = field(default_factory=dict)
    overdue_tickets: int = 0  # tickets with a deadline passed in the period and not done by its end
    overdue_clocks: dict[ClockName, int] = field(default_factory=dict)
    escalated: dict[TicketTier, int] = field(default_factory=dict)  # hand-offs to second line, to the vendor
    vendor_legs: int = 0  # vendor legs ended in the period
    vendor_mean_minutes: float | None = None  # wall-clock minutes from the hand-off to the vendor to resolved
    reopened: int = 0


def period_figures(factory: sessionmaker[Session], start: datetime, end: datetime,
                   until: datetime | None = None) -> TicketPeriod:
    """The figures of [start, end); `until`: the end of what has happened (now, for the running month)."""
    until = min(end, until or end)
    with unit_of_work(factory) as s:
        by_type = dict(s.execute(select(TicketRow.ticket_type, func.count()).where(
            TicketRow.opened_at >= start, TicketRow.opened_at < end).group_by(TicketRow.ticket_type)).all())
        c = TicketClockRow
        clocks = {ClockName(name): ClockFigures(int(n), int(met or 0), mean, longest)
                  for name, n, met, mean, longest in s.execute(
                      select(c.clock, func.count(), func.sum(case((c.met.is_(True), 1), else_=0)),
                             func.avg(c.minutes), func.max(c.minutes))
                      .where(c.done_at >= start, c.done_at < end).group_by(c.clock))}
        late = s.execute(select(c.ticket_id, c.clock).where(
            c.due_at >= start, c.due_at < until, or_(c.done_at.is_(None), c.done_at >= until))).all()
        e = TicketEventRow
        in_period = and_(e.at >= start, e.at < end)
        escalated = dict(s.execute(select(e.new, func.count()).where(
            in_period, e.action == "escalate", e.field == "tier").group_by(e.new)).all())
        reopened = s.scalar(select(func.count()).select_from(e).where(
            in_period, e.action == "status", e.new == str(Status.IN_PROGRESS),
            e.old.in_([str(Status.RESOLVED), str(Status.CLOSED)]))) or 0
        legs = [(r.vendor_ended_at - r.vendor_started_at).total_seconds() / 60 for r in s.execute(
            select(TicketRow.vendor_started_at, TicketRow.vendor_ended_at).where(
                TicketRow.vendor_ended_at >= start, TicketRow.vendor_ended_at < end,
                TicketRow.vendor_started_at.is_not(None)))]
    overdue: dict[ClockName, int] = {}
    for _, name in late:
        overdue[ClockName(name)] = overdue.get(ClockName(name), 0) + 1
    return TicketPeriod(
        opened=sum(by_type.values()), opened_by_type={str(k): int(v) for k, v in by_type.items()}, clocks=clocks,
        overdue_tickets=len({tid for tid, _ in late}), overdue_clocks=overdue,
        escalated={TicketTier(k): int(v) for k, v in escalated.items() if k in set(TicketTier)},
        vendor_legs=len(legs), vendor_mean_minutes=sum(legs) / len(legs) if legs else None, reopened=int(reopened))
