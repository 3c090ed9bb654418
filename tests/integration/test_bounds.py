"""Every list endpoint is bounded: a range that defaults to today (the app's clock) and a limit
checked to 1..5000."""

from __future__ import annotations

import httpx
import pytest

from hotline.api.app import create_app
from hotline.config import Settings
from tests.integration.monitor_fakes import MIN, T0, answered, missed, rig
from tests.signin import BASE_URL, login


@pytest.mark.parametrize("path", ["/api/reports/returned", "/api/alerts/unreturned", "/api/incidents",
                                  "/api/alerts", "/api/calls"])
async def test_limits_are_checked(settings: Settings, db_url: str, path: str) -> None:
    r = rig(db_url)
    app = create_app(settings, r.monitor.factory, r.clock, live={"monitor": r.monitor})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as http:
        await login(http, r.monitor.factory, "supervisor", None)
        for bad in ("0", "5001", "many"):
            assert (await http.get(path, params={"limit": bad})).status_code == 422, bad
        assert (await http.get(path, params={"limit": "5000"})).status_code == 200
    r.dispose()


async def test_ranges_default_to_today_by_the_app_clock(settings: Settings, db_url: str) -> None:
    from datetime import timedelta

    from hotline.domain.calls import Direction

    r = rig(db_url)
    r.monitor.on_call(missed("13900000009", T0, "m1"))
    r.monitor.on_call(answered("8001", "13900000009", T0 + 3 * MIN, Direction.OUTBOUND))  # returned in 3 min
    app = create_app(settings, r.monitor.factory, r.clock, live={"monitor": r.monitor})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as http:
        await login(http, r.monitor.factory, "supervisor", None)
        rate = (await http.get("/api/reports/answer-rate")).json()
        assert rate["from"] == rate["to"] == T0.date().isoformat()
        assert len((await http.get("/api/reports/returned")).json()) == 1
        r.clock.set(T0 + timedelta(days=1))  # tomorrow: today's list is empty, the day before is asked by date
        await login(http, r.monitor.factory, "supervisor", None)  # a session lasts 12 hours: sign in again
        assert (await http.get("/api/reports/returned")).json() == []
        day = T0.date().isoformat()
        assert len((await http.get("/api/reports/returned", params={"from": day, "to": day})).json()) == 1
        assert (await http.get("/api/reports/returned", params={"from": day, "limit": 1})).status_code == 200
    r.dispose()
