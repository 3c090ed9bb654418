"""Instance leases: one row per name says which running hotline holds it until when.

A lease is taken (or renewed) with one conditional UPDATE, or one INSERT when the name has no row yet;
on SQLite and PostgreSQL alike, of two instances racing for it exactly one wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, delete, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from hotline.store.base import Base, UtcDateTime, unit_of_work


class LeaseRow(Base):
    __tablename__ = "instance_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    renewed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


@dataclass(frozen=True)
class Holder:
    holder: str
    expires_at: datetime


def take_lease(factory: sessionmaker[Session], name: str, holder: str, now: datetime,
               ttl: timedelta) -> Holder | None:
    """Take or renew the lease `name` for `holder` until now + ttl. None when taken; else who holds it."""
    values = {"holder": holder, "renewed_at": now, "expires_at": now + ttl}
    with unit_of_work(factory) as s:
        taken = s.execute(update(LeaseRow).where(
            LeaseRow.name == name, or_(LeaseRow.holder == holder, LeaseRow.expires_at <= now)).values(**values))
        if getattr(taken, "rowcount", 0) == 1:
            return None
    try:
        with unit_of_work(factory) as s:
            if s.get(LeaseRow, name) is None:
                s.add(LeaseRow(name=name, **values))
                s.flush()
                return None
    except IntegrityError:
        pass  # another instance inserted it first
    with factory() as s:
        row = s.get(LeaseRow, name)
        return Holder(row.holder, row.expires_at) if row is not None else Holder("?", now)


def release_lease(factory: sessionmaker[Session], name: str, holder: str) -> None:
    """Give the lease up (a graceful stop), so that another instance may take it at once."""
    with unit_of_work(factory) as s:
        s.execute(delete(LeaseRow).where(LeaseRow.name == name, LeaseRow.holder == holder))
