"""A ticket opened from another one (a complaint follow-up of a low survey score): same caller, linked to the
original through both timelines. The caller's one not-closed ticket rule holds: the original must be closed.
A complaint follow-up is made when it is opened, with its source (回访低分 `survey` for a survey's)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from hotline.domain.complaints import Source, mark_complaint
from hotline.domain.tickets import Change, Priority, Ticket, TicketError, TicketType
from hotline.services.tickets.records import TicketNotFound, next_number, save
from hotline.services.tickets.settings import TicketContext
from hotline.store.base import claim_writer, unit_of_work
from hotline.store.tickets import TicketEventRow, TicketRow, row_to_ticket


def open_follow_up(ctx: TicketContext, original_id: str, ticket_type: TicketType, summary: str, description: str,
                   by: str, assignee: str | None, at: datetime | None = None,
                   priority: Priority = Priority.IMPORTANT, complaint_source: Source = Source.HAND) -> Ticket:
    """Open a ticket of `ticket_type` for the caller of `original_id`, linked to it; returns the new ticket.
    A complaint is made now, from `complaint_source`."""
    now = at or ctx.clock.now()
    with unit_of_work(ctx.factory) as s:
        claim_writer(s, TicketRow.__tablename__)
        row = s.get(TicketRow, original_id)
        if row is None:
            raise TicketNotFound(f"没有此工单 / no ticket {original_id!r}")
        original = row_to_ticket(row)
        other = s.scalar(select(TicketRow.ticket_id).where(TicketRow.open_caller == original.caller_key))
        if other is not None:
            raise TicketError(f"来电号码已有未关闭工单 {other} / the caller has ticket {other} open")
        ticket = Ticket(ticket_id=next_number(s, now, ctx.tz), caller_key=original.caller_key,
                        caller=original.caller, opened_at=now, first_contact_at=now,
                        caller_name=original.caller_name, ticket_type=ticket_type, priority=priority,
                        specialty=original.specialty, summary=summary, description=description,
                        service_window=original.service_window)
        ticket.changes.append(Change(now, by, "open", "origin", None, original_id,
                                     f"由工单 {original_id} 转来 / follow-up of ticket {original_id}"))
        if ticket_type is TicketType.COMPLAINT:
            mark_complaint(ticket, now, by, complaint_source)
        if assignee is not None:
            ticket.assign(assignee, now, by, "投诉跟进 / complaint follow-up")
        save(s, ticket, None, now, ctx.config.policy, ctx.calendar())
        s.add(TicketEventRow(ticket_id=original_id, at=now, actor=by, action="link", field="follow_up",
                             new=ticket.ticket_id, note=f"跟进工单 {ticket.ticket_id} / follow-up ticket"))
    return ticket
