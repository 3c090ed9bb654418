"""Personal data across the ledger and the monitor's tables, by caller number: what is held (a person's
export), erasing it (the rows stay for the statistics, the number and name go), and retention."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from hotline.store.alerts import (
    AlertCallRow,
    AlertEventRow,
    AlertRow,
    AlertStepRow,
    IncidentRow,
    OutboxRow,
    PageAttemptRow,
)
from hotline.store.calls import CallRow, RawEventRow

ERASED = "已删除 erased"


def _plain(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attr in row.__mapper__.column_attrs:
        value = getattr(row, attr.key)
        out[attr.key] = value.isoformat() if isinstance(value, datetime) else value
    return out


def held_for(s: Session, forms: Collection[str]) -> dict[str, list[dict[str, Any]]]:
    """Every call, alert and page that names one of `forms` (the same number written differently)."""
    calls = s.scalars(select(CallRow).where(or_(CallRow.caller.in_(forms), CallRow.called.in_(forms)))
                      .order_by(CallRow.started_at)).all()
    alerts = s.scalars(select(AlertRow).where(AlertRow.caller.in_(forms)).order_by(AlertRow.opened_at)).all()
    pages = s.scalars(select(OutboxRow).where(OutboxRow.caller.in_(forms)).order_by(OutboxRow.id)).all()
    return {"calls": [_plain(r) for r in calls], "alerts": [_plain(r) for r in alerts],
            "pages": [{k: v for k, v in _plain(p).items() if k not in ("ack_url", "recipient")} for p in pages]}


def _scrub(text: str | None, forms: Collection[str]) -> str | None:
    if text is None:
        return None
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, ERASED)
    return text


def erase(s: Session, forms: Collection[str]) -> dict[str, int]:
    """Replace the number and the caller's name wherever they are held; raw provider events of those
    calls are deleted (their bytes hold the number). Counts per table."""
    call_ids = list(s.scalars(select(CallRow.call_id).where(or_(CallRow.caller.in_(forms),
                                                                CallRow.called.in_(forms)))))
    counts = {"calls": len(call_ids)}
    s.execute(update(CallRow).where(CallRow.caller.in_(forms)).values(caller=ERASED, caller_name=None))
    s.execute(update(CallRow).where(CallRow.called.in_(forms)).values(called=ERASED))
    raw = s.execute(delete(RawEventRow).where(RawEventRow.call_id.in_(call_ids))) if call_ids else None
    counts["raw_events"] = int(getattr(raw, "rowcount", 0) or 0)
    alerts = s.scalars(select(AlertRow).where(AlertRow.caller.in_(forms))).all()
    for a in alerts:
        a.caller, a.caller_name, a.title = ERASED, None, _scrub(a.title, forms)
    alert_ids = [a.alert_id for a in alerts]
    counts["alerts"] = len(alerts)
    if alert_ids:
        for e in s.scalars(select(AlertEventRow).where(AlertEventRow.alert_id.in_(alert_ids))):
            e.detail = _scrub(e.detail, forms)
    pages = s.scalars(select(OutboxRow).where(or_(OutboxRow.caller.in_(forms),
                                                  OutboxRow.alert_id.in_(alert_ids or [""])))).all()
    for p in pages:
        p.caller, p.text, p.subject = None, _scrub(p.text, forms) or "", _scrub(p.subject, forms) or ""
    counts["pages"] = len(pages)
    return counts


def purge(s: Session, *, calls_before: datetime | None, alerts_before: datetime | None,
          page_texts_before: datetime | None) -> dict[str, int]:
    """Retention: delete calls (and their raw events) and closed alerts (with their history, steps,
    pages and incidents) older than the horizons; blank the texts of older pages. Counts per kind."""
    counts: dict[str, int] = {}
    if calls_before is not None:
        old = select(CallRow.call_id).where(CallRow.started_at < calls_before)
        s.execute(delete(AlertCallRow).where(AlertCallRow.call_id.in_(old)))
        s.execute(delete(RawEventRow).where(RawEventRow.call_id.in_(old)))
        counts["calls"] = int(getattr(s.execute(delete(CallRow).where(CallRow.started_at < calls_before)),
                                      "rowcount", 0) or 0)
    if alerts_before is not None:
        closed = select(AlertRow.alert_id).where(AlertRow.next_due_at.is_(None), AlertRow.opened_at < alerts_before)
        ids = list(s.scalars(closed))
        if ids:
            outbox = select(OutboxRow.id).where(OutboxRow.alert_id.in_(ids))
            s.execute(delete(PageAttemptRow).where(PageAttemptRow.outbox_id.in_(outbox)))
            for table in (OutboxRow, AlertEventRow, AlertStepRow, AlertCallRow, IncidentRow):
                s.execute(delete(table).where(table.alert_id.in_(ids)))
            s.execute(delete(AlertRow).where(AlertRow.alert_id.in_(ids)))
        counts["alerts"] = len(ids)
    if page_texts_before is not None:
        blank = (update(OutboxRow).where(OutboxRow.created_at < page_texts_before, OutboxRow.text != "",
                                         OutboxRow.status.in_(("sent", "failed", "cancelled")))
                 .values(text="", subject="", caller=None))
        counts["page_texts"] = int(getattr(s.execute(blank), "rowcount", 0) or 0)
    return counts


def count_calls(s: Session) -> int:
    return int(s.scalar(select(func.count()).select_from(CallRow)) or 0)
