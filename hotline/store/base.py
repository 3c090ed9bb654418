"""Declarative base, engine factory (SQLite WAL or PostgreSQL) and schema migration."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK = 0x686F746C696E65  # "hotline": the advisory lock taken around schema migrations

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes stored as UTC; read back as aware UTC datetimes on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UtcDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def local_text(stored: str | None, tz: str, fmt: str) -> str | None:
    """SQLite's `hotline_local(started_at, 'Asia/Shanghai', '%Y-%m-%d')`: a stored UTC time, formatted
    in a timezone (PostgreSQL does this with `to_char(timezone(tz, t), ...)`)."""
    if stored is None:
        return None
    return datetime.fromisoformat(stored).replace(tzinfo=UTC).astimezone(ZoneInfo(tz)).strftime(fmt)


def make_engine(url: str, echo: bool = False) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout, its folder is created."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:":
            try:
                Path(db).parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:  # reported like SQLite's own "unable to open database file"
                raise OperationalError(f"create folder of {db}", None, e) from e
        # busy timeout: 30 s unless the URL says otherwise (`?timeout=2`)
        connect_args = {} if "timeout" in parsed.query else {"timeout": 30}
        engine = create_engine(url, echo=echo, connect_args=connect_args)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            if db and db != ":memory:":
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
            dbapi_conn.create_function("hotline_local", 3, local_text, deterministic=True)

        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def claim_writer(session: Session, table: str) -> None:
    """Make the session's transaction the database's writer before it reads, on SQLite.

    PostgreSQL engines share work with `SELECT ... FOR UPDATE SKIP LOCKED`; SQLite ignores that
    clause, so two engines on one file would read the same rows and the second would fail on its
    write. A write that changes nothing takes SQLite's write lock at once (the driver opens the
    transaction before it); the second engine then waits (busy timeout) and reads the first one's
    result. `table` must be a trusted table name, never user input."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text(f"UPDATE {table} SET rowid = rowid WHERE 0"))


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` with Alembic (idempotent)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Two processes starting on a fresh database would both create the tables (UniqueViolation
            # on alembic_version): the second waits here and then finds the schema up to date. The lock
            # is the transaction's, released at its commit or rollback.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
