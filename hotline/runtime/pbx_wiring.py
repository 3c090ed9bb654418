"""Starts the AstDB sync (`hotline.services.calls.pbx_sync`) on the listener's AMI connection. Used by the
entry points only (`hotline serve`); nothing else imports it."""

from __future__ import annotations

import asyncio

from sqlalchemy.orm import Session, sessionmaker

from hotline.clock import Clock
from hotline.config import Settings
from hotline.providers.asterisk.client import AmiClient, AmiError
from hotline.services.calls.pbx_sync import PbxSync, pbx_sync_config
from hotline.services.roster.service import RosterService

SYNC_INTERVAL = 60.0


def build_pbx_sync(settings: Settings, factory: sessionmaker[Session], client: AmiClient, clock: Clock) -> PbxSync:
    """A PbxSync on `client`; a new AMI login (the client's login count) makes it send every key again."""
    config = pbx_sync_config(settings)
    roster = RosterService(factory, settings, clock)
    return PbxSync(roster, client.send_action, clock, dial_template=config.dial_templates,
                   days_ahead=config.days_ahead, session=lambda: client.stats.logins)


def start_pbx_sync(settings: Settings, factory: sessionmaker[Session], client: AmiClient, clock: Clock,
                   interval: float = SYNC_INTERVAL, stop: asyncio.Event | None = None) -> asyncio.Task[None]:
    """Run the sync every `interval` seconds on the running loop; cancel the task (or set `stop`) to end it.
    Raises ConfigError at once for a bad `[ivr] pbx_dial_template` / `sync_days_ahead`."""
    sync = build_pbx_sync(settings, factory, client, clock)

    async def run() -> None:
        try:
            await client.wait_connected()  # the first pass goes out right after the first login
        except AmiError:
            return  # login refused or client closed: the listener reports it
        await sync.run(interval, stop)

    return asyncio.create_task(run(), name="pbx-astdb-sync")
