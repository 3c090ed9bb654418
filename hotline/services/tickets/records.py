"""Reading and writing tickets in one session: the row lock, the timeline rows, the SLA clock rows
(deadlines and outcomes follow the ticket's state on every save), and the day's ticket number."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
    resume,
    settle,
)
from hotline.domain.tickets import Change, Ticket, TicketType, ticket_number
from hotline.store.base import among, chunks, claim_writer
from hotline.store.tickets import (
    TicketClockRow,
    TicketCounterRow,
    TicketEventRow,
    TicketRow,
    clock_to_row,
    clock_values,
    insert_rows,
    row_to_clock,
    row_to_ticket,
    ticket_to_row,
    ticket_values,
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


class DayNumbers:
    """The ticket numbers one transaction gives out: each day's counter row is read (and locked until the
    transaction ends) once, then counted in memory; the session writes it at commit."""

    def __init__(self, s: Session, tz: tzinfo) -> None:
        self.s = s
        self.tz = tz
        self.rows: dict[str, TicketCounterRow] = {}
        self.read_days: set[str] = set()  # days read: a day without its row here has no counter yet

    def read(self, times: Iterable[datetime]) -> None:
        """Read (and lock) the counters of the days of `times` in one query, before numbers are given out."""
        days = sorted({f"{t.astimezone(self.tz).date():%Y%m%d}" for t in times} - self.read_days)
        self.read_days.update(days)
        for part in chunks(days):
            self.rows |= {r.day: r for r in self.s.scalars(select(TicketCounterRow).where(
                among(self.s, TicketCounterRow.day, part)).with_for_update())}

    def next(self, at: datetime) -> str:
        """GD<local day>-<next sequence of that day>."""
        day = at.astimezone(self.tz).date()
        key = f"{day:%Y%m%d}"
        row = self.rows.get(key)
        if row is None:
            if key not in self.read_days:
                row = self.s.scalars(select(TicketCounterRow).where(TicketCounterRow.day == key)
                                     .with_for_update()).first()
            if row is None:
                row = TicketCounterRow(day=key, last=0)
                self.s.add(row)
            self.rows[key] = row
        row.last += 1
        return ticket_number(day, row.last)


def next_number(s: Session, at: datetime, tz: tzinfo) -> str:
    """GD<local day>-<next sequence of that day> (the counter row is locked until the transaction ends)."""
    number = DayNumbers(s, tz).next(at)
    s.flush()
    return number


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
    sync_clocks(s, ticket, policy, calendar, major_reported_at if major_reported_at else row.major_reported_at, now=now)
    return row


def save_all(s: Session, saved: Sequence[tuple[Ticket, TicketRow]], now: datetime, policy: SlaPolicy,
             calendar: Calendar, new: Sequence[Ticket] = ()) -> None:
    """`save` for the tickets of one batch: `saved` have their rows in the session, `new` are inserted. A
    fixed number of statements: one multi-row insert each of the new tickets, of all the timeline lines and of
    the new tickets' clocks, and one read of the others' clock rows."""
    if new:
        insert_rows(s, TicketRow, [ticket_values(t, now) for t in new])
    events: list[dict[str, Any]] = []
    for ticket, row in saved:
        ticket_to_row(ticket, row, now)
    for ticket in [*new, *(t for t, _ in saved)]:
        events += [event_values(ticket.ticket_id, c) for c in ticket.changes]
        ticket.changes.clear()
    if events:
        insert_rows(s, TicketEventRow, events)
    clocks: list[dict[str, Any]] = []
    for ticket in new:
        for name in policy.clocks_of(ticket):
            clock = new_clock(ticket, name, policy, calendar, Window(ticket.service_window))
            settle(clock, clock_done(ticket, name, None), calendar)
            clocks.append(clock_values(ticket.ticket_id, clock))
    if clocks:
        insert_rows(s, TicketClockRow, clocks)
    ids = [t.ticket_id for t, _ in saved]
    rows: dict[str, dict[ClockName, TicketClockRow]] = {}
    for part in chunks(ids):
        for r in s.scalars(select(TicketClockRow).where(among(s, TicketClockRow.ticket_id, part))):
            rows.setdefault(r.ticket_id, {})[ClockName(r.clock)] = r
    for ticket, row in saved:
        sync_clocks(s, ticket, policy, calendar, row.major_reported_at, rows.get(ticket.ticket_id, {}), now=now)




def clocks_of(s: Session, ticket_id: str) -> dict[ClockName, TicketClockRow]:
    rows = s.scalars(select(TicketClockRow).where(TicketClockRow.ticket_id == ticket_id))
    return {ClockName(r.clock): r for r in rows}


def sync_clocks(s: Session, ticket: Ticket, policy: SlaPolicy, calendar: Calendar,
                major_reported_at: datetime | None,
                rows: dict[ClockName, TicketClockRow] | None = None, *,
                now: datetime | None = None) -> list[SlaClock]:
    """Start the ticket's missing clocks and settle all of them; a done clock whose event was undone (a
    reopened ticket's resolution) runs again from the reopen. `rows`: its clock rows if already read."""
    rows = clocks_of(s, ticket.ticket_id) if rows is None else rows
    out = []
    names = policy.clocks_of(ticket)
    for name, stale in rows.items():  # a clock that no longer applies (a complaint edited back) stops paging
        if name not in names and stale.next_due_at is not None:
            stale.next_due_at = None
    for name in names:
        row = rows.get(name)
        clock = row_to_clock(row) if row is not None else new_clock(
            ticket, name, policy, calendar, Window(ticket.service_window))
        done = clock_done(ticket, name, major_reported_at)
        if clock.done_at is not None and done is None:
            resumed = ticket.reopened_at or now
            if resumed is not None:
                resume(clock, resumed, policy, calendar)
        if name is ClockName.COMPLAINT_SOLVED and ticket.complaint_due_at is not None:
            agree(clock, ticket.complaint_due_at, policy)  # the deadline agreed with the complainant
        settle(clock, done, calendar)
        r = clock_to_row(ticket.ticket_id, clock, row)
        if row is None:
            s.add(r)
        out.append(clock)
    return out

