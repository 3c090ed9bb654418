"""Bad values that reach the API are answered 422 with a reason, never 500 or a cut body: dates like 0001
or 9999 (on-duty, gaps, breaches, calls.csv, answer rate), a roster gap range of a century (capped,
and the search is linear), short_abandon=nan or -1; calls.csv fails before its 200 when the query fails."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest
from sqlalchemy import text

from hotline.api.app import create_app
from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.runtime.assembly import ensure_roster, open_database
from tests.signin import BASE_URL, login


@pytest.fixture
async def client(settings: Settings, db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    db = open_database(db_url)
    ensure_roster(settings, db.factory)
    clock = ManualClock(datetime.fromisoformat("2026-11-23T10:00:00+08:00"), settings.tz)
    app = create_app(settings, db.factory, clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as c:
        await login(c, db.factory, "supervisor", None)  # reports and exports: a supervisor's
        yield c
    db.engine.dispose()


@pytest.mark.parametrize("path", [
    "/api/roster/on-duty?at=0001-01-01T00:00:00",
    "/api/roster/on-duty?at=9999-12-31T23:59:59",
    "/api/roster/gaps?from=0001-01-01&to=0001-01-02",
    "/api/roster/gaps?from=9999-12-30&to=9999-12-31",
    "/api/reports/breaches?from=0001-01-01&to=0001-01-01",
    "/api/reports/breaches?from=9999-12-31&to=9999-12-31",
    "/api/calls.csv?from=0001-01-01",
    "/api/calls.csv?to=9999-12-31",
    "/api/calls?from=0001-01-01",
    "/api/reports/answer-rate?from=0001-01-01",
    "/api/reports/answer-rate.csv?to=9999-12-31",
    "/api/reports/answer-rate?short_abandon=nan",
    "/api/reports/answer-rate?short_abandon=-1",
    "/api/reports/answer-rate?short_abandon=inf",
    "/api/reports/answer-rate.csv?short_abandon=nan",
])
async def test_a_value_out_of_range_is_a_422_with_a_reason(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 422, (path, r.status_code, r.text[:300])
    assert r.json()["detail"]


async def test_a_century_of_roster_gaps_is_refused_at_once(client: httpx.AsyncClient) -> None:
    started = time.monotonic()
    r = await client.get("/api/roster/gaps?from=2000-01-01&to=2100-12-31")
    assert r.status_code == 422 and "732" in r.json()["detail"]
    assert time.monotonic() - started < 2
    r = await client.get("/api/roster/gaps?from=2026-01-01&to=2027-12-31")  # two years: answered
    assert r.status_code == 200 and r.json()["gaps"]


async def test_calls_csv_whose_query_fails_is_not_a_200_with_a_cut_body(settings: Settings, db_url: str) -> None:
    db = open_database(db_url)
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE calls CASCADE" if db_url.startswith("postgresql") else "DROP TABLE calls"))
    app = create_app(settings, db.factory, ManualClock(datetime.fromisoformat("2026-11-23T10:00:00+08:00")))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as c:
        await login(c, db.factory, "supervisor", None)  # the accounts survive the dropped calls table
        r = await c.get("/api/calls.csv")
    db.engine.dispose()
    assert r.status_code == 500
