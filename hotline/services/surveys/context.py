"""What every part of the surveys capability shares: the database, the clock, the config, the tickets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

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
    prompts: Mapping[str, str] = field(default_factory=dict)  # question -> the survey IVR's prompt as heard

    @property
    def tickets(self) -> TicketContext:
        return self.desk.ctx
