"""The tickets capability assembled from Settings for the entry points (cli, api, runtime)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from hotline.clock import Clock
from hotline.config import ConfigError, Settings
from hotline.services.monitor.incidents import IncidentService
from hotline.services.tickets.clocks import SlaEngine
from hotline.services.tickets.config import TicketConfig, ticket_config
from hotline.services.tickets.desk import TicketService
from hotline.services.tickets.knowledge import KnowledgeBase
from hotline.services.tickets.opening import ClearedCalls, TicketOpener
from hotline.services.tickets.push import PushEngine, Zammad, ZammadConfig
from hotline.services.tickets.settings import TicketContext
from hotline.services.tickets.staff import RosterStaff, Staff


@dataclass(frozen=True)
class Tickets:
    opener: TicketOpener  # the ledger's listeners
    desk: TicketService  # people act and read
    engine: SlaEngine  # warnings, breaches, auto-close
    kb: KnowledgeBase  # 知识库


class MonitorIncidents:
    """`Incidents` over the monitor's `IncidentService`: an urgent ticket's major incident."""

    def __init__(self, service: IncidentService) -> None:
        self.service = service

    def declare(self, title: str, by: str, description: str | None, specialty: str | None) -> str:
        return self.service.declare(title, by, description, specialty).incident_id

    def reported(self, incident_id: str, by: str) -> None:
        self.service.reported(incident_id, by)


def build_tickets(settings: Settings, factory: sessionmaker[Session], clock: Clock, *,
                  staff: Staff | None = None, cleared_calls: ClearedCalls | None = None,
                  dial_prefixes: tuple[str, ...] = (), config: TicketConfig | None = None,
                  incidents: IncidentService | None = None) -> Tickets:
    from hotline.services.roster.service import RosterService

    ctx = TicketContext(factory, staff or RosterStaff(RosterService(factory, settings, clock)), clock,
                        config or ticket_config(settings), settings.tz, dial_prefixes)
    desk = TicketService(ctx, MonitorIncidents(incidents) if incidents is not None else None)
    return Tickets(TicketOpener(ctx, cleared_calls), desk, SlaEngine(ctx), KnowledgeBase(ctx))


def build_push(settings: Settings, tickets: Tickets, env: Mapping[str, str]) -> PushEngine | None:
    """The push to the outside helpdesk of `[tickets.push]` (None when not configured); the token only from
    the environment (HOTLINE_ZAMMAD_TOKEN)."""
    push = tickets.desk.ctx.config.push
    if not push:
        return None
    token = env.get("HOTLINE_ZAMMAD_TOKEN", "")
    if not token:
        raise ConfigError(settings.source, "tickets.push", "Zammad 需要令牌 / the Zammad push needs a token: set "
                          "the environment variable HOTLINE_ZAMMAD_TOKEN")
    config = ZammadConfig(url=str(push["url"]), token=token, group=str(push.get("group", "Users")),
                          customer=str(push.get("customer", "")), timeout=float(push.get("timeout", 10)))
    return PushEngine(tickets.desk.ctx, Zammad(config))
