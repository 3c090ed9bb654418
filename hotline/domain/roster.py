"""The duty roster: people, tiers, shifts from rotations and dated rosters, overrides; who is on duty
at a time and where a required tier has nobody. Pure: times are arguments.

Precedence, lowest first: rotation shifts (never on a holiday), dated shifts (a holiday roster or an
imported day replaces the rotation of its tier where they overlap), overrides (in the order made).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from hotline.domain.windows import (
    Requirement,
    ServiceWindows,
    Span,
    WindowKind,
    WorkingCalendar,
    days_between,
    local_span,
)


class Tier(StrEnum):
    FIRST_LINE = "first_line"  # 一线
    SECOND_LINE = "second_line"  # 二线
    MANAGER = "manager"  # 项目经理
    VENDOR = "vendor"  # 厂商 (optional contact)


TIER_NAMES: dict[Tier, tuple[str, str]] = {
    Tier.FIRST_LINE: ("一线", "First line"),
    Tier.SECOND_LINE: ("二线", "Second line"),
    Tier.MANAGER: ("项目经理", "Manager"),
    Tier.VENDOR: ("厂商", "Vendor"),
}

DEFAULT_REQUIREMENTS: dict[Tier, Requirement] = {
    Tier.FIRST_LINE: Requirement.ALWAYS,
    Tier.SECOND_LINE: Requirement.ONSITE,
    Tier.MANAGER: Requirement.ONSITE,
    Tier.VENDOR: Requirement.NONE,
}


class Period(StrEnum):
    WEEK = "week"
    DAY = "day"


@dataclass(frozen=True)
class ChatIds:
    wecom: str = ""  # 企业微信 userid
    dingtalk: str = ""  # 钉钉 userid
    feishu: str = ""  # 飞书 open_id


@dataclass(frozen=True)
class Person:
    name: str
    mobile: str = ""
    extension: str = ""
    email: str = ""
    chat_ids: ChatIds = field(default_factory=ChatIds)
    channels: tuple[str, ...] = ()  # preferred paging channels, first first
    specialties: frozenset[str] = frozenset()  # empty: every specialty

    def covers(self, specialty: str | None) -> bool:
        return specialty is None or not self.specialties or specialty in self.specialties


@dataclass(frozen=True)
class Shift:
    """One person on duty in one tier for [start, end)."""

    tier: Tier
    person: str
    start: datetime
    end: datetime
    label: str = ""
    source: str = "rotation"  # rotation | dated | override

    def contains(self, at: datetime) -> bool:
        return self.start <= at < self.end


@dataclass(frozen=True)
class ShiftTemplate:
    """A shift of a rotation: times of day (end <= start crosses midnight) on some days."""

    label: str
    start: time
    end: time
    weekdays: frozenset[int] = frozenset(range(7))
    onsite_days_only: bool = False  # on on-site days (adjusted working days in, holidays out)
    on_holidays: bool = False  # keeps running on holidays (a vendor hotline); else the holiday roster rules

    def applies(self, day: date, windows: ServiceWindows, calendar: WorkingCalendar) -> bool:
        if self.onsite_days_only:
            return windows.is_onsite_day(day, calendar)
        return day.weekday() in self.weekdays


@dataclass(frozen=True)
class Rotation:
    """Members take turns, one per week or per day, counted from `anchor`."""

    name: str
    tier: Tier
    every: Period
    anchor: date
    members: tuple[str, ...]
    shifts: tuple[ShiftTemplate, ...]

    def member_on(self, day: date) -> str:
        steps = (day - self.anchor).days // (7 if self.every is Period.WEEK else 1)
        return self.members[steps % len(self.members)]


@dataclass(frozen=True)
class Override:
    """`replacement` stands in for `replaced` in `tier` during [start, end).

    `replaced` None: the whole tier is `replacement` for the span (also fills a hole);
    `replacement` None: nobody replaces (leave without cover).
    """

    tier: Tier
    start: datetime
    end: datetime
    replaced: str | None
    replacement: str | None
    reason: str = ""
    created_by: str = ""
    created_at: datetime | None = None
    id: int | None = None  # once stored
    batch: str = ""  # overrides made together (a swap) share a batch: undone together


@dataclass(frozen=True)
class Roster:
    people: Mapping[str, Person]
    rotations: tuple[Rotation, ...] = ()
    dated: tuple[Shift, ...] = ()
    overrides: tuple[Override, ...] = ()


@dataclass(frozen=True)
class OnDuty:
    """The people on duty at `at`, per tier, with the shifts that put them there."""

    at: datetime
    window: WindowKind
    first_line: tuple[Person, ...] = ()
    second_line: tuple[Person, ...] = ()
    manager: tuple[Person, ...] = ()
    vendor: tuple[Person, ...] = ()
    shifts: tuple[Shift, ...] = ()

    def tier(self, tier: str | Tier) -> tuple[Person, ...]:
        people: tuple[Person, ...] = getattr(self, Tier(tier).value)
        return people

    def layers(self, tier: Tier, name: str) -> tuple[str, ...]:
        """Where `name`'s shifts in `tier` now come from: rotation, dated (a table) or override."""
        return tuple(dict.fromkeys(s.source for s in self.shifts if s.tier is tier and s.person == name))

    def until(self, tier: Tier, name: str) -> datetime | None:
        ends = [s.end for s in self.shifts if s.tier is tier and s.person == name]
        return max(ends) if ends else None


@dataclass(frozen=True)
class Gap:
    """A span in which a required tier has nobody."""

    tier: Tier
    start: datetime
    end: datetime
    holiday: bool = False  # the span touches a statutory holiday
    unconfirmed: bool = False  # the span touches a year whose holiday schedule is not confirmed: may be false


def subtract_spans(span: Span, cuts: Sequence[Span]) -> list[Span]:
    """The parts of `span` not covered by any of `cuts`."""
    pieces = [span]
    for cs, ce in cuts:
        nxt: list[Span] = []
        for s, e in pieces:
            if ce <= s or cs >= e:
                nxt.append((s, e))
                continue
            if s < cs:
                nxt.append((s, cs))
            if ce < e:
                nxt.append((ce, e))
        pieces = nxt
    return pieces


def _rotation_shifts(roster: Roster, first: date, last: date, windows: ServiceWindows,
                     calendar: WorkingCalendar) -> list[Shift]:
    out: list[Shift] = []
    for day in days_between(first, last):
        holiday = calendar.is_holiday(day)  # the holiday roster replaces the normal one
        for rot in roster.rotations:
            for t in rot.shifts:
                if (t.on_holidays or not holiday) and t.applies(day, windows, calendar):
                    s, e = local_span(day, t.start, t.end, windows.tz)
                    out.append(Shift(rot.tier, rot.member_on(day), s, e, t.label, "rotation"))
    return out


def _apply_override(shifts: list[Shift], o: Override) -> list[Shift]:
    out: list[Shift] = []
    for sh in shifts:
        hit = sh.tier is o.tier and sh.start < o.end and o.start < sh.end
        if not hit or (o.replaced is not None and sh.person != o.replaced):
            out.append(sh)
            continue
        out += [replace(sh, start=s, end=e) for s, e in subtract_spans((sh.start, sh.end), [(o.start, o.end)])]
        if o.replaced is not None and o.replacement is not None:
            out.append(replace(sh, person=o.replacement, start=max(sh.start, o.start),
                               end=min(sh.end, o.end), source="override"))
    if o.replaced is None and o.replacement is not None:
        out.append(Shift(o.tier, o.replacement, o.start, o.end, o.reason, "override"))
    return out


def shifts_between(roster: Roster, start: datetime, end: datetime, windows: ServiceWindows,
                   calendar: WorkingCalendar) -> list[Shift]:
    """Every effective shift overlapping [start, end), in local time, sorted by start, tier, person."""
    first = start.astimezone(windows.tz).date() - timedelta(days=1)
    last = end.astimezone(windows.tz).date()
    dated = [s for s in roster.dated if s.start < end + timedelta(days=2) and s.end > start - timedelta(days=2)]
    cuts: dict[Tier, list[Span]] = {}
    for d in dated:
        cuts.setdefault(d.tier, []).append((d.start, d.end))
    shifts: list[Shift] = []
    for sh in _rotation_shifts(roster, first, last, windows, calendar):
        shifts += [replace(sh, start=s, end=e) for s, e in subtract_spans((sh.start, sh.end), cuts.get(sh.tier, []))]
    shifts += dated
    for o in roster.overrides:
        if o.start < end and o.end > start:
            shifts = _apply_override(shifts, o)
    tz = windows.tz
    live = [replace(s, start=s.start.astimezone(tz), end=s.end.astimezone(tz))
            for s in shifts if s.start < end and s.end > start and s.start < s.end]
    return sorted(set(live), key=lambda s: (s.start, list(Tier).index(s.tier), s.person, s.end))


def on_duty(roster: Roster, at: datetime, windows: ServiceWindows, calendar: WorkingCalendar,
            specialty: str | None = None) -> OnDuty:
    """Who is on duty at `at` (a shift's end belongs to the next shift), per tier."""
    current = [s for s in shifts_between(roster, at, at + timedelta(seconds=1), windows, calendar)
               if s.contains(at)]
    per_tier: dict[Tier, list[Person]] = {t: [] for t in Tier}
    for s in current:
        person = roster.people.get(s.person, Person(s.person))
        if person.covers(specialty) and person not in per_tier[s.tier]:
            per_tier[s.tier].append(person)
    return OnDuty(at=at, window=windows.classify(at, calendar),
                  first_line=tuple(per_tier[Tier.FIRST_LINE]), second_line=tuple(per_tier[Tier.SECOND_LINE]),
                  manager=tuple(per_tier[Tier.MANAGER]), vendor=tuple(per_tier[Tier.VENDOR]),
                  shifts=tuple(current))


def _uncovered(spans: Sequence[Span], covered: Sequence[Span]) -> list[Span]:
    """The parts of `spans` (sorted, disjoint) outside `covered` (merged, sorted): one pass over both, so a
    range of years costs its length, not its square."""
    out: list[Span] = []
    i = 0
    for s, e in spans:
        while i < len(covered) and covered[i][1] <= s:
            i += 1
        cur, j = s, i
        while j < len(covered) and covered[j][0] < e and cur < e:
            cs, ce = covered[j]
            if cs > cur:
                out.append((cur, cs))
            cur = max(cur, ce)
            j += 1
        if cur < e:
            out.append((cur, e))
    return out


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    merged: list[Span] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def find_gaps(roster: Roster, start: datetime, end: datetime, windows: ServiceWindows,
              calendar: WorkingCalendar, requirements: Mapping[Tier, Requirement]) -> list[Gap]:
    """Spans of [start, end) in which a tier has nobody while its requirement says it must."""
    shifts = shifts_between(roster, start, end, windows, calendar)
    gaps: list[Gap] = []
    for tier in Tier:
        need = requirements.get(tier, Requirement.NONE)
        covered = merge_spans((s.start, s.end) for s in shifts if s.tier is tier)
        holes = _uncovered(windows.required_spans(need, start, end, calendar), covered)
        for s, e in merge_spans(holes):
            touched = days_between(s.astimezone(windows.tz).date(),
                                   (e - timedelta(microseconds=1)).astimezone(windows.tz).date())
            days = list(touched)
            gaps.append(Gap(tier, s, e, any(calendar.is_holiday(d) for d in days),
                            any(not calendar.knows(d.year) for d in days)))
    return sorted(gaps, key=lambda g: (g.start, list(Tier).index(g.tier)))


def from_now(o: Override, now: datetime) -> Override:
    """`o` without its past part: who was on duty before now stays as it was (the history is not rewritten)."""
    return replace(o, start=now) if o.start < now < o.end else o


def override_problem(o: Override, shifts: Sequence[Shift], now: datetime) -> str | None:
    """Why `o` makes no sense against the effective `shifts` of its span (before it), or None: a span that
    is empty or over, a person replaced by themselves, a person replaced where they have no shift."""
    zh, en = TIER_NAMES[o.tier]
    if o.end <= o.start:
        return f"结束须晚于开始 / the end {o.end:%Y-%m-%d %H:%M} must be after the start {o.start:%Y-%m-%d %H:%M}"
    if o.end <= now:
        return (f"不能修改过去的值班（{o.start:%Y-%m-%d %H:%M}–{o.end:%Y-%m-%d %H:%M} 已经过去） / cannot rewrite "
                f"the past: {o.start:%Y-%m-%d %H:%M}–{o.end:%Y-%m-%d %H:%M} is over")
    if o.replaced is not None and o.replaced == o.replacement:
        return f"不能由本人替换本人（{o.replaced}） / {o.replaced!r} cannot replace themselves"
    if o.replaced is not None and not any(
            s.tier is o.tier and s.person == o.replaced and s.start < o.end and o.start < s.end for s in shifts):
        return (f"{o.replaced} 在 {o.start:%m-%d %H:%M}–{o.end:%m-%d %H:%M} 没有{zh}班次，无可替换 / {o.replaced!r} "
                f"has no {en} shift in that span: nothing to replace (see `hotline roster who`)")
    return None


def rotation_fills(roster: Roster, start: datetime, end: datetime, windows: ServiceWindows,
                   calendar: WorkingCalendar) -> list[Shift]:
    """The rotation shifts that fill holes of a dated table: those of a tier on a day the table (or a holiday
    roster) has shifts of that tier. They are no gaps, but the supervisor may not expect them."""
    tz = windows.tz
    dated_days = {(d.tier, d.start.astimezone(tz).date()) for d in roster.dated}
    return [s for s in shifts_between(roster, start, end, windows, calendar)
            if s.source == "rotation" and (s.tier, s.start.astimezone(tz).date()) in dated_days]
