"""A moment a person types (an agreed deadline, a roster time): a day and a clock time, `2026-12-04T17:00` or
`2026-12-04 17:00+08:00`; without a UTC offset it is the desk's time. A day alone (`2026-12-05`) is refused:
its midnight is seldom what was meant."""

from __future__ import annotations

import re
from datetime import datetime, tzinfo

_DAY_AND_CLOCK = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


class MomentError(ValueError):
    """Text that is not a day with a clock time; the message says the format expected."""


def parse_moment(text: str, tz: tzinfo) -> datetime:
    """`text` as a moment; naive text is desk time (`tz`)."""
    cleaned = text.strip()
    try:
        if not _DAY_AND_CLOCK.match(cleaned):
            raise ValueError(cleaned)
        at = datetime.fromisoformat(cleaned)
    except ValueError:
        raise MomentError(f"{text!r} 不是时间，应为 YYYY-MM-DDTHH:MM（台席时间）或带时区偏移 / is not a time: "
                          f"expected YYYY-MM-DDTHH:MM (desk time) or with an offset, e.g. 2026-12-04T17:00 or "
                          f"2026-12-04T17:00+08:00") from None
    return at.replace(tzinfo=tz) if at.tzinfo is None else at
