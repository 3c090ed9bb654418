"""Reading and writing tickets in one session: the row lock, the timeline rows, the SLA clock rows
(deadlines and outcomes follow the ticket's state on every save), and the day's ticket number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from hotline.domain.sla import (
    Calendar,
    ClockName,
    SlaClock,
    SlaPolicy,
    Window,
    agree,
    clock_done,
    new_clock,
    settle,
)
from hotline.domain.tickets import Change, Ticket, TicketType, ticket_number
from hotline.store.base import claim_writer
from hotline.store.tickets import (
    TicketClockRow,
    TicketCounterRow,
    TicketEventRow,
    TicketRow,
    clock_to_row,
    row_to_clock,
    row_to_ticket,
    ticket_to_row,
)


class TicketNotFound(LookupError):
    pass


@dataclass(frozen=True)
class LinkedCall:
    call_id: str
    role: str
    started_at: datetime
    at: datetime
    staff: str | None


def locked(s: Session, ticket_id: str) -> tuple[Ticket, TicketRow]:
    claim_writer(s, TicketRow.__tablename__)
    row = s.scalars(select(TicketRow).where(TicketRow.ticket_id == ticket_id).with_for_update()).first()
    if row is None:
        raise TicketNotFound(f"没有此工单 / no ticket {ticket_id!r}")
    return row_to_ticket(row), row


def next_number(s: Session, at: datetime, tz: tzinfo) -> str:
    """GD<local day>-<next sequence of that day> (the counter row is locked until the transaction ends)."""
    day = at.astimezone(tz).date()
    key = f"{day:%Y%m%d}"
    row = s.scalars(select(TicketCounterRow).where(TicketCounterRow.day == key).with_for_update()).first()
    if row is None:
        row = TicketCounterRow(day=key, last=0)
        s.add(row)
    row.last += 1
    s.flush()
    return ticket_number(day, row.last)


def event_values(ticket_id: str, c: Change) -> dict[str, Any]:
    return {"ticket_id": ticket_id, "at": c.at, "actor": c.actor, "action": c.action, "field": c.field,
            "old": c.old, "new": c.new, "note": c.note}


def save(s: Session, ticket: Ticket, row: TicketRow | None, now: datetime, policy: SlaPolicy,
         calendar: Calendar, major_reported_at: datetime | None = None) -> TicketRow:
    """Write the ticket, its new timeline lines and its clocks (new clocks started, outcomes settled)."""
    new = row is None
    if ticket.ticket_type is TicketType.COMPLAINT and ticket.complained_at is None:
        ticket.complained_at = ticket.opened_at  # opened as a complaint: made when the ticket was opened
    row = ticket_to_row(ticket, row, now)
    if new:
        s.add(row)
        s.flush()
    if ticket.changes:
        s.execute(insert(TicketEventRow), [event_values(ticket.ticket_id, c) for c in ticket.changes])
    ticket.changes.clear()
    sync_clocks(s, ticket, policy, calendar, major_reported_at if major_reported_at else row.major_reported_at)
    return row


def clocks_of(s: Session, ticket_id: str) -> dict[ClockName, TicketClockRow]:
    rows = s.scalars(select(TicketClockRow).where(TicketClockRow.ticket_id == ticket_id))
    return {ClockName(r.clock): r for r in rows}


def sync_clocks(s: Session, ticket: Ticket, policy: SlaPolicy, calendar: Calendar,
                major_reported_at: datetime | None) -> list[SlaClock]:
    rows = clocks_of(s, ticket.ticket_id)
    out = []
    names = policy.clocks_of(ticket)
    for name, stale in rows.items():  # a clock that no longer applies (a complaint edited back) stops paging
        if name not in names and stale.next_due_at is not None:
            stale.next_due_at = None
    for name in names:
        row = rows.get(name)
        clock = row_to_clock(row) if row is not None else new_clock(
            ticket, name, policy, calendar, Window(ticket.service_window))
        if name is ClockName.COMPLAINT_SOLVED and ticket.complaint_due_at is not None:
            agree(clock, ticket.complaint_due_at, policy)  # the deadline agreed with the complainant
        settle(clock, clock_done(ticket, name, major_reported_at), calendar)
        r = clock_to_row(ticket.ticket_id, clock, row)
        if row is None:
            s.add(r)
        out.append(clock)
    return out

