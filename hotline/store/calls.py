"""The call ledger tables: calls, the raw provider events behind them, and listener outages."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    delete,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column

from hotline.domain.calls import Call, Direction, Leg, Party, Transfer
from hotline.store.base import Base, UtcDateTime
from hotline.store.text_values import clean_row, text_limits


class CallRow(Base):
    __tablename__ = "calls"

    call_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(8))
    caller: Mapped[str | None] = mapped_column(String(64))
    caller_name: Mapped[str | None] = mapped_column(String(128))
    called: Mapped[str | None] = mapped_column(String(64))
    queue: Mapped[str | None] = mapped_column(String(64))
    specialty: Mapped[str | None] = mapped_column(String(64))
    menu: Mapped[str | None] = mapped_column(String(8))
    outcome: Mapped[str | None] = mapped_column(String(16))
    answered_by: Mapped[str | None] = mapped_column(String(64))
    hung_up_by: Mapped[str | None] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    staff_reached_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    wait_seconds: Mapped[float | None] = mapped_column(Float)
    talk_seconds: Mapped[float | None] = mapped_column(Float)
    estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    # The legs of a transferred call as JSON ([{who, queue, answered, ended, talk, transfer}]); NULL: one leg.
    legs: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_calls_started_at", "started_at"),
        Index("ix_calls_caller", "caller"),
        Index("ix_calls_called", "called"),
        Index("ix_calls_direction_started_at", "direction", "started_at", "outcome"),
    )


class RawEventRow(Base):
    """The raw provider events of one hotline call, append-only (audit, re-derivation).

    One row holds a run of a call's packets, concatenated exactly as received (AMI packets end in a
    blank line, so the blob splits back into packets); late packets (trailing Cdr) add a row.
    """

    __tablename__ = "raw_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(16))
    call_id: Mapped[str | None] = mapped_column(String(64))
    first_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    events: Mapped[int] = mapped_column(Integer)
    names: Mapped[str] = mapped_column(Text)  # event names, comma-separated, for quick audit queries
    digest: Mapped[str] = mapped_column(String(40), unique=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (Index("ix_raw_events_call_id", "call_id"), Index("ix_raw_events_first_at", "first_at"),
                      Index("ix_raw_events_last_at", "last_at"))


class OutageRow(Base):
    """A span in which the listener was not connected to the PBX."""

    __tablename__ = "listener_outages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reason: Mapped[str | None] = mapped_column(Text)


class HeartbeatRow(Base):
    """When a listener was last alive (written every few seconds while it runs)."""

    __tablename__ = "listener_heartbeats"

    provider: Mapped[str] = mapped_column(String(16), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime)


def call_values(call: Call) -> dict[str, Any]:
    """The calls row of `call`, its text made storable (see text_values)."""
    outcome = call.outcome
    return clean_row({
        "call_id": call.call_id,
        "provider": call.provider,
        "direction": str(call.direction),
        "caller": call.caller,
        "caller_name": call.caller_name,
        "called": call.called,
        "queue": call.queue,
        "specialty": call.specialty,
        "menu": call.menu,
        "outcome": str(outcome) if outcome else None,
        "answered_by": call.answered_by,
        "hung_up_by": str(call.hung_up_by) if call.hung_up_by else None,
        "started_at": call.started_at,
        "staff_reached_at": call.staff_reached_at,
        "answered_at": call.answered_at,
        "ended_at": call.ended_at,
        "wait_seconds": call.wait_seconds,
        "talk_seconds": call.talk_seconds,
        "estimated": call.estimated,
        "legs": json.dumps(call.leg_dicts(), ensure_ascii=False) if call.transferred else None,
    }, CALL_TEXT_LIMITS)


CALL_TEXT_LIMITS = text_limits(CallRow.__table__)  # type: ignore[arg-type]
RAW_TEXT_LIMITS = text_limits(RawEventRow.__table__)  # type: ignore[arg-type]


def _insert(conn: Connection | Session, table: Any) -> Any:
    name = conn.get_bind().dialect.name if isinstance(conn, Session) else conn.dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"unsupported database {name!r} (use SQLite or PostgreSQL)")


def upsert_calls(conn: Connection | Session, calls: Sequence[Call]) -> None:
    """Insert or update calls by call_id (idempotent)."""
    if not calls:
        return
    rows = [call_values(c) for c in calls]
    table = CallRow.__table__
    stmt = _insert(conn, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["call_id"],
        set_={c: getattr(stmt.excluded, c) for c in rows[0] if c != "call_id"},
    )
    conn.execute(stmt, rows)


def insert_raw_events(conn: Connection | Session, rows: Sequence[dict[str, Any]]) -> None:
    """Append raw events; an event already stored (same digest) is left as it is."""
    if not rows:
        return
    stmt = _insert(conn, RawEventRow.__table__).on_conflict_do_nothing(index_elements=["digest"])
    conn.execute(stmt, [clean_row(r, RAW_TEXT_LIMITS) for r in rows])


def row_as_dict(row: CallRow, tz: Any) -> dict[str, Any]:
    """A stored call in the shape of `Call.as_dict()`, with the outcome and figures as recorded."""

    def iso(t: datetime | None) -> str | None:
        return None if t is None else t.astimezone(tz).isoformat()

    return {
        "type": "call", "call_id": row.call_id, "provider": row.provider, "direction": row.direction,
        "caller": row.caller, "caller_name": row.caller_name, "called": row.called, "queue": row.queue,
        "specialty": row.specialty, "menu": row.menu, "outcome": row.outcome, "answered_by": row.answered_by,
        "hung_up_by": row.hung_up_by,
        "wait_seconds": None if row.wait_seconds is None else round(row.wait_seconds, 3),
        "talk_seconds": None if row.talk_seconds is None else round(row.talk_seconds, 3),
        "started_at": iso(row.started_at), "answered_at": iso(row.answered_at), "ended_at": iso(row.ended_at),
        "estimated": row.estimated, "legs": row_legs(row),
    }


def row_legs(row: CallRow) -> list[dict[str, Any]]:
    """The stored legs of a transferred call; [] for a call with one leg (its row says it all)."""
    if not row.legs:
        return []
    legs: list[dict[str, Any]] = json.loads(row.legs)
    return legs


def row_to_call(row: CallRow) -> Call:
    call = Call(
        call_id=row.call_id, provider=row.provider, direction=Direction(row.direction),
        started_at=row.started_at, caller=row.caller, caller_name=row.caller_name, called=row.called,
        queue=row.queue, specialty=row.specialty, menu=row.menu, staff_reached_at=row.staff_reached_at,
        answered_at=row.answered_at, answered_by=row.answered_by, ended_at=row.ended_at,
        hung_up_by=Party(row.hung_up_by) if row.hung_up_by else None, estimated=row.estimated,
    )
    for leg in row_legs(row):  # an open call reloaded after a restart keeps the legs it had
        call.legs.append(Leg(who=leg.get("who"), queue=leg.get("queue"), answered_at=_time(leg.get("answered")),
                             ended_at=_time(leg.get("ended")),
                             transfer=Transfer(leg["transfer"]) if leg.get("transfer") else None))
    return call


def _time(text: str | None) -> datetime | None:
    return None if not text else datetime.fromisoformat(text)


def load_calls(session: Session, start: datetime | None = None, end: datetime | None = None,
               direction: str | None = None) -> list[CallRow]:
    """Ledger rows started in [start, end), oldest first."""
    stmt = select(CallRow).order_by(CallRow.started_at, CallRow.call_id)
    if start is not None:
        stmt = stmt.where(CallRow.started_at >= start)
    if end is not None:
        stmt = stmt.where(CallRow.started_at < end)
    if direction is not None:
        stmt = stmt.where(CallRow.direction == direction)
    return list(session.scalars(stmt))


def purge_raw_events_chunk(session: Session, before: datetime, chunk: int = 1000) -> int:
    """Drop at most `chunk` raw-event runs older than the retention horizon (found by the `last_at`
    index); returns how many. Call again, each in its own transaction, until it returns 0."""
    ids = select(RawEventRow.id).where(RawEventRow.last_at < before).limit(chunk).scalar_subquery()
    result = session.execute(delete(RawEventRow).where(RawEventRow.id.in_(ids)))
    return int(getattr(result, "rowcount", 0) or 0)


def record_outage(session: Session, provider: str, started_at: datetime, ended_at: datetime | None,
                  reason: str | None) -> None:
    session.add(OutageRow(provider=provider, started_at=started_at, ended_at=ended_at, reason=reason))


def beat(session: Session, provider: str, at: datetime) -> None:
    """The listener of `provider` is alive at `at`."""
    row = session.get(HeartbeatRow, provider)
    if row is None:
        session.add(HeartbeatRow(provider=provider, seen_at=at))
    else:
        row.seen_at = at


def last_beat(session: Session, provider: str) -> datetime | None:
    row = session.get(HeartbeatRow, provider)
    return None if row is None else row.seen_at


def open_outages(session: Session, provider: str) -> list[OutageRow]:
    """Outages not yet ended (a listener stopped and not yet back)."""
    return list(session.scalars(select(OutageRow).where(OutageRow.provider == provider,
                                                        OutageRow.ended_at.is_(None))))


def raw_events_of(session: Session, call_id: str) -> Iterable[RawEventRow]:
    return session.scalars(select(RawEventRow).where(RawEventRow.call_id == call_id).order_by(RawEventRow.id))
