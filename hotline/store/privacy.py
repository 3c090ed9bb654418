"""Personal data across the ledger and the monitor's tables, by caller number: what is held (a person's
export), erasing it (the rows stay for the statistics, the number and name go), and retention."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from hotline.domain.numbers import without_number
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
from hotline.store.recordings import RecordingRow
from hotline.store.tickets import (
    ArticleRow,
    ArticleTicketRow,
    CallerRow,
    MissedCallRow,
    TicketEventRow,
    TicketRow,
    search_text,
)

# The ticket fields that name or describe the caller: blanked or scrubbed when a ticket is anonymised. What
# the statistics need (type, priority, specialty, tier, status, times, the SLA clocks, who worked it) stays.
CALLER_FIELDS = ("caller", "caller_name", "caller_key", "confirmed_by")

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
    tickets = s.scalars(select(TicketRow).where(or_(TicketRow.caller.in_(forms), TicketRow.caller_key.in_(forms)))
                        .order_by(TicketRow.opened_at)).all()
    callers = s.scalars(select(CallerRow).where(or_(CallerRow.number.in_(forms),
                                                    CallerRow.caller_key.in_(forms)))).all()
    call_ids = [c.call_id for c in calls]
    recordings = s.scalars(select(RecordingRow).where(RecordingRow.call_id.in_(call_ids))).all() if call_ids else []
    return {"calls": [_plain(r) for r in calls], "alerts": [_plain(r) for r in alerts],
            "pages": [{k: v for k, v in _plain(p).items() if k not in ("ack_url", "recipient")} for p in pages],
            "tickets": [_plain(r) for r in tickets], "callers": [_plain(r) for r in callers],
            "recordings": [_plain(r) for r in recordings]}


def _scrub(text: str | None, forms: Collection[str]) -> str | None:
    """`text` without the caller's number (however it is written) and name."""
    return None if text is None else without_number(text, forms, ERASED)


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
    tickets = list(s.scalars(select(TicketRow).where(or_(TicketRow.caller.in_(forms),
                                                         TicketRow.caller_key.in_(forms)))))
    counts["tickets"] = _anonymise_tickets(s, tickets, forms)
    gone = s.execute(delete(CallerRow).where(or_(CallerRow.number.in_(forms), CallerRow.caller_key.in_(forms))))
    counts["callers"] = int(getattr(gone, "rowcount", 0) or 0)
    s.execute(delete(MissedCallRow).where(MissedCallRow.caller_key.in_(forms)))
    return counts


def recordings_of_number(s: Session, forms: Collection[str]) -> list[RecordingRow]:
    """The recordings of the calls of a number not purged yet (before `erase` blanks the calls' numbers)."""
    calls = select(CallRow.call_id).where(or_(CallRow.caller.in_(forms), CallRow.called.in_(forms)))
    return list(s.scalars(select(RecordingRow).where(RecordingRow.call_id.in_(calls),
                                                     RecordingRow.purged_at.is_(None))))


def _anonymise_tickets(s: Session, tickets: list[TicketRow], extra_forms: Collection[str] = ()) -> int:
    """The caller's number, name and own words out of `tickets`, their history and the knowledge articles
    drafted from them; the rest stays for the statistics and the knowledge base (the solution, scrubbed of the
    number and the name)."""
    for ticket in tickets:
        forms = {f for f in (ticket.caller, ticket.caller_key, ticket.caller_name, ticket.confirmed_by,
                             *extra_forms) if f and len(f) >= 2 and f != ERASED}  # a one-letter name: no
        _scrub_articles(s, ticket, forms)
        ticket.caller, ticket.caller_key, ticket.caller_name, ticket.confirmed_by = ERASED, ERASED, None, None
        ticket.open_caller = None
        ticket.description = ""
        ticket.summary = _scrub(ticket.summary, forms) or ""
        ticket.solution, ticket.cause = _scrub(ticket.solution, forms), _scrub(ticket.cause, forms)
        for e in s.scalars(select(TicketEventRow).where(TicketEventRow.ticket_id == ticket.ticket_id)):
            if e.field in CALLER_FIELDS or e.field == "description":
                e.old, e.new = (None if e.old is None else ERASED), (None if e.new is None else ERASED)
            else:
                e.old, e.new = _scrub(e.old, forms), _scrub(e.new, forms)
            e.note = _scrub(e.note, forms)
    return len(tickets)


def _scrub_articles(s: Session, ticket: TicketRow, forms: Collection[str]) -> None:
    """The knowledge articles drafted from `ticket` lose what named its caller: the number and name wherever
    they appear, and the caller's own words (the ticket's description, which a draft copies into its problem);
    the knowledge (title, cause, solution) stays, and the search text follows."""
    articles = select(ArticleTicketRow.article_id).where(ArticleTicketRow.ticket_id == ticket.ticket_id)
    words = (ticket.description or "").strip()
    for a in s.scalars(select(ArticleRow).where(ArticleRow.id.in_(articles))):
        problem = a.problem.replace(words, "").strip("\n") if words else a.problem
        a.title, a.cause, a.solution = (_scrub(a.title, forms) or "", _scrub(a.cause, forms) or "",
                                        _scrub(a.solution, forms) or "")
        a.problem, a.tags = _scrub(problem, forms) or "", _scrub(a.tags, forms) or ""
        a.search_text = search_text(a.title, a.problem, a.cause, a.solution, a.tags)


def anonymise_closed_tickets(s: Session, closed_before: datetime) -> dict[str, int]:
    """Retention of tickets: closed before `closed_before` and not anonymised yet -> anonymised; the caller
    directory entries no remaining ticket names, unchanged since, are deleted; missed calls that never
    became a ticket, older than that, too."""
    due = list(s.scalars(select(TicketRow).where(TicketRow.status == "closed", TicketRow.closed_at < closed_before,
                                                 TicketRow.caller_key != ERASED)))
    counts = {"tickets": _anonymise_tickets(s, due)}
    s.flush()
    still = select(TicketRow.caller_key).where(TicketRow.caller_key != ERASED)
    gone = s.execute(delete(CallerRow).where(CallerRow.updated_at < closed_before, CallerRow.caller_key.not_in(still))
                     .execution_options(synchronize_session=False))
    counts["callers"] = int(getattr(gone, "rowcount", 0) or 0)
    missed = s.execute(delete(MissedCallRow).where(MissedCallRow.ended_at < closed_before))
    counts["missed_calls"] = int(getattr(missed, "rowcount", 0) or 0)
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
