"""UtcDateTime's own bind path (one function per dialect) against TypeDecorator's generic chain (the type's
`process_bind_param`, then the dialect's conversion): the same value to the driver for every kind of input,
the same error for a naive one, and the same value stored and read back, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, insert, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.types import String, TypeDecorator

from hotline.store.base import UtcDateTime, make_engine

SHANGHAI = ZoneInfo("Asia/Shanghai")
INPUTS: list[datetime | None] = [
    None,
    datetime(2026, 12, 3, 18, 30, 5, 123456, tzinfo=UTC),
    datetime(2026, 12, 3, 18, 30, tzinfo=UTC),  # no microseconds: the text still has them
    datetime(2026, 12, 3, 18, 30, 5, 7, tzinfo=timezone(timedelta(0))),  # UTC, but not the UTC object
    datetime(2026, 12, 4, 2, 30, 5, 900000, tzinfo=SHANGHAI),
    datetime(2026, 1, 1, 0, 0, tzinfo=SHANGHAI),  # the UTC day before
    datetime(2026, 3, 8, 1, 59, 59, 999999, tzinfo=ZoneInfo("America/New_York")),
    datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=ZoneInfo("America/New_York")),  # the second 1:30
    datetime(2026, 6, 30, 23, 0, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
    datetime(2026, 6, 30, 23, 0, tzinfo=ZoneInfo("UTC")),  # a UTC that is not datetime.UTC
    datetime(1900, 1, 1, 0, 0, tzinfo=SHANGHAI),  # local mean time: an offset with seconds
    datetime(1, 1, 2, 0, 0, tzinfo=UTC),
]
NAIVE = datetime(2026, 12, 3, 18, 30)


def chain(dialect: Any) -> Callable[[Any], Any]:
    """The bind path every TypeDecorator has (what UtcDateTime used before its own)."""
    impl = cast(TypeDecorator[datetime], UtcDateTime().dialect_impl(dialect))
    processor: Callable[[Any], Any] | None = TypeDecorator.bind_processor(impl, dialect)
    assert processor is not None
    return processor


def own(dialect: Any) -> Callable[[Any], Any]:
    processor = UtcDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert processor is not None
    return processor


def test_own_bind_path_gives_the_driver_what_the_chain_gives(db_url: str) -> None:
    engine = make_engine(db_url)
    dialect = engine.dialect
    old, new = chain(dialect), own(dialect)
    assert new is not old and new.__module__ == "hotline.store.base"
    for value in INPUTS:
        before, after = old(value), new(value)
        assert after == before and type(after) is type(before), value
        if isinstance(before, datetime):  # PostgreSQL: an aware UTC datetime, the same zone object
            assert after.tzinfo is before.tzinfo is UTC and after.utcoffset() == timedelta(0)
        elif before is not None:  # SQLite: SQLAlchemy's DATETIME text of the UTC time
            utc = datetime.fromisoformat(after).replace(tzinfo=UTC)
            assert value is not None and len(after) == 26 and utc == value.astimezone(UTC), value
    for bad in (old, new):
        with pytest.raises(ValueError, match="naive datetime"):
            bad(NAIVE)
    engine.dispose()


def test_stored_values_are_the_same_on_both_paths(db_url: str) -> None:
    """Each input stored once through the chain and once through the type's own path: the same text in the
    database (PostgreSQL's rendered in UTC) and the same aware UTC datetime read back."""
    engine = make_engine(db_url)
    meta = MetaData()
    table = Table("utc_probe", meta, Column("id", Integer, primary_key=True), Column("path", String(8)),
                  Column("n", Integer), Column("at", UtcDateTime))
    meta.create_all(engine)
    old = chain(engine.dialect)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET TIME ZONE 'UTC'")
        conn.execute(insert(table), [{"path": "own", "n": i, "at": v} for i, v in enumerate(INPUTS)])
        # the chain's output sent as is: a column without the type's conversion
        raw = Table("utc_probe", MetaData(), Column("id", Integer, primary_key=True), Column("path", String(8)),
                    Column("n", Integer), Column("at", DateTime(timezone=True)))
        raw_rows = [{"path": "chain", "n": i, "at": old(v)} for i, v in enumerate(INPUTS)]
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("INSERT INTO utc_probe (path, n, at) VALUES (?, ?, ?)",
                                 [(r["path"], r["n"], r["at"]) for r in raw_rows])
        else:
            conn.execute(insert(raw), raw_rows)
        stored = {(p, n): (t, at) for p, n, t, at in conn.execute(
            select(table.c.path, table.c.n, sql_cast(table.c.at, String), table.c.at))}
    assert len(stored) == 2 * len(INPUTS)
    for i, value in enumerate(INPUTS):
        assert stored["own", i] == stored["chain", i], value
        _, back = stored["own", i]
        assert back == (value and value.astimezone(UTC)) and (back is None or back.tzinfo is UTC), value
    engine.dispose()
