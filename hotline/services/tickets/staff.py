"""Who the tickets are given to: the roster's people by name, extension or mobile, who is on duty in a
tier, and the working calendar the SLA clocks count in. `RosterStaff` adapts the roster service."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from hotline.domain.numbers import NumberKind, try_parse_number
from hotline.domain.roster import Person, Roster, shifts_between
from hotline.domain.sla import Calendar
from hotline.domain.windows import WorkingCalendar
from hotline.paging.base import Recipient
from hotline.services.roster.duty import RosterDuty, recipient
from hotline.services.roster.service import RosterService

_TOKEN = re.compile(r"[^/@;\-]+")
_PHONE_LIKE = re.compile(r"\+?[\d ()]{7,}")


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
    """The roster's people, and the roster and calendar `duty_between` reads, are read again after `ttl` of
    clock time (names and shifts change rarely; a call is quick): a change in the roster editor reaches new
    tickets within a minute, and a busy desk reads the roster once a minute, not once a batch."""

    def __init__(self, roster: RosterService, ttl: timedelta = timedelta(minutes=1),
                 margin: timedelta = timedelta(hours=1), ahead: timedelta = timedelta(days=1)) -> None:
        """`margin`: how far before a batch's calls a roster read reaches; `ahead`: how far after them (calls
        come in time order, live and in a replay, so the next batches use it; a replay's batch can span hours)."""
        self.roster = roster
        self.duty = RosterDuty(roster)
        self.ttl = ttl
        self.margin = margin
        self.ahead = ahead
        self._people: tuple[datetime, dict[str, Person]] | None = None
        self._mobiles: tuple[dict[str, Person], dict[str, str]] | None = None  # for the people read last
        # (read at, covering [start, end], the roster and the calendar read)
        self._snapshot: tuple[datetime, datetime, datetime, Roster, WorkingCalendar] | None = None

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
        # a mobile written another way (Twilio's '+8613800138001' for the roster's '13800138001')
        by_mobile = self._by_mobile(people)
        for token in tokens:
            if not _PHONE_LIKE.fullmatch(token):  # a channel name, an agent's name: not parsed (a failed parse
                continue  # costs ~20 µs, and most staff strings of a call are no phone)
            number = try_parse_number(token)
            if number is not None and number.kind is not NumberKind.EXTENSION and number.key in by_mobile:
                return by_mobile[number.key]
        return None

    def _by_mobile(self, people: dict[str, Person]) -> dict[str, str]:
        """Number key -> name of the roster's mobiles, made once per read of the people."""
        if self._mobiles is None or self._mobiles[0] is not people:
            keys = {}
            for p in people.values():
                number = try_parse_number(p.mobile) if p.mobile else None
                if number is not None:
                    keys[number.key] = p.name
            self._mobiles = (people, keys)
        return self._mobiles[1]

    def person(self, name: str) -> Recipient | None:
        p = self._everyone().get(name)
        return recipient(p) if p is not None else None

    def on_duty(self, at: datetime, tier: str, specialty: str | None = None) -> Sequence[Recipient]:
        return self.duty.people(at, tier, specialty)

    def duty_between(self, start: datetime, end: datetime) -> DutyAt:
        """One read of the roster and one list of the shifts of [start, end]; each time then picks the shifts
        it falls in (as `on_duty` does for one time), the specialty's specialists first as `RosterDuty`."""
        roster, cal = self._roster_between(start, end)
        shifts = shifts_between(roster, start, end + timedelta(seconds=1), self.roster.windows, cal)
        # Between two consecutive shift starts or ends the same shifts are on: each such stretch is looked at
        # once per tier, and a call finds its stretch by bisection (a batch of a replay spans days of shifts).
        edges = sorted({t for s in shifts for t in (s.start, s.end)})
        names_of: dict[tuple[int, str], tuple[str, ...]] = {}
        chosen_of: dict[tuple[tuple[str, ...], str | None], list[Recipient]] = {}  # many calls, few shift sets

        def people(at: datetime, tier: str, specialty: str | None = None) -> list[Recipient]:
            stretch = bisect_right(edges, at), tier
            names = names_of.get(stretch)
            if names is None:
                names = names_of[stretch] = tuple(dict.fromkeys(
                    s.person for s in shifts if s.tier == tier and s.contains(at)))
            chosen = chosen_of.get((names, specialty))
            if chosen is None:
                everyone = [roster.people.get(name, Person(name)) for name in names]
                chosen = chosen_of[names, specialty] = [
                    recipient(p) for p in ([p for p in everyone if p.covers(specialty)] or everyone)]
            return list(chosen)

        return people

    def _roster_between(self, start: datetime, end: datetime) -> tuple[Roster, WorkingCalendar]:
        """The roster and calendar for [start, end]: the last read when it covers them and is under `ttl` old;
        else, when under `ttl` old, that read with the dated shifts and overrides read again for the new span
        (people, rotations and the calendar do not depend on the span); else a new read. A read covers the span
        and `margin` before, `ahead` after."""
        now = self.roster.clock.now()
        cached = self._snapshot
        lo, hi = start - self.margin, end + self.ahead
        if cached is not None and cached[0] <= now < cached[0] + self.ttl:
            read_at, covered_from, covered_to, roster, cal = cached
            if covered_from <= start and end <= covered_to:
                return roster, cal
            dated, overrides = self.roster.dated(lo, hi)  # only what depends on the span
            roster = replace(roster, dated=dated, overrides=overrides)
            self._snapshot = (read_at, lo, hi, roster, cal)
            return roster, cal
        roster, cal = self.roster.snapshot(lo, hi)
        self._snapshot = (now, lo, hi, roster, cal)
        return roster, cal

    def calendar(self) -> Calendar:
        return Calendar(self.roster.windows, self.roster.calendar())
