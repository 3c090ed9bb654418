"""Complaints (投诉) over HTTP: open one by hand, mark a call or a ticket, reply, agree the resolution
deadline, the 《客户投诉反馈表》 (read, save, history, XLSX and PDF), and the month's figures."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from pydantic import Field

from hotline.api.tickets import By, _full, _who, ticket_call, tickets_of
from hotline.domain.complaints import MAX_FIELD, Source
from hotline.domain.moments import MomentError, parse_moment
from hotline.services.complaints.desk import ComplaintService
from hotline.services.tickets.desk import TicketView

router = APIRouter(tags=["complaints"])
MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf"}


class OpenBody(By):
    number: str = Field(min_length=3, max_length=32)
    summary: str = Field(min_length=1, max_length=500)
    specialty: str | None = Field(None, max_length=64)
    about: str | None = Field(None, max_length=32)  # the ticket the complaint is about


class ReplyBody(By):
    text: str = Field(min_length=1, max_length=4000)


class DeadlineBody(By):
    due: str = Field(min_length=1, max_length=64)  # a day and a clock time; without an offset, desk time


class FormBody(By):
    complaint: str | None = Field(None, max_length=MAX_FIELD)
    investigation: str | None = Field(None, max_length=MAX_FIELD)
    cause: str | None = Field(None, max_length=MAX_FIELD)
    measures: str | None = Field(None, max_length=MAX_FIELD)
    feedback: str | None = Field(None, max_length=MAX_FIELD)
    confirmation: str | None = Field(None, max_length=MAX_FIELD)


def complaints_of(request: Request) -> ComplaintService:
    tickets = tickets_of(request)
    return ComplaintService(tickets.desk.ctx, tickets.desk)


def _ticket(request: Request, act: Any) -> dict[str, Any]:
    view: TicketView = ticket_call(lambda: act(complaints_of(request)))
    return _full(request, view)


@router.post("/api/complaints")
def open_complaint(request: Request, body: OpenBody) -> dict[str, Any]:
    """A complaint by hand: the caller's ticket that is not closed becomes it, else a new complaint ticket."""
    return _ticket(request, lambda c: c.open(body.number, body.summary, _who(request, body.by), source=Source.HAND,
                                             specialty=body.specialty, related=body.about))


@router.post("/api/complaints/from-call/{call_id}")
def mark_call(request: Request, call_id: str, body: By) -> dict[str, Any]:
    """Staff mark a call as a complaint: the call's ticket becomes one, made when the call began."""
    return _ticket(request, lambda c: c.mark_call(call_id, _who(request, body.by)))


@router.post("/api/tickets/{ticket_id}/complaint")
def mark_ticket(request: Request, ticket_id: str, body: By) -> dict[str, Any]:
    return _ticket(request, lambda c: c.mark(ticket_id, _who(request, body.by)))


@router.post("/api/tickets/{ticket_id}/complaint/reply")
def reply(request: Request, ticket_id: str, body: ReplyBody) -> dict[str, Any]:
    return _ticket(request, lambda c: c.reply(ticket_id, body.text, _who(request, body.by)))


@router.post("/api/tickets/{ticket_id}/complaint/deadline")
def agree(request: Request, ticket_id: str, body: DeadlineBody) -> dict[str, Any]:
    try:
        due = parse_moment(body.due, request.app.state.settings.tz)
    except MomentError as e:
        raise HTTPException(422, f"due: {e}") from None
    return _ticket(request, lambda c: c.agree(ticket_id, due, _who(request, body.by)))


@router.get("/api/tickets/{ticket_id}/complaint/form")
def show_form(request: Request, ticket_id: str) -> dict[str, Any]:
    """The form as it stands (null when not filled in yet) and every saved version."""
    c, tz = complaints_of(request), request.app.state.settings.tz
    current = ticket_call(lambda: c.form(ticket_id))
    return {"ticket_id": ticket_id, "form": current.as_dict(tz) if current else None,
            "history": [v.as_dict(tz) for v in ticket_call(lambda: c.form_history(ticket_id))]}


@router.put("/api/tickets/{ticket_id}/complaint/form")
def save_form(request: Request, ticket_id: str, body: FormBody) -> dict[str, Any]:
    c = complaints_of(request)
    values = body.model_dump(exclude={"by"}, exclude_none=True)
    ticket_call(lambda: c.save_form(ticket_id, _who(request, body.by), **values))
    return show_form(request, ticket_id)


@router.get("/api/tickets/{ticket_id}/complaint/form.{kind}")
def export_form(request: Request, ticket_id: str, kind: str) -> Response:
    """《客户投诉反馈表》 as XLSX or PDF."""
    from hotline.services.complaints.exports import form_file

    if kind not in MEDIA:
        raise HTTPException(404, f"格式 {kind!r} 不支持 / unknown format {kind!r}: form.xlsx or form.pdf")
    data: bytes = ticket_call(lambda: form_file(complaints_of(request), ticket_id, kind))
    name = f"complaint-{ticket_id}.{kind}"
    return Response(data, media_type=MEDIA[kind], headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/api/reports/complaints")
def complaint_report(request: Request, month: str | None = None) -> dict[str, Any]:
    """The month's complaints (`hotline report complaints --json`); caller numbers masked."""
    from hotline.services.complaints.figures import month_report
    from hotline.services.reports.monthly import parse_month

    settings = request.app.state.settings
    now = request.app.state.clock.now()
    try:
        first = parse_month(month) if month else now.astimezone(settings.tz).date().replace(day=1)
    except ValueError as e:
        raise HTTPException(400, str(e)) from None
    return month_report(request.app.state.factory, first, settings.tz, now)
