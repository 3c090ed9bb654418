"""The duty roster service: who is on duty at T, the service window of T, coverage gaps, the working-day
calendar, overrides and swaps, handover notes. Reads and writes through `RosterStore`; time comes from
the injected Clock. File import and export live in `files`, notices in `notices`."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from hotline.clock import Clock
from hotline.clock import today as desk_today
from hotline.config import Settings
from hotline.domain.fairness import Conflict, Load, conflicts, loads
from hotline.domain.roster import (
    Gap,
    OnDuty,
    Override,
    Person,
    Roster,
    Shift,
    Tier,
    from_now,
    override_problem,
    rotation_fills,
    shifts_between,
)
from hotline.domain.windows import (
    CalendarDay,
    DayKind,
    WindowKind,
    WorkingCalendar,
    dated_year_warnings,
    incomplete_year_warning,
    missing_year_warnings,
)
from hotline.services.roster import files, holidays
from hotline.services.roster.config import RosterConfig, roster_config
from hotline.services.roster.view import RosterView
from hotline.store.base import unit_of_work
from hotline.store.roster import RosterRequest, RosterStore

__all__ = ["Gap", "OnDuty", "Person", "RosterError", "RosterRequest", "RosterService", "WindowKind", "on_duty_dict"]


FEED_TOKEN_BYTES = 24  # 192 bits: a feed URL cannot be guessed
FEED_DAYS_BACK, FEED_DAYS_AHEAD = 30, 90


def feed_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


MAX_GAP_DAYS = 732  # roster gaps are looked for over at most two years at a time

# How far either side of the span asked about the dated shifts and overrides are read (shifts that start or end
# outside the span still cover part of it); `view` and `dated` read the same.
_DATED_MARGIN = timedelta(days=2)


class RosterError(ValueError):
    """A roster change that cannot be made (unknown person, bad span): says what and what to do."""


@dataclass(frozen=True)
class ChangeRecord:
    at: datetime
    actor: str
    action: str
    detail: str


def override_text(o: Override, tz: ZoneInfo) -> str:
    """`first_line 2026-11-25 20:00–2026-11-26 08:00 张伟 -> 刘洋 病假` (`*` the whole tier, `-` nobody)."""
    span = f"{o.start.astimezone(tz):%Y-%m-%d %H:%M}–{o.end.astimezone(tz):%Y-%m-%d %H:%M}"
    return f"{o.tier.value} {span} {o.replaced or '*'} -> {o.replacement or '-'} {o.reason}".strip()


def person_dict(p: Person) -> dict[str, Any]:
    return {"name": p.name, "mobile": p.mobile, "extension": p.extension, "email": p.email,
            "chat_ids": {"wecom": p.chat_ids.wecom, "dingtalk": p.chat_ids.dingtalk, "feishu": p.chat_ids.feishu},
            "channels": list(p.channels), "specialties": sorted(p.specialties)}


def on_duty_dict(duty: OnDuty) -> dict[str, Any]:
    """`duty` as JSON-ready data: the window and, per tier, people with contact data and shift end."""
    def entry(tier: Tier, p: Person) -> dict[str, Any]:
        until = duty.until(tier, p.name)
        return {**person_dict(p), "until": until.isoformat() if until else None,
                "layers": list(duty.layers(tier, p.name))}

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
        view = self.view(start, end)
        return view.roster, view.calendar

    def dated(self, start: datetime, end: datetime) -> tuple[tuple[Shift, ...], tuple[Override, ...]]:
        """The dated shifts and overrides near [start, end), as `snapshot` reads them (the rest of the roster
        and the calendar do not depend on the time: a caller that holds them reads only these)."""
        with unit_of_work(self.factory) as s:
            return RosterStore(s).dated(start - _DATED_MARGIN, end + _DATED_MARGIN)

    def view(self, start: datetime, end: datetime) -> RosterView:
        """The roster and the calendar read once (one unit of work), answering about [start, end)."""
        with unit_of_work(self.factory) as s:
            store = RosterStore(s)
            roster = store.load(start - _DATED_MARGIN, end + _DATED_MARGIN)
            return RosterView(roster, store.calendar(), self.config, start, end)

    def day_view(self, first: date, last: date, margin: timedelta = timedelta(days=1)) -> RosterView:
        """A view of the days from `first` to `last` and `margin` either side."""
        lo, hi = self.day_span(first, last)
        return self.view(lo - margin, hi + margin)

    def calendar(self) -> WorkingCalendar:
        with unit_of_work(self.factory) as s:
            return RosterStore(s).calendar()

    def people(self) -> dict[str, Person]:
        with unit_of_work(self.factory) as s:
            return RosterStore(s).people()

    def on_duty(self, at: datetime, specialty: str | None = None) -> OnDuty:
        """The people of every tier on duty at `at` (a shift's last minute belongs to the next)."""
        return self.view(at, at + timedelta(seconds=1)).on_duty(at, specialty)

    def classify(self, at: datetime) -> WindowKind:
        return self.windows.classify(at, self.calendar())

    def day_span(self, first: date, last: date) -> tuple[datetime, datetime]:
        """[first 00:00, the day after last 00:00) in the configured timezone."""
        return datetime.combine(first, time(0), self.tz), datetime.combine(last + timedelta(days=1), time(0), self.tz)

    def shifts(self, first: date, last: date, person: str | None = None) -> list[Shift]:
        """Effective shifts that start on a date from `first` to `last` (local dates)."""
        return self.day_view(first, last).shifts(first, last, person)

    def gaps(self, start: date, end: date) -> list[Gap]:
        """Spans from `start` to `end` (both dates included) where a required tier has nobody.
        Raises ValueError for a range longer than MAX_GAP_DAYS (the work grows with the range)."""
        days = (end - start).days + 1
        if days > MAX_GAP_DAYS:
            raise ValueError(f"查询范围过长（{days} 天，最多 {MAX_GAP_DAYS} 天）/ the range is {days} days long; "
                             f"ask for at most {MAX_GAP_DAYS} days at a time")
        lo, hi = self.day_span(start, end)
        return self.view(lo, hi).gaps_between(lo, hi)

    def gaps_between(self, start: datetime, end: datetime) -> list[Gap]:
        """Holes of [start, end) (a gap ongoing at `start` starts there)."""
        return self.view(start, end).gaps_between(start, end)

    def fairness(self, first: date, last: date) -> tuple[list[Load], list[Conflict]]:
        """Hours, nights and holiday shifts per person of the shifts starting from `first` to `last`, and the
        double bookings and short rests among them (`[roster] min_rest_hours`)."""
        shifts = self.shifts(first - timedelta(days=1), last + timedelta(days=1))
        lo, hi = self.day_span(first, last)
        mine = [s for s in shifts if lo <= s.start < hi]
        found = [c for c in conflicts(shifts, timedelta(hours=self.config.min_rest_hours))
                 if lo <= c.second.start < hi]
        return loads(mine, self.calendar(), self.tz), found

    def rotation_fills(self, start: date, end: date) -> list[Shift]:
        """Rotation shifts from `start` to `end` that fill holes of an imported table (see `rotation_fills`)."""
        lo, hi = self.day_span(start, end)
        roster, cal = self.snapshot(lo, hi)
        return [s for s in rotation_fills(roster, lo, hi, self.windows, cal) if lo <= s.start < hi]

    def date_warnings(self, first: date, last: date) -> list[str]:
        """Warnings for the years from `first` to `last` (dates asked about, imported or exported) whose
        holiday schedule is not confirmed."""
        return dated_year_warnings(first, last, self.calendar())

    def calendar_warnings(self, today: date | None = None) -> list[str]:
        """This year's or (from 1 November) next year's official schedule missing from the calendar."""
        today = today or desk_today(self.clock, self.tz)
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
        today = today or desk_today(self.clock, self.tz)
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

    def confirm_year(self, year: int, actor: str) -> str | None:
        """Mark `year`'s schedule as entered completely (after typing in the State Council notice); returns a
        warning when a statutory holiday has no day entered for it (the year is confirmed all the same)."""
        now = self.clock.now()
        with unit_of_work(self.factory) as s:
            store = RosterStore(s)
            warning = incomplete_year_warning(year, store.calendar())
            store.confirm_year(year, "admin", actor, now)
            store.log(actor, now, "calendar.confirm", str(year) + (" (incomplete)" if warning else ""))
        return warning

    def calendar_days(self, year: int) -> list[tuple[CalendarDay, str]]:
        with unit_of_work(self.factory) as s:
            return RosterStore(s).calendar_days(year)

    # overrides, swaps, notes, history ---------------------------------------------------------------
    def add_override(self, tier: Tier, start: datetime, end: datetime, replaced: str | None,
                     replacement: str | None, reason: str, actor: str) -> Override:
        """`replacement` takes `replaced`'s place in `tier` for [start, end) (see `Override`); nonsense (the
        past, a person replacing themselves, replacing someone not on duty there) raises RosterError."""
        [override] = self._add_overrides([Override(tier, start, end, replaced, replacement, reason, actor)], actor)
        return override

    def _add_overrides(self, overrides: list[Override], actor: str) -> list[Override]:
        """Check every override against the roster as it is, then store them as one batch."""
        now = self.clock.now()
        batch = uuid.uuid4().hex
        stored: list[Override] = []
        with unit_of_work(self.factory) as s:
            store = RosterStore(s)
            cal = store.calendar()
            overrides = [from_now(o, now) for o in overrides]
            for o in overrides:
                self._check_people(store, o.replaced, o.replacement)
                roster = store.load(o.start - timedelta(days=2), o.end + timedelta(days=2))
                problem = override_problem(o, shifts_between(roster, o.start, o.end, self.windows, cal), now)
                if problem:
                    raise RosterError(problem)
            for o in overrides:
                o = replace(o, created_by=actor, created_at=now, batch=batch)
                stored.append(replace(o, id=store.add_override(o)))
                store.log(actor, now, "override", override_text(o, self.tz))
        return stored

    def preview_override(self, o: Override) -> tuple[list[Shift], list[Shift]]:
        """What `o` would change, without storing it: (the shifts it ends, the shifts it makes) in its tier and
        span; raises RosterError as `add_override` would."""
        now = self.clock.now()
        o = from_now(o, now)
        with unit_of_work(self.factory) as s:
            store = RosterStore(s)
            self._check_people(store, o.replaced, o.replacement)
            roster, cal = store.load(o.start - timedelta(days=2), o.end + timedelta(days=2)), store.calendar()
        before = shifts_between(roster, o.start, o.end, self.windows, cal)
        problem = override_problem(o, before, now)
        if problem:
            raise RosterError(problem)
        after = shifts_between(replace(roster, overrides=(*roster.overrides, o)), o.start, o.end, self.windows, cal)
        mine = [s for s in before if s.tier is o.tier]
        made = [s for s in after if s.tier is o.tier]
        return [s for s in mine if s not in made], [s for s in made if s not in mine]

    # requests and approvals ----------------------------------------------------------------------
    def request(self, overrides: list[Override], reason: str, by: str, kind: str = "override") -> int:
        """Ask for overrides (a swap is two) that a manager approves; checked now, and again on approval."""
        for o in overrides:
            self.preview_override(o)
        now = self.clock.now()
        with unit_of_work(self.factory) as s:
            store = RosterStore(s)
            request_id = store.add_request(kind, [from_now(o, now) for o in overrides], reason, by, now)
            store.log(by, now, "request", f"#{request_id} {kind}: "
                      + "; ".join(override_text(o, self.tz) for o in overrides))
        return request_id

    def swap_overrides(self, tier: Tier, first: Shift, second: Shift, reason: str) -> list[Override]:
        if first.person == second.person:
            raise RosterError(f"不能与自己换班（{first.person}） / {first.person!r} cannot swap with themselves")
        return [Override(tier, first.start, first.end, first.person, second.person, reason),
                Override(tier, second.start, second.end, second.person, first.person, reason)]

    def requests(self, state: str | None = "pending") -> list[RosterRequest]:
        with unit_of_work(self.factory) as s:
            return RosterStore(s).requests(state)

    def managers(self) -> set[str]:
        """Who may approve: members of a manager rotation, `[roster] manager_fallback`, and whoever is on the
        manager tier in the coming `gap_warning_days` days."""
        today = desk_today(self.clock, self.tz)
        roster, _ = self.snapshot(*self.day_span(today, today))
        names = {m for r in roster.rotations if r.tier is Tier.MANAGER for m in r.members}
        names |= set(self.config.manager_fallback)
        last = today + timedelta(days=self.config.gap_warning_days - 1)
        return names | {s.person for s in self.shifts(today, last) if s.tier is Tier.MANAGER}

    def decide(self, request_id: int, approve: bool, actor: str) -> list[Override]:
        """A manager approves (the overrides are made, as one batch) or rejects a pending request."""
        if actor not in self.managers():
            raise RosterError(f"{actor} 不是项目经理，不能审批 / {actor!r} is not a manager: only managers approve")
        with unit_of_work(self.factory) as s:
            req = RosterStore(s).request(request_id)
        if req is None or req.state != "pending":
            raise RosterError(f"没有待批的申请 #{request_id} / no pending request #{request_id}")
        made = self._add_overrides(list(req.overrides), req.requested_by) if approve else []
        now = self.clock.now()
        with unit_of_work(self.factory) as s:
            store = RosterStore(s)
            store.decide(request_id, "approved" if approve else "rejected", actor, now,
                         made[0].batch if made else None)
            store.log(actor, now, "request.approve" if approve else "request.reject", f"#{request_id}")
        return made

    def swap(self, tier: Tier, first: Shift, second: Shift, reason: str, actor: str) -> list[Override]:
        """Two people trade shifts: each covers the other's span (one batch: undone together)."""
        return self._add_overrides(self.swap_overrides(tier, first, second, reason), actor)

    def overrides(self, first: date, last: date) -> list[Override]:
        """The overrides overlapping the days from `first` to `last`, in the order made, with their ids."""
        with unit_of_work(self.factory) as s:
            return RosterStore(s).overrides(*self.day_span(first, last))

    def remove_override(self, override_id: int, actor: str) -> list[Override]:
        """Take back the override `override_id` and those made with it (a swap's other half); the history
        keeps what was taken back. Overrides already over cannot be removed."""
        now = self.clock.now()
        with unit_of_work(self.factory) as s:
            store = RosterStore(s)
            batch = store.override_batch(override_id)
            if not batch:
                raise RosterError(f"没有编号为 {override_id} 的调班 / no override {override_id} "
                                  "(see `hotline roster overrides`)")
            if all(o.end <= now for o in batch):
                raise RosterError(f"调班 {override_id} 已结束，不能撤销过去 / override {override_id} is over: "
                                  "the past is not rewritten")
            store.remove_overrides(o.id for o in batch if o.id is not None)
            for o in batch:
                store.log(actor, now, "override.remove", f"#{o.id} {override_text(o, self.tz)}")
        return batch

    def undo(self, actor: str, mine_only: bool = True) -> list[Override]:
        """Take back the latest override (with its batch) made by `actor` (by anyone: `mine_only` False)."""
        with unit_of_work(self.factory) as s:
            last = RosterStore(s).last_override_id(actor if mine_only else None)
        if last is None:
            raise RosterError(f"{actor} 没有可撤销的调班 / {actor!r} has no override to undo")
        return self.remove_override(last, actor)

    def shift_of(self, person: str, at: datetime) -> Shift | None:
        """The shift of `person` that contains `at` (to pick the shifts of a swap)."""
        return next((s for s in self.on_duty(at).shifts if s.person == person), None)

    @staticmethod
    def _check_people(store: RosterStore, *names: str | None) -> None:
        people = store.people()
        for n in names:
            if n and n not in people:
                raise RosterError(f"未知人员 “{n}”，请先导入人员表 / unknown person {n!r}: import the staff list first")

    def ack_handover(self, person: str, via: str = "cli") -> Shift:
        """`person` confirms taking over: their shift on duty now, or starting within the reminder lead."""
        now = self.clock.now()
        lead = timedelta(minutes=self.config.reminder_lead_minutes)
        day = now.astimezone(self.tz).date()
        mine = [s for s in self.shifts(day - timedelta(days=1), day + timedelta(days=1), person)
                if s.start - lead <= now < s.end]
        if not mine:
            raise RosterError(f"{person} 现在没有要接的班 / {person!r} has no shift now or starting within "
                              f"{self.config.reminder_lead_minutes} minutes")
        shift = min(mine, key=lambda s: s.start)
        with unit_of_work(self.factory) as s:
            store = RosterStore(s)
            if store.ack_handover(shift.tier, person, shift.start, now, via):
                store.log(person, now, "handover.ack",
                          f"{shift.tier.value} {shift.start.astimezone(self.tz):%Y-%m-%d %H:%M}")
        return shift

    def acked(self, start: datetime, end: datetime) -> set[tuple[str, str, datetime]]:
        with unit_of_work(self.factory) as s:
            return RosterStore(s).acked(start, end)

    def add_handover_note(self, tier: Tier, author: str, text: str) -> None:
        now = self.clock.now()
        with unit_of_work(self.factory) as s:
            store = RosterStore(s)
            store.add_note(tier, author, now, text)
            store.log(author, now, "handover", f"{tier.value}: {text[:80]}")

    def handover_notes(self, tier: Tier, start: datetime, end: datetime) -> list[tuple[str, datetime, str]]:
        with unit_of_work(self.factory) as s:
            return RosterStore(s).notes_between(tier, start, end)

    def notes_of_tiers(self, start: datetime, end: datetime) -> list[tuple[Tier, str, datetime, str]]:
        """Every tier's handover notes written in [start, end), read at once: (tier, author, at, text)."""
        with unit_of_work(self.factory) as s:
            return RosterStore(s).notes_of_tiers(start, end)

    def history(self, limit: int = 50) -> list[ChangeRecord]:
        with unit_of_work(self.factory) as s:
            return [ChangeRecord(*row) for row in RosterStore(s).changes(limit)]

    # calendar feeds -------------------------------------------------------------------------------
    def create_feed(self, person: str, actor: str) -> str:
        """A new secret token for `person`'s calendar feed (shown once: only its hash is stored)."""
        token = secrets.token_urlsafe(FEED_TOKEN_BYTES)
        now = self.clock.now()
        with unit_of_work(self.factory) as s:
            store = RosterStore(s)
            self._check_people(store, person)
            store.add_feed(person, feed_hash(token), actor, now)
            store.log(actor, now, "feed.create", person)
        return token

    def revoke_feeds(self, person: str, actor: str) -> int:
        """Revoke every live feed of `person`: their subscribed calendars stop updating (404)."""
        now = self.clock.now()
        with unit_of_work(self.factory) as s:
            store = RosterStore(s)
            self._check_people(store, person)
            count = store.revoke_feeds(person, now)
            store.log(actor, now, "feed.revoke", f"{person}: {count}")
        return count

    def feed_person(self, token: str) -> str | None:
        """The person a live feed token belongs to, or None."""
        with unit_of_work(self.factory) as s:
            return RosterStore(s).feed_person(feed_hash(token))

    def feed_ics(self, person: str) -> bytes:
        """`person`'s shifts from 30 days ago to 90 days ahead, with phone numbers and handover notes."""
        today = desk_today(self.clock, self.tz)
        return self.export("ics", today - timedelta(days=FEED_DAYS_BACK), today + timedelta(days=FEED_DAYS_AHEAD),
                           person)

    # files (see files) ------------------------------------------------------------------------
    def load_example(self, path: Path | None = None, actor: str = "system") -> str:
        """Load the desk file named by `[roster] file` (default config/roster.yaml)."""
        return files.load_desk_file(self, path or self.config.file, actor)

    def import_file(self, path: Path, actor: str, dry_run: bool = False) -> files.ImportReport:
        """Import `.yaml` (desk file), `.xlsx` or `.csv` (dated roster table) in one transaction; a table
        replaces only the tiers and spans it covers. `dry_run`: the plan, nothing stored."""
        return files.import_file(self, path, actor, dry_run)

    def export(self, fmt: str, first: date, last: date, person: str | None = None,
               english: bool = False) -> bytes:
        return files.export(self, fmt, first, last, person, english)
