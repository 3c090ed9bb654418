"""Text values made storable at the database edge: no lone surrogates (neither UTF-8 nor GB18030 can
encode them), no NUL (PostgreSQL text refuses it), no value longer than its column. The original bytes
stay in the raw record (raw_events), so nothing is lost to the audit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, Table

REPLACEMENT = "\ufffd"


def clean_text(value: str | None, limit: int | None = None) -> str | None:
    """`value` with lone surrogates replaced by U+FFFD, NUL and other C0 controls but tab/newline removed,
    and clipped to `limit` characters (None: no limit)."""
    if value is None:
        return None
    if not isinstance(value, str):
        value = str(value)
    if not value.isprintable():
        value = "".join(_clean_char(ch) for ch in value)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates (e.g. bytes decoded with surrogateescape)
        value = "".join(REPLACEMENT if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in value)
    if limit is not None and len(value) > limit:
        value = value[:limit]
    return value


def _clean_char(ch: str) -> str:
    code = ord(ch)
    if code < 0x20 and ch not in "\t\n\r":
        return ""
    if code == 0x7F:
        return ""
    return ch


def text_limits(table: Table) -> dict[str, int | None]:
    """Column name -> length limit of every text column of `table` (None: unbounded text)."""
    limits: dict[str, int | None] = {}
    for column in table.columns:
        if isinstance(column.type, String):
            limits[column.name] = column.type.length
    return limits


def clean_row(row: dict[str, Any], limits: dict[str, int | None]) -> dict[str, Any]:
    """A copy of `row` with its text columns cleaned (other values as they are)."""
    out = dict(row)
    for name, limit in limits.items():
        value = out.get(name)
        if isinstance(value, str):
            out[name] = clean_text(value, limit)
    return out
