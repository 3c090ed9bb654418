"""A Twilio desk for tests: the FastAPI app with the shipped roster (config/roster.yaml, national-format
mobiles) and IVR script, and a caller whose requests are signed with Twilio's RequestValidator for the
public URL behind a proxy prefix, sent to the URLs hotline's TwiML gave."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from hotline.api.app import create_app
from hotline.api.twilio import service_of
from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.providers.twilio.signature import sign
from hotline.runtime.assembly import Database, open_database
from hotline.services.calls.twilio_calls import TwilioCalls
from hotline.services.roster.service import RosterService
from hotline.store.calls import CallRow, row_to_call
from tests.conftest import ROOT
from tests.signin import login

TZ = ZoneInfo("Asia/Shanghai")
TOKEN = "12345"
ACCOUNT = "AC" + "0" * 31 + "1"
BASE = "https://hotline.example.com/desk"  # behind a reverse proxy that strips /desk
PUBLIC_HOST = "https://hotline.example.com"  # where Twilio (and the desk's browsers) send their requests
HOTLINE_NUMBER = "+864008001234"
CALLER = "+8613912345678"
# Monday 2026-11-16 22:15, remote hours: first line night shift is 刘洋 (config/roster.yaml, week 46).
NIGHT = datetime(2026, 11, 16, 22, 15, tzinfo=TZ)
NIGHT_STAFF, NIGHT_MOBILE = "刘洋", "13800138004"


def stamp(at: datetime) -> str:
    """Twilio's status-callback `Timestamp` (RFC 2822, whole seconds, UTC)."""
    return format_datetime(at.astimezone(UTC).replace(microsecond=0))


def urls_in(twiml: str) -> list[str]:
    found = re.findall(r'(?:action|waitUrl|statusCallback|url)="([^"]+)"', twiml)
    found += re.findall(r"<Redirect[^>]*>([^<]+)</Redirect>", twiml)
    return [html.unescape(u) for u in found]


def url_in(twiml: str, route: str) -> str:
    for url in urls_in(twiml):
        if urlsplit(url).path.endswith(f"/twilio/{route}"):
            return url
    raise AssertionError(f"no /twilio/{route} URL in {twiml}")


def numbers_in(twiml: str) -> list[str]:
    return re.findall(r"<Number[^>]*>([^<]+)</Number>", twiml)


def desk_settings(settings: Settings, **voice: Any) -> Settings:
    return replace(settings, twilio=replace(settings.twilio, auth_token=TOKEN),
                   api=replace(settings.api, public_base_url=BASE),
                   extra={**settings.extra, "twilio_voice": {"caller_id": HOTLINE_NUMBER, **voice}})


@dataclass
class Desk:
    app: FastAPI
    client: httpx.AsyncClient
    clock: ManualClock
    db: Database
    seq: dict[str, int] = field(default_factory=dict)

    @property
    def service(self) -> TwilioCalls:
        return service_of(self.app)

    async def post(self, url: str, params: dict[str, str], *, signature: str | None = None,
                   path_prefix: str = "") -> httpx.Response:
        """POST like Twilio: signed for the public URL, sent to its path without the proxy's prefix
        (or with `path_prefix` when the proxy keeps it)."""
        parts = urlsplit(url)
        path = path_prefix + parts.path.removeprefix(urlsplit(BASE).path)
        if parts.query:
            path += f"?{parts.query}"
        headers = {"X-Twilio-Signature": signature if signature is not None else sign(TOKEN, url, params)}
        return await self.client.post(path, data=params, headers=headers)

    @asynccontextmanager
    async def signed_in(self, role: str, person: str | None) -> AsyncIterator[httpx.AsyncClient]:
        """A browser of the desk on the public host, signed in as an account of `role` for `person`."""
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=PUBLIC_HOST) as c:
            await login(c, self.db.factory, role, person)
            yield c

    def call_params(self, sid: str, status: str, **extra: str) -> dict[str, str]:
        return {"AccountSid": ACCOUNT, "ApiVersion": "2010-04-01", "CallSid": sid, "CallStatus": status,
                "Called": HOTLINE_NUMBER, "Caller": CALLER, "Direction": "inbound", "From": CALLER,
                "To": HOTLINE_NUMBER, **extra}

    async def status(self, sid: str, status: str, at: datetime, *, url: str | None = None,
                     parent: str | None = None, to: str | None = None, twilio_at: datetime | None = None,
                     **extra: str) -> httpx.Response:
        """A status callback as Twilio sends it, arriving at `at`: numbered per call leg, stamped in whole
        seconds by Twilio's clock (`twilio_at`, default `at`)."""
        self.clock.set(at)
        n = self.seq.get(sid, 0)
        self.seq[sid] = n + 1
        params = self.call_params(sid, status, SequenceNumber=str(n), Timestamp=stamp(twilio_at or at),
                                  CallbackSource="call-progress-events", **extra)
        if parent is not None:
            params.update(ParentCallSid=parent, Direction="outbound-dial", To=to or "", Called=to or "")
        response = await self.post(url or f"{BASE}/twilio/status", params)
        assert response.status_code == 204, response.text
        return response

    async def webhook(self, url: str, params: dict[str, str], at: datetime) -> str:
        self.clock.set(at)
        response = await self.post(url, params)
        assert response.status_code == 200, response.text
        return response.text

    def rows(self) -> list[dict[str, Any]]:
        with self.db.factory() as s:
            return [row_to_call(r).as_dict() | {"outcome": r.outcome, "staff_reached_at": r.staff_reached_at}
                    for r in s.scalars(select(CallRow))]


def load_roster(settings: Settings, db: Database, clock: ManualClock) -> None:
    RosterService(db.factory, settings, clock).load_example(ROOT / "config" / "roster.yaml")


@pytest.fixture
async def desk(settings: Settings, db_url: str) -> AsyncIterator[Desk]:
    configured = desk_settings(settings)
    db = open_database(db_url)
    clock = ManualClock(NIGHT, TZ)
    load_roster(configured, db, clock)
    app = create_app(configured, db.factory, clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC_HOST) as client:
        d = Desk(app, client, clock, db)
        d.service.refresh_duty()
        yield d
    db.engine.dispose()


async def dial_staff(d: Desk, sid: str, at: datetime = NIGHT) -> str:
    """A caller at night: the greeting and menu, then 1 (network): the TwiML dialling the first line."""
    menu = await d.webhook(f"{BASE}/twilio/voice", d.call_params(sid, "ringing"), at)
    return await d.webhook(url_in(menu, "gather"), d.call_params(sid, "in-progress", Digits="1"),
                           at + timedelta(seconds=9))
