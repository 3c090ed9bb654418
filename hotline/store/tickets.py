"""The tickets' tables: tickets, the calls linked to them, their timeline, SLA clocks (one row per deadline
with its outcome: plain SQL for reports), the day's ticket counter, the caller directory, missed calls not
yet linked, and the knowledge base."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from itertools import repeat
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    Boolean,
    ColumnElement,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    insert,
    literal_column,
    select,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from hotline.domain.sla import ClockName, SlaClock, Window
from hotline.domain.tickets import Priority, Status, Ticket, TicketTier, TicketType
from hotline.store.base import Base, UtcDateTime

# Literal predicates shared by the partial indexes and the queries that use them (SQLite uses a partial index
# only when the query's condition is written the same way, without bound parameters).
OPEN_SQL = text("tickets.status IN ('new', 'in_progress', 'escalated')")
NOT_CLOSED_SQL = text("tickets.open_caller IS NOT NULL")
OVERDUE_SQL = text("ticket_clocks.breached_at IS NOT NULL AND ticket_clocks.done_at IS NULL")


class TicketRow(Base):
    __tablename__ = "tickets"

    ticket_id: Mapped[str] = mapped_column(String(32), primary_key=True)  # GD20261203-0007
    caller_key: Mapped[str] = mapped_column(String(32))
    # caller_key while the ticket is not closed, else NULL: the unique constraint keeps one ticket per number
    open_caller: Mapped[str | None] = mapped_column(String(32))
    caller: Mapped[str] = mapped_column(String(32))
    caller_name: Mapped[str | None] = mapped_column(String(128))
    ticket_type: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(16))
    specialty: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    tier: Mapped[str] = mapped_column(String(16))
    assignee: Mapped[str | None] = mapped_column(String(128))
    summary: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    solution: Mapped[str | None] = mapped_column(Text)
    cause: Mapped[str | None] = mapped_column(Text)
    service_window: Mapped[str] = mapped_column(String(8))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    first_contact_at: Mapped[datetime] = mapped_column(UtcDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    work_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    confirmed_by: Mapped[str | None] = mapped_column(String(128))
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    vendor_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    vendor_ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    major_reported_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    incident_id: Mapped[str | None] = mapped_column(String(32))  # the monitor's incident of an urgent ticket
    complained_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # 投诉: when the complaint was made
    complaint_source: Mapped[str | None] = mapped_column(String(16))  # ivr | call | hand | survey
    complaint_replied_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    complaint_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # agreed with the complainant
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        UniqueConstraint("open_caller", name="uq_tickets_open_caller"),
        Index("ix_tickets_caller_key_opened_at", "caller_key", "opened_at"),
        Index("ix_tickets_status_opened_at", "status", "opened_at"),
        Index("ix_tickets_status_resolved_at", "status", "resolved_at"),  # the survey engine's new resolutions
        Index("ix_tickets_opened_at", "opened_at"),
        Index("ix_tickets_complained_at", "complained_at"),  # the month's complaints (NULL for the others)
        # the desk's lists: open / not closed, everyone's, a person's, a tier's, newest first
        Index("ix_tickets_open_opened_at", "opened_at", postgresql_where=OPEN_SQL, sqlite_where=OPEN_SQL),
        Index("ix_tickets_open_assignee", "assignee", "opened_at", postgresql_where=OPEN_SQL, sqlite_where=OPEN_SQL),
        Index("ix_tickets_open_tier", "tier", "opened_at", postgresql_where=OPEN_SQL, sqlite_where=OPEN_SQL),
        Index("ix_tickets_live_opened_at", "opened_at", postgresql_where=NOT_CLOSED_SQL,
              sqlite_where=NOT_CLOSED_SQL),
        Index("ix_tickets_live_assignee", "assignee", "opened_at", postgresql_where=NOT_CLOSED_SQL,
              sqlite_where=NOT_CLOSED_SQL),
    )


class TicketCallRow(Base):
    """A call linked to a ticket (a call belongs to one ticket at most)."""

    __tablename__ = "ticket_calls"

    call_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(32), ForeignKey("tickets.ticket_id"))
    role: Mapped[str] = mapped_column(String(16))  # reached | missed
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    staff: Mapped[str | None] = mapped_column(String(128))

    __table_args__ = (Index("ix_ticket_calls_ticket_id", "ticket_id"),)


class MissedCallRow(Base):
    """A missed call of an outside number with no ticket yet: linked when staff reach the number."""

    __tablename__ = "ticket_missed_calls"

    call_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    caller_key: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime] = mapped_column(UtcDateTime)
    specialty: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_ticket_missed_calls_caller_key", "caller_key"),)


class TicketEventRow(Base):
    """The timeline: every change with who, when, from what to what."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(String(32), ForeignKey("tickets.ticket_id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(16))
    field: Mapped[str | None] = mapped_column(String(32))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_ticket_events_ticket_id", "ticket_id"),)


class TicketClockRow(Base):
    """One SLA deadline of a ticket and its outcome: due at, done at, minutes, met or missed."""

    __tablename__ = "ticket_clocks"

    ticket_id: Mapped[str] = mapped_column(String(32), ForeignKey("tickets.ticket_id"), primary_key=True)
    clock: Mapped[str] = mapped_column(String(16), primary_key=True)
    service_window: Mapped[str] = mapped_column(String(8))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    warn_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    minutes: Mapped[float | None] = mapped_column(Float)
    met: Mapped[bool | None] = mapped_column(Boolean)
    warned_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    breached_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # a reopened ticket's resolution clock: the minutes counted before the reopen, and when it ran again
    carried_minutes: Mapped[float | None] = mapped_column(Float)
    resumed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_ticket_clocks_next_due_at", "next_due_at"),
        Index("ix_ticket_clocks_overdue", "ticket_id", postgresql_where=OVERDUE_SQL, sqlite_where=OVERDUE_SQL),
    )


class TicketCounterRow(Base):
    """The last sequence number given out on a (local) day: GD<day>-<seq>."""

    __tablename__ = "ticket_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class CallerRow(Base):
    """The caller directory: one row per number, fed from tickets, shown with every call."""

    __tablename__ = "callers"

    caller_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    number: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(128))
    organisation: Mapped[str | None] = mapped_column(String(128))
    notes: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TicketPushRow(Base):
    """How far a ticket was pushed to the outside helpdesk (our table stays the source of truth)."""

    __tablename__ = "ticket_pushes"

    ticket_id: Mapped[str] = mapped_column(String(32), ForeignKey("tickets.ticket_id"), primary_key=True)
    remote_id: Mapped[str | None] = mapped_column(String(64))
    pushed_version: Mapped[datetime | None] = mapped_column(UtcDateTime)  # the ticket's updated_at pushed
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # failures since the last success
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ArticleRow(Base):
    """A knowledge-base article (知识库): drafted from resolved tickets, edited and published by staff."""

    __tablename__ = "kb_articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(Text)
    problem: Mapped[str] = mapped_column(Text, default="")
    cause: Mapped[str] = mapped_column(Text, default="")
    solution: Mapped[str] = mapped_column(Text, default="")
    specialty: Mapped[str | None] = mapped_column(String(64))
    tags: Mapped[str] = mapped_column(Text, default="")  # comma separated
    status: Mapped[str] = mapped_column(String(16))  # draft | published
    search_text: Mapped[str] = mapped_column(Text, default="")  # title, problem, cause, solution, tags: lower case
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str | None] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    published_by: Mapped[str | None] = mapped_column(String(128))
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_kb_articles_status_specialty", "status", "specialty"),)


class ArticleTicketRow(Base):
    __tablename__ = "kb_article_tickets"

    article_id: Mapped[int] = mapped_column(Integer, ForeignKey("kb_articles.id"), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(32), ForeignKey("tickets.ticket_id"), primary_key=True)


_COPIED = (
    "ticket_id", "caller_key", "caller", "caller_name", "specialty", "assignee", "summary", "description",
    "solution", "cause", "service_window", "opened_at", "first_contact_at", "responded_at", "work_started_at",
    "resolved_at", "closed_at", "confirmed_by", "reopened", "vendor_started_at", "vendor_ended_at",
    "complained_at", "complaint_source", "complaint_replied_at", "complaint_due_at",
)


def table_of(entity: type[Base]) -> Table:
    """The table of a mapped class, for Core multi-row inserts (no ORM bookkeeping per row)."""
    return cast(Table, entity.__table__)


def insert_rows(s: Session, entity: type[Base], rows: Sequence[Mapping[str, object]]) -> None:
    """One multi-row insert of `rows` (all with the same keys), leaving out the columns that are None in every
    row and NULL by default anyway (a new ticket's row and clocks are mostly empty columns). Converting the
    values is most of a big insert's cost, so it is done a column at a time: on PostgreSQL one `unnest` of
    arrays (`_unnest_insert`), on SQLite the driver's `executemany` (`_driver_insert`); Core's insert otherwise."""
    if not rows:
        return
    table = table_of(entity)
    keys = tuple(rows[0])
    dialect = s.get_bind().dialect
    if len(rows) > 1 and len(keys) > 1 and dialect.name in ("postgresql", "sqlite"):
        # each column's values, in the order of `keys` whatever order each row's dict has
        columns = dict(zip(keys, zip(*map(itemgetter(*keys), rows), strict=True), strict=True))
        n = len(rows)
        for name in _droppable(table, keys):
            if columns[name].count(None) == n:
                del columns[name]
        if dialect.name == "postgresql":
            plan = _unnest_insert(table, tuple(columns), dialect)
            if plan is not None:
                statement, names, defaults = plan
                s.execute(statement, {f"p{i}": list(columns[c]) if c not in defaults else [defaults[c]] * n
                                      for i, c in enumerate(names)})
                return
        else:
            driver = _driver_insert(table, tuple(columns), dialect)
            if driver is not None:
                sql, converters, added = driver
                converted = _converted(converters, list(columns.values()))
                s.connection().exec_driver_sql(sql, list(zip(*converted, *(repeat(a, n) for a in added), strict=True)))
                return
    empty = {c for c in _droppable(table, keys) if all(r[c] is None for r in rows)}
    if empty:
        rows = [{k: v for k, v in r.items() if k not in empty} for r in rows]
    s.execute(insert(table), rows)


def _converted(converters: Sequence[Callable[[Any], Any] | None],
               columns: Sequence[Sequence[object]]) -> list[Sequence[object]]:
    """Each column's values through its converter, each distinct value converted once (a batch's rows repeat
    their times: a ticket opened when the call was answered, its clocks started then, the batch's `now`), the
    columns that share a converter sharing what was converted."""
    done: dict[Callable[[Any], Any], dict[object, object]] = {}
    out: list[Sequence[object]] = []
    for f, col in zip(converters, columns, strict=True):
        if f is None:
            out.append(col)
            continue
        seen = done.setdefault(f, {})
        new = [v for v in dict.fromkeys(col) if v not in seen]
        seen.update(zip(new, map(f, new), strict=True))
        out.append(list(map(seen.__getitem__, col)))
    return out


@lru_cache(maxsize=64)
def _droppable(table: Table, keys: tuple[str, ...]) -> tuple[str, ...]:
    """The columns among `keys` that may be left out of an insert when all their values are None: nullable,
    with no default (leaving them out stores NULL, as None does)."""
    return tuple(c.name for c in table.columns if c.name in keys and c.nullable and c.default is None
                 and c.server_default is None)


def _plain_defaults(table: Table, keys: tuple[str, ...]) -> dict[str, object] | None:
    """The defaults Core's insert gives the columns left out of `keys`; None when one is not a plain value."""
    defaults: dict[str, object] = {}
    for c in table.columns:
        if c.name not in keys and c.default is not None:
            if not isinstance(c.default, ScalarElementColumnDefault):
                return None
            defaults[c.name] = c.default.arg
    return defaults


_Driver = tuple[str, list["Callable[[Any], Any] | None"], tuple[object, ...]]


@lru_cache(maxsize=64)
def _driver_insert(table: Table, keys: tuple[str, ...], dialect: Dialect) -> _Driver | None:
    """SQLite: a plain `INSERT ... VALUES (?, ...)` for the driver's own `executemany`, with the bind processor of
    each column's type (what Core's insert applies to each value; every one of them passes None through) and
    the plain defaults of the columns left out (converted). None (use Core's insert) when a default is not a
    plain value."""
    added = _plain_defaults(table, keys)
    if added is None:
        return None
    names = [*keys, *added]
    # one converter per type (columns of the same type share it, and `_converted` shares what it converted)
    by_type: dict[str, Callable[[Any], Any] | None] = {}
    converters = []
    for n in names:
        t = table.c[n].type
        key = f"{type(t).__module__}.{t!r}"
        if key not in by_type:
            by_type[key] = t.dialect_impl(dialect).bind_processor(dialect)
        converters.append(by_type[key])
    values = tuple(v if f is None else f(v) for f, v in zip(converters[len(keys):], added.values(), strict=True))
    quote = dialect.identifier_preparer.quote
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
           f"VALUES ({', '.join('?' * len(names))})")
    return sql, converters[:len(keys)], values


_Unnest = tuple[TextClause, list[str], dict[str, object]]  # the statement, its columns, the defaults added


@lru_cache(maxsize=64)
def _unnest_insert(table: Table, keys: tuple[str, ...], dialect: Dialect) -> _Unnest | None:
    """PostgreSQL: `INSERT INTO t (a, b) SELECT * FROM unnest(CAST(:p0 AS a_type[]), CAST(:p1 AS b_type[]))`, an
    array a column: one statement whatever the number of rows, its values converted a column at a time (an
    `executemany` costs the driver a pipelined statement a row). The columns left out get their defaults as
    Core's insert gives them; None (use Core's insert) when a default is not a plain value."""
    defaults = _plain_defaults(table, keys)
    if defaults is None:
        return None
    columns = [*keys, *defaults]
    quote = dialect.identifier_preparer.quote
    arrays = ", ".join(f"CAST(:p{i} AS {table.c[n].type.compile(dialect=dialect)}[])" for i, n in enumerate(columns))
    statement = text(f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in columns)}) "
                     f"SELECT * FROM unnest({arrays})")
    statement = statement.bindparams(*(bindparam(f"p{i}", type_=ARRAY(table.c[n].type))
                                       for i, n in enumerate(columns)))
    return statement, columns, defaults


def row_to_ticket(row: TicketRow) -> Ticket:
    values = {name: getattr(row, name) for name in _COPIED}
    return Ticket(ticket_type=TicketType(row.ticket_type), priority=Priority(row.priority),
                  status=Status(row.status), tier=TicketTier(row.tier), **values)


def ticket_to_row(ticket: Ticket, row: TicketRow | None, now: datetime) -> TicketRow:
    """Copy the ticket into `row` (a new row when None); `open_caller` follows the status."""
    row = row or TicketRow()
    for name in _COPIED:
        value = getattr(ticket, name)
        if getattr(row, name, None) != value:
            setattr(row, name, value)
    row.ticket_type, row.priority = str(ticket.ticket_type), str(ticket.priority)
    row.status, row.tier = str(ticket.status), str(ticket.tier)
    row.open_caller = None if ticket.status is Status.CLOSED else ticket.caller_key
    row.updated_at = now
    return row


def ticket_values(ticket: Ticket, now: datetime) -> dict[str, object]:
    """A new ticket's row as plain values, for a multi-row insert (what `ticket_to_row` makes)."""
    values: dict[str, object] = {name: getattr(ticket, name) for name in _COPIED}
    values |= {"ticket_type": str(ticket.ticket_type), "priority": str(ticket.priority), "status": str(ticket.status),
               "tier": str(ticket.tier), "open_caller": None if ticket.status is Status.CLOSED else ticket.caller_key,
               "caller_name": ticket.caller_name, "major_reported_at": None, "incident_id": None, "updated_at": now}
    return values


def clock_values(ticket_id: str, clock: SlaClock) -> dict[str, object]:
    """A new clock's row as plain values, for a multi-row insert (what `clock_to_row` makes)."""
    return {"ticket_id": ticket_id, "clock": str(clock.name), "service_window": str(clock.window),
            "started_at": clock.started_at, "due_at": clock.due_at, "warn_at": clock.warn_at,
            "done_at": clock.done_at, "minutes": clock.minutes, "met": clock.met, "warned_at": clock.warned_at,
            "breached_at": clock.breached_at, "carried_minutes": clock.carried_minutes,
            "resumed_at": clock.resumed_at, "next_due_at": clock.next_due()}


def row_to_clock(row: TicketClockRow) -> SlaClock:
    return SlaClock(ClockName(row.clock), Window(row.service_window), row.started_at, row.due_at, row.warn_at,
                    row.done_at, row.minutes, row.met, row.warned_at, row.breached_at, row.carried_minutes,
                    row.resumed_at)


def clock_to_row(ticket_id: str, clock: SlaClock, row: TicketClockRow | None) -> TicketClockRow:
    row = row or TicketClockRow(ticket_id=ticket_id, clock=str(clock.name))
    row.service_window = str(clock.window)
    for name in ("started_at", "due_at", "warn_at", "done_at", "minutes", "met", "warned_at", "breached_at",
                 "carried_minutes", "resumed_at"):
        value = getattr(clock, name)
        if getattr(row, name, None) != value:
            setattr(row, name, value)
    due = clock.next_due()
    if row.next_due_at != due:
        row.next_due_at = due
    return row


def search_text(*parts: str | None) -> str:
    """What the knowledge-base search looks in: the parts, lower case, one line each."""
    return "\n".join(p.strip().lower() for p in parts if p and p.strip())


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def term_matches(term: str, dialect: str) -> ColumnElement[bool]:
    """Articles containing `term`: SQLite's FTS5 trigram index for three characters or more (it cannot
    look up shorter ones), LIKE for one- and two-character words (打印, 脱机) and on PostgreSQL."""
    if dialect == "sqlite" and len(term) >= 3:
        phrase = '"' + term.replace('"', '""') + '"'
        return ArticleRow.id.in_(select(literal_column("rowid")).select_from(text("kb_fts"))
                                 .where(text("kb_fts MATCH :phrase").bindparams(phrase=phrase)))
    return ArticleRow.search_text.like(_like(term), escape="\\")
