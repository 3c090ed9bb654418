"""Personal data across the ledger, the monitor's tables, the tickets, the satisfaction surveys and the complaint
forms, by caller number: what is held (a person's export), erasing it (the rows stay for the statistics, the
number and name go), and retention."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from hotline.domain.numbers import without_number
from hotline.domain.surveys import LIVE
from hotline.store.alerts import (
    SURVEY_PURPOSE,
    AlertCallRow,
    AlertEventRow,
    AlertRow,
    AlertStepRow,
    IncidentRow,
    OutboxRow,
    PageAttemptRow,
)
from hotline.store.calls import CallRow, RawEventRow
from hotline.store.complaints import ComplaintFormRow, ComplaintFormVersionRow
from hotline.store.recordings import RecordingRow
from hotline.store.surveys import SurveyAnswerRow, SurveyRow, SurveyTryRow, thanks_key
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
# a survey SMS or call to a caller whose data went: no number, no name (still a valid paging Recipient)
ERASED_RECIPIENT = json.dumps({"name": ERASED}, ensure_ascii=False)
# The complaint form (《客户投诉反馈表》) in the caller's own words: blanked like a ticket's description; the
# staff's fields (investigation, cause, measures, feedback given) stay, scrubbed of the number and the name.
COMPLAINT_CALLERS_WORDS = ("complaint", "confirmation")
COMPLAINT_STAFF_WORDS = ("investigation", "cause", "measures", "feedback")
LIVE_SURVEYS = tuple(str(x) for x in LIVE)


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
    ticket_ids = [t.ticket_id for t in tickets]
    surveys = _surveys_of(s, forms, ticket_ids)
    survey_pages = [p for p in _survey_pages(s, [r.survey_id for r in surveys]) if p.id not in {q.id for q in pages}]
    return {"calls": [_plain(r) for r in calls], "alerts": [_plain(r) for r in alerts],
            "pages": [{k: v for k, v in _plain(p).items() if k not in ("ack_url", "recipient", "ack_code")}
                      for p in [*pages, *survey_pages]],
            "tickets": [_plain(r) for r in tickets], "callers": [_plain(r) for r in callers],
            "recordings": [_plain(r) for r in recordings],
            "surveys": [_survey(s, r) for r in surveys], "complaint_forms": _complaint_forms(s, ticket_ids)}


def _surveys_of(s: Session, forms: Collection[str], ticket_ids: Collection[str]) -> list[SurveyRow]:
    """The surveys that name one of `forms` or are of one of `ticket_ids`."""
    return list(s.scalars(select(SurveyRow).where(or_(SurveyRow.caller.in_(forms), SurveyRow.caller_key.in_(forms),
                                                      SurveyRow.ticket_id.in_(ticket_ids)))
                          .order_by(SurveyRow.resolved_at, SurveyRow.survey_id)))


def _survey(s: Session, row: SurveyRow) -> dict[str, Any]:
    """A survey as exported: its answers and tries with it; not its token (a secret of the webhook links)."""
    out = {k: v for k, v in _plain(row).items() if k != "token"}
    out["answers"] = [_plain(a) for a in s.scalars(select(SurveyAnswerRow).where(
        SurveyAnswerRow.survey_id == row.survey_id).order_by(SurveyAnswerRow.id))]
    out["tries"] = [_plain(t) for t in s.scalars(select(SurveyTryRow).where(
        SurveyTryRow.survey_id == row.survey_id).order_by(SurveyTryRow.id))]
    return out


def _survey_pages(s: Session, survey_ids: Collection[int]) -> list[OutboxRow]:
    """The outbox rows that asked (or thanked) the caller of `survey_ids`: their tries' and thank-you SMS."""
    if not survey_ids:
        return []
    tries = select(SurveyTryRow.page_key).where(SurveyTryRow.survey_id.in_(survey_ids))
    return list(s.scalars(select(OutboxRow).where(OutboxRow.purpose == SURVEY_PURPOSE, or_(
        OutboxRow.key.in_(tries), OutboxRow.key.in_([thanks_key(i) for i in survey_ids]))).order_by(OutboxRow.id)))


def _complaint_forms(s: Session, ticket_ids: Collection[str]) -> list[dict[str, Any]]:
    """The complaint forms of `ticket_ids` as they stand, each with its saved versions."""
    if not ticket_ids:
        return []
    out = []
    for form in s.scalars(select(ComplaintFormRow).where(ComplaintFormRow.ticket_id.in_(ticket_ids))
                          .order_by(ComplaintFormRow.ticket_id)):
        versions = s.scalars(select(ComplaintFormVersionRow).where(ComplaintFormVersionRow.ticket_id ==
                                                                   form.ticket_id)
                             .order_by(ComplaintFormVersionRow.version))
        out.append({**_plain(form), "versions": [_plain(v) for v in versions]})
    return out


def _scrub(text: str | None, forms: Collection[str]) -> str | None:
    """`text` without the caller's number (however it is written) and name."""
    return None if text is None else without_number(text, forms, ERASED)


def erase(s: Session, forms: Collection[str], now: datetime) -> dict[str, int]:
    """Replace the number and the caller's name wherever they are held; raw provider events of those
    calls are deleted (their bytes hold the number); a survey still to be asked is cancelled at `now`.
    Counts per table."""
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
    counts.update(_anonymise_tickets(s, tickets, now, forms))
    # surveys that name the number but whose ticket no longer does (its caller was corrected since)
    counts["surveys"] += _anonymise_surveys(s, [r for r in _surveys_of(s, forms, ()) if r.caller_key != ERASED],
                                            forms, now)
    gone = s.execute(delete(CallerRow).where(or_(CallerRow.number.in_(forms), CallerRow.caller_key.in_(forms))))
    counts["callers"] = int(getattr(gone, "rowcount", 0) or 0)
    s.execute(delete(MissedCallRow).where(MissedCallRow.caller_key.in_(forms)))
    return counts


def recordings_of_number(s: Session, forms: Collection[str]) -> list[RecordingRow]:
    """The recordings of the calls of a number not purged yet (before `erase` blanks the calls' numbers)."""
    calls = select(CallRow.call_id).where(or_(CallRow.caller.in_(forms), CallRow.called.in_(forms)))
    return list(s.scalars(select(RecordingRow).where(RecordingRow.call_id.in_(calls),
                                                     RecordingRow.purged_at.is_(None))))


def _anonymise_tickets(s: Session, tickets: list[TicketRow], now: datetime,
                       extra_forms: Collection[str] = ()) -> dict[str, int]:
    """The caller's number, name and own words out of `tickets`, their history, their surveys and complaint
    forms, and the knowledge articles drafted from them; the rest stays for the statistics and the knowledge
    base (the solution, scrubbed of the number and the name). Counts of tickets, surveys and forms."""
    counts = {"tickets": len(tickets), "surveys": 0, "complaint_forms": 0}
    forms_of: dict[str, set[str]] = {}
    for ticket in tickets:
        forms = {f for f in (ticket.caller, ticket.caller_key, ticket.caller_name, ticket.confirmed_by,
                             *extra_forms) if f and len(f) >= 2 and f != ERASED}  # a one-letter name: no
        forms_of[ticket.ticket_id] = forms
        _scrub_articles(s, ticket, forms)
        surveys = list(s.scalars(select(SurveyRow).where(SurveyRow.ticket_id == ticket.ticket_id)))
        counts["surveys"] += _anonymise_surveys(s, surveys, forms, now)
        counts["complaint_forms"] += _anonymise_complaint_form(s, ticket.ticket_id, forms)
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
    _anonymise_ticket_pages(s, forms_of)
    return counts


def _anonymise_ticket_pages(s: Session, forms_of: dict[str, set[str]]) -> None:
    """The pages about the tickets of `forms_of` (hand-offs, SLA pages, survey outcomes: outbox key
    `T<ticket>:...`) lose the caller's number, and their texts the number and the name."""
    if not forms_of:
        return
    for p in s.scalars(select(OutboxRow).where(OutboxRow.alert_id.is_(None), OutboxRow.caller.is_not(None),
                                               OutboxRow.key.like("T%"))):
        forms = forms_of.get(p.key.partition(":")[0][1:])
        if forms is not None:
            p.caller, p.text, p.subject = None, _scrub(p.text, forms) or "", _scrub(p.subject, forms) or ""


def _anonymise_surveys(s: Session, surveys: list[SurveyRow], extra_forms: Collection[str], now: datetime) -> int:
    """The caller's number out of `surveys`, their tries, answers and the SMS or calls that asked them (the
    recipient's mobile); the staff's note is scrubbed of the number and the name. Scores, dates, status and
    outcomes stay. A survey still to be asked is cancelled (nobody to ask any more)."""
    for row in surveys:
        forms = {f for f in (row.caller, row.caller_key, *extra_forms) if f and len(f) >= 2 and f != ERASED}
        if row.status in LIVE_SURVEYS:
            row.status, row.next_try_at, row.wait_until, row.ended_at = "cancelled", None, None, now
            row.note = "个人信息已删除 / the caller's data was erased"
        row.caller, row.caller_key, row.note = ERASED, ERASED, _scrub(row.note, forms)
        for t in s.scalars(select(SurveyTryRow).where(SurveyTryRow.survey_id == row.survey_id)):
            t.detail = _scrub(t.detail, forms)
        for a in s.scalars(select(SurveyAnswerRow).where(SurveyAnswerRow.survey_id == row.survey_id)):
            a.question_text = _scrub(a.question_text, forms) or ""
        _anonymise_survey_pages(s, _survey_pages(s, [row.survey_id]), forms, now)
    return len(surveys)


def _anonymise_survey_pages(s: Session, pages: Iterable[OutboxRow], forms: Collection[str], now: datetime) -> None:
    """Survey SMS and calls to the caller: no number, no name; one not sent yet is not sent."""
    for p in pages:
        if p.status == "pending":
            p.status, p.last_error, p.lease_until = "cancelled", "个人信息已删除 / the caller's data was erased", None
        p.recipient, p.caller, p.person = ERASED_RECIPIENT, None, ERASED
        p.text, p.subject = _scrub(p.text, forms) or "", _scrub(p.subject, forms) or ""
        p.last_error = _scrub(p.last_error, forms)
        for a in s.scalars(select(PageAttemptRow).where(PageAttemptRow.outbox_id == p.id)):
            a.error = _scrub(a.error, forms)


def _anonymise_complaint_form(s: Session, ticket_id: str, forms: Collection[str]) -> int:
    """The complaint form of `ticket_id` and its versions: the caller's own words blanked, the number and the
    name scrubbed from the staff's fields; versions, who saved them and when stay. 1 if it has a form."""
    rows: list[ComplaintFormRow | ComplaintFormVersionRow] = [
        *s.scalars(select(ComplaintFormRow).where(ComplaintFormRow.ticket_id == ticket_id)),
        *s.scalars(select(ComplaintFormVersionRow).where(ComplaintFormVersionRow.ticket_id == ticket_id))]
    for row in rows:
        for name in COMPLAINT_CALLERS_WORDS:
            setattr(row, name, "")
        for name in COMPLAINT_STAFF_WORDS:
            setattr(row, name, _scrub(getattr(row, name), forms) or "")
    return int(any(isinstance(r, ComplaintFormRow) for r in rows))


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


def anonymise_closed_tickets(s: Session, closed_before: datetime, now: datetime) -> dict[str, int]:
    """Retention of tickets: closed before `closed_before` and not anonymised yet -> anonymised, with their
    surveys and complaint forms; the caller directory entries no remaining ticket names, unchanged since, are
    deleted; missed calls that never became a ticket, older than that, too."""
    due = list(s.scalars(select(TicketRow).where(TicketRow.status == "closed", TicketRow.closed_at < closed_before,
                                                 TicketRow.caller_key != ERASED)))
    counts = _anonymise_tickets(s, due, now)
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
        done = (OutboxRow.created_at < page_texts_before, OutboxRow.status.in_(("sent", "failed", "cancelled")))
        blank = update(OutboxRow).where(*done, OutboxRow.text != "").values(text="", subject="", caller=None)
        counts["page_texts"] = int(getattr(s.execute(blank), "rowcount", 0) or 0)
        # a survey's SMS or call went to the caller: their mobile goes with the text
        s.execute(update(OutboxRow).where(*done, OutboxRow.purpose == SURVEY_PURPOSE,
                                          OutboxRow.recipient != ERASED_RECIPIENT)
                  .values(recipient=ERASED_RECIPIENT, person=ERASED))
    return counts


def count_calls(s: Session) -> int:
    return int(s.scalar(select(func.count()).select_from(CallRow)) or 0)
