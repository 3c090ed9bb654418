"""Recordings of callers' voices that hotline knows of: today the voicemail messages Twilio records (the IVR's
voicemail node, `<Record>`: the audio stays at Twilio, hotline gets `RecordingSid`/`RecordingUrl` in the
Record action's request, kept in raw_events). The references are collected into `recordings` so that the
retention can delete the audio at Twilio after the raw events themselves have expired.

Asterisk keeps its recordings as files (voicemail spool, MixMonitor); those are purged by age from the
directories `[privacy] recording_dirs` names (hotline/services/privacy/recording_files.py)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Float, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from hotline.store.base import Base, UtcDateTime
from hotline.store.calls import RawEventRow

RECORD_ROUTE = "recorded"  # the IVR's Record action (hotline/providers/twilio/verbs.py EVENT_ROUTES)


class RecordingRow(Base):
    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(16))  # twilio
    recording_sid: Mapped[str] = mapped_column(String(64), unique=True)  # RE...
    call_id: Mapped[str | None] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(Text)  # RecordingUrl; None once purged
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    purged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_recordings_recorded_at", "recorded_at"), Index("ix_recordings_call_id", "call_id"))


def collect_twilio(s: Session) -> int:
    """Add the recordings named by stored Record-action requests that are not in `recordings` yet."""
    known = set(s.scalars(select(RecordingRow.recording_sid)))
    added = 0
    rows = s.execute(select(RawEventRow.call_id, RawEventRow.first_at, RawEventRow.raw)
                     .where(RawEventRow.provider == "twilio", RawEventRow.names.like(f"{RECORD_ROUTE}%")))
    for call_id, first_at, raw in rows:
        for line in bytes(raw).decode("utf-8", "replace").splitlines():
            try:
                params = json.loads(line).get("params", {})
            except (ValueError, AttributeError):
                continue
            sid = params.get("RecordingSid") if isinstance(params, dict) else None
            if not isinstance(sid, str) or not sid or sid in known or first_at is None:
                continue
            try:
                duration: float | None = float(params.get("RecordingDuration", ""))
            except ValueError:
                duration = None
            s.add(RecordingRow(provider="twilio", recording_sid=sid, call_id=call_id,
                               url=params.get("RecordingUrl") or None, duration_seconds=duration,
                               recorded_at=first_at))
            known.add(sid)
            added += 1
    s.flush()
    return added


def due(s: Session, before: datetime) -> list[RecordingRow]:
    """Recordings made before `before` whose audio is not purged yet."""
    return list(s.scalars(select(RecordingRow).where(RecordingRow.recorded_at < before,
                                                     RecordingRow.purged_at.is_(None))
                          .order_by(RecordingRow.recorded_at)))


def of_calls(s: Session, call_ids: list[str]) -> list[RecordingRow]:
    return list(s.scalars(select(RecordingRow).where(RecordingRow.call_id.in_(call_ids)))) if call_ids else []


def mark_purged(s: Session, ids: list[int], at: datetime) -> None:
    """The audio of these recordings is gone: their URL is dropped, the row (when, how long) stays."""
    for row in s.scalars(select(RecordingRow).where(RecordingRow.id.in_(ids))) if ids else []:
        row.url, row.purged_at = None, at
