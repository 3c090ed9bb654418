"""Answers stored against a survey, each with the text of the question as the caller heard or read it (the
survey IVR's prompt, the SMS as sent; by hand: the question's wording), and the survey marked answered:
when staff record it, when an SMS reply arrives, when every question asked on the phone has its digit, or
when the wait for keypresses ends with the required ones in (the optional sub-scores are optional)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hotline.domain.surveys import QUESTIONS, Answer, SurveyPolicy, SurveyStatus, Way, complete
from hotline.store.alerts import OutboxRow
from hotline.store.surveys import SurveyAnswerRow, SurveyRow, SurveyTryRow

_KNOWN = {q.key: q for q in QUESTIONS}


def current_try(s: Session, row: SurveyRow) -> SurveyTryRow | None:
    return s.scalar(select(SurveyTryRow).where(SurveyTryRow.survey_id == row.survey_id,
                                               SurveyTryRow.round == row.round, SurveyTryRow.try_no == row.tries))


def stored(s: Session, row: SurveyRow) -> list[Answer]:
    """The survey's answers so far (a question asked again keeps its latest answer)."""
    return [Answer(_KNOWN[a.question], a.value) for a in s.scalars(select(SurveyAnswerRow).where(
        SurveyAnswerRow.survey_id == row.survey_id)) if a.question in _KNOWN]


def store(s: Session, row: SurveyRow, answers: Sequence[Answer], via: Way, now: datetime,
          texts: Mapping[str, str] | None = None) -> list[Answer]:
    """Store `answers` with the question text asked (`texts` by question key, else the question's wording);
    returns every answer of the survey so far."""
    rows = {a.question: a for a in s.scalars(select(SurveyAnswerRow).where(
        SurveyAnswerRow.survey_id == row.survey_id))}
    for a in answers:
        old = rows.get(a.question.key)
        if old is None:
            old = SurveyAnswerRow(survey_id=row.survey_id, question=a.question.key)
            s.add(old)
            rows[a.question.key] = old
        old.question_text = (texts or {}).get(a.question.key) or a.question.text
        old.value, old.at, old.via = a.value, now, str(via)
    s.flush()
    return [Answer(_KNOWN[k], v.value) for k, v in rows.items() if k in _KNOWN]


def finish(s: Session, row: SurveyRow, have: Sequence[Answer], via: Way, at: datetime, *, by: str | None = None,
           note: str | None = None) -> None:
    """Mark the survey answered with `have`; a try still out (by hand) is withdrawn."""
    values = {a.question.key: a.value for a in have}
    row.status, row.answered_at, row.answered_via = str(SurveyStatus.ANSWERED), at, str(via)
    row.solved = None if "solved" not in values else values["solved"] == 1
    row.score, row.next_try_at, row.wait_until = values.get("overall"), None, None
    row.recorded_by = by
    if note:
        row.note = note
    attempt = current_try(s, row)
    if attempt is not None and attempt.outcome is None and via is not Way.MANUAL:
        attempt.outcome, attempt.ended_at = "answered", at
    if via is Way.MANUAL:  # a try still out is not needed any more
        s.execute(update(OutboxRow).where(
            OutboxRow.key.in_(select(SurveyTryRow.page_key).where(SurveyTryRow.survey_id == row.survey_id)),
            OutboxRow.status == "pending").values(status="cancelled", last_error="已人工回访 / recorded by hand"))


def answered_when_wait_ends(s: Session, row: SurveyRow, policy: SurveyPolicy) -> bool:
    """A call whose wait for keypresses ended: answered when the required questions have their digits (the
    caller hung up during the optional sub-scores), at the time of the last answer."""
    have = stored(s, row)
    if not have or not complete(have, policy):
        return False
    last = s.scalar(select(func.max(SurveyAnswerRow.at)).where(SurveyAnswerRow.survey_id == row.survey_id))
    finish(s, row, have, Way(row.way), last or row.wait_until or row.created_at)
    return True
