"""What every part of the surveys capability shares: the database, the clock, the config, the tickets."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from hotline.clock import Clock
from hotline.services.surveys.config import SurveyConfig
from hotline.services.tickets.desk import TicketService
from hotline.services.tickets.settings import TicketContext


@dataclass
class SurveyContext:
    factory: sessionmaker[Session]
    clock: Clock
    config: SurveyConfig
    desk: TicketService  # the tickets' public service: reopen, close, read

    @property
    def tickets(self) -> TicketContext:
        return self.desk.ctx
