"""Optional one-way push of tickets to an outside helpdesk (Zammad): our ticket table stays the source of
truth. Each ticket change is pushed by a short engine cycle outside the ticket's own transaction; a failed
push is retried later with a growing pause and never loses or blocks a ticket."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from hotline.domain.tickets import Ticket
from hotline.services.tickets.settings import TicketContext
from hotline.store.base import unit_of_work
from hotline.store.tickets import TicketPushRow, TicketRow, row_to_ticket

log = logging.getLogger(__name__)


class PushError(Exception):
    """The helpdesk did not take the ticket (the message says what it answered)."""


class Helpdesk(Protocol):
    """An outside helpdesk that receives our tickets."""

    def create(self, ticket: Ticket) -> str:
        """Create the ticket there; returns its id there."""
        ...

    def update(self, remote_id: str, ticket: Ticket) -> None: ...


ZAMMAD_STATE = {"new": "new", "in_progress": "open", "escalated": "open", "resolved": "pending close",
                "closed": "closed"}
ZAMMAD_PRIORITY = {"normal": "2 normal", "important": "3 high", "urgent": "3 high"}


@dataclass(frozen=True)
class ZammadConfig:
    url: str  # https://helpdesk.example.com
    token: str  # HOTLINE_ZAMMAD_TOKEN (an API token with ticket.agent)
    group: str = "Users"
    customer: str = ""  # the Zammad customer tickets are filed under (e-mail or login)
    timeout: float = 10.0


class Zammad:
    """Zammad's REST API: POST /api/v1/tickets to create, PUT /api/v1/tickets/{id} to update."""

    def __init__(self, config: ZammadConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self.client = httpx.Client(base_url=config.url.rstrip("/"), timeout=config.timeout, transport=transport,
                                   headers={"Authorization": f"Token token={config.token}"})

    def _send(self, method: str, path: str, body: Mapping[str, Any]) -> Any:
        try:
            response = self.client.request(method, path, json=body)
        except httpx.HTTPError as e:
            raise PushError(f"Zammad 无法连接 / not reachable: {type(e).__name__}") from None
        if response.status_code >= 300:
            raise PushError(f"Zammad 拒绝 / refused: HTTP {response.status_code} {response.text[:200]}")
        return response.json()

    def _fields(self, t: Ticket) -> dict[str, Any]:
        return {"title": f"{t.ticket_id} {t.summary or t.caller}", "group": self.config.group,
                "state": ZAMMAD_STATE[str(t.status)], "priority": ZAMMAD_PRIORITY[str(t.priority)]}

    def create(self, ticket: Ticket) -> str:
        body = {**self._fields(ticket), "customer": self.config.customer or None,
                "article": {"subject": ticket.summary or ticket.ticket_id, "type": "phone", "internal": False,
                            "body": f"热线工单 / hotline ticket {ticket.ticket_id}\n来电 caller: {ticket.caller}\n"
                                    f"{ticket.description or ''}"}}
        data = self._send("POST", "/api/v1/tickets", body)
        return str(data["id"])

    def update(self, remote_id: str, ticket: Ticket) -> None:
        self._send("PUT", f"/api/v1/tickets/{remote_id}", self._fields(ticket))


class PushEngine:
    """Pushes changed tickets; `next_due`/`tick` like the other engines on the monitor's scheduler."""

    def __init__(self, ctx: TicketContext, helpdesk: Helpdesk, *, retry: timedelta = timedelta(minutes=1),
                 max_pause: timedelta = timedelta(hours=1), batch: int = 100) -> None:
        self.ctx = ctx
        self.helpdesk = helpdesk
        self.retry = retry
        self.max_pause = max_pause
        self.batch = batch

    def _due(self) -> Any:
        """When each ticket's push is due: a retry's time, else the change's time (NULL: pushed)."""
        changed = or_(TicketPushRow.ticket_id.is_(None), TicketPushRow.pushed_version.is_(None),
                      TicketPushRow.pushed_version < TicketRow.updated_at)
        due = func.coalesce(TicketPushRow.next_attempt_at, TicketRow.updated_at)
        return (select(TicketRow, TicketPushRow, due.label("due"))
                .outerjoin(TicketPushRow, TicketPushRow.ticket_id == TicketRow.ticket_id).where(changed), due)

    def next_due(self) -> datetime | None:
        stmt, _ = self._due()
        with unit_of_work(self.ctx.factory) as s:
            value: datetime | None = s.scalar(select(func.min(stmt.subquery().c.due)))
        return value

    def tick(self, now: datetime | None = None) -> int:
        now = now or self.ctx.clock.now()
        stmt, due = self._due()
        with unit_of_work(self.ctx.factory) as s:
            todo = [(row_to_ticket(t), p.remote_id if p else None, p.attempts if p else 0, t.updated_at)
                    for t, p, _ in s.execute(stmt.where(due <= now).order_by(due).limit(self.batch))]
        results = [self._one(ticket, remote, attempts, version, now) for ticket, remote, attempts, version in todo]
        with unit_of_work(self.ctx.factory) as s:
            for values in results:
                self._store(s, values)
        return len(results)

    def _one(self, ticket: Ticket, remote: str | None, attempts: int, version: datetime,
             now: datetime) -> dict[str, Any]:
        try:
            if remote is None:
                remote = self.helpdesk.create(ticket)
            else:
                self.helpdesk.update(remote, ticket)
        except Exception as e:  # a helpdesk failure must never reach the ticket
            pause = min(self.retry * 2 ** attempts, self.max_pause)
            log.warning("ticket %s not pushed (attempt %d): %s", ticket.ticket_id, attempts + 1, e)
            return {"ticket_id": ticket.ticket_id, "remote_id": remote, "attempts": attempts + 1,
                    "last_error": str(e)[:500], "next_attempt_at": now + pause}
        return {"ticket_id": ticket.ticket_id, "remote_id": remote, "pushed_version": version, "attempts": 0,
                "last_error": None, "next_attempt_at": None}

    def _store(self, s: Session, values: dict[str, Any]) -> None:
        row = s.get(TicketPushRow, values["ticket_id"])
        if row is None:
            row = TicketPushRow(ticket_id=values["ticket_id"], attempts=0)
            s.add(row)
        for k, v in values.items():
            setattr(row, k, v)

    def status(self, ticket_id: str) -> dict[str, Any] | None:
        with unit_of_work(self.ctx.factory) as s:
            row = s.get(TicketPushRow, ticket_id)
            if row is None:
                return None
            return {"remote_id": row.remote_id, "pushed_version": row.pushed_version, "attempts": row.attempts,
                    "last_error": row.last_error, "next_attempt_at": row.next_attempt_at}
