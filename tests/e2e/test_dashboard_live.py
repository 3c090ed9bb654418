"""Live updates in the real browser (Debian chromium, real uvicorn): a new call appears on the calls
page and in the overview's tiles without a reload (Server-Sent Events); the wallboard shows the
waiting caller, the answer rate, the open alert and who is on duty, opened with a viewer API token."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from hotline.api.app import create_app
from hotline.clock import ManualClock, SystemClock
from hotline.config import Settings
from hotline.domain.calls import Call, Direction, Party
from hotline.runtime.assembly import open_database
from hotline.services.access.sessions import TokenService
from hotline.services.calls.ledger import Ledger
from hotline.services.roster.service import RosterService
from hotline.store.alerts import AlertRow
from hotline.store.base import unit_of_work
from hotline.store.calls import upsert_calls
from tests.conftest import ROOT
from tests.e2e.browser import ARGS, CHROMIUM, require_browser, serve, sign_in
from tests.signin import PASSWORD, add_account

NOW = datetime.fromisoformat("2026-11-23T15:00:00+08:00")


def answered_call(cid: str, at: datetime, caller: str, specialty: str, by: str) -> Call:
    return Call(cid, "asterisk", Direction.INBOUND, at, caller=caller, called="4008001234", queue=specialty,
                specialty=specialty, staff_reached_at=at + timedelta(seconds=8), answered_at=at + timedelta(seconds=20),
                answered_by=by, hangup_at=at + timedelta(seconds=212), hung_up_by=Party.CALLER,
                ended_at=at + timedelta(seconds=212))


@dataclass
class Served:
    url: str
    db_url: str
    ledger: Ledger
    wall_token: str  # a viewer API token, as the desk's TV is given


@pytest.fixture
def served(settings: Settings, tmp_path: Path) -> Iterator[Served]:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    db = open_database(url)
    RosterService(db.factory, settings, ManualClock(NOW, settings.tz)).load_example(ROOT / "config" / "roster.yaml")
    with unit_of_work(db.factory) as s:
        upsert_calls(s, [answered_call("c1", NOW - timedelta(hours=2), "13800138004", "network", "张伟")])
        s.add(AlertRow(alert_id="a1", kind="missed_call", state="open", window="onsite", caller="010-12345678",
                       specialty="servers", opened_at=NOW - timedelta(minutes=4),
                       deadline_at=NOW + timedelta(minutes=11), missed_calls=1, step_index=1, repeat_no=0))
    ledger = Ledger(db.factory)
    waiting = Call("w1", "asterisk", Direction.INBOUND, NOW - timedelta(seconds=200), caller="+8613912345678",
                   queue="servers", specialty="servers", staff_reached_at=NOW - timedelta(seconds=192))
    ledger.open["w1"] = waiting
    add_account(db.factory, "supervisor-张伟", "supervisor", "张伟")
    add_account(db.factory, "desk-tv", "viewer")
    wall_token, _ = TokenService(db.factory, SystemClock()).issue("desk-tv", "值班室电视 desk TV", "viewer")
    live_settings = replace(settings, api=replace(settings.api, live_interval=0.3))
    app = create_app(live_settings, db.factory, ManualClock(NOW, settings.tz), live={"ledger": ledger})
    with serve(app) as base:
        yield Served(base, url, ledger, wall_token)
    db.engine.dispose()


def test_a_new_call_appears_without_reload(served: Served, tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context()  # one browser session: both pages share the sign-in
        calls = context.new_page()
        sign_in(calls, served.url, "supervisor-张伟", PASSWORD)
        calls.goto(served.url + "/calls")
        expect(calls.locator("#calls tbody tr")).to_have_count(1)
        first = calls.locator("#calls tbody tr").inner_text().split("\t")
        assert first[1:6] == ["呼入", "13800138004", "网络 / Network", "已接通", "张伟"]
        assert first[6:] == ["12秒", "3分12秒"]  # wait from reaching staff; durations as the desk says them, not 192.0
        assert "+8613912345678" in calls.locator("#open tbody").inner_text()

        overview = context.new_page()
        overview.goto(served.url + "/")
        expect(overview.locator("#tile-rate-total")).to_have_text("100.0%")
        assert overview.locator("#tile-waiting").inner_text() == "1"
        assert overview.locator("#tile-longest").inner_text() == "最长等待 longest 3分12秒"
        assert overview.locator("#tile-alerts").inner_text() == "1"
        assert overview.locator("#tile-oldest").inner_text() == "最久 oldest 4分0秒"
        assert "一线：" in overview.locator("#tile-duty").inner_text()
        network = overview.locator("#tile-rates [data-group=network]").inner_text()
        assert "网络 / Network" in network and "100.0% (1/1)" in network
        marker = overview.evaluate("window.__marker = 'same page'")
        assert marker == "same page"

        # a call is written to the ledger (as the listener would): both pages update by themselves
        with_abandon = Call("c2", "asterisk", Direction.INBOUND, NOW - timedelta(minutes=30), caller="02161234567",
                            called="4008001234", queue="servers", specialty="servers",
                            staff_reached_at=NOW - timedelta(minutes=30) + timedelta(seconds=5),
                            hangup_at=NOW - timedelta(minutes=29), hung_up_by=Party.CALLER,
                            ended_at=NOW - timedelta(minutes=29))
        db = open_database(served.db_url)
        with unit_of_work(db.factory) as s:
            upsert_calls(s, [with_abandon])
        db.engine.dispose()
        expect(calls.locator("#calls tbody tr")).to_have_count(2)
        newest = calls.locator("#calls tbody tr").first.inner_text().split("\t")
        assert newest[2:5] == ["02161234567", "服务器 / Servers", "放弃"]
        expect(overview.locator("#tile-rate-total")).to_have_text("50.0%")
        assert overview.evaluate("window.__marker") == "same page"  # no reload happened
        calls.screenshot(path=str(tmp_path / "calls.png"), full_page=True)
        overview.screenshot(path=str(tmp_path / "overview.png"), full_page=True)
        browser.close()


def test_wallboard_is_live_large_and_needs_its_token(served: Served, tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    assert httpx.get(served.url + "/wall").status_code == 401
    assert httpx.get(served.url + "/wall", params={"token": "wrong"}).status_code == 401
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        page.goto(served.url + f"/wall?token={served.wall_token}")
        expect(page.locator("#wall-waiting")).to_have_text("1")
        assert page.locator("#wall-longest").inner_text() == "最长等待 3分12秒"
        assert page.locator("#wall-rate").inner_text() == "100.0%"
        assert page.locator("#wall-alerts").inner_text() == "1"
        assert "一线" in page.locator("#wall-duty").inner_text()
        # readable from 5 m: the figures are drawn at least 100 px high on a 1080p screen
        size = page.evaluate("parseFloat(getComputedStyle(document.getElementById('wall-waiting')).fontSize)")
        assert size >= 100
        assert "13912345678" not in page.locator("body").inner_text()  # no caller numbers on a TV
        served.ledger.open.pop("w1")  # the caller is answered: the wall follows without a reload
        expect(page.locator("#wall-waiting")).to_have_text("0")
        page.screenshot(path=str(tmp_path / "wall.png"))
        browser.close()
