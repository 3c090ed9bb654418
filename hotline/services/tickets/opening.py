"""Calls in: a call in which staff reached an outside caller opens a ticket or joins the caller's open one;
missed calls of that number (those whose alert the reaching call cleared) are linked, and the response clock
starts at the first of them. One ticket per caller number while it is not closed; internal calls and
callers never reached open none. Ledger listeners: `on_answered` (screen pop) and `on_call` (completed)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache, partial
from typing import Any

from sqlalchemy import delete, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.domain.calls import Call, Direction, Transfer
from hotline.domain.complaints import Source, mark_complaint
from hotline.domain.numbers import try_parse_number
from hotline.domain.roster import Tier
from hotline.domain.tickets import NOT_CLOSED, CallRole, Change, Reach, Status, Ticket, reach_of
from hotline.paging.base import Recipient
from hotline.services.tickets.records import DayNumbers, save_all
from hotline.services.tickets.settings import TicketContext
from hotline.services.tickets.staff import DutyAt, Staff
from hotline.store.base import among, chunks, claim_writer, unit_of_work
from hotline.store.tickets import (
    CallerRow,
    MissedCallRow,
    TicketCallRow,
    TicketEventRow,
    TicketRow,
    insert_rows,
    row_to_ticket,
)

log = logging.getLogger(__name__)

# The ids of the missed calls whose alert `call_id` cleared (the monitor's answer); None: not wired.
ClearedCalls = Callable[[str], Sequence[str]]
SYSTEM = "system"


@dataclass(frozen=True)
class _Waiting:
    """A missed call of a number with no ticket, waiting to be linked when staff reach the number."""

    call_id: str
    started_at: datetime
    ended_at: datetime
    specialty: str | None
    stored: bool  # in ticket_missed_calls (an earlier batch), else from this batch


class _BatchRows:
    """What one batch reads once and writes once: the waiting missed calls of the batch's numbers (read in
    one query, kept in memory, then the new ones still waiting inserted and the stored ones now linked
    deleted, each in one statement) and the linked calls (one multi-row insert)."""

    def __init__(self, s: Session, keys: set[str]) -> None:
        """`keys`: the numbers staff reached in the batch (only their waiting missed calls can be linked)."""
        self.s = s
        self.links: list[dict[str, object]] = []
        self.waiting: dict[str, list[_Waiting]] = {}
        m = MissedCallRow
        for chunk in chunks(sorted(keys)):
            for key, call_id, started_at, ended_at, specialty in s.execute(
                    select(m.caller_key, m.call_id, m.started_at, m.ended_at, m.specialty)
                    .where(among(s, m.caller_key, chunk)).order_by(m.started_at)):
                self.waiting.setdefault(key, []).append(_Waiting(call_id, started_at, ended_at, specialty, True))
        self.linked_stored: list[str] = []

    def link(self, call_id: str, ticket_id: str, role: CallRole, started_at: datetime, at: datetime,
             staff: str | None) -> None:
        self.links.append({"call_id": call_id, "ticket_id": ticket_id, "role": str(role), "started_at": started_at,
                           "at": at, "staff": staff})

    def wait(self, key: str, call: Call, ended_at: datetime) -> None:
        calls = self.waiting.setdefault(key, [])
        calls.append(_Waiting(call.call_id, call.started_at, ended_at, call.specialty, stored=False))
        calls.sort(key=lambda w: w.started_at)

    def take(self, key: str, only: set[str] | None) -> list[_Waiting]:
        """The number's waiting missed calls (those in `only`, when given), oldest first, no longer waiting."""
        calls = self.waiting.get(key, [])
        taken = [w for w in calls if only is None or w.call_id in only]
        self.waiting[key] = [w for w in calls if w not in taken]
        self.linked_stored += [w.call_id for w in taken if w.stored]
        return taken

    def write(self) -> None:
        new = [{"call_id": w.call_id, "caller_key": key, "started_at": w.started_at, "ended_at": w.ended_at,
                "specialty": w.specialty} for key, calls in self.waiting.items() for w in calls if not w.stored]
        if new:
            insert_rows(self.s, MissedCallRow, new)
        for chunk in chunks(self.linked_stored):
            self.s.execute(delete(MissedCallRow).where(among(self.s, MissedCallRow.call_id, chunk)))
        if self.links:
            insert_rows(self.s, TicketCallRow, self.links)




def _in_chunks(s: Session, what: Any, column: Any, values: Sequence[str], *order: Any) -> list[Any]:
    """`what` (rows of an entity, or a column) where `column` is among `values`, read in chunks of IN lists."""
    out: list[Any] = []
    for chunk in chunks(values):
        out += s.scalars(select(what).where(among(s, column, chunk)).order_by(*order))
    return out


def _seen(s: Session, ids: Sequence[str]) -> set[str]:
    """The calls among `ids` already linked to a ticket or waiting as missed calls: one query a chunk."""
    out: set[str] = set()
    for chunk in chunks(ids):
        out.update(s.scalars(union_all(
            select(TicketCallRow.call_id).where(among(s, TicketCallRow.call_id, chunk)),
            select(MissedCallRow.call_id).where(among(s, MissedCallRow.call_id, chunk)))))
    return out


class TicketOpener:
    def __init__(self, ctx: TicketContext, cleared_calls: ClearedCalls | None = None) -> None:
        self.ctx = ctx
        self.cleared_calls = cleared_calls
        # the same callers call again and again: their numbers are parsed once (phonenumbers is slow)
        self.parse = lru_cache(maxsize=8192)(partial(try_parse_number, local_area_code=ctx.config.local_area_code,
                                                     dial_prefixes=ctx.dial_prefixes))


    def on_answered(self, call: Call) -> None:
        """Ledger answer listener: the ticket exists while staff still talk (screen pop)."""
        self.on_calls([call])

    def on_call(self, call: Call) -> None:
        """Ledger completion listener: answered calls (if not seen answered) and missed calls."""
        self.on_calls([call])

    def on_calls(self, calls: Sequence[Call]) -> None:
        """Ledger batch listener (answered and completed calls of one flush): one transaction for the batch;
        on a conflict with another process, each call again in its own transaction."""
        reaches = [(c, r) for c in calls if (r := reach_of(c, parse=self.parse)) is not None]
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
        """One transaction for the batch, with a fixed number of statements whatever its size: the calls
        already seen, the open tickets of its numbers (locked), their waiting missed calls, their directory
        entries and the roster (only when a ticket has to go to the on-duty first line) are read once; the
        new tickets, linked calls, missed calls, timeline lines and clocks are written in multi-row inserts."""
        now = self.ctx.clock.now()
        with unit_of_work(self.ctx.factory) as s:
            claim_writer(s, TicketRow.__tablename__)
            ids = sorted({c.call_id for c, _ in reaches})
            seen = _seen(s, ids)
            keys = {r.number.key for _, r in reaches}
            rows: dict[str, TicketRow] = {}
            for chunk in chunks(sorted(keys)):
                rows |= {row.caller_key: row for row in s.scalars(
                    select(TicketRow).where(among(s, TicketRow.open_caller, chunk)).with_for_update())}
            tickets = {key: row_to_ticket(row) for key, row in rows.items()}
            callers = {r.caller_key: r for r in _in_chunks(s, CallerRow, CallerRow.caller_key, sorted(keys))}
            batch = _BatchRows(s, {r.number.key for _, r in reaches if r.role is CallRole.REACHED})
            numbers = DayNumbers(s, self.ctx.tz)
            numbers.read(r.at for _, r in reaches if r.role is CallRole.REACHED and r.number.key not in rows)
            duty = _LazyDuty(self.ctx.staff, [r.at for _, r in reaches])
            touched: dict[str, Ticket] = {}
            new_callers: dict[str, dict[str, object]] = {}
            followed = [c for c, _ in reaches if c.call_id in seen and c.transferred]
            for call, reach in reaches:
                if call.call_id in seen:
                    continue
                seen.add(call.call_id)
                key = reach.number.key
                ticket = tickets.get(key)
                if ticket is None and reach.role is CallRole.MISSED:
                    batch.wait(key, call, reach.at)
                    continue
                staff = self._staff(reach, call)
                if ticket is None:
                    ticket = tickets[key] = self._open(batch, numbers, duty, call, reach, staff)
                else:
                    self._link(batch, ticket, call, reach, staff)
                    if ticket.status is Status.RESOLVED and call.direction is Direction.INBOUND:
                        ticket.reopen(reach.at, SYSTEM, f"再次来电 / repeat call {call.call_id}")
                    if reach.role is CallRole.REACHED:
                        self._link_missed(batch, ticket, call)
                    if reach.role is CallRole.REACHED and call.specialty == self.ctx.config.complaint_specialty:
                        mark_complaint(ticket, call.started_at, staff or SYSTEM, Source.IVR,
                                       f"语音菜单投诉 / IVR complaint option, call {call.call_id}")
                if call.transferred:
                    self._follow_transfer(ticket, call)
                touched[key] = ticket
                if reach.role is CallRole.REACHED:
                    self._directory(callers, new_callers, ticket, call, now)
            self._follow_transfers(s, followed, touched, rows)
            if new_callers:
                insert_rows(s, CallerRow, list(new_callers.values()))
            # the unique open_caller: a second process opening the same caller's ticket fails here
            save_all(s, [(t, rows[key]) for key, t in touched.items() if key in rows], now, self.ctx.config.policy,
                     self.ctx.calendar(), new=[t for key, t in touched.items() if key not in rows])
            batch.write()

    def _follow_transfers(self, s: Session, calls: list[Call], touched: dict[str, Ticket],
                          rows: dict[str, TicketRow]) -> None:
        """Calls already linked (at their answer) that staff transferred since: their tickets follow."""
        if not calls:
            return
        links = {call_id: ticket_id for call_id, ticket_id in s.execute(
            select(TicketCallRow.call_id, TicketCallRow.ticket_id)
            .where(TicketCallRow.call_id.in_([c.call_id for c in calls])))}
        by_id = {t.ticket_id: t for t in touched.values()}
        wanted = set(links.values()) - set(by_id)
        if wanted:
            for row in s.scalars(select(TicketRow).where(TicketRow.ticket_id.in_(wanted)).with_for_update()):
                if row.caller_key in rows and rows[row.caller_key].ticket_id != row.ticket_id:
                    continue  # the caller's newer ticket is in this batch; the old one keeps its timeline
                rows[row.caller_key] = row
                by_id[row.ticket_id] = row_to_ticket(row)
        done = {note.rsplit(" ", 1)[-1] for note in s.scalars(
            select(TicketEventRow.note).where(TicketEventRow.ticket_id.in_(set(links.values())),
                                              TicketEventRow.action == "transfer")) if note}
        for call in calls:
            ticket = by_id.get(links.get(call.call_id, ""))
            if ticket is not None and self._follow_transfer(ticket, call, done):
                touched[ticket.caller_key] = ticket

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

    def _open(self, batch: _BatchRows, numbers: DayNumbers, duty: _LazyDuty, call: Call, reach: Reach,
              staff: str | None) -> Ticket:
        missed = self._covered(batch, reach.number.key, call)
        specialty = call.specialty or next((m.specialty for m in missed if m.specialty), None)
        first = min([call.started_at, *(m.started_at for m in missed)])
        ticket_id = numbers.next(reach.at)
        ticket = Ticket(ticket_id=ticket_id, caller_key=reach.number.key, caller=reach.number.national,
                        opened_at=reach.at, first_contact_at=first, caller_name=_outside_name(call),
                        specialty=specialty, responded_at=reach.at,
                        service_window=str(self.ctx.config.window_of(specialty)))
        how = "回电 / callback" if call.direction is Direction.OUTBOUND else "来电 / call"
        ticket.changes.append(Change(reach.at, staff or SYSTEM, "open", note=f"{how} {call.call_id}"))
        batch.link(call.call_id, ticket_id, reach.role, call.started_at, reach.at, staff or reach.staff)
        for m in missed:
            batch.link(m.call_id, ticket_id, CallRole.MISSED, m.started_at, m.ended_at, None)
        inbound = call.direction is Direction.INBOUND
        assignee, note = staff, "接听人 / who answered" if inbound else "回电人 / who called back"
        if assignee is None:
            people = duty(reach.at, str(Tier.FIRST_LINE), specialty)
            assignee = people[0].name if people else None
            note = f"值班一线 / on-duty first line (接听 {reach.staff or '-'} 不在值班表 / not in the roster)"
        if assignee is not None:
            ticket.assign(assignee, reach.at, SYSTEM, note)
        if specialty is not None and specialty == self.ctx.config.complaint_specialty:
            mark_complaint(ticket, first, SYSTEM, Source.IVR,
                           f"语音菜单投诉 / IVR complaint option, call {call.call_id}")
        return ticket

    def _covered(self, batch: _BatchRows, key: str, call: Call) -> list[_Waiting]:
        """The caller's missed calls not yet linked that this call covers: those whose alert it cleared
        (when the monitor tells), else all of them."""
        if not batch.waiting.get(key):
            return []
        if self.cleared_calls is None:
            return batch.take(key, None)
        try:
            cleared = set(self.cleared_calls(call.call_id))
        except Exception:
            log.exception("cleared calls of %s not known; linking every missed call", call.call_id)
            return batch.take(key, None)
        return batch.take(key, cleared)

    def _link(self, batch: _BatchRows, ticket: Ticket, call: Call, reach: Reach, staff: str | None) -> None:
        batch.link(call.call_id, ticket.ticket_id, reach.role, call.started_at, reach.at, staff or reach.staff)
        ticket.changes.append(Change(reach.at, staff or SYSTEM, "link", "call", None, call.call_id,
                                     "未接 / missed" if reach.role is CallRole.MISSED else None))
        if call.started_at < ticket.first_contact_at and ticket.status in NOT_CLOSED:
            ticket.first_contact_at = call.started_at

    def _link_missed(self, batch: _BatchRows, ticket: Ticket, call: Call) -> None:
        for m in self._covered(batch, ticket.caller_key, call):
            batch.link(m.call_id, ticket.ticket_id, CallRole.MISSED, m.started_at, m.ended_at, None)
            ticket.changes.append(Change(m.ended_at, SYSTEM, "link", "call", None, m.call_id, "未接 / missed"))

    def _directory(self, callers: dict[str, CallerRow], new: dict[str, dict[str, object]], ticket: Ticket,
                   call: Call, now: datetime) -> None:
        name = _outside_name(call)
        row = callers.get(ticket.caller_key)
        if row is not None:
            if not row.name and name:
                row.name, row.updated_at = name, now
            return
        entry = new.setdefault(ticket.caller_key, {"caller_key": ticket.caller_key, "number": ticket.caller,
                                                   "name": name, "updated_at": now})
        if not entry["name"] and name:
            entry["name"] = name


def _outside_name(call: Call) -> str | None:
    """The outside party's name as the PBX knows it: an inbound call's caller ID name. A callback's caller ID
    name is the staff member's own phone (Asterisk's `Agent One`), never the customer's."""
    return call.caller_name if call.direction is Direction.INBOUND else None




class _LazyDuty:
    """Who is on duty during a batch, from one read of the roster made only if a ticket needs it."""

    def __init__(self, staff: Staff, times: Sequence[datetime]) -> None:
        self.staff = staff
        self.times = times
        self.lookup: DutyAt | None = None

    def __call__(self, at: datetime, tier: str, specialty: str | None) -> Sequence[Recipient]:
        if self.lookup is None:
            self.lookup = self.staff.duty_between(min(self.times), max(self.times))
        return self.lookup(at, tier, specialty)
