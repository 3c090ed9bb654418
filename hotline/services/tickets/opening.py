"""Calls in: a call in which staff reached an outside caller opens a ticket or joins the caller's open one;
missed calls of that number (those whose alert the reaching call cleared) are linked, and the response clock
starts at the first of them. One ticket per caller number while it is not closed; internal calls and
callers never reached open none. Ledger listeners: `on_answered` (screen pop) and `on_call` (completed)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.domain.calls import Call, Direction
from hotline.domain.roster import Tier
from hotline.domain.tickets import NOT_CLOSED, CallRole, Change, Reach, Status, Ticket, reach_of
from hotline.services.tickets.records import next_number, save
from hotline.services.tickets.settings import TicketContext
from hotline.store.base import claim_writer, unit_of_work
from hotline.store.tickets import CallerRow, MissedCallRow, TicketCallRow, TicketRow, row_to_ticket, ticket_to_row

log = logging.getLogger(__name__)

# The ids of the missed calls whose alert `call_id` cleared (the monitor's answer); None: not wired.
ClearedCalls = Callable[[str], Sequence[str]]
SYSTEM = "system"


class TicketOpener:
    def __init__(self, ctx: TicketContext, cleared_calls: ClearedCalls | None = None) -> None:
        self.ctx = ctx
        self.cleared_calls = cleared_calls

    def on_answered(self, call: Call) -> None:
        """Ledger answer listener: the ticket exists while staff still talk (screen pop)."""
        self._take(call)

    def on_call(self, call: Call) -> None:
        """Ledger completion listener: answered calls (if not seen answered) and missed calls."""
        self._take(call)

    def _take(self, call: Call) -> None:
        reach = reach_of(call, local_area_code=self.ctx.config.local_area_code,
                         dial_prefixes=self.ctx.dial_prefixes)
        if reach is None:
            return
        for attempt in (1, 2):  # a second process may open the caller's ticket first: link to it then
            try:
                with unit_of_work(self.ctx.factory) as s:
                    claim_writer(s, TicketRow.__tablename__)
                    if s.get(TicketCallRow, call.call_id) is None:
                        self._apply(s, call, reach)
                return
            except IntegrityError:
                if attempt == 2:
                    log.exception("call %s: ticket not opened", call.call_id)

    def _apply(self, s: Session, call: Call, reach: Reach) -> None:
        now = self.ctx.clock.now()
        key = reach.number.key
        row = s.scalars(select(TicketRow).where(TicketRow.open_caller == key).with_for_update()).first()
        if row is None and reach.role is CallRole.MISSED:
            if s.get(MissedCallRow, call.call_id) is None:
                s.add(MissedCallRow(call_id=call.call_id, caller_key=key, started_at=call.started_at,
                                    ended_at=reach.at, specialty=call.specialty))
            return
        staff = self._staff(reach, call)
        if row is None:
            ticket, row = self._open(s, call, reach, staff)
        else:
            ticket = row_to_ticket(row)
            self._link(s, ticket, call, reach, staff)
            inbound = call.direction is Direction.INBOUND
            if ticket.status is Status.RESOLVED and inbound:
                ticket.reopen(reach.at, SYSTEM, f"再次来电 / repeat call {call.call_id}")
            if reach.role is CallRole.REACHED:
                self._link_missed(s, ticket, call)
        save(s, ticket, row, now, self.ctx.config.policy, self.ctx.calendar())
        if reach.role is CallRole.REACHED:
            self._directory(s, ticket, call, now)

    def _staff(self, reach: Reach, call: Call) -> str | None:
        return self.ctx.staff.identify(reach.staff) if reach.role is CallRole.REACHED else None

    def _open(self, s: Session, call: Call, reach: Reach, staff: str | None) -> tuple[Ticket, TicketRow]:
        missed = self._pending(s, reach.number.key, call)
        specialty = call.specialty or next((m.specialty for m in missed if m.specialty), None)
        first = min([call.started_at, *(m.started_at for m in missed)])
        ticket_id = next_number(s, reach.at, self.ctx.tz)
        ticket = Ticket(ticket_id=ticket_id, caller_key=reach.number.key, caller=reach.number.national,
                        opened_at=reach.at, first_contact_at=first, caller_name=call.caller_name,
                        specialty=specialty, responded_at=reach.at,
                        service_window=str(self.ctx.config.window_of(specialty)))
        how = "回电 / callback" if call.direction is Direction.OUTBOUND else "来电 / call"
        ticket.changes.append(Change(reach.at, staff or SYSTEM, "open", note=f"{how} {call.call_id}"))
        row = ticket_to_row(ticket, None, reach.at)
        s.add(row)
        s.flush()  # the unique open_caller: a second process opening the same caller's ticket fails here
        s.add(TicketCallRow(call_id=call.call_id, ticket_id=ticket_id, role=str(reach.role),
                            started_at=call.started_at, at=reach.at, staff=staff or reach.staff))
        for m in missed:
            s.add(TicketCallRow(call_id=m.call_id, ticket_id=ticket_id, role=str(CallRole.MISSED),
                                started_at=m.started_at, at=m.ended_at, staff=None))
            s.delete(m)
        inbound = call.direction is Direction.INBOUND
        assignee, note = staff, "接听人 / who answered" if inbound else "回电人 / who called back"
        if assignee is None:
            people = self.ctx.staff.on_duty(reach.at, str(Tier.FIRST_LINE), specialty)
            assignee = people[0].name if people else None
            note = f"值班一线 / on-duty first line (接听 {reach.staff or '-'} 不在值班表 / not in the roster)"
        if assignee is not None:
            ticket.assign(assignee, reach.at, SYSTEM, note)
        return ticket, row

    def _pending(self, s: Session, key: str, call: Call) -> list[MissedCallRow]:
        """The caller's missed calls not yet linked that this call covers: those whose alert it cleared
        (when the monitor tells), else all of them."""
        rows = list(s.scalars(select(MissedCallRow).where(MissedCallRow.caller_key == key)
                              .order_by(MissedCallRow.started_at)))
        if self.cleared_calls is None or not rows:
            return rows
        try:
            cleared = set(self.cleared_calls(call.call_id))
        except Exception:
            log.exception("cleared calls of %s not known; linking every missed call", call.call_id)
            return rows
        return [r for r in rows if r.call_id in cleared]

    def _link(self, s: Session, ticket: Ticket, call: Call, reach: Reach, staff: str | None) -> None:
        s.add(TicketCallRow(call_id=call.call_id, ticket_id=ticket.ticket_id, role=str(reach.role),
                            started_at=call.started_at, at=reach.at, staff=staff or reach.staff))
        ticket.changes.append(Change(reach.at, staff or SYSTEM, "link", "call", None, call.call_id,
                                     "未接 / missed" if reach.role is CallRole.MISSED else None))
        if call.started_at < ticket.first_contact_at and ticket.status in NOT_CLOSED:
            ticket.first_contact_at = call.started_at

    def _link_missed(self, s: Session, ticket: Ticket, call: Call) -> None:
        for m in self._pending(s, ticket.caller_key, call):
            s.add(TicketCallRow(call_id=m.call_id, ticket_id=ticket.ticket_id, role=str(CallRole.MISSED),
                                started_at=m.started_at, at=m.ended_at, staff=None))
            ticket.changes.append(Change(m.ended_at, SYSTEM, "link", "call", None, m.call_id, "未接 / missed"))
            s.delete(m)

    def _directory(self, s: Session, ticket: Ticket, call: Call, now: datetime) -> None:
        row = s.get(CallerRow, ticket.caller_key)
        if row is None:
            s.add(CallerRow(caller_key=ticket.caller_key, number=ticket.caller, name=call.caller_name,
                            updated_at=now))
        elif not row.name and call.caller_name:
            row.name, row.updated_at = call.caller_name, now
