"""Tickets (工单) over HTTP: list (mine, my tier's, overdue first), one ticket with its calls, clocks,
timeline and caller, the screen pop for a number, and the desk's actions."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from hotline.api.pages import render
from hotline.config import ConfigError
from hotline.domain.numbers import outside_number, try_parse_number
from hotline.domain.tickets import InvalidValue
from hotline.services.reports.indicators import specialty_name
from hotline.services.tickets.build import Tickets, build_tickets
from hotline.services.tickets.desk import TicketError, TicketNotFound, TicketView, change_dict
from hotline.services.tickets.knowledge import Article, ArticleNotFound, KnowledgeBase
from hotline.services.tickets.query_words import load_in_background

router = APIRouter(tags=["tickets"])
T = TypeVar("T")


class By(BaseModel):
    # a field the route does not know is a mistake to report (`to` for `assignee`, `type` for `ticket_type`),
    # not to drop silently: 422 naming it
    model_config = ConfigDict(extra="forbid")

    by: str = Field("", max_length=128)  # who acts: the signed-in person when there is a sign-in (the usual case)


class AssignBody(By):
    assignee: str = Field(min_length=1, max_length=128)


class EscalateBody(By):
    reason: str = Field(min_length=1, max_length=2000)
    assignee: str | None = Field(None, max_length=128)


class ResolveBody(By):
    solution: str = Field(min_length=1, max_length=10000)
    cause: str | None = Field(None, max_length=4000)


class CloseBody(By):
    confirmed_by: str | None = Field(None, max_length=128)


class ReopenBody(By):
    reason: str = Field(min_length=1, max_length=2000)


class EditBody(By):
    ticket_type: str | None = None
    priority: str | None = None
    specialty: str | None = Field(None, max_length=64)
    summary: str | None = Field(None, max_length=500)
    description: str | None = Field(None, max_length=10000)
    caller_name: str | None = Field(None, max_length=128)


def tickets_of(request: Request) -> Tickets:
    """The running tickets (`live['tickets']`), or built from the app's settings on first use."""
    state = request.app.state
    tickets: Tickets | None = state.live.get("tickets") or getattr(state, "tickets", None)
    if tickets is None:
        from hotline.api.alerts import monitor_of
        from hotline.services.monitor.incidents import IncidentService

        try:
            tickets = build_tickets(state.settings, state.factory, state.clock,
                                    incidents=IncidentService(monitor_of(request)))
        except ConfigError as e:
            raise HTTPException(503, str(e)) from None
        state.tickets = tickets
    return tickets


def _full(request: Request, view: TicketView) -> dict[str, Any]:
    tickets, tz = tickets_of(request), request.app.state.settings.tz
    data = view.as_dict(tz)
    data["timeline"] = [change_dict(c, tz) for c in tickets.desk.timeline(view.ticket.ticket_id)]
    data["caller_directory"] = tickets.desk.caller(view.ticket.caller_key)
    return data


def _who(request: Request, given: str) -> str:
    """Who acts: the signed-in person (never free text from the request when there is a sign-in)."""
    principal = getattr(request.state, "principal", None)
    if principal is not None:
        return str(principal.name)
    if not given.strip():
        raise HTTPException(400, "缺少操作人 by / `by` is needed (no signed-in person)")
    return given


def ticket_call(act: Callable[[], T]) -> T:
    """`act()`, with the ticket desk's errors as HTTP: a ticket not found 404, a value that is none of the
    configured ones 422, a change refused 409."""
    try:
        return act()
    except TicketNotFound as e:
        raise HTTPException(404, str(e)) from None
    except InvalidValue as e:  # an unknown type, priority, specialty or field: the request is wrong
        raise HTTPException(422, str(e)) from None
    except TicketError as e:
        raise HTTPException(409, str(e)) from None


def _do(request: Request, act: Any) -> dict[str, Any]:
    return ticket_call(lambda: _full(request, act(tickets_of(request).desk)))


@router.get("/tickets")
def tickets_page(request: Request) -> HTMLResponse:
    """The staff screens: ticket list, ticket page, screen pop, knowledge base (links under the public path
    prefix, hotline/api/pages.py)."""
    load_in_background()  # the knowledge base's dictionary, while the page is read: its first search need not wait
    settings = request.app.state.settings
    names = {code: specialty_name(settings, code) for code in settings.specialties}
    return render(request, "tickets.html", specialties=json.dumps(names, ensure_ascii=False))


@router.get("/api/tickets")
def list_tickets(request: Request, state: str = "open", assignee: str | None = None, tier: str | None = None,
                 caller: str | None = None, limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
    try:
        key = outside_number(caller).key if caller else None
        views = tickets_of(request).desk.find(state=state, assignee=assignee, tier=tier, caller=key, limit=limit)
    except ValueError as e:
        raise HTTPException(400, f"参数无效 / bad parameter: {e}") from None
    tz = request.app.state.settings.tz
    return [v.as_dict(tz) for v in views]


@router.get("/api/tickets/screen-pop")
def screen_pop(request: Request, number: str) -> dict[str, Any]:
    """What staff see when they answer `number`: its open ticket, its earlier tickets, the directory entry."""
    parsed = try_parse_number(number)
    if parsed is None:
        raise HTTPException(400, f"不是电话号码 / not a phone number: {number!r}")
    desk = tickets_of(request).desk
    tz = request.app.state.settings.tz
    current = desk.open_ticket_of(parsed.key)
    history = [v.as_dict(tz) for v in desk.find(state="all", caller=parsed.key, limit=20)]
    return {"number": parsed.national, "caller": desk.caller(parsed.key),
            "open_ticket": _full(request, current) if current else None, "history": history}


class CallerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=128)
    organisation: str | None = Field(None, max_length=128)
    notes: str | None = Field(None, max_length=4000)


@router.put("/api/callers/{number}")
def set_caller(request: Request, number: str, body: CallerBody) -> dict[str, Any]:
    """The caller directory's entry for `number` (name, organisation, notes)."""
    try:
        return tickets_of(request).desk.set_caller(number, **body.model_dump())
    except TicketError as e:
        raise HTTPException(400, str(e)) from None


@router.get("/api/tickets/{ticket_id}")
def show_ticket(request: Request, ticket_id: str) -> dict[str, Any]:
    return _do(request, lambda d: d.get(ticket_id))


@router.post("/api/tickets/{ticket_id}/assign")
def assign(request: Request, ticket_id: str, body: AssignBody) -> dict[str, Any]:
    return _do(request, lambda d: d.assign(ticket_id, body.assignee, _who(request, body.by)))


@router.post("/api/tickets/{ticket_id}/start")
def start(request: Request, ticket_id: str, body: By) -> dict[str, Any]:
    return _do(request, lambda d: d.start(ticket_id, _who(request, body.by)))


@router.post("/api/tickets/{ticket_id}/escalate")
def escalate(request: Request, ticket_id: str, body: EscalateBody) -> dict[str, Any]:
    return _do(request, lambda d: d.escalate(ticket_id, body.reason, _who(request, body.by), body.assignee))


@router.post("/api/tickets/{ticket_id}/resolve")
def resolve(request: Request, ticket_id: str, body: ResolveBody) -> dict[str, Any]:
    return _do(request, lambda d: d.resolve(ticket_id, body.solution, _who(request, body.by), body.cause))


@router.post("/api/tickets/{ticket_id}/close")
def close(request: Request, ticket_id: str, body: CloseBody) -> dict[str, Any]:
    return _do(request, lambda d: d.close(ticket_id, _who(request, body.by), body.confirmed_by))


@router.post("/api/tickets/{ticket_id}/reopen")
def reopen(request: Request, ticket_id: str, body: ReopenBody) -> dict[str, Any]:
    return _do(request, lambda d: d.reopen(ticket_id, _who(request, body.by), body.reason))


@router.post("/api/tickets/{ticket_id}/report")
def report(request: Request, ticket_id: str, body: By) -> dict[str, Any]:
    """An urgent ticket was reported to the maintenance lead (the linked incident too)."""
    return _do(request, lambda d: d.major_reported(ticket_id, _who(request, body.by)))


@router.patch("/api/tickets/{ticket_id}")
def edit(request: Request, ticket_id: str, body: EditBody) -> dict[str, Any]:
    values = body.model_dump(exclude={"by"}, exclude_none=True)
    return _do(request, lambda d: d.edit(ticket_id, _who(request, body.by), **values))


class ArticleEdit(By):
    title: str | None = Field(None, max_length=200)
    problem: str | None = Field(None, max_length=10000)
    cause: str | None = Field(None, max_length=4000)
    solution: str | None = Field(None, max_length=10000)
    specialty: str | None = Field(None, max_length=64)
    tags: str | None = Field(None, max_length=500)


def _article(request: Request, act: Any) -> dict[str, Any]:
    kb: KnowledgeBase = tickets_of(request).kb
    try:
        article: Article = ticket_call(lambda: act(kb))
    except ArticleNotFound as e:
        raise HTTPException(404, str(e)) from None
    return article.as_dict(request.app.state.settings.tz)


@router.get("/api/kb")
def search_kb(request: Request, q: str, specialty: str | None = None, drafts: bool = False,
              limit: int = Query(20, ge=1, le=200)) -> list[dict[str, Any]]:
    tz = request.app.state.settings.tz
    found = tickets_of(request).kb.search(q, specialty=specialty, include_drafts=drafts, limit=limit)
    return [a.as_dict(tz) for a in found]


@router.get("/api/kb/{article_id}")
def show_article(request: Request, article_id: int) -> dict[str, Any]:
    return _article(request, lambda kb: kb.get(article_id))


@router.patch("/api/kb/{article_id}")
def edit_article(request: Request, article_id: int, body: ArticleEdit) -> dict[str, Any]:
    values = body.model_dump(exclude={"by"}, exclude_none=True)
    return _article(request, lambda kb: kb.edit(article_id, _who(request, body.by), **values))


@router.post("/api/kb/{article_id}/publish")
def publish_article(request: Request, article_id: int, body: By) -> dict[str, Any]:
    return _article(request, lambda kb: kb.publish(article_id, _who(request, body.by)))


@router.post("/api/tickets/{ticket_id}/kb-draft")
def draft_article(request: Request, ticket_id: str, body: By) -> dict[str, Any]:
    return _article(request, lambda kb: kb.draft_from_ticket(ticket_id, _who(request, body.by)))


@router.get("/api/tickets/{ticket_id}/suggestions")
def suggestions(request: Request, ticket_id: str) -> list[dict[str, Any]]:
    tz = request.app.state.settings.tz
    try:
        return [a.as_dict(tz) for a in tickets_of(request).kb.suggest(ticket_id)]
    except TicketNotFound as e:
        raise HTTPException(404, str(e)) from None
