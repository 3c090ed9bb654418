"""The audit log: who did what, when, from where. Written in the same transaction as the change where
the service makes one (accounts, logins), and by the API guard for every state-changing request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.store.access import AuditRow
from hotline.store.base import unit_of_work

AUDIT_COLUMNS = ("at", "actor", "person", "address", "action", "target", "outcome", "detail")


def record(s: Session, at: datetime, *, actor: str, action: str, target: str, outcome: str,
           person: str | None = None, address: str | None = None, detail: str | None = None) -> None:
    s.add(AuditRow(at=at, actor=actor[:64], person=person, address=address, action=action, target=target,
                   outcome=outcome, detail=detail))


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    person: str | None
    address: str | None
    action: str
    target: str
    outcome: str
    detail: str | None

    def as_dict(self, tz: ZoneInfo) -> dict[str, Any]:
        return {"at": self.at.astimezone(tz).isoformat(), "actor": self.actor, "person": self.person,
                "address": self.address, "action": self.action, "target": self.target, "outcome": self.outcome,
                "detail": self.detail}


class AuditLog:
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def add(self, at: datetime, *, actor: str, action: str, target: str, outcome: str, person: str | None = None,
            address: str | None = None, detail: str | None = None) -> None:
        with unit_of_work(self.factory) as s:
            record(s, at, actor=actor, action=action, target=target, outcome=outcome, person=person,
                   address=address, detail=detail)

    def entries(self, start: datetime | None = None, end: datetime | None = None, action: str | None = None,
                limit: int = 1000) -> list[AuditEntry]:
        """Newest first."""
        stmt = select(AuditRow).order_by(AuditRow.at.desc(), AuditRow.audit_id.desc()).limit(limit)
        if start is not None:
            stmt = stmt.where(AuditRow.at >= start)
        if end is not None:
            stmt = stmt.where(AuditRow.at < end)
        if action:
            stmt = stmt.where(AuditRow.action == action)
        with unit_of_work(self.factory) as s:
            return [AuditEntry(r.at, r.actor, r.person, r.address, r.action, r.target, r.outcome, r.detail)
                    for r in s.scalars(stmt)]
