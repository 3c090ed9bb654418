"""The tickets' batch statements: `among` (= ANY of one array on PostgreSQL) finds what IN finds, and
`insert_rows` (PostgreSQL: one INSERT ... SELECT FROM unnest of arrays, the lists sent in binary; SQLite: the
driver's executemany, values converted a column at a time) stores what Core's multi-row insert stores, to
the byte, defaults included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, insert, select

from hotline.store.base import among, make_engine, migrate, session_factory, unit_of_work
from hotline.store.tickets import CallerRow, TicketRow, insert_rows

T0 = datetime(2026, 12, 3, 9, 30, 15, 250000, tzinfo=ZoneInfo("Asia/Shanghai"))


def ticket(i: int, prefix: str) -> dict[str, Any]:
    """A new ticket's values without summary, description and reopened (their defaults fill them in)."""
    return {"ticket_id": f"{prefix}-{i:04d}", "caller_key": f"+86139{i:08d}", "open_caller": None,
            "caller": f"139{i:08d}", "caller_name": "张伟" if i % 2 else None, "ticket_type": "incident",
            "priority": "normal", "specialty": None if i % 3 else "network", "status": "new",
            "tier": "first_line", "assignee": "王芳", "service_window": "7x24", "opened_at": T0 + timedelta(minutes=i),
            "first_contact_at": (T0 + timedelta(minutes=i)).astimezone(UTC),
            "responded_at": None if i % 2 else T0 + timedelta(minutes=i, seconds=30), "updated_at": T0}


def test_insert_rows_stores_what_core_insert_stores(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    factory = session_factory(engine)
    mixed = [ticket(i, "A") for i in range(7)]
    mixed[3] = dict(reversed(mixed[3].items()))  # a row whose keys come in another order
    with unit_of_work(factory) as s:
        insert_rows(s, TicketRow, mixed)
        ours = list(statements)
        s.execute(insert(TicketRow), [ticket(i, "B") for i in range(7)])
    inserts = [q for q in ours if q.startswith("INSERT")]
    assert len(inserts) == 1  # one statement for the seven rows
    assert ("unnest" in inserts[0]) == (engine.dialect.name == "postgresql")
    with engine.connect() as conn:  # what is stored, as the database holds it (text on SQLite)
        stored = {r[0]: r[1:] for r in conn.exec_driver_sql(
            "SELECT " + ", ".join(c.name for c in TicketRow.__table__.columns) + " FROM tickets")}
    for i in range(7):
        assert stored[f"A-{i:04d}"] == stored[f"B-{i:04d}"]
    with unit_of_work(factory) as s:
        rows = {r.ticket_id: r for r in s.scalars(select(TicketRow))}
    assert len(rows) == 14
    for i in range(7):
        a, b = rows[f"A-{i:04d}"], rows[f"B-{i:04d}"]
        for column in TicketRow.__table__.columns:
            if column.name != "ticket_id":
                assert getattr(a, column.name) == getattr(b, column.name), column.name
        assert a.summary == "" and a.description == "" and a.reopened == 0  # the defaults
        assert a.opened_at == T0 + timedelta(minutes=i) and a.opened_at.tzinfo is UTC
    engine.dispose()


def test_among_finds_what_in_finds(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    factory = session_factory(engine)
    keys = [f"+8613800{i:06d}" for i in range(0, 1200, 2)]
    with unit_of_work(factory) as s:
        insert_rows(s, CallerRow, [{"caller_key": k, "number": k[3:], "name": None, "updated_at": T0} for k in keys])
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    wanted = [[], [keys[0]], [keys[5], "+8613900000000", keys[-1]], [f"+8613800{i:06d}" for i in range(600)]]
    with unit_of_work(factory) as s:
        for values in wanted:
            c = CallerRow.caller_key
            found = set(s.scalars(select(c).where(among(s, c, values))))
            assert found == set(s.scalars(select(c).where(c.in_(values)))) == set(values) & set(keys)
    assert len(set(statements[0::2][1:])) == (1 if engine.dialect.name == "postgresql" else 3)
    engine.dispose()
