"""The roster read once: the rotations, dated shifts, overrides, people and working-day calendar of a span,
held in memory so that one notice (or one run of the notices) asks all its questions without going back to
the database. `RosterService.view(start, end)` makes one; the service's own readers go through it too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from hotline.domain.roster import Gap, OnDuty, Person, Roster, Shift, find_gaps, on_duty, shifts_between
from hotline.domain.windows import WorkingCalendar, dated_year_warnings, missing_year_warnings
from hotline.services.roster.config import RosterConfig

DAY = timedelta(days=1)


class OutsideView(ValueError):
    """A question about times the view did not read (a bug: the view was made too narrow)."""


@dataclass(frozen=True)
class RosterView:
    """The roster as stored when read, able to answer about [start, end)."""

    roster: Roster
    calendar: WorkingCalendar
    config: RosterConfig
    start: datetime
    end: datetime

    @property
    def tz(self) -> tzinfo:
        return self.config.windows.tz

    @property
    def people(self) -> dict[str, Person]:
        return dict(self.roster.people)

    def _need(self, start: datetime, end: datetime) -> None:
        if start < self.start or end > self.end:
            raise OutsideView(f"the roster was read for [{self.start.isoformat()}, {self.end.isoformat()}), "
                              f"asked about [{start.isoformat()}, {end.isoformat()})")

    def day_span(self, first: date, last: date) -> tuple[datetime, datetime]:
        """[first 00:00, the day after last 00:00) in the desk's timezone."""
        return datetime.combine(first, time(0), self.tz), datetime.combine(last + DAY, time(0), self.tz)

    def between(self, start: datetime, end: datetime) -> list[Shift]:
        """Every effective shift overlapping [start, end)."""
        self._need(start, end)
        return shifts_between(self.roster, start, end, self.config.windows, self.calendar)

    def shifts(self, first: date, last: date, person: str | None = None) -> list[Shift]:
        """Effective shifts that start on a date from `first` to `last` (local dates)."""
        start, end = self.day_span(first, last)
        return [s for s in self.between(start - DAY, end)
                if start <= s.start < end and (person is None or s.person == person)]

    def on_duty(self, at: datetime, specialty: str | None = None) -> OnDuty:
        """The people of every tier on duty at `at` (a shift's last minute belongs to the next)."""
        self._need(at, at + timedelta(seconds=1))
        return on_duty(self.roster, at, self.config.windows, self.calendar, specialty)

    def gaps_between(self, start: datetime, end: datetime) -> list[Gap]:
        """Holes of [start, end) (a gap ongoing at `start` starts there, one going on at `end` ends there)."""
        self._need(start, end)
        return find_gaps(self.roster, start, end, self.config.windows, self.calendar, self.config.coverage)

    def gaps_touching(self, start: datetime, end: datetime, margin: timedelta) -> list[Gap]:
        """The holes that touch [start, end), whole: one that began before `start` or goes on after `end` is
        shown from its start to its end (looked for up to `margin` either side)."""
        return [g for g in self.gaps_between(start - margin, end + margin) if g.start < end and g.end > start]

    def date_warnings(self, first: date, last: date) -> list[str]:
        """Warnings for the years from `first` to `last` whose holiday schedule is not confirmed."""
        return dated_year_warnings(first, last, self.calendar)

    def calendar_warnings(self, today: date) -> list[str]:
        """This year's or (from 1 November) next year's official schedule missing from the calendar."""
        return missing_year_warnings(today, self.calendar)
