"""Twilio calls whose final status callback never came (hotline was down, the request was lost): the sweep
asks Twilio's Call resource (a local fake of the REST API over real HTTP) and ends them with what it says, or
ends them as last heard once they have been silent past Twilio's call time limit (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from sqlalchemy import select

from hotline.api.app import create_app
from hotline.api.twilio import build_service
from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.providers.twilio.callback import RestCallPlacer
from hotline.providers.twilio.session import read_session
from hotline.runtime.assembly import open_database
from hotline.services.calls.twilio_calls import DutyBoard, TwilioCalls
from hotline.store.calls import CallRow, RawEventRow, row_to_call
from tests.integration.paging_fakes import (
    FakeServer,
    Recorded,
    Reply,
    Responder,
    fake_server_fixture,  # noqa: F401
    json_reply,
)
from tests.integration.test_twilio_webhooks import (
    BASE,
    FIXTURES,
    PEOPLE,
    TZ,
    FakeRoster,
    Hotline,
    hotline,  # noqa: F401  (the fixture)
    post,
    signed_settings,
    url_for,
)

SID = "AC" + "5" * 32
TOKEN = "rest-token-stale-1"
ANSWERED = "CAa1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"  # answered_by_staff.jsonl
WAITING = "CAb2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2"  # caller_hangs_up_waiting.jsonl
Start = Callable[[Responder], FakeServer]


@dataclass
class CallResources:
    """What the fake REST API says about each call: (status, end time or None)."""

    calls: dict[str, tuple[str, datetime | None]]


def call_resource(state: CallResources) -> Responder:
    """GET /2010-04-01/Accounts/{sid}/Calls/{CallSid}.json with basic auth, like Twilio (fields as documented)."""
    def respond(req: Recorded) -> Reply:
        good = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        if req.headers.get("authorization") != good:
            return json_reply({"code": 20003, "message": "Authenticate", "status": 401}, 401)
        m = re.fullmatch(rf"/2010-04-01/Accounts/{SID}/Calls/(CA[0-9a-f]{{32}})\.json", req.path)
        if req.method != "GET" or m is None or m.group(1) not in state.calls:
            return json_reply({"code": 20404, "message": "The requested resource was not found", "status": 404}, 404)
        status, end = state.calls[m.group(1)]
        return json_reply({"sid": m.group(1), "account_sid": SID, "status": status, "direction": "inbound",
                           "end_time": format_datetime(end.astimezone(UTC)) if end else None,
                           "api_version": "2010-04-01",
                           "uri": f"/2010-04-01/Accounts/{SID}/Calls/{m.group(1)}.json"})
    return respond


async def play_until(h: Hotline, name: str, count: int) -> tuple[datetime, str]:
    """The first `count` requests of a recorded session, signed, to the URLs the TwiML gave; the rest never
    arrive. Returns when the last one arrived, and the last TwiML hotline answered."""
    hooks = list(read_session(FIXTURES / f"{name}.jsonl"))[:count]
    window = str(hooks[0].decision.get("window", "onsite"))
    h.service.duty = DutyBoard(FakeRoster(window, PEOPLE[name]), ["network", "servers", "applications"],
                               h.service.config.tiers)
    h.service.duty.refresh(hooks[0].at)
    twiml = ""
    for hook in hooks:
        h.clock.set(hook.at)
        if hook.route == "status":
            url = url_for(hook, twiml) if hook.params.get("ParentCallSid") else f"{BASE}/twilio/status"
            assert (await post(h, url, dict(hook.params))).status_code == 204
            continue
        url = f"{BASE}/twilio/voice" if hook.route == "voice" else url_for(hook, twiml)
        response = await post(h, url, dict(hook.params))
        assert response.status_code == 200, response.text
        twiml = response.text
    h.service.drain()
    return hooks[-1].at, twiml


def rest(server: FakeServer) -> RestCallPlacer:
    return RestCallPlacer(SID, TOKEN, api_base_url=server.url)


def same_second(stored_at: object, want: datetime) -> bool:
    """Twilio's times are whole seconds (RFC 2822)."""
    assert isinstance(stored_at, str)
    return abs(datetime.fromisoformat(stored_at) - want) < timedelta(seconds=1)


def stored(db_url: str, call_id: str) -> tuple[dict[str, object], list[bytes]]:
    db = open_database(db_url)
    with db.factory() as s:
        row = s.scalars(select(CallRow).where(CallRow.call_id == call_id)).one()
        call = row_to_call(row).as_dict() | {"outcome": row.outcome, "ended": row.ended_at}
        raw = [r.raw for r in s.scalars(select(RawEventRow).where(RawEventRow.call_id == call_id))]
    db.engine.dispose()
    return call, raw


async def test_twilio_says_the_silent_call_completed_so_it_ends_then(hotline: Hotline, fake_server: Start) -> None:
    heard, _ = await play_until(hotline, "answered_by_staff", 8)  # answered by 李四; no final callbacks after that
    assert ANSWERED in hotline.service.ledger.open
    end = heard + timedelta(minutes=12)
    server = fake_server(call_resource(CallResources({ANSWERED: ("completed", end)})))
    hotline.service.status_source = rest(server)

    hotline.clock.set(heard + timedelta(minutes=29))  # silent, but not long enough to ask
    assert hotline.service.sweep_stale() == 0 and server.requests == []
    hotline.clock.set(heard + timedelta(minutes=31))
    assert hotline.service.sweep_stale() == 1
    hotline.service.drain()
    (req,) = server.requests
    assert (req.method, req.path) == ("GET", f"/2010-04-01/Accounts/{SID}/Calls/{ANSWERED}.json")
    assert ANSWERED not in hotline.service.ledger.open

    call, raw = stored(hotline.db_url, ANSWERED)
    assert (call["outcome"], call["answered_by"], call["estimated"]) == ("answered", "李四", True)
    assert same_second(call["ended_at"], end)
    made_up = [json.loads(r) for r in raw if b'"reconciled"' in r]
    assert [(m["params"]["CallStatus"], m["query"]) for m in made_up] == [("completed", {"reconciled": "rest"})]
    assert hotline.service.sweep_stale() == 0 and len(server.requests) == 1  # ended: never asked again


async def test_a_call_twilio_says_is_still_up_stays_open_and_is_asked_again_later(
        hotline: Hotline, fake_server: Start) -> None:
    heard, _ = await play_until(hotline, "answered_by_staff", 8)
    state = CallResources({ANSWERED: ("in-progress", None)})
    server = fake_server(call_resource(state))
    hotline.service.status_source = rest(server)
    hotline.clock.set(heard + timedelta(minutes=40))
    assert hotline.service.sweep_stale() == 0
    hotline.clock.set(heard + timedelta(minutes=50))  # asked 10 min ago: not again yet
    assert hotline.service.sweep_stale() == 0 and len(server.requests) == 1
    state.calls[ANSWERED] = ("completed", heard + timedelta(minutes=55))
    hotline.clock.set(heard + timedelta(minutes=71))
    assert hotline.service.sweep_stale() == 1 and len(server.requests) == 2
    hotline.service.drain()
    call, _ = stored(hotline.db_url, ANSWERED)
    assert call["outcome"] == "answered" and same_second(call["ended_at"], heard + timedelta(minutes=55))


@pytest.mark.parametrize("api", ["none", "refusing"])
async def test_without_twilios_word_a_silent_call_ends_as_last_heard_after_the_time_limit(
        hotline: Hotline, fake_server: Start, api: str) -> None:
    heard, _ = await play_until(hotline, "caller_hangs_up_waiting", 2)  # in the queue; nothing after that
    if api == "refusing":  # e.g. a wrong token: Twilio answers 401, logged without the token
        hotline.service.status_source = RestCallPlacer(SID, "wrong-token", api_base_url=fake_server(
            call_resource(CallResources({}))).url)
    hotline.clock.set(heard + timedelta(hours=4))
    assert hotline.service.sweep_stale() == 0
    hotline.service.drain()
    assert WAITING in hotline.service.ledger.open
    hotline.clock.set(heard + timedelta(seconds=hotline.service.config.stale_end_seconds))
    assert hotline.service.sweep_stale() == 1
    hotline.service.drain()
    call, raw = stored(hotline.db_url, WAITING)
    assert same_second(call["ended_at"], heard) and call["estimated"] is True
    assert call["outcome"] == "abandoned"  # put through to the queue, never answered
    assert call["hung_up_by"] is None  # a made-up end does not know who hung up
    assert any(b'"reconciled": "silence"' in r for r in raw)


async def test_after_a_restart_open_calls_are_read_back_and_swept(
        hotline: Hotline, settings: Settings, fake_server: Start) -> None:
    heard, _ = await play_until(hotline, "answered_by_staff", 8)
    db = open_database(hotline.db_url)
    clock = ManualClock(heard + timedelta(hours=1), TZ)
    app = create_app(signed_settings(settings), db.factory, clock)
    fresh: TwilioCalls = build_service(app)  # a new process: empty tracker and ledger
    assert fresh.ledger.load_open("twilio") == 1 and ANSWERED in fresh.ledger.open
    end = heard + timedelta(minutes=3)
    fresh.status_source = rest(fake_server(call_resource(CallResources({ANSWERED: ("completed", end)}))))
    assert fresh.sweep_stale() == 1
    fresh.drain()
    db.engine.dispose()
    call, _ = stored(hotline.db_url, ANSWERED)
    assert (call["outcome"], call["answered_by"]) == ("answered", "李四") and same_second(call["ended_at"], end)
