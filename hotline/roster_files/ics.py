"""iCalendar (.ics) export of shifts, for one person or the whole desk, to subscribe from a phone.

Times are written with `TZID=<desk zone>` and the calendar carries the matching VTIMEZONE (RFC 5545 3.6.5).
Each event says the tier, the person, the layer the shift comes from (轮班 / 值班表 / 调班), the people's
phone numbers, and the handover notes written before it starts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo

from hotline.domain.roster import TIER_NAMES, Person, Shift

LAYERS = {"rotation": "轮班 rotation", "dated": "值班表 table", "override": "调班 override"}


def shift_uid(s: Shift) -> str:
    """Stable across exports, so a subscribed calendar updates instead of duplicating."""
    key = f"{s.tier}|{s.person}|{s.start.isoformat()}|{s.end.isoformat()}"
    return hashlib.sha1(key.encode()).hexdigest()[:24] + "@hotline"


def shifts_ics(shifts: Sequence[Shift], title: str, tz: tzinfo, stamp: datetime,
               people: Mapping[str, Person] | None = None,
               notes: Mapping[Shift, Sequence[str]] | None = None) -> bytes:
    """A VCALENDAR with a VTIMEZONE and one VEVENT per shift; `stamp` (now) is the DTSTAMP of every event.
    `people` adds phone numbers to the description, `notes` the handover notes of a shift."""
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
        lines = [f"来源 / layer: {LAYERS.get(s.source, s.source)}"]
        person = (people or {}).get(s.person)
        if person is not None and (person.mobile or person.extension):
            lines.append(f"{s.person} 手机 / mobile {person.mobile or '-'} 分机 / ext. {person.extension or '-'}")
        lines += [f"交接 / handover: {n}" for n in (notes or {}).get(s, ())]
        ev.add("description", "\n".join(lines))
        cal.add_component(ev)
    cal.add_missing_timezones()
    data: bytes = cal.to_ical()
    return data
