"""The complaint part of the ticket page in a real headless browser on a real uvicorn: a staff member records
a complaint by hand, replies, fills in the 《客户投诉反馈表》 in two saves (two versions), and the page links
the XLSX and PDF downloads, which the signed-in browser can fetch (CSP: the script is a static file)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from hotline.api.app import create_app
from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.runtime.assembly import open_database
from hotline.services.roster.service import RosterService
from tests.conftest import ROOT
from tests.e2e.browser import browser_page, serve, sign_in
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


def record_complaint(page: Any, served: str, number: str, summary: str) -> None:
    """Signed in as the staff member 王芳, a complaint recorded by hand on the ticket page (登记投诉)."""
    sign_in(page, served, "staff-冯婷", PASSWORD)
    page.goto(served + "/tickets")
    page.fill("#nc-number", number)
    page.fill("#nc-summary", summary)
    page.click("#nc-go")


def test_a_complaint_recorded_replied_and_its_feedback_form_filled_on_the_ticket_page(served: str) -> None:
    with browser_page() as (page, errors):
        from playwright.sync_api import expect

        record_complaint(page, served, "010-12345678", "工程师未按约定时间到场")
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


def test_a_form_reload_already_under_way_does_not_wipe_what_the_user_typed_meanwhile(served: str) -> None:
    """The race CI hit: a reply re-renders the ticket and reloads the feedback form; the user starts typing
    before that reload's answer arrives. The answer (held here, then delivered as a saved version the page has
    not shown yet) updates the version line but must leave the typed text alone."""
    with browser_page() as (page, _errors):
        from playwright.sync_api import expect

        record_complaint(page, served, "13800138004", "工程师态度不好")
        expect(page.locator("#c-version")).to_contain_text("未填写")

        held: list[Any] = []
        page.route("**/complaint/form", lambda route: held.append(route))
        page.fill("#c-reply", "已致电客户致歉")
        page.click("#c-reply-go")
        expect(page.locator("#c-state")).to_contain_text("答复 2026-11-23T15:00:00+08:00")
        for _ in range(100):
            if held:
                break
            page.wait_for_timeout(50)
        assert len(held) == 1, "the reply did not reload the form"
        page.fill("#c-investigation", "排班临时调整，未通知客户")
        stale = {"form": {"version": 9, "saved_by": "李娜", "saved_at": "2026-11-23T14:59:00+08:00",
                          "complaint": "旧内容", "investigation": "", "cause": "", "measures": "",
                          "feedback": "", "confirmation": ""},
                 "history": [{"version": 9, "saved_at": "2026-11-23T14:59:00+08:00", "saved_by": "李娜"}]}
        held[0].fulfill(status=200, content_type="application/json", body=json.dumps(stale, ensure_ascii=False))
        expect(page.locator("#c-version")).to_contain_text("v9 · 李娜")
        expect(page.locator("#c-investigation")).to_have_value("排班临时调整，未通知客户")
        page.unroute("**/complaint/form")

        page.click("#c-save")  # what the user sees is what is saved, and the reload after it fills the form again
        expect(page.locator("#c-version")).to_contain_text("v1 · 王芳")
        expect(page.locator("#c-investigation")).to_have_value("排班临时调整，未通知客户")
        expect(page.locator("#c-complaint")).to_have_value("")
