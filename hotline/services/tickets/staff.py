"""Who the tickets are given to: the roster's people by name, extension or mobile, who is on duty in a
tier, and the working calendar the SLA clocks count in. `RosterStaff` adapts the roster service."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from hotline.domain.roster import Person, shifts_between
from hotline.domain.sla import Calendar
from hotline.paging.base import Recipient
from hotline.services.roster.duty import RosterDuty, recipient
from hotline.services.roster.service import RosterService

_TOKEN = re.compile(r"[^/@;\-]+")


class Staff(Protocol):
    def identify(self, who: str | None) -> str | None:
        """The roster name of `who` (a name, an extension, a mobile, a channel like 'PJSIP/8001'), or None."""
        ...

    def person(self, name: str) -> Recipient | None: ...

    def on_duty(self, at: datetime, tier: str, specialty: str | None = None) -> Sequence[Recipient]: ...

    def duty_between(self, start: datetime, end: datetime) -> DutyAt:
        """`on_duty` for any time in [start, end] from one read of the roster (a batch of calls)."""
        ...

    def calendar(self) -> Calendar: ...


# (at, tier, specialty) -> the people of `tier` on duty at `at`, the specialty's specialists first
DutyAt = Callable[[datetime, str, "str | None"], Sequence[Recipient]]


class RosterStaff:
    """The roster's people are read again after `ttl` of clock time (names change rarely; a call is quick)."""

    def __init__(self, roster: RosterService, ttl: timedelta = timedelta(minutes=1)) -> None:
        self.roster = roster
        self.duty = RosterDuty(roster)
        self.ttl = ttl
        self._people: tuple[datetime, dict[str, Person]] | None = None

    def _everyone(self) -> dict[str, Person]:
        now = self.roster.clock.now()
        if self._people is None or not (self._people[0] <= now < self._people[0] + self.ttl):
            self._people = (now, self.roster.people())
        return self._people[1]

    def identify(self, who: str | None) -> str | None:
        if not who:
            return None
        people = self._everyone()
        if who in people:
            return who
        tokens = set(_TOKEN.findall(who)) | {who}
        for p in people.values():
            if (p.extension and p.extension in tokens) or (p.mobile and p.mobile in tokens):
                return p.name
        return None

    def person(self, name: str) -> Recipient | None:
        p = self._everyone().get(name)
        return recipient(p) if p is not None else None

    def on_duty(self, at: datetime, tier: str, specialty: str | None = None) -> Sequence[Recipient]:
        return self.duty.people(at, tier, specialty)

    def duty_between(self, start: datetime, end: datetime) -> DutyAt:
        """One read of the roster and one list of the shifts of [start, end]; each time then picks the shifts
        it falls in (as `on_duty` does for one time), the specialty's specialists first as `RosterDuty`."""
        roster, cal = self.roster.snapshot(start, end)
        shifts = shifts_between(roster, start, end + timedelta(seconds=1), self.roster.windows, cal)

        def people(at: datetime, tier: str, specialty: str | None = None) -> list[Recipient]:
            everyone: list[Person] = []
            for s in shifts:
                if s.tier == tier and s.contains(at):
                    person = roster.people.get(s.person, Person(s.person))
                    if person not in everyone:
                        everyone.append(person)
            chosen = [p for p in everyone if p.covers(specialty)] or everyone
            return [recipient(p) for p in chosen]

        return people

    def calendar(self) -> Calendar:
        return Calendar(self.roster.windows, self.roster.calendar())
