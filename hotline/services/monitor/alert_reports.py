"""Reports on missed calls: the unreturned list (who called, when, how often, who was paged, who
acknowledged) and, per cleared alert, how long until the caller was reached."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.domain.alerts import Alert, AlertKind, AlertState
from hotline.services.reports.live_figures import attempt_result
from hotline.store.alerts import AlertEventRow, AlertRow, OutboxRow, PageAttemptRow, is_active
from hotline.store.base import chunks, unit_of_work


@dataclass(frozen=True)
class Unreturned:
    alert_id: str
    caller: str | None
    caller_name: str | None
    specialty: str | None
    first_missed_at: datetime
    last_missed_at: datetime | None
    missed_calls: int
    paged: tuple[str, ...]
    acked_by: str | None
    deadline_at: datetime
    breached: bool
    paged_dry_run: tuple[str, ...] = ()  # those of `paged` whose pages only a dry run took: nothing was sent

    def as_dict(self, tz: ZoneInfo) -> dict[str, object]:
        return {
            "alert_id": self.alert_id, "caller": self.caller, "caller_name": self.caller_name,
            "specialty": self.specialty, "first_missed_at": self.first_missed_at.astimezone(tz).isoformat(),
            "last_missed_at": self.last_missed_at.astimezone(tz).isoformat() if self.last_missed_at else None,
            "missed_calls": self.missed_calls, "paged": list(self.paged), "paged_dry_run": list(self.paged_dry_run),
            "acked_by": self.acked_by, "deadline_at": self.deadline_at.astimezone(tz).isoformat(),
            "breached": self.breached,
        }


@dataclass(frozen=True)
class Returned:
    alert_id: str
    caller: str | None
    missed_at: datetime
    reached_at: datetime
    how: str  # callback | repeat
    minutes: float
    breached: bool

    def as_dict(self, tz: ZoneInfo) -> dict[str, object]:
        return {"alert_id": self.alert_id, "caller": self.caller,
                "missed_at": self.missed_at.astimezone(tz).isoformat(),
                "reached_at": self.reached_at.astimezone(tz).isoformat(), "how": self.how,
                "returned_within_minutes": round(self.minutes, 1), "breached": self.breached}


def unreturned(factory: sessionmaker[Session], limit: int = 1000) -> list[Unreturned]:
    """Open missed-call alerts, oldest first."""
    with unit_of_work(factory) as s:
        rows = s.scalars(select(AlertRow).where(AlertRow.kind == str(AlertKind.MISSED_CALL),
                                                is_active())
                         .order_by(AlertRow.opened_at).limit(limit)).all()
        ids = [r.alert_id for r in rows]
        paged: dict[str, list[str]] = {i: [] for i in ids}
        if ids:
            for alert_id, person in s.execute(
                    select(AlertEventRow.alert_id, AlertEventRow.person)
                    .where(AlertEventRow.alert_id.in_(ids), AlertEventRow.type == "page")
                    .order_by(AlertEventRow.at, AlertEventRow.id)):
                if person and person not in paged[alert_id]:
                    paged[alert_id].append(person)
        dry = _paged_in_dry_run_only(s, ids)
        return [Unreturned(r.alert_id, r.caller, r.caller_name, r.specialty, r.opened_at, r.last_missed_at,
                           r.missed_calls, tuple(paged[r.alert_id]), r.acked_by, r.deadline_at,
                           r.breached_at is not None,
                           tuple(p for p in paged[r.alert_id] if (r.alert_id, p) in dry)) for r in rows]


def _paged_in_dry_run_only(s: Session, alert_ids: list[str]) -> set[tuple[str, str]]:
    """(alert, person) pairs whose page attempts were all a dry run's: printed or skipped, never sent."""
    result = attempt_result()
    seen: dict[tuple[str, str], set[str]] = {}
    for part in chunks(alert_ids):
        for alert_id, person, outcome in s.execute(
                select(OutboxRow.alert_id, OutboxRow.person, result).distinct()
                .join(PageAttemptRow, PageAttemptRow.outbox_id == OutboxRow.id)
                .where(OutboxRow.alert_id.in_(part))):
            seen.setdefault((str(alert_id), person), set()).add(str(outcome))
    return {key for key, outcomes in seen.items() if outcomes == {"dry_run"}}


def returned(factory: sessionmaker[Session], start: datetime | None = None, end: datetime | None = None,
             limit: int | None = None) -> list[Returned]:
    """Cleared missed-call alerts (the caller was reached), by time of the missed call."""
    stmt = select(AlertRow).where(AlertRow.kind == str(AlertKind.MISSED_CALL),
                                  AlertRow.state == str(AlertState.CLEARED)).order_by(AlertRow.opened_at).limit(limit)
    if start is not None:
        stmt = stmt.where(AlertRow.opened_at >= start)
    if end is not None:
        stmt = stmt.where(AlertRow.opened_at < end)
    with unit_of_work(factory) as s:
        out = []
        for r in s.scalars(stmt):
            if r.cleared_at is None:
                continue
            how = (r.cleared_by or "").split(":", 1)[0]
            out.append(Returned(r.alert_id, r.caller, r.opened_at, r.cleared_at, how,
                                (r.cleared_at - r.opened_at).total_seconds() / 60, r.breached_at is not None))
        return out


def alert_view(alert: Alert, tz: ZoneInfo) -> dict[str, object]:
    """An alert as the API and `hotline alerts list --json` show it."""

    def iso(t: datetime | None) -> str | None:
        return None if t is None else t.astimezone(tz).isoformat()

    within = alert.returned_within
    return {
        "alert_id": alert.alert_id, "kind": str(alert.kind), "state": str(alert.state), "window": alert.window,
        "caller": alert.caller, "caller_name": alert.caller_name, "specialty": alert.specialty,
        "title": alert.title, "missed_calls": alert.missed_calls, "opened_at": iso(alert.opened_at),
        "last_missed_at": iso(alert.last_missed_at), "deadline_at": iso(alert.deadline_at),
        "next_step_at": iso(alert.step_due_at), "acked_by": alert.acked_by, "acked_at": iso(alert.acked_at),
        "ack_until": iso(alert.ack_until), "breached_at": iso(alert.breached_at), "cleared_at": iso(alert.cleared_at),
        "cleared_by": alert.cleared_by, "resolved_by": alert.resolved_by, "resolution": alert.resolution,
        "returned_within_minutes": None if within is None else round(within.total_seconds() / 60, 1),
    }
