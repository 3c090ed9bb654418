"""What every part of the tickets capability shares: the database, the staff, the clock, the config."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from hotline.clock import DEFAULT_TZ, Clock
from hotline.domain.sla import Calendar
from hotline.services.tickets.config import TicketConfig
from hotline.services.tickets.staff import Staff

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

    def calendar(self) -> Calendar:
        """The working calendar, read again every few minutes of clock time (holidays change rarely)."""
        now = self.clock.now()
        if self._calendar is None or not (self._calendar[0] <= now < self._calendar[0] + _CALENDAR_TTL):
            self._calendar = (now, self.staff.calendar())
        return self._calendar[1]
