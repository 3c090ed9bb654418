"""The satisfaction survey on the ticket page in the real browser: the survey of a resolved ticket is shown;
the staff member who solved the ticket cannot record its score; another records it by hand, the ticket
closes (the caller confirmed), the caller's surveys list it, and the overview's tile shows the month's figure."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hotline.api.app import create_app
from hotline.config import Settings
from hotline.services.monitor.outbox import DryRunSender
from tests.e2e.browser import ARGS, CHROMIUM, require_browser, serve, sign_in
from tests.integration.survey_desk import SurveyDesk
from tests.signin import PASSWORD, add_account

T0 = datetime.fromisoformat("2026-12-03T10:00:00+08:00")


@pytest.fixture
async def served(tmp_path: Path, settings: Settings) -> AsyncIterator[tuple[str, str]]:
    desk = SurveyDesk(settings, f"sqlite:///{tmp_path / 'surveys.db'}", T0)
    tid = desk.resolved_ticket("13800138004", T0, T0 + timedelta(minutes=20))  # 王芳 resolves
    await desk.run_until(T0 + timedelta(minutes=25), DryRunSender())  # the survey is scheduled
    add_account(desk.db.factory, "staff-王芳", "staff", "王芳")
    add_account(desk.db.factory, "staff-刘洋", "staff", "刘洋")
    app = create_app(settings, desk.db.factory, desk.clock)
    app.state.tickets, app.state.surveys = desk.tickets, desk.surveys
    with serve(app) as base:
        yield base, tid
    desk.dispose()


def console_errors(page: Any) -> list[str]:
    errors: list[str] = []

    def seen(message: Any) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", seen)
    return errors


def test_survey_recorded_by_hand_on_the_ticket_page(served: tuple[str, str]) -> None:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    base, tid = served
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for who, refused in (("王芳", True), ("刘洋", False)):
            page = browser.new_context().new_page()
            errors = console_errors(page)
            sign_in(page, base, f"staff-{who}", PASSWORD)
            page.goto(base + "/tickets")
            page.select_option("#state", "not_closed")
            page.locator("#tickets tbody tr", has_text=tid).click()
            expect(page.locator("#s-state")).to_contain_text("待回访 scheduled")
            page.select_option("#s-score", "4")
            page.fill("#s-note", "电话回访，客户满意")
            page.click("#s-record")
            if refused:
                expect(page.locator("#error")).to_contain_text("cannot record its score")
                expect(page.locator("#s-state")).to_contain_text("待回访")
            else:
                expect(page.locator("#s-state")).to_contain_text("已回访 answered")
                expect(page.locator("#s-state")).to_contain_text("评分 score 4/5")
                expect(page.locator("#s-answers")).to_contain_text("总体满意度 overall: 4")
                expect(page.locator("#s-answers")).to_contain_text("问题是否已解决 solved: 是 yes")  # stored as 1
                expect(page.locator("#s-answers li", has_text="总体满意度")).to_have_attribute(  # the words asked
                    "title", "请为本次服务的总体满意度打分（1-5 分） / Overall satisfaction (1-5)")
                expect(page.locator("#s-history")).to_contain_text(tid)
                page.goto(base + "/")  # the overview's tile: this month's satisfaction with its sample
                expect(page.locator("#tile-satisfaction")).to_have_text("80.0%")
                expect(page.locator("#tile-satisfaction-sample")).to_contain_text("样本 sample 1")
                assert not [e for e in errors if "Content Security Policy" in e], errors
        browser.close()
