"""The complaints of a period as plain SQL over the tickets and their clock rows: how many, replied within
the target (投诉回复), resolved in time (投诉解决), escalated to the project manager; and one line per
complaint for the report's table. Outcomes are seen at the report's "now": a deadline still ahead and not met
yet is pending (未到期), never late."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from hotline.domain.complaints import ComplaintFigures, Deadline, Tally, deadline_outcome
from hotline.domain.numbers import mask
from hotline.domain.sla import Calendar, ClockName, Window
from hotline.domain.tickets import TicketType
from hotline.store.base import unit_of_work
from hotline.store.tickets import TicketClockRow, TicketRow


def add_months(first_day: date, n: int) -> date:
    index = first_day.year * 12 + first_day.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class ComplaintLine:
    """One complaint with its two clocks: when each started, was due and stopped (None: still running)."""

    ticket_id: str
    caller: str
    complained_at: datetime
    source: str | None
    status: str
    reply_started_at: datetime | None
    reply_window: str | None
    reply_due_at: datetime | None
    replied_at: datetime | None
    reply_minutes: float | None
    resolve_due_at: datetime | None
    resolved_at: datetime | None
    escalated: bool

    @property
    def resolved(self) -> bool:
        return self.resolved_at is not None

    def reply(self, now: datetime) -> Deadline:
        return deadline_outcome(self.replied_at, self.reply_due_at, now)

    def resolution(self, now: datetime) -> Deadline:
        return deadline_outcome(self.resolved_at, self.resolve_due_at, now)


def complaint_lines(s: Session, start: datetime, end: datetime) -> list[ComplaintLine]:
    """Every complaint made in [start, end), oldest first, with its two clocks."""
    reply, solved = aliased(TicketClockRow), aliased(TicketClockRow)
    made = TicketRow.complained_at  # set on every complaint (records.save), NULL on other tickets: indexed
    stmt = (select(TicketRow.ticket_id, TicketRow.caller, made, TicketRow.complaint_source, TicketRow.status,
                   reply.started_at, reply.service_window, reply.due_at, reply.done_at, reply.minutes,
                   solved.due_at, solved.done_at, solved.breached_at)
            .outerjoin(reply, and_(reply.ticket_id == TicketRow.ticket_id, reply.clock == str(ClockName.COMPLAINT)))
            .outerjoin(solved, and_(solved.ticket_id == TicketRow.ticket_id,
                                    solved.clock == str(ClockName.COMPLAINT_SOLVED)))
            .where(TicketRow.ticket_type == str(TicketType.COMPLAINT), made >= start, made < end)
            .order_by(made, TicketRow.ticket_id))
    return [ComplaintLine(r[0], r[1], cast(datetime, r[2]), r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11],
                          r[12] is not None) for r in s.execute(stmt)]


def figures(lines: list[ComplaintLine], now: datetime) -> ComplaintFigures:
    """The month's figures as seen at `now`: a deadline not passed yet and not met yet is pending."""
    return ComplaintFigures(
        count=len(lines),
        replied=sum(1 for c in lines if c.replied_at is not None),
        reply=Tally.of([c.reply(now) for c in lines]),
        resolved=sum(1 for c in lines if c.resolved),
        resolution=Tally.of([c.resolution(now) for c in lines]),
        escalated=sum(1 for c in lines if c.escalated))


def reply_waits(lines: list[ComplaintLine], now: datetime, calendar: Calendar | None) -> list[float]:
    """How long each complainant waited for a first reply, in the reply clock's service minutes: the reply's
    minutes, or for one not replied yet the wait so far (to `now`; needs `calendar`, else left out)."""
    out = []
    for c in lines:
        if c.reply_minutes is not None:
            out.append(c.reply_minutes)
        elif c.replied_at is None and calendar is not None and c.reply_started_at is not None and c.reply_window:
            waited = calendar.between(c.reply_started_at, now, Window(c.reply_window))
            out.append(round(waited.total_seconds() / 60, 2))
    return out


def _in_time(outcome: Deadline) -> bool | None:
    """A line's in-time flag: None while pending (未到期)."""
    return None if outcome is Deadline.PENDING else outcome is Deadline.IN_TIME


def month_report(factory: sessionmaker[Session], first_day: date, tz: ZoneInfo, now: datetime) -> dict[str, Any]:
    """`hotline report complaints --json`: the month's figures as seen at `now` (each share with its sample
    size and the pending count) and one line per complaint (caller numbers masked: the report goes round)."""
    start = datetime.combine(first_day, time(), tz)
    end = datetime.combine(add_months(first_day, 1), time(), tz)
    with unit_of_work(factory) as s:
        lines = complaint_lines(s, start, end)

    def iso(at: datetime | None) -> str | None:
        return None if at is None else at.astimezone(tz).isoformat()

    return {"type": "complaints", "month": f"{first_day:%Y-%m}", "as_of": now.astimezone(tz).isoformat(),
            **figures(lines, now).as_dict(),
            "complaints": [{"ticket_id": c.ticket_id, "caller": mask(c.caller), "complained_at": iso(c.complained_at),
                            "source": c.source, "status": c.status, "reply_due_at": iso(c.reply_due_at),
                            "reply_minutes": c.reply_minutes, "replied_in_time": _in_time(c.reply(now)),
                            "resolve_due_at": iso(c.resolve_due_at), "resolved": c.resolved,
                            "resolved_in_time": _in_time(c.resolution(now)), "escalated": c.escalated}
                           for c in lines]}
