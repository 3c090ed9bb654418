"""Ranges of local days, as every entry point reads them: a `YYYY-MM-DD` day, a first and a last day
(included) in the right order, and the instants [first 00:00, last+1 00:00) in the desk's timezone.

The entry points word the errors in their own syntax (`--from` for the CLI, `from` for the API) but
parse and check the same way here."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo


class DayTextError(ValueError):
    """Text that is not a `YYYY-MM-DD` day."""


def parse_day(text: str) -> date:
    """A `YYYY-MM-DD` day (surrounding blanks ignored); DayTextError otherwise."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise DayTextError(f"不是日期 / not a date: {text!r} (e.g. 2026-10-01)") from None


def parse_optional_day(text: str | None) -> date | None:
    """None for an absent or blank value, else `parse_day`."""
    if text is None or text.strip() == "":
        return None
    return parse_day(text)


def is_reversed(first: date | None, last: date | None) -> bool:
    """True when both days are given and the first comes after the last."""
    return first is not None and last is not None and first > last


def day_span(first: date | None, last: date | None, tz: tzinfo) -> tuple[datetime | None, datetime | None]:
    """[first 00:00, last+1 00:00) in the desk's timezone; open ends stay None."""
    lo = datetime.combine(first, time(0), tz) if first else None
    hi = datetime.combine(last + timedelta(days=1), time(0), tz) if last else None
    return lo, hi
