"""The dashboard summary under many clients: the shared payload encoded once per computation (masked for
viewers, so the guard does not parse it again), and API tokens that record their use to the minute
instead of writing on every request (a wallboard asks every 2 s)."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx

from hotline.api.app import create_app
from hotline.api.dashboard import feed_of
from hotline.config import Settings
from hotline.domain.calls import Direction
from hotline.services.access.sessions import TokenService
from hotline.store.base import unit_of_work
from hotline.store.calls import upsert_calls
from tests.integration.monitor_fakes import MIN, T0, answered, missed, rig
from tests.signin import BASE_URL, add_account


async def test_viewers_and_supervisors_get_the_shared_summary_masked_as_their_role_needs(
        settings: Settings, db_url: str) -> None:
    r = rig(db_url)
    calls = [missed("13800138004", T0 - 3 * MIN, "m1"),
             answered("13912345678", "4008001234", T0 - 5 * MIN, Direction.INBOUND, "a1")]
    with unit_of_work(r.monitor.factory) as s:
        upsert_calls(s, calls)
    app = create_app(settings, r.monitor.factory, r.clock, live={})
    add_account(r.monitor.factory, "wall", "viewer")
    add_account(r.monitor.factory, "boss", "supervisor")
    tokens = TokenService(r.monitor.factory, r.clock)
    viewer, _ = tokens.issue("wall", "tv", "viewer")
    boss, _ = tokens.issue("boss", "script", "supervisor")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        as_viewer = await client.get("/api/dashboard/summary", headers={"Authorization": f"Bearer {viewer}"})
        as_boss = await client.get("/api/dashboard/summary", headers={"Authorization": f"Bearer {boss}"})
        feed = feed_of(app.state)
        masked_calls, plain_calls = await feed.encoded("calls", True), await feed.encoded("calls", False)
        assert await feed.encoded("calls", True) is masked_calls  # encoded once per payload
    assert as_viewer.status_code == as_boss.status_code == 200
    assert as_viewer.headers["content-type"].startswith("application/json")
    assert as_viewer.json() == as_boss.json()  # the tiles carry no caller numbers
    assert as_viewer.json()["answer_rate"]["total"]["offered"] == 2
    assert "13800138004" in plain_calls and "13800138004" not in masked_calls and "138****8004" in masked_calls
    assert json.loads(masked_calls)["recent"][0]["call_id"] in {"m1", "a1"}


def test_a_token_records_its_use_to_the_minute(db_url: str) -> None:
    r = rig(db_url)
    add_account(r.monitor.factory, "wall", "viewer")
    tokens = TokenService(r.monitor.factory, r.clock)
    token, _ = tokens.issue("wall", "tv", "viewer")

    def last_used() -> object:
        return tokens.list("wall")[0].last_used_at

    assert last_used() is None
    assert tokens.principal(token) is not None
    first = last_used()
    assert first == T0
    r.clock.set(T0 + timedelta(seconds=59))
    assert tokens.principal(token) is not None and last_used() == first  # no write within the minute
    r.clock.set(T0 + timedelta(seconds=61))
    assert tokens.principal(token) is not None and last_used() == T0 + timedelta(seconds=61)
