"""The complaint part of the ticket page in a real headless browser on a real uvicorn: a staff member records
a complaint by hand, replies, fills in the 《客户投诉反馈表》 in two saves (two versions), and the page links
the XLSX and PDF downloads, which the signed-in browser can fetch (CSP: the script is a static file)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from hotline.api.app import create_app
from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.runtime.assembly import open_database
from hotline.services.roster.service import RosterService
from tests.conftest import ROOT
from tests.e2e.browser import ARGS, CHROMIUM, require_browser, serve, sign_in
from tests.signin import PASSWORD, add_account

NOW = datetime.fromisoformat("2026-11-23T15:00:00+08:00")


@pytest.fixture
def served(tmp_path: Path, settings: Settings) -> Iterator[str]:
    db = open_database(f"sqlite:///{tmp_path / 'complaints.db'}")
    RosterService(db.factory, settings, ManualClock(NOW, settings.tz)).load_example(ROOT / "config" / "roster.yaml")
    add_account(db.factory, "staff-冯婷", "staff", "王芳")
    with serve(create_app(settings, db.factory, ManualClock(NOW, settings.tz))) as base:
        yield base
    db.engine.dispose()


def test_a_complaint_recorded_replied_and_its_feedback_form_filled_on_the_ticket_page(served: str) -> None:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        sign_in(page, served, "staff-冯婷", PASSWORD)
        page.goto(served + "/tickets")
        page.fill("#nc-number", "010-12345678")
        page.fill("#nc-summary", "工程师未按约定时间到场")
        page.click("#nc-go")
        expect(page.locator("#t-id")).to_have_text("GD20261123-0001")
        expect(page.locator("#c-state")).to_contain_text("人工登记")
        expect(page.locator("#c-body")).to_be_visible()
        expect(page.locator("#c-mark")).to_be_hidden()
        expect(page.locator("#t-clocks")).to_contain_text("complaint_solved")

        page.fill("#c-reply", "已致电客户致歉")
        page.click("#c-reply-go")
        expect(page.locator("#c-state")).to_contain_text("答复 2026-11-23T15:00:00+08:00")
        page.fill("#c-complaint", "客户投诉工程师未按约定时间到场")
        page.fill("#c-investigation", "排班临时调整，未通知客户")
        page.click("#c-save")
        expect(page.locator("#c-version")).to_contain_text("v1 · 王芳")
        page.fill("#c-confirmation", "客户确认满意")
        page.click("#c-save")
        expect(page.locator("#c-version")).to_contain_text("v2")
        expect(page.locator("#c-history li")).to_have_count(2)
        expect(page.locator("#c-investigation")).to_have_value("排班临时调整，未通知客户")

        pdf = page.request.get(served + (page.locator("#c-pdf").get_attribute("href") or ""))
        assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
        xlsx = page.request.get(served + (page.locator("#c-xlsx").get_attribute("href") or ""))
        assert xlsx.status == 200 and xlsx.body()[:2] == b"PK"
        assert not [e for e in errors if "Content Security Policy" in e]
        browser.close()
