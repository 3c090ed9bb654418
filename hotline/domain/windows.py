"""Service windows (remote phone service 7x24, on-site service 6x8) and the working-day calendar.

The calendar holds only the exceptions to the weekly pattern: statutory holidays (法定节假日) and
adjusted working days (调休上班). Pure: times are arguments, the timezone is explicit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum

Span = tuple[datetime, datetime]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class WindowKind(StrEnum):
    """What service a moment belongs to."""

    ONSITE = "onsite"  # on-site hours of a working day: engineers at the desk
    REMOTE = "remote"  # outside on-site hours: remote phone service only
    HOLIDAY = "holiday"  # a statutory holiday: holiday roster, remote service


class DayKind(StrEnum):
    HOLIDAY = "holiday"  # 法定节假日: a day off, even on a weekday
    WORKDAY = "workday"  # 调休上班: a working day, even on a weekend


class Requirement(StrEnum):
    """When a tier must have somebody on duty."""

    ALWAYS = "always"  # 7x24
    ONSITE = "onsite"  # on-site hours of on-site days (not on holidays)
    DAYTIME = "daytime"  # on-site hours of every day, holidays and weekends included
    NONE = "none"


@dataclass(frozen=True)
class CalendarDay:
    day: date
    kind: DayKind
    name: str = ""


@dataclass(frozen=True)
class WorkingCalendar:
    """Holidays and adjusted working days; `known_years` are years whose official schedule is entered."""

    days: Mapping[date, CalendarDay] = field(default_factory=dict)
    known_years: frozenset[int] = frozenset()

    @classmethod
    def of(cls, days: Iterable[CalendarDay], known_years: Iterable[int]) -> WorkingCalendar:
        return cls({d.day: d for d in days}, frozenset(known_years))

    def entry(self, day: date) -> CalendarDay | None:
        return self.days.get(day)

    def is_holiday(self, day: date) -> bool:
        e = self.days.get(day)
        return e is not None and e.kind is DayKind.HOLIDAY

    def is_adjusted_workday(self, day: date) -> bool:
        e = self.days.get(day)
        return e is not None and e.kind is DayKind.WORKDAY

    def knows(self, year: int) -> bool:
        return year in self.known_years


def parse_clock_time(text: str) -> time:
    """'HH:MM' (or 'H:MM'); '24:00' is read as midnight."""
    hh, sep, mm = text.strip().partition(":")
    if not sep or not hh.isdigit() or not mm.isdigit() or len(mm) != 2:
        raise ValueError(f"not a time of day (HH:MM): {text!r}")
    h, m = int(hh), int(mm)
    if (h, m) == (24, 0):
        return time(0, 0)
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValueError(f"not a time of day (HH:MM): {text!r}")
    return time(h, m)


def local_span(day: date, start: time, end: time, tz: tzinfo) -> Span:
    """[start, end) on `day` in `tz`; an end at or before the start is on the next day."""
    s = datetime.combine(day, start, tz)
    e_day = day if end > start else day + timedelta(days=1)
    return s, datetime.combine(e_day, end, tz)


def days_between(first: date, last: date) -> Iterator[date]:
    """Every date from `first` to `last`, both included."""
    d = first
    while d <= last:
        yield d
        d += timedelta(days=1)


@dataclass(frozen=True)
class ServiceWindows:
    """On-site days and hours (default Monday to Saturday 09:00-17:00) in `tz`; remote is 7x24."""

    tz: tzinfo
    onsite_days: frozenset[int] = frozenset(range(6))  # 0 = Monday
    onsite_start: time = time(9, 0)
    onsite_end: time = time(17, 0)

    def is_onsite_day(self, day: date, calendar: WorkingCalendar) -> bool:
        """Holidays never are; adjusted working days always are; else the configured weekdays."""
        if calendar.is_holiday(day):
            return False
        if calendar.is_adjusted_workday(day):
            return True
        return day.weekday() in self.onsite_days

    def classify(self, at: datetime, calendar: WorkingCalendar) -> WindowKind:
        local = at.astimezone(self.tz)
        day = local.date()
        if calendar.is_holiday(day):
            return WindowKind.HOLIDAY
        if self.is_onsite_day(day, calendar) and self.onsite_start <= local.time() < self.onsite_end:
            return WindowKind.ONSITE
        return WindowKind.REMOTE

    def onsite_hours(self, day: date) -> Span:
        return local_span(day, self.onsite_start, self.onsite_end, self.tz)

    def required_spans(self, requirement: Requirement, start: datetime, end: datetime,
                       calendar: WorkingCalendar) -> list[Span]:
        """The parts of [start, end) in which a tier with `requirement` must have somebody."""
        if requirement is Requirement.NONE or end <= start:
            return []
        if requirement is Requirement.ALWAYS:
            return [(start, end)]
        spans: list[Span] = []
        first = start.astimezone(self.tz).date() - timedelta(days=1)
        for day in days_between(first, end.astimezone(self.tz).date()):
            if requirement is Requirement.ONSITE and not self.is_onsite_day(day, calendar):
                continue
            s, e = self.onsite_hours(day)
            s, e = max(s, start), min(e, end)
            if s < e:
                spans.append((s, e))
        return spans


def year_warning(year: int) -> str:
    return (f"{year} 年的法定节假日和调休安排尚未录入，值班表按普通日期处理；请在国务院公布后录入"
            f"（hotline roster holidays seed / set / confirm）。 / The official {year} holiday and make-up "
            f"working-day schedule is not entered: dates are treated as ordinary days; enter it when the "
            f"State Council publishes it (hotline roster holidays seed / set / confirm).")


def missing_year_warnings(today: date, calendar: WorkingCalendar) -> list[str]:
    """Warnings for years whose official holiday schedule is not entered: this year always, next year
    from 1 November on (the State Council usually publishes it in late October or November)."""
    years = [today.year] + ([today.year + 1] if today.month >= 11 else [])
    return [year_warning(y) for y in years if not calendar.knows(y)]


def dated_year_warnings(first: date, last: date, calendar: WorkingCalendar) -> list[str]:
    """Warnings for the years from `first` to `last` (the dates asked about, imported or exported) whose
    official holiday schedule is not confirmed: holidays there are taken as ordinary days."""
    return [year_warning(y) for y in range(first.year, last.year + 1) if not calendar.knows(y)]


OFFICIAL_HOLIDAYS = (("元旦", "New Year"), ("春节", "Spring Festival"), ("清明", "Tomb"), ("劳动", "Labour"),
                     ("端午", "Dragon Boat"), ("中秋", "Mid-autumn"), ("国庆", "National Day"))


def incomplete_year_warning(year: int, calendar: WorkingCalendar) -> str | None:
    """Why `year`'s entered schedule looks incomplete (a statutory holiday with no day named after it),
    or None. Asked when someone confirms a year by hand."""
    names = [d.name for d in calendar.days.values() if d.day.year == year and d.kind is DayKind.HOLIDAY]
    missing = [zh for zh, en in OFFICIAL_HOLIDAYS
               if not any(zh in n or en.lower() in n.lower() for n in names)]
    if not missing:
        return None
    return (f"{year} 年只录入了 {len(names)} 个节假日，缺少：{'、'.join(missing)}；请核对国务院通知 / only "
            f"{len(names)} holiday(s) of {year} are entered and none is named {', '.join(missing)}: check the "
            f"State Council notice (hotline roster holidays set DAY holiday --name 春节)")


def parse_weekdays(names: Iterable[str]) -> frozenset[int]:
    """['mon', 'tue', ...] as weekday numbers (0 = Monday); raises ValueError naming a bad entry."""
    out: set[int] = set()
    for n in names:
        key = str(n).strip().lower()[:3]
        if key not in WEEKDAYS:
            raise ValueError(f"unknown weekday {n!r} (use mon, tue, wed, thu, fri, sat, sun)")
        out.add(WEEKDAYS.index(key))
    return frozenset(out)
