"""Declarative base, engine factory (SQLite WAL or PostgreSQL) and schema migration."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

from sqlalchemy import ARRAY, ColumnElement, DateTime, Engine, MetaData, any_, bindparam, create_engine, event, text
from sqlalchemy.dialects.sqlite import DATETIME as SQLITE_DATETIME
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK = 0x686F746C696E65  # "hotline": the advisory lock taken around schema migrations
SQLITE_DATETIME_FORMAT = SQLITE_DATETIME._storage_format  # SQLAlchemy's default text of a datetime on SQLite
SQLITE_TEXT = "%04d-%02d-%02d %02d:%02d:%02d.%06d"  # the same, with the values in order (no dict, no replace)

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
        utc = aware_utc(value)
        return utc.replace(tzinfo=None) if utc is not None and dialect.name == "sqlite" else utc

    def bind_processor(self, dialect: Any) -> Callable[[datetime | None], Any] | None:
        """`process_bind_param` then the dialect's own conversion, in one function per dialect: a big insert
        converts tens of thousands of datetimes, and TypeDecorator's generic chain costs two calls and a look-up
        of the dialect's name per value (and on SQLite a `replace` and a dict). Stores exactly what the chain stores
        (tests/integration/test_utc_datetime.py compares the two)."""
        impl = self.impl_instance.bind_processor(dialect)
        if dialect.name != "sqlite":
            if impl is not None:  # no driver here has one; kept for one that does
                return super().bind_processor(dialect)
            return aware_utc
        if getattr(self.impl_instance, "_storage_format", None) != SQLITE_DATETIME_FORMAT:
            return super().bind_processor(dialect)

        def sqlite_text(value: datetime | None) -> str | None:
            u = aware_utc(value)
            return None if u is None else SQLITE_TEXT % (u.year, u.month, u.day, u.hour, u.minute, u.second,
                                                         u.microsecond)

        return sqlite_text

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def aware_utc(value: datetime | None) -> datetime | None:
    """A UtcDateTime's value in UTC (the same object when already in UTC); a naive one is refused."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UtcDateTime column")
    return value.astimezone(UTC)


def local_text(stored: str | None, tz: str, fmt: str) -> str | None:
    """SQLite's `hotline_local(started_at, 'Asia/Shanghai', '%Y-%m-%d')`: a stored UTC time, formatted
    in a timezone (PostgreSQL does this with `to_char(timezone(tz, t), ...)`)."""
    if stored is None:
        return None
    return datetime.fromisoformat(stored).replace(tzinfo=UTC).astimezone(ZoneInfo(tz)).strftime(fmt)


def sqlite_file(url: URL) -> Path | None:
    """The file a SQLite URL names; None for another database or an in-memory one."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def make_engine(url: str, echo: bool = False) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout, its folder is created."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        db = sqlite_file(parsed)
        if db is not None:
            try:
                db.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:  # reported like SQLite's own "unable to open database file"
                raise OperationalError(f"create folder of {db}", None, e) from e
        # busy timeout: 30 s unless the URL says otherwise (`?timeout=2`)
        connect_args = {} if "timeout" in parsed.query else {"timeout": 30}
        engine = create_engine(url, echo=echo, connect_args=connect_args)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            if db is not None:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
            dbapi_conn.create_function("hotline_local", 3, local_text, deterministic=True)

        return engine
    engine = create_engine(url, echo=echo, pool_pre_ping=True)
    if parsed.get_driver_name() == "psycopg":

        @event.listens_for(engine, "connect")
        def _binary_arrays(dbapi_conn: Any, _record: Any) -> None:
            # Python lists (the arrays of `among` and of the tickets' `unnest` inserts) sent in PostgreSQL's
            # binary format: psycopg's text format escapes every element in Python (8 us a datetime, against
            # 0.4 us in binary); the values received are the same.
            from psycopg.types.array import ListBinaryDumper

            dbapi_conn.adapters.register_dumper(list, ListBinaryDumper)

    return engine


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


T = TypeVar("T")
IN_CHUNK = 500  # values per IN (...) list: SQLite's bound-parameter limit is far; PostgreSQL's plans stay small


def chunks(values: Sequence[T], size: int = IN_CHUNK) -> list[Sequence[T]]:
    """`values` in slices of `size`, for one `among` each."""
    return [values[i:i + size] for i in range(0, len(values), size)]


def among(s: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """`column IN (values)`; on PostgreSQL `column = ANY(:values)`, one bound array: the statement's text is the
    same whatever the number of values, so the driver converts and prepares it once, not once per length of
    the list (an IN list of a new length was a new statement to psycopg in every batch)."""
    if s.get_bind().dialect.name == "postgresql":
        return cast(ColumnElement[bool], column == any_(bindparam(None, list(values), type_=ARRAY(column.type))))
    return cast(ColumnElement[bool], column.in_(values))


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
