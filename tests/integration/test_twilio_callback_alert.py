"""Click-to-call from an alert through Twilio (SQLite and PostgreSQL): `POST /api/alerts/{id}/callback` asks a
local fake of Twilio's REST API for the call; the signed webhooks of that call put it into the ledger as an
outbound call, and the monitor clears the alert (E.164 numbers against the alert's national number)."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from hotline.api import app as app_module
from hotline.api.app import create_app
from hotline.api.twilio import service_of
from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.domain.calls import Direction
from hotline.providers.twilio.signature import sign
from hotline.runtime.assembly import Database, open_database
from hotline.services.calls.ledger import Ledger
from hotline.services.calls.twilio_calls import TwilioCalls
from hotline.services.monitor.config import build_monitor
from hotline.services.monitor.engine import MonitorService
from hotline.services.roster.service import RosterService
from hotline.store.calls import CallRow, row_to_call
from tests.conftest import ROOT
from tests.integration.monitor_fakes import T0, TZ, missed
from tests.integration.paging_fakes import FakeServer, Responder, fake_server_fixture  # noqa: F401
from tests.integration.test_paging_twilio import SID, TOKEN, twilio_api
from tests.signin import login

BASE = "https://hotline.example.com/desk"  # behind a reverse proxy that strips /desk
HOTLINE_NUMBER = "+864008001234"
CUSTOMER = "13800138002"  # as the PBX reported the missed call
STAFF, STAFF_MOBILE = "张伟", "13800138001"  # config/roster.yaml
NO_MOBILE = "前台值班"  # a person with an extension only
PLACED_SID = "CA" + "f" * 32  # what the fake Twilio API answers
Start = Callable[[Responder], FakeServer]


@dataclass
class Desk:
    app: FastAPI
    client: httpx.AsyncClient
    monitor: MonitorService
    clock: ManualClock
    db: Database
    twilio: FakeServer | None

    @property
    def service(self) -> TwilioCalls:
        return service_of(self.app)

    def open_alert(self) -> str:
        """A caller gave up in the queue at T0: the monitor opens an alert for the national number."""
        self.monitor.on_call(missed(CUSTOMER, T0))
        (alert,) = self.monitor.alerts("open")
        assert alert.caller == CUSTOMER
        return alert.alert_id


def _settings(settings: Settings, twilio_url: str | None) -> Settings:
    voice: dict[str, Any] = {"caller_id": HOTLINE_NUMBER}
    twilio = replace(settings.twilio, auth_token=TOKEN)
    if twilio_url is not None:
        voice["api_base_url"] = twilio_url
        twilio = replace(twilio, account_sid=SID)
    return replace(settings, twilio=twilio, api=replace(settings.api, public_base_url=BASE),
                   extra={**settings.extra, "twilio_voice": voice})


def _load_roster(settings: Settings, db: Database, clock: ManualClock, tmp_path: Path) -> None:
    """The shipped example roster, plus one person who has an extension but no mobile."""
    text = (ROOT / "config" / "roster.yaml").read_text(encoding="utf-8")
    text = text.replace("people:\n", f'people:\n  - {{name: {NO_MOBILE}, extension: "8009"}}\n', 1)
    path = tmp_path / "roster.yaml"
    path.write_text(text, encoding="utf-8")
    RosterService(db.factory, settings, clock).load_example(path)


async def _desk(settings: Settings, db_url: str, tmp_path: Path, twilio: FakeServer | None) -> Desk:
    configured = _settings(settings, twilio.url if twilio else None)
    db = open_database(db_url)
    clock = ManualClock(T0, TZ)
    _load_roster(configured, db, clock, tmp_path)
    monitor, _ = build_monitor(configured, db.factory, clock, link_mode="optional")
    ledger = Ledger(db.factory)  # the running ledger: the monitor listens to completed calls
    ledger.on_completed(monitor.on_call)
    ledger.on_answered(monitor.on_answered)
    app = create_app(configured, db.factory, clock, live={"ledger": ledger, "monitor": monitor})
    assert ("hotline.api.callbacks", "router") in app_module.OPTIONAL_ROUTERS  # mounted by create_app
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://hotline.example.com")
    return Desk(app, client, monitor, clock, db, twilio)


@pytest.fixture
async def desk(settings: Settings, db_url: str, tmp_path: Path, fake_server: Start) -> AsyncIterator[Desk]:
    d = await _desk(settings, db_url, tmp_path, fake_server(twilio_api()))
    yield d
    await d.client.aclose()
    d.db.engine.dispose()


@pytest.fixture
async def unconfigured(settings: Settings, db_url: str, tmp_path: Path) -> AsyncIterator[Desk]:
    d = await _desk(settings, db_url, tmp_path, None)
    yield d
    await d.client.aclose()
    d.db.engine.dispose()


async def post_signed(d: Desk, url: str, params: dict[str, str]) -> httpx.Response:
    """POST like Twilio: to the public URL's path (the proxy strips the prefix), signed for the public URL."""
    parts = urlsplit(url)
    path = parts.path.removeprefix(urlsplit(BASE).path) + (f"?{parts.query}" if parts.query else "")
    return await d.client.post(path, data=params, headers={"X-Twilio-Signature": sign(TOKEN, url, params)})


def _stamp(at: datetime) -> str:
    return format_datetime(at.astimezone(UTC))


async def play_outbound(d: Desk, request: dict[str, str], sid: str, start: datetime, *, answered: bool) -> None:
    """Twilio's requests for the placed call, in order, to the URLs hotline gave (Calls.json, then TwiML):
    the staff phone rings and answers, `/connect` dials the customer, who answers for 60 s or does not."""
    base = {"AccountSid": SID, "ApiVersion": "2010-04-01", "CallSid": sid, "Direction": "outbound-api",
            "From": request["From"], "Caller": request["From"], "To": request["To"], "Called": request["To"]}
    seq = iter(range(10))

    async def status(status: str, at: datetime, **extra: str) -> None:
        d.clock.set(at)
        params = {**base, "CallStatus": status, "CallbackSource": "call-progress-events",
                  "SequenceNumber": str(next(seq)), "Timestamp": _stamp(at), **extra}
        assert (await post_signed(d, request["StatusCallback"], params)).status_code == 204

    await status("initiated", start)
    await status("ringing", start + timedelta(seconds=1))
    d.clock.set(start + timedelta(seconds=6))
    connect = await post_signed(d, request["Url"], {**base, "CallStatus": "in-progress"})
    assert connect.status_code == 200 and "<Dial" in connect.text
    (action,) = [html.unescape(u) for u in re.findall(r'<Dial[^>]* action="([^"]+)"', connect.text)]
    assert re.search(r"<Number[^>]*>\+8613800138002</Number>", connect.text), connect.text
    await status("in-progress", start + timedelta(seconds=6))
    if answered:
        end = start + timedelta(seconds=80)
        dial = {"DialCallStatus": "completed", "DialCallDuration": "60", "DialCallSid": "CA" + "9a" * 16}
    else:
        end = start + timedelta(seconds=37)
        dial = {"DialCallStatus": "no-answer", "DialCallSid": "CA" + "9a" * 16}
    d.clock.set(end)
    assert (await post_signed(d, action, {**base, "CallStatus": "in-progress", **dial})).status_code == 200
    await status("completed", end, CallDuration=str(int((end - start).total_seconds())))


def calls_json(d: Desk) -> dict[str, list[str]]:
    assert d.twilio is not None
    (req,) = d.twilio.requests
    assert req.method == "POST" and req.path == f"/2010-04-01/Accounts/{SID}/Calls.json"
    return parse_qs(req.body.decode(), keep_blank_values=True)


async def call_back(d: Desk, alert_id: str, person: str | None) -> httpx.Response:
    """POST the callback as a signed-in staff account of `person` (the callback rings their mobile)."""
    await login(d.client, d.db.factory, "staff", person)
    return await d.client.post(f"/api/alerts/{alert_id}/callback")


def ledger_calls(d: Desk) -> list[Any]:
    with d.db.factory() as s:
        return [row_to_call(r) for r in s.scalars(select(CallRow).where(CallRow.provider == "twilio"))]


async def test_answered_twilio_callback_is_an_outbound_call_and_clears_the_alert(desk: Desk) -> None:
    alert_id = desk.open_alert()
    desk.clock.set(T0 + timedelta(minutes=2))
    r = await call_back(desk, alert_id, STAFF)
    assert r.status_code == 200, r.text
    assert r.json() == {"alert_id": alert_id, "call_sid": PLACED_SID, "by": STAFF}

    form = calls_json(desk)
    request = {k: v[0] for k, v in form.items()}
    assert (request["To"], request["From"], request["Method"]) == ("+86" + STAFF_MOBILE, HOTLINE_NUMBER, "POST")
    who = {"customer": "+86" + CUSTOMER, "staff": STAFF, "staff_phone": "+86" + STAFF_MOBILE}
    for key, route in (("Url", "connect"), ("StatusCallback", "status")):
        url = urlsplit(request[key])
        assert f"{url.scheme}://{url.netloc}{url.path}" == f"{BASE}/twilio/{route}"
        assert dict(parse_qsl(url.query)) == who
    assert form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    history = (await desk.client.get(f"/api/alerts/{alert_id}")).json()["history"]
    (placed,) = [e for e in history if e["type"] == "callback"]
    assert (placed["person"], placed["channel"]) == (STAFF, "twilio") and PLACED_SID in placed["detail"]
    assert placed["detail"].startswith(f"{STAFF} 发起回电 / callback placed by {STAFF}")
    assert [a.alert_id for a in desk.monitor.alerts("open")] == [alert_id]  # open until the customer answers

    start = T0 + timedelta(minutes=2, seconds=1)
    await play_outbound(desk, request, PLACED_SID, start, answered=True)
    desk.service.drain()

    (call,) = ledger_calls(desk)
    assert call.call_id == PLACED_SID and call.direction is Direction.OUTBOUND
    assert str(call.outcome) == "answered"
    assert (call.caller, call.caller_name, call.called) == ("+86" + STAFF_MOBILE, STAFF, "+86" + CUSTOMER)
    assert call.answered_at == start + timedelta(seconds=80 - 60)  # the dial action: 60 s of talk before 80 s
    alert = desk.monitor.alert(alert_id)
    assert str(alert.state) == "cleared" and alert.cleared_by == f"callback:{PLACED_SID}"
    assert alert.cleared_at == call.answered_at
    clear = desk.monitor.events(alert_id)[-1]
    assert (clear.type, clear.person, clear.detail) == ("clear", "+86" + STAFF_MOBILE, f"callback {PLACED_SID}")
    assert desk.monitor.alerts("open") == []


async def test_customer_not_answering_leaves_the_alert_open(desk: Desk) -> None:
    alert_id = desk.open_alert()
    desk.clock.set(T0 + timedelta(minutes=2))
    r = await call_back(desk, alert_id, STAFF)
    assert r.status_code == 200, r.text
    request = {k: v[0] for k, v in calls_json(desk).items()}
    await play_outbound(desk, request, PLACED_SID, T0 + timedelta(minutes=2, seconds=1), answered=False)
    desk.service.drain()

    (call,) = ledger_calls(desk)
    assert call.direction is Direction.OUTBOUND and call.called == "+86" + CUSTOMER
    assert str(call.outcome) != "answered" and call.answered_at is None
    alert = desk.monitor.alert(alert_id)
    assert alert.active and alert.cleared_at is None
    assert [a.alert_id for a in desk.monitor.alerts("open")] == [alert_id]
    assert "clear" not in [e.type for e in desk.monitor.events(alert_id)]


async def test_unknown_alert_is_404_and_closed_alert_409(desk: Desk) -> None:
    r = await call_back(desk, "nope", STAFF)
    assert r.status_code == 404 and r.json()["detail"].startswith("没有此告警 / no alert")
    alert_id = desk.open_alert()
    desk.monitor.resolve(alert_id, STAFF, "已在微信联系 / reached on WeChat")
    r = await call_back(desk, alert_id, STAFF)
    assert r.status_code == 409 and "告警已关闭" in r.json()["detail"] and "resolved" in r.json()["detail"]
    assert desk.twilio is not None and desk.twilio.requests == []  # no call placed


async def test_staff_without_a_mobile_or_not_in_the_roster_is_422(desk: Desk) -> None:
    alert_id = desk.open_alert()
    r = await call_back(desk, alert_id, NO_MOBILE)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail.startswith(f"{NO_MOBILE} 在值班表中没有手机号 / {NO_MOBILE} has no mobile") and "8009" in detail
    r = await call_back(desk, alert_id, "路人甲")
    assert r.status_code == 422 and r.json()["detail"].startswith("值班表中没有 '路人甲'")
    r = await call_back(desk, alert_id, None)  # an account not linked to a roster person
    assert r.status_code == 422 and "staff-none" in r.json()["detail"]
    assert desk.twilio is not None and desk.twilio.requests == []
    assert "callback" not in [e.type for e in desk.monitor.events(alert_id)]


async def test_twilio_not_configured_is_503_naming_what_to_set(unconfigured: Desk) -> None:
    alert_id = unconfigured.open_alert()
    r = await call_back(unconfigured, alert_id, STAFF)
    assert r.status_code == 503
    detail = r.json()["detail"]
    assert detail.startswith("Twilio 未配置") and "HOTLINE_TWILIO_AUTH_TOKEN" in detail
    assert "[twilio] account_sid" in detail
    assert "callback" not in [e.type for e in unconfigured.monitor.events(alert_id)]


async def test_twilio_refusing_the_call_is_502_and_records_nothing(
        settings: Settings, db_url: str, tmp_path: Path, fake_server: Start) -> None:
    d = await _desk(settings, db_url, tmp_path, fake_server(twilio_api(status=503)))
    try:
        alert_id = d.open_alert()
        r = await call_back(d, alert_id, STAFF)
        assert r.status_code == 502 and r.json()["detail"].startswith("Twilio 拒绝外呼 / Twilio refused")
        assert TOKEN not in r.text
        assert "callback" not in [e.type for e in d.monitor.events(alert_id)]
    finally:
        await d.client.aclose()
        d.db.engine.dispose()
