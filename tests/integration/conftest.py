"""Integration fixtures: the session's real Asterisk (tests/integration/pbx.py), the example desk's roster and
tickets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import pytest

from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.runtime.assembly import open_database
from hotline.services.roster.service import RosterService
from hotline.services.tickets.build import Tickets, build_tickets
from hotline.store.base import make_engine, migrate, session_factory
from tests.conftest import ROOT
from tests.integration.pbx import pbx, pbx_installed

__all__ = ["pbx", "pbx_installed", "roster_desk", "ticket_desk"]

TicketDesk = tuple[Tickets, ManualClock]
TICKETS_T0 = datetime.fromisoformat("2026-12-03T10:00:00+08:00")  # Thursday: 一线 白班 is 刘洋's week


@pytest.fixture
def roster_desk(db_url: str, settings: Settings) -> Iterator[Callable[[str], RosterService]]:
    """`roster_desk("2026-11-23 10:00")`: a fresh database (SQLite, then PostgreSQL) with config/roster.yaml
    loaded by 周强, and the roster service on a manual clock at that desk time."""
    engine = make_engine(db_url)
    migrate(engine, "heads")

    def open_desk(now: str) -> RosterService:
        clock = ManualClock(datetime.fromisoformat(now).replace(tzinfo=settings.tz), settings.tz)
        service = RosterService(session_factory(engine), settings, clock)
        service.load_example(ROOT / "config" / "roster.yaml", actor="周强")
        return service

    yield open_desk
    engine.dispose()


@pytest.fixture
def ticket_desk(settings: Settings, db_url: str) -> Iterator[TicketDesk]:
    """The tickets (SQLite, then PostgreSQL) with config/roster.yaml loaded, on a manual clock at `TICKETS_T0`."""
    db = open_database(db_url)
    clock = ManualClock(TICKETS_T0, settings.tz)
    RosterService(db.factory, settings, clock).load_example(ROOT / "config" / "roster.yaml")
    yield build_tickets(settings, db.factory, clock), clock
    db.engine.dispose()
