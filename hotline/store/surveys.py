"""The surveys' tables: one survey per resolved ticket (its tries, status and outcome as columns, so that
reports are plain SQL), every try, and every answer with the question text it answered."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hotline.store.base import Base, UtcDateTime


def thanks_key(survey_id: int) -> str:
    """The outbox key of a survey's thank-you SMS (one per survey)."""
    return f"survey-thanks-{survey_id}"


class SurveyRow(Base):
    __tablename__ = "surveys"

    survey_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(String(32), ForeignKey("tickets.ticket_id"))
    caller_key: Mapped[str] = mapped_column(String(32))
    caller: Mapped[str] = mapped_column(String(32))
    way: Mapped[str] = mapped_column(String(16))  # asterisk | twilio | sms | manual
    status: Mapped[str] = mapped_column(String(16))
    specialty: Mapped[str | None] = mapped_column(String(64))
    staff: Mapped[str | None] = mapped_column(String(128))  # the assignee when resolved (reports by staff)
    resolved_by: Mapped[str | None] = mapped_column(String(128))  # may not record the score
    resolved_at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_by: Mapped[datetime] = mapped_column(UtcDateTime)  # resolved_at + the 24 h limit
    next_try_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    wait_until: Mapped[datetime | None] = mapped_column(UtcDateTime)  # answers of the try out are awaited
    round: Mapped[int] = mapped_column(Integer, default=1)  # a re-resolved ticket's survey starts a new round
    tries: Mapped[int] = mapped_column(Integer, default=0)  # tries of this round
    token: Mapped[str] = mapped_column(String(32))  # checks keypress events and webhook links
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    answered_via: Mapped[str | None] = mapped_column(String(16))
    recorded_by: Mapped[str | None] = mapped_column(String(128))  # staff who recorded it by hand
    solved: Mapped[bool | None] = mapped_column(Boolean)
    score: Mapped[int | None] = mapped_column(Integer)  # overall satisfaction
    full_score: Mapped[int] = mapped_column(Integer, default=5)
    complaint_ticket_id: Mapped[str | None] = mapped_column(String(32))
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("ticket_id", name="uq_surveys_ticket_id"),
        Index("ix_surveys_status_next_try_at", "status", "next_try_at"),
        Index("ix_surveys_status_wait_until", "status", "wait_until"),
        Index("ix_surveys_resolved_at", "resolved_at"),
        Index("ix_surveys_caller_key", "caller_key"),
    )


class SurveyTryRow(Base):
    """One try: a call placed or an SMS sent (the outbox row of key `page_key` delivers it)."""

    __tablename__ = "survey_tries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    survey_id: Mapped[int] = mapped_column(Integer, ForeignKey("surveys.survey_id"))
    round: Mapped[int] = mapped_column(Integer)
    try_no: Mapped[int] = mapped_column(Integer)
    way: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    page_key: Mapped[str] = mapped_column(String(255))
    outcome: Mapped[str | None] = mapped_column(String(16))  # answered | no_answer | failed
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    detail: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("survey_id", "round", "try_no", name="uq_survey_tries_try"),
                      Index("ix_survey_tries_page_key", "page_key"))


class SurveyAnswerRow(Base):
    """One answer, with the question's text as it was asked."""

    __tablename__ = "survey_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    survey_id: Mapped[int] = mapped_column(Integer, ForeignKey("surveys.survey_id"))
    question: Mapped[str] = mapped_column(String(32))
    question_text: Mapped[str] = mapped_column(Text)
    value: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    via: Mapped[str] = mapped_column(String(16))

    __table_args__ = (UniqueConstraint("survey_id", "question", name="uq_survey_answers_question"),)
