"""What every part of the tickets capability shares: the database, the staff, the clock, the config."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from hotline.clock import DEFAULT_TZ, Clock
from hotline.domain.roster import Tier
from hotline.domain.sla import Calendar
from hotline.paging.base import Recipient
from hotline.services.tickets.config import TicketConfig
from hotline.services.tickets.staff import Staff

log = logging.getLogger(__name__)
_CALENDAR_TTL = timedelta(minutes=5)


@dataclass
class TicketContext:
    factory: sessionmaker[Session]
    staff: Staff
    clock: Clock
    config: TicketConfig = field(default_factory=TicketConfig)
    tz: ZoneInfo = DEFAULT_TZ
    dial_prefixes: tuple[str, ...] = ()
    _calendar: tuple[datetime, Calendar] | None = None

    def managers(self, at: datetime, specialty: str | None) -> list[Recipient]:
        """Who is paged when nobody else is: the project managers on duty, else those named in
        `[tickets] complaint_managers` (a late complaint; an escalation or a missed deadline finding nobody on
        duty in the tiers it pages)."""
        people = list(self.staff.on_duty(at, str(Tier.MANAGER), specialty))
        if people:
            return people
        named = [(n, self.staff.person(n)) for n in self.config.complaint_managers]
        unknown = [n for n, p in named if p is None]
        if unknown:
            log.error("[tickets] complaint_managers 中的人员不在值班表：%s / names people not on the roster: %s",
                      "、".join(unknown), ", ".join(unknown))
        return [p for _, p in named if p is not None]

    def calendar(self) -> Calendar:
        """The working calendar, read again every few minutes of clock time (holidays change rarely)."""
        now = self.clock.now()
        if self._calendar is None or not (self._calendar[0] <= now < self._calendar[0] + _CALENDAR_TTL):
            self._calendar = (now, self.staff.calendar())
        return self._calendar[1]
