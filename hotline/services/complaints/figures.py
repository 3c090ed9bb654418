"""The complaints of a period as plain SQL over the tickets and their clock rows: how many, replied within
the target (投诉回复), resolved in time (投诉解决), escalated to the project manager; and one line per
complaint for the report's table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from hotline.domain.complaints import ComplaintFigures
from hotline.domain.numbers import mask
from hotline.domain.sla import ClockName
from hotline.domain.tickets import TicketType
from hotline.store.base import unit_of_work
from hotline.store.tickets import TicketClockRow, TicketRow


def add_months(first_day: date, n: int) -> date:
    index = first_day.year * 12 + first_day.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class ComplaintLine:
    ticket_id: str
    caller: str
    complained_at: datetime
    source: str | None
    status: str
    reply_minutes: float | None
    replied_in_time: bool | None
    resolved: bool
    resolved_in_time: bool | None
    escalated: bool


def complaint_lines(s: Session, start: datetime, end: datetime) -> list[ComplaintLine]:
    """Every complaint made in [start, end), oldest first, with its two clocks' outcomes."""
    reply, solved = aliased(TicketClockRow), aliased(TicketClockRow)
    made = TicketRow.complained_at  # set on every complaint (records.save), NULL on other tickets: indexed
    stmt = (select(TicketRow.ticket_id, TicketRow.caller, made, TicketRow.complaint_source, TicketRow.status,
                   reply.minutes, reply.met, solved.done_at, solved.met, solved.breached_at)
            .outerjoin(reply, and_(reply.ticket_id == TicketRow.ticket_id, reply.clock == str(ClockName.COMPLAINT)))
            .outerjoin(solved, and_(solved.ticket_id == TicketRow.ticket_id,
                                    solved.clock == str(ClockName.COMPLAINT_SOLVED)))
            .where(TicketRow.ticket_type == str(TicketType.COMPLAINT), made >= start, made < end)
            .order_by(made, TicketRow.ticket_id))
    return [ComplaintLine(r[0], r[1], cast(datetime, r[2]), r[3], r[4], r[5], r[6], r[7] is not None, r[8],
                          r[9] is not None) for r in s.execute(stmt)]


def figures(lines: list[ComplaintLine]) -> ComplaintFigures:
    return ComplaintFigures(
        count=len(lines),
        replied=sum(1 for c in lines if c.reply_minutes is not None),
        replied_in_time=sum(1 for c in lines if c.replied_in_time is True),
        resolved=sum(1 for c in lines if c.resolved),
        resolved_in_time=sum(1 for c in lines if c.resolved_in_time is True),
        escalated=sum(1 for c in lines if c.escalated))


def month_report(factory: sessionmaker[Session], first_day: date, tz: ZoneInfo) -> dict[str, Any]:
    """`hotline report complaints --json`: the month's figures (each share with its sample size) and one
    line per complaint (caller numbers masked: the report goes round)."""
    start = datetime.combine(first_day, time(), tz)
    end = datetime.combine(add_months(first_day, 1), time(), tz)
    with unit_of_work(factory) as s:
        lines = complaint_lines(s, start, end)
    return {"type": "complaints", "month": f"{first_day:%Y-%m}", **figures(lines).as_dict(),
            "complaints": [{"ticket_id": c.ticket_id, "caller": mask(c.caller),
                            "complained_at": c.complained_at.astimezone(tz).isoformat(), "source": c.source,
                            "status": c.status, "reply_minutes": c.reply_minutes,
                            "replied_in_time": c.replied_in_time, "resolved": c.resolved,
                            "resolved_in_time": c.resolved_in_time, "escalated": c.escalated} for c in lines]}
