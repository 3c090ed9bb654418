"""How the duty falls on people: hours, night shifts and holiday shifts per person, and the shifts that
break the rules of rest (one person in two places at once, too little rest between two shifts). Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from hotline.domain.roster import TIER_NAMES, Shift, Tier
from hotline.domain.windows import WorkingCalendar

NIGHT = (time(22, 0), time(6, 0))  # the night hours (labour-law style)
NIGHT_MIN = timedelta(hours=3)  # a shift with at least this much of the night hours is a night shift
STAFF_TIERS = (Tier.FIRST_LINE, Tier.SECOND_LINE, Tier.MANAGER)  # the vendor is an outside hotline


@dataclass(frozen=True)
class Load:
    person: str
    shifts: int = 0
    hours: float = 0.0
    nights: int = 0
    holiday_shifts: int = 0  # shifts starting on a statutory holiday
    weekend_shifts: int = 0  # shifts starting on a Saturday or Sunday that is not an adjusted working day


@dataclass(frozen=True)
class Conflict:
    kind: str  # "double" | "rest"
    person: str
    first: Shift
    second: Shift

    def text(self, tz: tzinfo) -> str:
        a, b = self.first, self.second
        span_a = f"{a.start.astimezone(tz):%m-%d %H:%M}–{a.end.astimezone(tz):%m-%d %H:%M} {TIER_NAMES[a.tier][0]}"
        span_b = f"{b.start.astimezone(tz):%m-%d %H:%M}–{b.end.astimezone(tz):%m-%d %H:%M} {TIER_NAMES[b.tier][0]}"
        if self.kind == "double":
            return f"{self.person} 同时排了两个班：{span_a} 与 {span_b} / double booked"
        rest = (b.start - a.end).total_seconds() / 3600
        return f"{self.person} 两班之间只休息 {rest:g} 小时：{span_a} 后接 {span_b} / only {rest:g} h of rest"


def _night_hours(s: Shift, tz: tzinfo) -> timedelta:
    start, end = s.start.astimezone(tz), s.end.astimezone(tz)
    total = timedelta()
    day = start.date() - timedelta(days=1)
    while day <= end.date():
        n0 = datetime.combine(day, NIGHT[0], tz)
        n1 = datetime.combine(day + timedelta(days=1), NIGHT[1], tz)
        overlap = min(end, n1) - max(start, n0)
        if overlap > timedelta():
            total += overlap
        day += timedelta(days=1)
    return total


def _joined(shifts: Iterable[Shift]) -> list[Shift]:
    """A person's shifts per tier with the pieces that touch joined (an override splits a shift in two)."""
    out: list[Shift] = []
    for s in sorted(shifts, key=lambda s: (s.tier.value, s.start)):
        last = out[-1] if out else None
        if last is not None and last.tier is s.tier and last.end == s.start:
            out[-1] = Shift(s.tier, s.person, last.start, s.end, last.label, last.source)
        else:
            out.append(s)
    return sorted(out, key=lambda s: (s.start, s.end))


def _pieces_of_one(a: Shift, b: Shift) -> bool:
    """`b` may be a later piece of the shift `a` begins, cut by an override: same tier and label, and the two
    within one day (a night's 04:00-08:00 piece and the next night are two shifts): a break, not a rest."""
    return a.tier is b.tier and bool(a.label) and a.label == b.label and b.end - a.start <= timedelta(hours=24)


def _whole_shifts(joined: Sequence[Shift]) -> list[list[Shift]]:
    """A person's shifts (joined, by start) with the pieces of one shift together."""
    groups: list[list[Shift]] = []
    for s in joined:
        group = next((g for g in reversed(groups[-3:]) if _pieces_of_one(g[0], s) and g[-1].end <= s.start), None)
        if group is not None:
            group.append(s)
        else:
            groups.append([s])
    return groups


def loads(shifts: Sequence[Shift], calendar: WorkingCalendar, tz: tzinfo) -> list[Load]:
    """The load of every person with a staff shift, sorted by hours (most first), then name. A shift cut in
    pieces by an override is one shift: a night shift when its pieces together have the night hours, a
    weekend or holiday shift by the day it starts."""
    by_person: dict[str, list[Shift]] = {}
    for s in shifts:
        if s.tier in STAFF_TIERS:
            by_person.setdefault(s.person, []).append(s)
    out: list[Load] = []
    for person, mine in by_person.items():
        whole = _whole_shifts(_joined(mine))
        days = [g[0].start.astimezone(tz).date() for g in whole]
        out.append(Load(
            person, len(whole),
            round(sum((s.end - s.start).total_seconds() for g in whole for s in g) / 3600, 2),
            sum(1 for g in whole if sum((_night_hours(s, tz) for s in g), timedelta()) >= NIGHT_MIN),
            sum(1 for d in days if calendar.is_holiday(d)),
            sum(1 for d in days if d.weekday() >= 5 and not calendar.is_adjusted_workday(d))))
    return sorted(out, key=lambda x: (-x.hours, x.person))


def conflicts(shifts: Sequence[Shift], min_rest: timedelta) -> list[Conflict]:
    """Double bookings (one person's shifts overlap) and rests shorter than `min_rest` between two shifts."""
    by_person: dict[str, list[Shift]] = {}
    for s in shifts:
        if s.tier in STAFF_TIERS:
            by_person.setdefault(s.person, []).append(s)
    out: list[Conflict] = []
    for person, mine in sorted(by_person.items()):
        joined = _joined(mine)
        for i, a in enumerate(joined):
            for b in joined[i + 1:]:
                if b.start < a.end:
                    out.append(Conflict("double", person, a, b))
                elif b.start - a.end < min_rest and b.start > a.end:
                    if not _pieces_of_one(a, b):
                        out.append(Conflict("rest", person, a, b))
                    break
                else:
                    break
    return sorted(out, key=lambda c: (c.first.start, c.person))
