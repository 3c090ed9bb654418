"""The dashboard's pages behind a reverse proxy that keeps the public URL's path prefix
(`public_base_url = http://127.0.0.1:8080/hotline`, the proxy passing `/hotline/...` on): the browser
signs in, walks the five pages through their navigation, the roster editor and the tickets page (a screen
pop there) and signs out, and every request it makes -
pages, styles, scripts, JSON, the live stream, redirects - stays under `/hotline/`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from hotline.api.app import create_app
from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.runtime.assembly import open_database
from tests.e2e.browser import browser_page, recorded_ledger, serve, submit_login
from tests.signin import PASSWORD, add_account

NOW = datetime.fromisoformat("2026-11-23T15:00:00+08:00")


@pytest.fixture
def served(settings: Settings, tmp_path: Path) -> Iterator[str]:
    db = open_database(f"sqlite:///{tmp_path / 'prefix.db'}")
    ledger = recorded_ledger(settings, db.factory, "answered_caller_hangup.ami")  # caller 13800138000
    add_account(db.factory, "liuyang", "supervisor", "刘洋")
    behind = replace(settings, api=replace(settings.api, public_base_url="http://127.0.0.1:8080/hotline"))
    app = create_app(behind, db.factory, ManualClock(NOW, settings.tz), live={"ledger": ledger})
    with serve(app) as url:
        yield url
    db.engine.dispose()


def test_pages_behind_a_prefix_keep_every_link_and_request_under_it(served: str) -> None:
    base = served + "/hotline"
    with browser_page() as (page, _):
        from playwright.sync_api import expect

        asked: list[str] = []
        failed: list[str] = []
        page.on("request", lambda r: asked.append(r.url))
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400
                and not r.url.endswith("/favicon.ico") else None)
        page.goto(base + "/calls")  # anonymous: to the sign-in form under the prefix, and back afterwards
        assert page.url == base + "/login?next=/hotline/calls"
        assert page.locator("link[rel=stylesheet]").get_attribute("href") == "/hotline/static/login.css"
        submit_login(page, "liuyang", PASSWORD)
        page.wait_for_url(base + "/calls")
        expect(page.locator("#calls tbody tr")).to_have_count(1)
        expect(page.locator("#me")).to_have_text("刘洋 · supervisor")
        nav = page.locator("nav a")
        hrefs = [nav.nth(i).get_attribute("href") for i in range(nav.count())]
        assert hrefs == ["/hotline/", "/hotline/calls", "/hotline/alerts", "/hotline/duty", "/hotline/roster",
                         "/hotline/tickets", "/hotline/reports", "/hotline/wall"]
        expect(page.locator("nav a.here")).to_have_text("呼叫 Calls")
        for label, path, ready in (("告警 Alerts", "/alerts", "#alerts-status"),
                                   ("值班 On duty", "/duty", "#duty"),
                                   ("报表 Reports", "/reports", "#rates tbody tr"),
                                   ("总览 Overview", "/", "#rates tbody tr")):
            page.click(f"nav a:text-is('{label}')")
            page.wait_for_url(base + path)
            page.wait_for_selector(ready, state="attached")
            expect(page.locator("#me")).to_have_text("刘洋 · supervisor")
        # the roster editor and the tickets page (their own layouts) from the navigation, and back
        page.click("nav a:text-is('排班 Roster')")
        page.wait_for_url(base + "/roster")
        expect(page.locator("#actor")).to_be_disabled()  # /api/me answered: the signed-in person acts
        page.wait_for_selector("#grid thead th", state="attached")  # /api/roster/shifts answered
        assert page.locator("h1 a").get_attribute("href") == "/hotline/"
        page.click("h1 a")
        page.wait_for_url(base + "/")
        page.click("nav a:text-is('工单 Tickets')")
        page.wait_for_url(base + "/tickets")
        expect(page.locator("#me")).to_have_value("刘洋")
        page.fill("#pop-number", "13800138000")
        page.click("#pop-go")
        expect(page.locator("#pop-result")).not_to_be_empty()  # the screen pop, under the prefix
        page.click("h1 a")
        page.wait_for_url(base + "/")
        page.goto(base + "/reports")
        page.wait_for_selector("#rates tbody tr")
        assert (page.locator("#export-calls-csv").get_attribute("href") or "").startswith("/hotline/api/calls.csv")
        page.click("#account button[type=submit]")  # sign out: the form posts under the prefix
        page.wait_for_url(base + "/login")
    outside = [u for u in asked if not u.startswith(base + "/")]
    assert not outside, outside
    assert not failed, failed
    assert any(u.startswith(base + "/api/dashboard/stream") for u in asked)  # the live stream too
    assert any(u == base + "/static/dashboard.js" for u in asked)
    for asset in ("/static/roster.js", "/static/roster.css", "/static/tickets.js", "/static/complaints.js",
                  "/static/surveys.js", "/static/session.js"):
        assert base + asset in asked, asset
    for api in ("/api/roster/shifts?", "/api/roster/requests", "/api/tickets?", "/api/tickets/screen-pop?"):
        assert any(u.startswith(base + api) for u in asked), api
