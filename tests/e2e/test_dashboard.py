"""The supervisors' dashboard in a real headless browser (Debian chromium driven by Playwright),
served by a real uvicorn on loopback from a ledger filled by replaying recorded calls."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from hotline.api.app import create_app
from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.runtime.assembly import open_database
from hotline.services.calls.ledger import Ledger
from tests.e2e.browser import ARGS, CHROMIUM, recorded_ledger, require_browser, serve, sign_in
from tests.signin import PASSWORD, add_account

NOW = datetime.fromisoformat("2026-11-23T15:00:00+08:00")


@pytest.fixture
def served(settings: Settings, tmp_path: Path) -> Iterator[str]:
    db = open_database(f"sqlite:///{tmp_path / 'dash.db'}")
    ledger = recorded_ledger(settings, db.factory, "answered_caller_hangup.ami", "busy.ami",
                             "ivr_hangup_before_menu.ami")
    # the app's clock on the day of the recorded calls: the pages show today by default
    app = create_app(settings, db.factory, ManualClock(NOW, settings.tz), live={"ledger": ledger})
    add_account(db.factory, "supervisor-张伟", "supervisor", "张伟")
    with serve(app) as url:
        yield url


def test_dashboard_shows_answer_rates_and_calls(served: str, tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        sign_in(page, served, "supervisor-张伟", PASSWORD)
        page.wait_for_selector("#rates tbody tr")
        rows = page.locator("#rates tbody tr")
        texts = [rows.nth(i).inner_text() for i in range(rows.count())]
        network = next(t for t in texts if t.startswith("网络 / Network"))  # the config's name, not `network`
        total = next(t for t in texts if t.startswith("合计"))
        # network: 1 offered, 1 answered, 100 %; total: busy + answered offered, IVR hang-up apart.
        assert network.split("\t")[1:4] == ["1", "1", "100.0%"]
        assert total.split("\t")[1:4] == ["2", "1", "50.0%"]
        assert "否 no" in total and "是 yes" in network
        expect(page.locator("#status")).to_contain_text("更新于 updated")
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

        page.goto(served + "/calls")  # the calls have a page of their own now
        expect(page.locator("#calls tbody tr")).to_have_count(3)
        calls = page.locator("#calls tbody").inner_text()
        assert "13800138000" in calls and "已接通" in calls and "忙" in calls and "IVR挂机" in calls
        assert "呼入" in calls and "inbound" not in calls and "(none)" not in calls
        browser.close()


def test_status_line_reads_the_servers_clock(settings: Settings, tmp_path: Path) -> None:
    """One clock per run (issue 14): the status line shows the server's time, the demo's simulated day
    when it runs the demo, not the browser's wall clock."""
    require_browser()
    from datetime import datetime

    from playwright.sync_api import expect, sync_playwright

    from hotline.clock import ManualClock

    db = open_database(f"sqlite:///{tmp_path / 'dash.db'}")
    clock = ManualClock(datetime(2026, 11, 24, 3, 17, 42, tzinfo=settings.tz), settings.tz)
    app = create_app(settings, db.factory, clock, live={"ledger": Ledger(db.factory)})
    add_account(db.factory, "supervisor-张伟", "supervisor", "张伟")
    with serve(app) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        sign_in(page, url, "supervisor-张伟", PASSWORD)
        expect(page.locator("#status")).to_contain_text("更新于")
        assert page.locator("#status").inner_text().startswith("更新于 updated 03:17:42")
        browser.close()
