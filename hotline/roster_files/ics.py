"""iCalendar (.ics) export of shifts, for one person or the whole desk, to subscribe from a phone."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, tzinfo

from hotline.domain.roster import TIER_NAMES, Shift


def shift_uid(s: Shift) -> str:
    """Stable across exports, so a subscribed calendar updates instead of duplicating."""
    key = f"{s.tier}|{s.person}|{s.start.isoformat()}|{s.end.isoformat()}"
    return hashlib.sha1(key.encode()).hexdigest()[:24] + "@hotline"


def shifts_ics(shifts: Sequence[Shift], title: str, tz: tzinfo, stamp: datetime) -> bytes:
    """A VCALENDAR with one VEVENT per shift; `stamp` (now) is the DTSTAMP of every event."""
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//hotline//duty roster//ZH")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", title)
    cal.add("x-wr-timezone", str(tz))
    for s in shifts:
        zh, en = TIER_NAMES[s.tier]
        ev = Event()
        ev.add("uid", shift_uid(s))
        ev.add("dtstamp", stamp)
        ev.add("dtstart", s.start.astimezone(tz))
        ev.add("dtend", s.end.astimezone(tz))
        label = f" {s.label}" if s.label else ""
        ev.add("summary", f"{zh}值班{label} {s.person} / {en} on duty")
        ev.add("categories", [s.tier.value])
        cal.add_component(ev)
    data: bytes = cal.to_ical()
    return data
