"""Calls in: a call in which staff reached an outside caller opens a ticket or joins the caller's open one;
missed calls of that number (those whose alert the reaching call cleared) are linked, and the response clock
starts at the first of them. One ticket per caller number while it is not closed; internal calls and
callers never reached open none. Ledger listeners: `on_answered` (screen pop) and `on_call` (completed)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.domain.calls import Call, Direction, Transfer
from hotline.domain.roster import Tier
from hotline.domain.tickets import NOT_CLOSED, CallRole, Change, Reach, Status, Ticket, reach_of
from hotline.services.tickets.records import next_number, save
from hotline.services.tickets.settings import TicketContext
from hotline.store.base import claim_writer, unit_of_work
from hotline.store.tickets import (
    CallerRow,
    MissedCallRow,
    TicketCallRow,
    TicketEventRow,
    TicketRow,
    row_to_ticket,
    ticket_to_row,
)

log = logging.getLogger(__name__)

# The ids of the missed calls whose alert `call_id` cleared (the monitor's answer); None: not wired.
ClearedCalls = Callable[[str], Sequence[str]]
SYSTEM = "system"


class _Rows:
    """The rows one batch writes with plain multi-row inserts: linked calls at the end, waiting missed calls
    before anything reads them."""

    def __init__(self, s: Session) -> None:
        self.s = s
        self.links: list[dict[str, object]] = []
        self.missed: list[dict[str, object]] = []

    def link(self, call_id: str, ticket_id: str, role: CallRole, started_at: datetime, at: datetime,
             staff: str | None) -> None:
        self.links.append({"call_id": call_id, "ticket_id": ticket_id, "role": str(role), "started_at": started_at,
                           "at": at, "staff": staff})

    def insert_missed(self) -> None:
        if self.missed:
            self.s.execute(insert(MissedCallRow), self.missed)
            self.missed = []

    def write(self) -> None:
        self.insert_missed()
        if self.links:
            self.s.execute(insert(TicketCallRow), self.links)
            self.links = []


class TicketOpener:
    def __init__(self, ctx: TicketContext, cleared_calls: ClearedCalls | None = None) -> None:
        self.ctx = ctx
        self.cleared_calls = cleared_calls


    def on_answered(self, call: Call) -> None:
        """Ledger answer listener: the ticket exists while staff still talk (screen pop)."""
        self.on_calls([call])

    def on_call(self, call: Call) -> None:
        """Ledger completion listener: answered calls (if not seen answered) and missed calls."""
        self.on_calls([call])

    def on_calls(self, calls: Sequence[Call]) -> None:
        """Ledger batch listener (answered and completed calls of one flush): one transaction for the batch;
        on a conflict with another process, each call again in its own transaction."""
        reaches = [(c, r) for c in calls if (r := reach_of(c, local_area_code=self.ctx.config.local_area_code,
                                                           dial_prefixes=self.ctx.dial_prefixes)) is not None]
        if not reaches:
            return
        try:
            self._batch(reaches)
            return
        except IntegrityError:
            if len(reaches) == 1:  # a second process opened the caller's ticket first: link to it now
                try:
                    self._batch(reaches)
                except IntegrityError:
                    log.exception("call %s: ticket not opened", reaches[0][0].call_id)
                return
        for one in reaches:
            self.on_calls([one[0]])

    def _batch(self, reaches: list[tuple[Call, Reach]]) -> None:
        now = self.ctx.clock.now()
        with unit_of_work(self.ctx.factory) as s:
            claim_writer(s, TicketRow.__tablename__)
            ids = [c.call_id for c, _ in reaches]
            seen = set(s.scalars(select(TicketCallRow.call_id).where(TicketCallRow.call_id.in_(ids))))
            seen |= set(s.scalars(select(MissedCallRow.call_id).where(MissedCallRow.call_id.in_(ids))))
            keys = {r.number.key for _, r in reaches}
            rows = {row.caller_key: row for row in s.scalars(
                select(TicketRow).where(TicketRow.open_caller.in_(keys)).with_for_update())}
            tickets = {key: row_to_ticket(row) for key, row in rows.items()}
            # numbers with missed calls waiting for a ticket, and directory entries: one query each per batch
            waiting = set(s.scalars(select(MissedCallRow.caller_key).where(MissedCallRow.caller_key.in_(keys))))
            callers = {r.caller_key: r for r in s.scalars(select(CallerRow).where(CallerRow.caller_key.in_(keys)))}
            touched: dict[str, tuple[Ticket, TicketRow]] = {}
            rows_of = _Rows(s)
            followed = [c for c, _ in reaches if c.call_id in seen and c.transferred]
            for call, reach in reaches:
                if call.call_id in seen:
                    continue
                seen.add(call.call_id)
                key = reach.number.key
                ticket = tickets.get(key)
                if ticket is None and reach.role is CallRole.MISSED:
                    rows_of.missed.append({"call_id": call.call_id, "caller_key": key, "started_at": call.started_at,
                                         "ended_at": reach.at, "specialty": call.specialty})
                    waiting.add(key)
                    continue
                staff = self._staff(reach, call)
                if ticket is None:
                    ticket, rows[key] = self._open(s, rows_of, call, reach, staff)
                    tickets[key] = ticket
                else:
                    self._link(rows_of, ticket, call, reach, staff)
                    if ticket.status is Status.RESOLVED and call.direction is Direction.INBOUND:
                        ticket.reopen(reach.at, SYSTEM, f"再次来电 / repeat call {call.call_id}")
                    if reach.role is CallRole.REACHED and key in waiting:
                        self._link_missed(s, rows_of, ticket, call)
                if call.transferred:
                    self._follow_transfer(ticket, call)
                touched[key] = (ticket, rows[key])
                if reach.role is CallRole.REACHED:
                    self._directory(s, callers, ticket, call, now)
            self._follow_transfers(s, followed, touched)
            rows_of.write()
            for ticket, row in touched.values():
                save(s, ticket, row, now, self.ctx.config.policy, self.ctx.calendar())



    def _follow_transfers(self, s: Session, calls: list[Call],
                          touched: dict[str, tuple[Ticket, TicketRow]]) -> None:
        """Calls already linked (at their answer) that staff transferred since: their tickets follow."""
        if not calls:
            return
        links = {call_id: ticket_id for call_id, ticket_id in s.execute(
            select(TicketCallRow.call_id, TicketCallRow.ticket_id)
            .where(TicketCallRow.call_id.in_([c.call_id for c in calls])))}
        by_id = {t.ticket_id: (t, r) for t, r in touched.values()}
        wanted = set(links.values()) - set(by_id)
        if wanted:
            for row in s.scalars(select(TicketRow).where(TicketRow.ticket_id.in_(wanted)).with_for_update()):
                by_id[row.ticket_id] = (row_to_ticket(row), row)
        done = {note.rsplit(" ", 1)[-1] for note in s.scalars(
            select(TicketEventRow.note).where(TicketEventRow.ticket_id.in_(set(links.values())),
                                              TicketEventRow.action == "transfer")) if note}
        for call in calls:
            pair = by_id.get(links.get(call.call_id, ""))
            if pair is not None and self._follow_transfer(pair[0], call, done):
                touched[pair[0].caller_key] = pair

    def _follow_transfer(self, ticket: Ticket, call: Call, done: set[str] | None = None) -> bool:
        """A phone transfer of the ticket's call: each hand-over on the timeline (once), and the ticket goes to
        the staff member who ended up with the caller when the roster knows them."""
        changed = False
        for i in range(1, len(call.legs)):
            prev, leg = call.legs[i - 1], call.legs[i]
            tag = f"{call.call_id}#{i}"
            if done is not None and tag in done:
                continue
            how = "咨询转接 / attended transfer" if leg.transfer is Transfer.ATTENDED else "盲转 / blind transfer"
            at = prev.ended_at or leg.answered_at or call.ended_at or call.started_at
            actor = self.ctx.staff.identify(prev.who) or prev.who or SYSTEM
            target = leg.who or (f"队列 queue {leg.queue}" if leg.queue else None)
            ticket.changes.append(Change(at, actor, "transfer", "staff", prev.who, target, f"{how} {tag}"))
            changed = True
        last = next((leg for leg in reversed(call.legs) if leg.answered_at is not None), None)
        if last is not None and last is not call.legs[0] and ticket.status in NOT_CLOSED:
            person = self.ctx.staff.identify(last.who)
            if person is not None and person != ticket.assignee:
                assert last.answered_at is not None
                ticket.assign(person, last.answered_at, SYSTEM, f"电话转接 / phone transfer {call.call_id}")
                changed = True
        return changed

    def _staff(self, reach: Reach, call: Call) -> str | None:
        return self.ctx.staff.identify(reach.staff) if reach.role is CallRole.REACHED else None

    def _open(self, s: Session, rows_of: _Rows, call: Call, reach: Reach,
              staff: str | None) -> tuple[Ticket, TicketRow]:
        missed = self._pending(s, rows_of, reach.number.key, call)
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
        rows_of.link(call.call_id, ticket_id, reach.role, call.started_at, reach.at, staff or reach.staff)
        for m in missed:
            rows_of.link(m.call_id, ticket_id, CallRole.MISSED, m.started_at, m.ended_at, None)
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

    def _pending(self, s: Session, rows_of: _Rows, key: str, call: Call) -> list[MissedCallRow]:
        """The caller's missed calls not yet linked that this call covers: those whose alert it cleared
        (when the monitor tells), else all of them."""
        rows_of.insert_missed()
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

    def _link(self, rows_of: _Rows, ticket: Ticket, call: Call, reach: Reach, staff: str | None) -> None:
        rows_of.link(call.call_id, ticket.ticket_id, reach.role, call.started_at, reach.at, staff or reach.staff)
        ticket.changes.append(Change(reach.at, staff or SYSTEM, "link", "call", None, call.call_id,
                                     "未接 / missed" if reach.role is CallRole.MISSED else None))
        if call.started_at < ticket.first_contact_at and ticket.status in NOT_CLOSED:
            ticket.first_contact_at = call.started_at

    def _link_missed(self, s: Session, rows_of: _Rows, ticket: Ticket, call: Call) -> None:
        for m in self._pending(s, rows_of, ticket.caller_key, call):
            rows_of.link(m.call_id, ticket.ticket_id, CallRole.MISSED, m.started_at, m.ended_at, None)
            ticket.changes.append(Change(m.ended_at, SYSTEM, "link", "call", None, m.call_id, "未接 / missed"))
            s.delete(m)

    def _directory(self, s: Session, callers: dict[str, CallerRow], ticket: Ticket, call: Call,
                   now: datetime) -> None:
        row = callers.get(ticket.caller_key)
        if row is None:
            callers[ticket.caller_key] = row = CallerRow(caller_key=ticket.caller_key, number=ticket.caller,
                                                         name=call.caller_name, updated_at=now)
            s.add(row)
        elif not row.name and call.caller_name:
            row.name, row.updated_at = call.caller_name, now
