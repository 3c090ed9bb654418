"""The duty roster service: who is on duty at T, the service window of T, coverage gaps, the working-day
calendar, overrides and swaps, handover notes. Reads and writes through `RosterStore`; time comes from
the injected Clock. File import and export live in `files`, notices in `notices`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from hotline.clock import Clock
from hotline.config import Settings
from hotline.domain.roster import (
    Gap,
    OnDuty,
    Override,
    Person,
    Roster,
    Shift,
    Tier,
    find_gaps,
    on_duty,
    shifts_between,
)
from hotline.domain.windows import CalendarDay, DayKind, WindowKind, WorkingCalendar, missing_year_warnings
from hotline.services.roster import files, holidays
from hotline.services.roster.config import RosterConfig, roster_config
from hotline.store.base import unit_of_work
from hotline.store.roster import RosterStore

__all__ = ["Gap", "OnDuty", "Person", "RosterError", "RosterService", "WindowKind", "on_duty_dict"]


MAX_GAP_DAYS = 732  # roster gaps are looked for over at most two years at a time

class RosterError(ValueError):
    """A roster change that cannot be made (unknown person, bad span): says what and what to do."""


@dataclass(frozen=True)
class ChangeRecord:
    at: datetime
    actor: str
    action: str
    detail: str


def person_dict(p: Person) -> dict[str, Any]:
    return {"name": p.name, "mobile": p.mobile, "extension": p.extension, "email": p.email,
            "chat_ids": {"wecom": p.chat_ids.wecom, "dingtalk": p.chat_ids.dingtalk, "feishu": p.chat_ids.feishu},
            "channels": list(p.channels), "specialties": sorted(p.specialties)}


def on_duty_dict(duty: OnDuty) -> dict[str, Any]:
    """`duty` as JSON-ready data: the window and, per tier, people with contact data and shift end."""
    def entry(tier: Tier, p: Person) -> dict[str, Any]:
        until = duty.until(tier, p.name)
        return {**person_dict(p), "until": until.isoformat() if until else None}

    return {"at": duty.at.isoformat(), "window": duty.window.value,
            "tiers": {t.value: [entry(t, p) for p in duty.tier(t)] for t in Tier}}


class RosterService:
    def __init__(self, session_factory: sessionmaker[Session], settings: Settings, clock: Clock,
                 config: RosterConfig | None = None) -> None:
        self.factory = session_factory
        self.settings = settings
        self.clock = clock
        self.config = config or roster_config(settings)
        self.tz = settings.tz
        self.windows = self.config.windows

    # reading --------------------------------------------------------------------------------------
    def snapshot(self, start: datetime, end: datetime) -> tuple[Roster, WorkingCalendar]:
        """The roster (with dated shifts and overrides near [start, end)) and the calendar."""
        with unit_of_work(self.factory) as s:
            store = RosterStore(s)
            return store.load(start - timedelta(days=2), end + timedelta(days=2)), store.calendar()

    def calendar(self) -> WorkingCalendar:
        with unit_of_work(self.factory) as s:
            return RosterStore(s).calendar()

    def people(self) -> dict[str, Person]:
        with unit_of_work(self.factory) as s:
            return RosterStore(s).people()

    def on_duty(self, at: datetime, specialty: str | None = None) -> OnDuty:
        """The people of every tier on duty at `at` (a shift's last minute belongs to the next)."""
        roster, cal = self.snapshot(at, at)
        return on_duty(roster, at, self.windows, cal, specialty)

    def classify(self, at: datetime) -> WindowKind:
        return self.windows.classify(at, self.calendar())

    def day_span(self, first: date, last: date) -> tuple[datetime, datetime]:
        """[first 00:00, the day after last 00:00) in the configured timezone."""
        return datetime.combine(first, time(0), self.tz), datetime.combine(last + timedelta(days=1), time(0), self.tz)

    def shifts(self, first: date, last: date, person: str | None = None) -> list[Shift]:
        """Effective shifts that start on a date from `first` to `last` (local dates)."""
        start, end = self.day_span(first, last)
        roster, cal = self.snapshot(start - timedelta(days=1), end)
        return [s for s in shifts_between(roster, start, end, self.windows, cal)
                if start <= s.start < end and (person is None or s.person == person)]

    def gaps(self, start: date, end: date) -> list[Gap]:
        """Spans from `start` to `end` (both dates included) where a required tier has nobody.
        Raises ValueError for a range longer than MAX_GAP_DAYS (the work grows with the range)."""
        days = (end - start).days + 1
        if days > MAX_GAP_DAYS:
            raise ValueError(f"查询范围过长（{days} 天，最多 {MAX_GAP_DAYS} 天）/ the range is {days} days long; "
                             f"ask for at most {MAX_GAP_DAYS} days at a time")
        lo, hi = self.day_span(start, end)
        roster, cal = self.snapshot(lo, hi)
        return find_gaps(roster, lo, hi, self.windows, cal, self.config.coverage)

    def calendar_warnings(self, today: date | None = None) -> list[str]:
        """This year's or (from 1 November) next year's official schedule missing from the calendar."""
        today = today or self.clock.now().astimezone(self.tz).date()
        return missing_year_warnings(today, self.calendar())

    # working-day calendar ---------------------------------------------------------------------------
    def seed_calendar(self, years: Iterable[int], actor: str) -> dict[int, str]:
        """Copy the official schedule of `years` from chinesecalendar into our table; days an
        administrator entered are kept. Returns a line per year (seeded or why not)."""
        out: dict[int, str] = {}
        now = self.clock.now()
        for year in years:
            try:
                days = holidays.official_schedule(year)
            except holidays.ScheduleUnknown as e:
                out[year] = str(e)
                continue
            with unit_of_work(self.factory) as s:
                store = RosterStore(s)
                admin = {d.day for d, source in store.calendar_days(year) if source != holidays.SOURCE}
                fresh = [d for d in days if d.day not in admin]
                store.set_days(fresh, holidays.SOURCE, actor, now)
                store.confirm_year(year, holidays.SOURCE, actor, now)
                store.log(actor, now, "calendar.seed", f"{year}: {len(fresh)} days from {holidays.SOURCE}")
            out[year] = f"{year}: 已录入 {len(fresh)} 天 / {len(fresh)} days seeded from {holidays.SOURCE}"
        return out

    def ensure_calendar(self, today: date | None = None) -> None:
        """Seed this year and next year from the library when our table does not know them yet."""
        today = today or self.clock.now().astimezone(self.tz).date()
        cal = self.calendar()
        missing = [y for y in (today.year, today.year + 1) if not cal.knows(y)]
        if missing:
            self.seed_calendar(missing, "system")

    def set_calendar_day(self, day: date, kind: DayKind, name: str, actor: str) -> None:
        now = self.clock.now()
        with unit_of_work(self.factory) as s:
            store = RosterStore(s)
            store.set_days([CalendarDay(day, kind, name)], "admin", actor, now)
            store.log(actor, now, "calendar.set", f"{day} {kind.value} {name}".strip())

    def unset_calendar_day(self, day: date, actor: str) -> bool:
        now = self.clock.now()
        with unit_of_work(self.factory) as s:
            store = RosterStore(s)
            removed = store.unset_day(day)
            store.log(actor, now, "calendar.unset", str(day))
        return removed

    def confirm_year(self, year: int, actor: str) -> None:
        """Mark `year`'s schedule as entered completely (after typing in the State Council notice)."""
        now = self.clock.now()
        with unit_of_work(self.factory) as s:
            store = RosterStore(s)
            store.confirm_year(year, "admin", actor, now)
            store.log(actor, now, "calendar.confirm", str(year))

    def calendar_days(self, year: int) -> list[tuple[CalendarDay, str]]:
        with unit_of_work(self.factory) as s:
            return RosterStore(s).calendar_days(year)

    # overrides, swaps, notes, history ---------------------------------------------------------------
    def add_override(self, tier: Tier, start: datetime, end: datetime, replaced: str | None,
                     replacement: str | None, reason: str, actor: str) -> Override:
        """`replacement` takes `replaced`'s place in `tier` for [start, end) (see `Override`)."""
        if end <= start:
            raise RosterError(f"结束须晚于开始 / the end {end} must be after the start {start}")
        now = self.clock.now()
        override = Override(tier, start, end, replaced, replacement, reason, actor, now)
        with unit_of_work(self.factory) as s:
            store = RosterStore(s)
            self._check_people(store, replaced, replacement)
            store.add_override(override)
            store.log(actor, now, "override", f"{tier.value} {start:%Y-%m-%d %H:%M}–{end:%Y-%m-%d %H:%M} "
                                              f"{replaced or '*'} -> {replacement or '-'} {reason}".strip())
        return override

    def swap(self, tier: Tier, first: Shift, second: Shift, reason: str, actor: str) -> None:
        """Two people trade shifts: each covers the other's span."""
        self.add_override(tier, first.start, first.end, first.person, second.person, reason, actor)
        self.add_override(tier, second.start, second.end, second.person, first.person, reason, actor)

    def shift_of(self, person: str, at: datetime) -> Shift | None:
        """The shift of `person` that contains `at` (to pick the shifts of a swap)."""
        return next((s for s in self.on_duty(at).shifts if s.person == person), None)

    @staticmethod
    def _check_people(store: RosterStore, *names: str | None) -> None:
        people = store.people()
        for n in names:
            if n and n not in people:
                raise RosterError(f"未知人员 “{n}”，请先导入人员表 / unknown person {n!r}: import the staff list first")

    def add_handover_note(self, tier: Tier, author: str, text: str) -> None:
        now = self.clock.now()
        with unit_of_work(self.factory) as s:
            store = RosterStore(s)
            store.add_note(tier, author, now, text)
            store.log(author, now, "handover", f"{tier.value}: {text[:80]}")

    def handover_notes(self, tier: Tier, start: datetime, end: datetime) -> list[tuple[str, datetime, str]]:
        with unit_of_work(self.factory) as s:
            return RosterStore(s).notes_between(tier, start, end)

    def history(self, limit: int = 50) -> list[ChangeRecord]:
        with unit_of_work(self.factory) as s:
            return [ChangeRecord(*row) for row in RosterStore(s).changes(limit)]

    # files (see files) ------------------------------------------------------------------------
    def load_example(self, path: Path | None = None, actor: str = "system") -> str:
        """Load the desk file named by `[roster] file` (default config/roster.yaml)."""
        return files.load_desk_file(self, path or self.config.file, actor)

    def import_file(self, path: Path, actor: str) -> str:
        """Import `.yaml` (desk file), `.xlsx` or `.csv` (dated roster table) in one transaction."""
        return files.import_file(self, path, actor)

    def export(self, fmt: str, first: date, last: date, person: str | None = None,
               english: bool = False) -> bytes:
        return files.export(self, fmt, first, last, person, english)
