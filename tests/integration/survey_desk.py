"""A desk for the survey tests: tickets, the monitor's engine and outbox, and the surveys on one database
and a manual clock; `restart` builds every part anew on the same database (a process restart)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select

from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.domain.calls import Call, Direction
from hotline.paging.base import Page, SendResult
from hotline.runtime.assembly import open_database
from hotline.services.monitor.config import build_monitor
from hotline.services.monitor.outbox import Delivered, PageSender
from hotline.services.monitor.virtual_run import advance
from hotline.services.roster.service import RosterService
from hotline.services.surveys.build import Surveys, build_surveys
from hotline.services.surveys.config import SurveyConfig
from hotline.services.tickets.build import Tickets, build_tickets
from hotline.store.alerts import OutboxRow
from hotline.store.base import unit_of_work
from tests.conftest import ROOT


class NoAnswer:
    """Every survey call rings out unanswered (Asterisk's OriginateResponse Failure, reason 3)."""

    def __init__(self) -> None:
        self.sent: list[Page] = []

    async def deliver(self, page: Page, order: Sequence[str] | None = None) -> list[SendResult]:
        self.sent.append(page)
        channel = order[0] if order else "default"
        if page.extra.get("purpose") == "survey":
            return [SendResult(ok=False, channel=channel, error="无人接听 / no answer", retryable=False)]
        return [SendResult(ok=True, channel=channel, provider_id=f"dry:{page.key}")]


class SurveyDesk:
    def __init__(self, settings: Settings, url: str, start: datetime, config: SurveyConfig | None = None) -> None:
        self.settings, self.url, self.config = settings, url, config or SurveyConfig()
        self.db = open_database(url)
        self.clock = ManualClock(start, settings.tz)
        roster = RosterService(self.db.factory, settings, self.clock)
        roster.load_example(ROOT / "config" / "roster.yaml")
        roster.ensure_calendar()
        self.delivered: list[Delivered] = []
        self.restart()

    def restart(self) -> None:
        self.db.engine.dispose()
        self.db = open_database(self.url)
        self.monitor, self.outbox = build_monitor(self.settings, self.db.factory, self.clock, link_mode="ephemeral")
        self.tickets: Tickets = build_tickets(self.settings, self.db.factory, self.clock)
        self.surveys: Surveys = build_surveys(self.settings, self.db.factory, self.clock, self.tickets.desk,
                                              config=self.config)

    async def run_until(self, until: datetime, sender: PageSender) -> None:
        self.delivered += await advance(self.monitor, self.clock, until, self.outbox, sender,
                                        [self.tickets.engine, self.surveys.engine])

    def pages(self, purpose: str | None = None) -> list[OutboxRow]:
        with unit_of_work(self.db.factory) as s:
            rows = list(s.scalars(select(OutboxRow).order_by(OutboxRow.id)))
        return [r for r in rows if purpose is None or r.purpose == purpose]

    def resolved_ticket(self, caller: str, answered_at: datetime, resolved_at: datetime, by_ext: str = "8003",
                        call_id: str | None = None, specialty: str = "network") -> str:
        """A call answered by extension `by_ext` opens a ticket; its assignee resolves it at `resolved_at`."""
        self.clock.set(answered_at)
        c = Call(call_id or f"c-{caller}-{answered_at:%H%M}", "asterisk", Direction.INBOUND, answered_at,
                 caller=caller, called="4008001234", specialty=specialty, staff_reached_at=answered_at,
                 answered_at=answered_at + timedelta(seconds=8), answered_by=by_ext)
        c.ended_at = answered_at + timedelta(minutes=4)
        self.tickets.opener.on_call(c)
        view = self.tickets.desk.open_ticket_of(f"+86{caller}" if caller.startswith("1") else caller)
        assert view is not None
        self.clock.set(resolved_at)
        t = view.ticket
        self.tickets.desk.resolve(t.ticket_id, "重启交换机端口后恢复", t.assignee or "王芳", cause="端口故障")
        return t.ticket_id

    def dispose(self) -> None:
        self.db.engine.dispose()
