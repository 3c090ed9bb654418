"""The monitor's tables: alerts, the calls they gathered, their history, the escalation steps done,
the paging outbox with every send attempt, and declared incidents."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ColumnElement, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql import text

from hotline.domain.alerts import ACTIVE, Alert, AlertKind, AlertState, next_due
from hotline.store.base import Base, UtcDateTime


class AlertRow(Base):
    __tablename__ = "alerts"

    alert_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    window: Mapped[str] = mapped_column("service_window", String(16))
    caller: Mapped[str | None] = mapped_column(String(64))
    caller_name: Mapped[str | None] = mapped_column(String(128))
    specialty: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(Text)
    ack_code: Mapped[str | None] = mapped_column(String(16))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    deadline_at: Mapped[datetime] = mapped_column(UtcDateTime)
    missed_calls: Mapped[int] = mapped_column(Integer, default=1)
    last_missed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    step_index: Mapped[int] = mapped_column(Integer, default=0)
    repeat_no: Mapped[int] = mapped_column(Integer, default=0)
    step_base_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    step_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acked_by: Mapped[str | None] = mapped_column(String(128))
    ack_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    breached_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cleared_by: Mapped[str | None] = mapped_column(String(128))
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(128))
    resolution: Mapped[str | None] = mapped_column(Text)
    # When the engine next has to look at this alert (NULL once closed): the scheduler's index.
    next_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_alerts_next_due_at", "next_due_at"),
        Index("ix_alerts_state_caller", "state", "caller"),
        Index("ix_alerts_opened_at", "opened_at"),
        Index("ix_alerts_ack_code", "ack_code"),
    )


class AlertCallRow(Base):
    """A missed call that opened or joined an alert (a call belongs to one alert at most: replaying a
    trace twice, or two processes hearing the same call, open one alert)."""

    __tablename__ = "alert_calls"

    call_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    alert_id: Mapped[str] = mapped_column(String(32), ForeignKey("alerts.alert_id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    outcome: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (Index("ix_alert_calls_alert_id", "alert_id"),)


class AlertEventRow(Base):
    """The history of an alert: opened, joined, page, skip, hole, ack, breach, clear, resolve."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(String(32), ForeignKey("alerts.alert_id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    type: Mapped[str] = mapped_column(String(16))
    tier: Mapped[str | None] = mapped_column(String(16))
    person: Mapped[str | None] = mapped_column(String(128))
    channel: Mapped[str | None] = mapped_column(String(32))
    step: Mapped[str | None] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_alert_events_alert_id", "alert_id"), Index("ix_alert_events_at", "at"))


class AlertStepRow(Base):
    """One escalation page position done (paged or skipped): the engine's record that it fired."""

    __tablename__ = "alert_steps"

    alert_id: Mapped[str] = mapped_column(String(32), ForeignKey("alerts.alert_id"), primary_key=True)
    step: Mapped[str] = mapped_column(String(16), primary_key=True)
    tier: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    done_at: Mapped[datetime] = mapped_column(UtcDateTime)
    result: Mapped[str] = mapped_column(String(16))  # paged | skipped


SURVEY_PURPOSE = "survey"  # outbox rows that are survey tries (calls / SMS to callers), not pages
# the literal predicate of the partial index ix_outbox_survey_ended and of the query that uses it (SQLite uses a
# partial index only when the query's condition is written the same way, without bound parameters)
SURVEY_ENDED_SQL = text("outbox.purpose = 'survey' AND outbox.status IN ('failed', 'cancelled')")


class OutboxRow(Base):
    """One page decided: sent by whichever process claims it first; the key makes it unique."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255))
    alert_id: Mapped[str | None] = mapped_column(String(32), ForeignKey("alerts.alert_id"))
    purpose: Mapped[str] = mapped_column(String(16))  # page | breach | hole
    step: Mapped[str | None] = mapped_column(String(16))
    tier: Mapped[str | None] = mapped_column(String(16))
    person: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(32))
    fallback: Mapped[str] = mapped_column(Text, default="")  # further channels, comma separated
    recipient: Mapped[str] = mapped_column(Text)  # JSON of paging.base.Recipient
    subject: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    ack_url: Mapped[str | None] = mapped_column(Text)
    ack_code: Mapped[str | None] = mapped_column(String(16))
    caller: Mapped[str | None] = mapped_column(String(64))
    specialty: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16))  # pending | sending | sent | failed | cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    provider_id: Mapped[str | None] = mapped_column(String(128))
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_via: Mapped[str | None] = mapped_column(String(32))  # the channel that delivered (a fallback?)

    __table_args__ = (
        UniqueConstraint("key", name="uq_outbox_key"),
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_outbox_alert_id", "alert_id"),
        # survey tries that reached nobody, read by the survey engine's cycle (migration 0019)
        Index("ix_outbox_survey_ended", "created_at", postgresql_where=SURVEY_ENDED_SQL, sqlite_where=SURVEY_ENDED_SQL),
    )


class PageAttemptRow(Base):
    """Every delivery attempt of an outbox page and what the channel said."""

    __tablename__ = "page_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    outbox_id: Mapped[int] = mapped_column(Integer, ForeignKey("outbox.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    channel: Mapped[str] = mapped_column(String(32))
    ok: Mapped[bool] = mapped_column(Boolean)
    provider_id: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(Text)
    retryable: Mapped[bool] = mapped_column(Boolean, default=False)
    seconds: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (Index("ix_page_attempts_outbox_id", "outbox_id"),)


class IncidentRow(Base):
    """A declared major incident; its report deadline is tracked by the alert of the same id."""

    __tablename__ = "incidents"

    incident_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    alert_id: Mapped[str] = mapped_column(String(32), ForeignKey("alerts.alert_id"))
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    specialty: Mapped[str | None] = mapped_column(String(64))
    declared_by: Mapped[str] = mapped_column(String(128))
    declared_at: Mapped[datetime] = mapped_column(UtcDateTime)
    report_deadline_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reported_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reported_by: Mapped[str | None] = mapped_column(String(128))


_COPIED = (
    "alert_id", "window", "caller", "caller_name", "specialty", "title", "ack_code", "opened_at",
    "deadline_at", "missed_calls", "last_missed_at", "step_index", "repeat_no", "step_base_at", "step_due_at",
    "acked_at", "acked_by", "ack_until", "breached_at", "cleared_at", "cleared_by", "resolved_at",
    "resolved_by", "resolution",
)


_ACTIVE_STATES = tuple(sorted(str(x) for x in ACTIVE))


def is_active() -> ColumnElement[bool]:
    """The filter for alerts still open (open or acknowledged): the one place that spells it."""
    return AlertRow.state.in_(_ACTIVE_STATES)


def row_is_active(row: AlertRow) -> bool:
    """`is_active` for a row already loaded."""
    return row.state in _ACTIVE_STATES


def active_alert_id_by_code(s: Session, code: str) -> str | None:
    """The open alert that a short acknowledgement code (SMS reply, voice keypad) names, if any."""
    return s.scalar(select(AlertRow.alert_id).where(AlertRow.ack_code == code.strip(), is_active()))


def row_to_alert(row: AlertRow) -> Alert:
    values = {name: getattr(row, name) for name in _COPIED}
    return Alert(kind=AlertKind(row.kind), state=AlertState(row.state), **values)


def alert_to_row(alert: Alert, row: AlertRow | None) -> AlertRow:
    """Copy the alert into `row` (a new row when None), with when the engine next needs it."""
    if row is None:
        row = AlertRow(**{name: getattr(alert, name) for name in _COPIED})
    else:
        for name in _COPIED:  # only what changed: cheaper, and the UPDATE names only those columns
            value = getattr(alert, name)
            if getattr(row, name) != value:
                setattr(row, name, value)
    if row.kind != str(alert.kind):
        row.kind = str(alert.kind)
    if row.state != str(alert.state):
        row.state = str(alert.state)
    next_due_at = next_due(alert)
    if row.next_due_at != next_due_at:
        row.next_due_at = next_due_at
    return row
