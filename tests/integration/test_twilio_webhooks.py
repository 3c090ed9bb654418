"""Signed Twilio webhook sequences through the FastAPI app into the ledger (SQLite and PostgreSQL).

The requests are the recorded sessions of tests/fixtures/twilio; each one is sent to the exact URL the
previous TwiML response told Twilio to request, signed like Twilio signs it, behind a proxy prefix.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from hotline.api.app import create_app
from hotline.api.twilio import build_service
from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.providers.twilio.session import read_session
from hotline.providers.twilio.signature import sign
from hotline.providers.twilio.webhook import Webhook
from hotline.runtime.assembly import open_database
from hotline.services.calls.twilio_calls import DutyBoard, Staff, TwilioCalls
from hotline.store.calls import CallRow, RawEventRow, row_to_call
from tests.unit.test_twilio_status import EXPECTED

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "twilio"
TZ = ZoneInfo("Asia/Shanghai")
TOKEN = "12345"
BASE = "https://hotline.example.com/desk"  # behind a reverse proxy that strips /desk
STAFF = {"first_line": [("张三", "+8613800000001"), ("李四", "+8613800000002")]}
ONE = {"first_line": [("王五", "+8613800000005")]}
PEOPLE = {"answered_by_staff": STAFF, "retried_status_callback": STAFF, "caller_hangs_up_waiting": STAFF,
          "no_answer_timeout": ONE, "busy": ONE, "ivr_hangup": STAFF, "outbound_callback": STAFF}


class FakeRoster:
    def __init__(self, window: str, people: dict[str, list[tuple[str, str]]]) -> None:
        self.window, self.by_tier = window, people

    def people(self, at: datetime, tier: str, specialty: str | None = None) -> list[dict[str, str]]:
        return [{"name": n, "mobile": m} for n, m in self.by_tier.get(tier, [])]

    def classify(self, at: datetime) -> str:
        return self.window


@dataclass
class FakePlacer:
    placed: list[dict[str, Any]]

    def place(self, *, to: str, from_: str, url: str, status_callback: str, status_events: Sequence[str]) -> str:
        self.placed.append({"to": to, "from_": from_, "url": url, "status_callback": status_callback,
                            "status_events": list(status_events)})
        return "CA" + "7b" * 16


@dataclass
class Hotline:
    client: httpx.AsyncClient
    service: TwilioCalls
    clock: ManualClock
    db_url: str


def signed_settings(settings: Settings) -> Settings:
    return replace(settings, twilio=replace(settings.twilio, auth_token=TOKEN),
                   api=replace(settings.api, public_base_url=BASE),
                   extra={**settings.extra, "twilio_voice": {"caller_id": "+864008001234"}})


@pytest.fixture
async def hotline(settings: Settings, db_url: str) -> AsyncIterator[Hotline]:
    db = open_database(db_url)
    clock = ManualClock(datetime(2024, 5, 6, 9, 0, tzinfo=TZ), TZ)
    app = create_app(signed_settings(settings), db.factory, clock)
    service = app.state.twilio_calls = build_service(app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://hotline.example.com") as client:
        yield Hotline(client, service, clock, db_url)
    db.engine.dispose()


async def post(h: Hotline, url: str, params: dict[str, str], signature: str | None = "sign") -> httpx.Response:
    """POST like Twilio: to the public URL's path (the proxy strips the prefix), signed for the public URL."""
    headers = {}
    if signature == "sign":
        headers["X-Twilio-Signature"] = sign(TOKEN, url, params)
    elif signature is not None:
        headers["X-Twilio-Signature"] = signature
    parts = urlsplit(url)
    path = parts.path.removeprefix(urlsplit(BASE).path) + (f"?{parts.query}" if parts.query else "")
    return await h.client.post(path, data=params, headers=headers)


def urls_in(twiml: str) -> list[str]:
    found = re.findall(r'(?:action|waitUrl|statusCallback)="([^"]+)"', twiml)
    found += re.findall(r"<Redirect[^>]*>([^<]+)</Redirect>", twiml)
    return [html.unescape(u) for u in found]


def url_for(hook: Webhook, twiml: str) -> str:
    """The URL in the last TwiML that Twilio would have requested for this recorded request."""
    for url in urls_in(twiml):
        parts = urlsplit(url)
        if parts.path.endswith(f"/twilio/{hook.route}") and dict(parse_qsl(parts.query)) == dict(hook.query):
            return url
    raise AssertionError(f"no URL for {hook.route} {dict(hook.query)} in {twiml}")


async def play(h: Hotline, name: str) -> None:
    hooks = list(read_session(FIXTURES / f"{name}.jsonl"))
    window = hooks[0].decision.get("window", "onsite") if hooks[0].decision else "onsite"
    h.service.duty = DutyBoard(FakeRoster(str(window), PEOPLE[name]), ["network", "servers", "applications"],
                               h.service.config.tiers)
    h.service.duty.refresh(hooks[0].at)
    twiml = ""
    placer = FakePlacer([])
    if name == "outbound_callback":
        h.service.placer = placer
        h.service.place_callback(Staff("张三", "+8613800000001"), "+8613912345678")
    for hook in hooks:
        h.clock.set(hook.at)
        if hook.route == "status":
            url = placer.placed[0]["status_callback"] if hook.query else f"{BASE}/twilio/status"
            if hook.params.get("ParentCallSid"):
                url = url_for(hook, twiml)
            response = await post(h, url, dict(hook.params))
            assert response.status_code == 204
            continue
        if hook.route == "voice":
            url = f"{BASE}/twilio/voice"
        elif hook.route == "connect":
            url = placer.placed[0]["url"]
        else:
            url = url_for(hook, twiml)
        response = await post(h, url, dict(hook.params))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/xml")
        twiml = response.text


def stored(db_url: str) -> tuple[list[dict[str, Any]], int]:
    db = open_database(db_url)
    with db.factory() as s:
        rows = [row_to_call(r).as_dict() | {"outcome": r.outcome, "wait_seconds": r.wait_seconds,
                                            "talk_seconds": r.talk_seconds} for r in s.scalars(select(CallRow))]
        raw = s.scalar(select(func.count()).select_from(RawEventRow)) or 0
    db.engine.dispose()
    return rows, raw


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_signed_sequence_gives_the_right_ledger_row(hotline: Hotline, name: str) -> None:
    await play(hotline, name)
    hotline.service.drain()
    rows, raw = stored(hotline.db_url)
    assert len(rows) == 1
    row = rows[0]
    assert row["provider"] == "twilio" and row["ended_at"] is not None
    for key, want in EXPECTED[name].items():
        if isinstance(want, float):
            assert row[key] == pytest.approx(want, abs=0.01), key
        else:
            assert row[key] == want, key
    unique = {h.digest() for h in read_session(FIXTURES / f"{name}.jsonl")}
    assert raw == len(unique)
    # Twilio delivers the whole sequence again (retries): nothing changes.
    await play(hotline, name)
    hotline.service.drain()
    assert stored(hotline.db_url) == (rows, raw)


async def test_dial_rings_every_on_duty_phone_with_leg_callbacks(hotline: Hotline) -> None:
    hooks = list(read_session(FIXTURES / "answered_by_staff.jsonl"))
    hotline.service.duty = DutyBoard(FakeRoster("remote", STAFF), ["network"], hotline.service.config.tiers)
    hotline.service.duty.refresh(hooks[0].at)
    hotline.clock.set(hooks[0].at)
    first = await post(hotline, f"{BASE}/twilio/voice", dict(hooks[0].params))
    assert "<Gather" in first.text and f'action="{BASE}/twilio/gather?script=default&amp;node=remote_menu' in first.text
    second = await post(hotline, url_for(hooks[1], first.text), dict(hooks[1].params))
    assert second.text.count("<Number") == 2
    assert 'statusCallbackEvent="initiated ringing answered completed"' in second.text
    assert f'action="{BASE}/twilio/dial?script=default' in second.text and 'timeout="40"' in second.text


async def test_queue_wait_url_plays_the_wait_message_and_records_nothing(hotline: Hotline) -> None:
    params = {"CallSid": "CA" + "55" * 16, "From": "+8613912345678", "To": "+864008001234", "QueueTime": "61",
              "QueuePosition": "1", "QueueSid": "QU" + "0" * 32, "CallStatus": "in-progress"}
    url = f"{BASE}/twilio/wait?script=default&node=network_queue&event=wait"
    response = await post(hotline, url, params)
    assert response.status_code == 200
    assert "请您再稍等片刻" in response.text and "<Pause" in response.text
    assert len(hotline.service.pending) == 0


@pytest.mark.parametrize("how", ["wrong", "other_url", "missing"])
async def test_bad_signature_is_refused_and_stores_nothing(hotline: Hotline, how: str) -> None:
    params = {"CallSid": "CA" + "66" * 16, "From": "+8613912345678", "To": "+864008001234",
              "CallStatus": "ringing", "Direction": "inbound", "AccountSid": "AC" + "0" * 32}
    url = f"{BASE}/twilio/voice"
    other = "https://other.example.com/twilio/voice"
    signature = {"wrong": sign("54321", url, params), "other_url": sign(TOKEN, other, params), "missing": None}[how]
    for route in ("voice", "status", "gather"):
        response = await post(hotline, f"{BASE}/twilio/{route}", params, signature)
        assert response.status_code == 403
        assert "X-Twilio-Signature" in response.json()["detail"]
    assert len(hotline.service.pending) == 0
    hotline.service.drain()
    assert stored(hotline.db_url) == ([], 0)


async def test_ivr_failure_still_answers_with_the_duty_phone(hotline: Hotline) -> None:
    hotline.service.ivr = None
    hotline.service.duty = DutyBoard(None, [], hotline.service.config.tiers, fallback=["+8613800000009"])
    params = {"CallSid": "CA" + "77" * 16, "From": "+8613912345678", "To": "+864008001234"}
    response = await post(hotline, f"{BASE}/twilio/voice", params)
    assert response.status_code == 200 and ">+8613800000009</Number>" in response.text


async def test_the_journal_sits_beside_the_database_the_app_writes_to(hotline: Hotline) -> None:
    """Not beside the config's default database (`serve --db` names another; parallel test runs shared the
    repository's `data/` this way): beside a SQLite file in use, and only where configured with PostgreSQL."""
    journal = hotline.service.journal
    url = make_url(hotline.db_url)
    if url.get_backend_name() == "sqlite":
        assert journal is not None and url.database
        assert journal.path == Path(url.database).parent / "twilio-journal.jsonl"
    else:
        assert journal is None
