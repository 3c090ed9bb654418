"""Database faults for the reliability tests and bench/faults.py: a PostgreSQL database of its own that
can be made unavailable (no new connections, backends terminated) and allowed again, a SQLite file
locked past the busy timeout, and calls as provider-neutral events (names from the roster)."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hotline.domain.calls import AttemptResult, CallEvent, Direction, EventKind, Party

# Callers' names as the PBX may deliver them: real Chinese names, a name from bytes invalid in UTF-8
# and GB18030 (decoded with surrogateescape), a NUL byte, one longer than the column.
NAMES = ("张伟", "李娜", "王强", "陈静", "赵敏", b"\xff\xfe\x80".decode("utf-8", "surrogateescape") + "刘",
         "周\x00杰", "欧阳" * 100)


class PgDatabase:
    """A PostgreSQL database created for one test (never the shared `test` database itself)."""

    def __init__(self, base_url: str) -> None:
        self.name = f"hotline_fault_{uuid.uuid4().hex[:10]}"
        url = make_url(base_url)
        self.url = url.set(database=self.name).render_as_string(hide_password=False)
        self.admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")

    def create(self) -> None:
        with self.admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{self.name}"'))

    def make_unavailable(self) -> int:
        """No new connections, and every open one terminated; returns how many were terminated."""
        with self.admin.connect() as c:
            c.execute(text(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false'))
            return len(c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                      "WHERE datname = :d AND pid <> pg_backend_pid()"), {"d": self.name}).all())

    def allow(self) -> None:
        with self.admin.connect() as c:
            c.execute(text(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true'))

    def drop(self) -> None:
        self.allow()
        with self.admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


@contextmanager
def pg_database(base_url: str) -> Iterator[PgDatabase]:
    db = PgDatabase(base_url)
    db.create()
    try:
        yield db
    finally:
        db.drop()


@contextmanager
def sqlite_locked(path: str) -> Iterator[sqlite3.Connection]:
    """Hold SQLite's exclusive lock on `path` (no other connection may read or write) until the block ends."""
    conn = sqlite3.connect(path, timeout=5, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN EXCLUSIVE")
    try:
        yield conn
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def call_events(n: int, at: datetime, *, missed: bool, prefix: str = "f") -> list[CallEvent]:
    """The events of inbound call number `n`: missed (caller hangs up in the queue after 20 s) or answered.
    Each call has its own caller number (so each missed call opens its own alert)."""
    cid = f"{prefix}{n:05d}"
    caller, name = f"1380013{n % 10000:04d}", NAMES[n % len(NAMES)]
    ev = [CallEvent(cid, EventKind.STARTED, at, direction=Direction.INBOUND, caller=caller, caller_name=name,
                    called="4008001234"),
          CallEvent(cid, EventKind.STAFF_REACHED, at + timedelta(seconds=5), queue="network", specialty="network")]
    if missed:
        end = at + timedelta(seconds=25)
        ev += [CallEvent(cid, EventKind.HANGUP_REQUEST, end, party=Party.CALLER),
               CallEvent(cid, EventKind.ATTEMPT_ENDED, end, result=AttemptResult.ABANDONED)]
    else:
        end = at + timedelta(seconds=70)
        ev += [CallEvent(cid, EventKind.ANSWERED, at + timedelta(seconds=10), answered_by="8001"),
               CallEvent(cid, EventKind.TALK_ENDED, end, party=Party.CALLER)]
    return [*ev, CallEvent(cid, EventKind.ENDED, end)]
