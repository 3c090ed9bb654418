"""People act on complaints: open one by hand, mark a call or a ticket as a complaint, reply to the
complainant, agree the resolution deadline, fill in the 《客户投诉反馈表》 (every save kept as a version).
Complaint tickets are tickets: the tickets' records write them, so the SLA clocks follow on every save."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.domain.complaints import (
    FORM_FIELDS,
    FeedbackForm,
    Source,
    agree_deadline,
    mark_complaint,
    reply,
)
from hotline.domain.numbers import NumberError, outside_number
from hotline.domain.roster import Tier
from hotline.domain.tickets import Change, Ticket, TicketError, TicketType, check_specialty
from hotline.services.tickets.desk import TicketService, TicketView
from hotline.services.tickets.records import TicketNotFound, locked, next_number, save
from hotline.services.tickets.settings import TicketContext
from hotline.store.base import claim_writer, unit_of_work
from hotline.store.calls import CallRow
from hotline.store.complaints import ComplaintFormRow, ComplaintFormVersionRow
from hotline.store.tickets import TicketCallRow, TicketRow, row_to_ticket

__all__ = ["ComplaintService", "FormVersion", "TicketError", "TicketNotFound"]


@dataclass(frozen=True)
class FormVersion:
    """One saved version of a 《客户投诉反馈表》."""

    version: int
    form: FeedbackForm
    saved_by: str
    saved_at: datetime

    def as_dict(self, tz: ZoneInfo) -> dict[str, Any]:
        return {"version": self.version, **self.form.as_dict(), "saved_by": self.saved_by,
                "saved_at": self.saved_at.astimezone(tz).isoformat()}


def _form(row: ComplaintFormRow | ComplaintFormVersionRow) -> FeedbackForm:
    return FeedbackForm(**{name: getattr(row, name) for name in FORM_FIELDS})


class ComplaintService:
    def __init__(self, ctx: TicketContext, tickets: TicketService) -> None:
        self.ctx = ctx
        self.tickets = tickets

    def _change(self, ticket_id: str, act: Any) -> TicketView:
        now = self.ctx.clock.now()
        with unit_of_work(self.ctx.factory) as s:
            ticket, row = locked(s, ticket_id)
            act(ticket, now)
            save(s, ticket, row, now, self.ctx.config.policy, self.ctx.calendar())
        return self.tickets.get(ticket_id)

    # ---- opening ------------------------------------------------------------------------------------

    def open(self, number: str, summary: str, by: str, *, source: Source = Source.HAND,
             specialty: str | None = None, related: str | None = None) -> TicketView:
        """A complaint from `number` made now: the caller's ticket that is not closed becomes the complaint
        (one ticket per caller), else a new complaint ticket is opened and given to `by` (or the on-duty first
        line). `related`: the ticket the complaint is about (e.g. the surveyed one), noted on the timeline."""
        try:
            parsed = outside_number(number, local_area_code=self.ctx.config.local_area_code,
                                    dial_prefixes=self.ctx.dial_prefixes)
        except NumberError as e:
            raise TicketError(str(e)) from None
        if not summary.strip():
            raise TicketError("投诉需要填写摘要 / a complaint needs a summary")
        check_specialty(specialty, self.ctx.config.specialties)
        now = self.ctx.clock.now()
        note = f"关于工单 {related} / about ticket {related}" if related else None
        with unit_of_work(self.ctx.factory) as s:
            claim_writer(s, TicketRow.__tablename__)
            row = s.scalars(select(TicketRow).where(TicketRow.open_caller == parsed.key).with_for_update()).first()
            if row is not None:
                ticket = row_to_ticket(row)
                again = ticket.complained_at is not None  # already a complaint: this one is added to it
                mark_complaint(ticket, now, by, source, note)
                if not ticket.summary:
                    ticket.edit(now, by, summary=summary.strip())
                said = "再次投诉 / complained again" if again else None
                ticket.changes.append(Change(now, by, "complaint", "complaint", None, summary.strip(),
                                             "; ".join(n for n in (said, note) if n) or None))
            else:
                ticket = self._new(s, parsed.key, parsed.national, summary.strip(), by, specialty, now)
                mark_complaint(ticket, now, by, source, note)
            save(s, ticket, row, now, self.ctx.config.policy, self.ctx.calendar())
            ticket_id = ticket.ticket_id
        return self.tickets.get(ticket_id)

    def _new(self, s: Session, key: str, national: str, summary: str, by: str, specialty: str | None,
             now: datetime) -> Ticket:
        ticket = Ticket(ticket_id=next_number(s, now, self.ctx.tz), caller_key=key, caller=national, opened_at=now,
                        first_contact_at=now, ticket_type=TicketType.COMPLAINT, specialty=specialty,
                        summary=summary, responded_at=now,
                        service_window=str(self.ctx.config.window_of(specialty)))
        ticket.changes.append(Change(now, by, "open", note="投诉登记 / complaint recorded"))
        assignee = self.ctx.staff.identify(by)
        if assignee is None:
            people = self.ctx.staff.on_duty(now, str(Tier.FIRST_LINE), specialty)
            assignee = people[0].name if people else None
        if assignee is not None:
            ticket.assign(assignee, now, by)
        return ticket

    def mark_call(self, call_id: str, by: str) -> TicketView:
        """Staff mark a call as a complaint: the call's ticket becomes a complaint made when the call began."""
        with unit_of_work(self.ctx.factory) as s:
            link = s.get(TicketCallRow, call_id)
            if link is None:
                call = s.get(CallRow, call_id)
                if call is None:
                    raise TicketNotFound(f"没有通话 {call_id!r} / no call {call_id!r} in the ledger")
                raise TicketNotFound(
                    f"通话 {call_id!r} 没有关联工单（未接通的通话不开工单），请用 hotline complaints open "
                    f"{call.caller or '<号码>'} 登记投诉 / call {call_id!r} is linked to no ticket (only calls in "
                    f"which staff reached the caller open one): use `hotline complaints open <number>`")
            ticket_id, started = link.ticket_id, link.started_at
        return self._change(ticket_id, lambda t, now: mark_complaint(
            t, started, by, Source.CALL, f"通话 {call_id} 标记为投诉 / call {call_id} marked as a complaint"))

    def mark(self, ticket_id: str, by: str, source: Source = Source.HAND) -> TicketView:
        """A ticket becomes a complaint made now."""
        return self._change(ticket_id, lambda t, now: mark_complaint(t, now, by, source))

    def reply(self, ticket_id: str, text: str, by: str) -> TicketView:
        """The first reply to the complainant (stops the 投诉回复 clock)."""
        return self._change(ticket_id, lambda t, now: reply(t, text, now, by))

    def agree(self, ticket_id: str, due: datetime, by: str) -> TicketView:
        """The resolution deadline agreed with the complainant (the 投诉解决 clock's due time); a time without an
        offset is desk time."""
        if due.tzinfo is None:
            due = due.replace(tzinfo=self.ctx.tz)
        return self._change(ticket_id, lambda t, now: agree_deadline(t, due, now, by))

    # ---- the 《客户投诉反馈表》 ---------------------------------------------------------------------------

    def form(self, ticket_id: str) -> FormVersion | None:
        """The form as it stands (None: not filled in yet)."""
        with unit_of_work(self.ctx.factory) as s:
            self._complaint(s, ticket_id)
            row = s.get(ComplaintFormRow, ticket_id)
            return None if row is None else FormVersion(row.version, _form(row), row.updated_by, row.updated_at)

    def save_form(self, ticket_id: str, by: str, **values: str | None) -> FormVersion:
        """Save the fields given (the others stay); a new version is kept in the history, and the timeline
        notes it. Saving unchanged fields makes no version."""
        now = self.ctx.clock.now()
        with unit_of_work(self.ctx.factory) as s:
            ticket, ticket_row = locked(s, ticket_id)
            if ticket.ticket_type is not TicketType.COMPLAINT:
                raise TicketError(f"工单 {ticket_id} 不是投诉 / ticket {ticket_id} is not a complaint")
            row = s.get(ComplaintFormRow, ticket_id)
            old = FeedbackForm() if row is None else _form(row)
            new = old.changed(**values)
            if row is not None and new == old:
                return FormVersion(row.version, old, row.updated_by, row.updated_at)
            if row is None:
                row = ComplaintFormRow(ticket_id=ticket_id, version=0)
                s.add(row)
            row.version += 1
            for name, value in new.as_dict().items():
                setattr(row, name, value)
            row.updated_by, row.updated_at = by, now
            s.add(ComplaintFormVersionRow(ticket_id=ticket_id, version=row.version, saved_by=by, saved_at=now,
                                          **new.as_dict()))
            changed = [name for name in FORM_FIELDS if getattr(new, name) != getattr(old, name)]
            ticket.changes.append(Change(now, by, "form", "complaint_form", None, f"v{row.version}",
                                         "投诉反馈表 / feedback form: " + ", ".join(changed)))
            save(s, ticket, ticket_row, now, self.ctx.config.policy, self.ctx.calendar())
            return FormVersion(row.version, new, by, now)

    def form_history(self, ticket_id: str) -> list[FormVersion]:
        with unit_of_work(self.ctx.factory) as s:
            self._complaint(s, ticket_id)
            rows = s.scalars(select(ComplaintFormVersionRow).where(ComplaintFormVersionRow.ticket_id == ticket_id)
                             .order_by(ComplaintFormVersionRow.version))
            return [FormVersion(r.version, _form(r), r.saved_by, r.saved_at) for r in rows]

    def _complaint(self, s: Session, ticket_id: str) -> TicketRow:
        row = s.get(TicketRow, ticket_id)
        if row is None:
            raise TicketNotFound(f"没有此工单 / no ticket {ticket_id!r}")
        if row.ticket_type != str(TicketType.COMPLAINT):
            raise TicketError(f"工单 {ticket_id} 不是投诉 / ticket {ticket_id} is not a complaint")
        return row
