"""The staff ticket screens in a real headless browser (Debian chromium via Playwright) on a real uvicorn:
the ticket opened by a replayed answered call, the screen pop when my extension answers the caller again,
edit, escalate, resolve, draft and publish a knowledge article, find it by a two-character word."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from hotline.api.app import create_app
from hotline.cli import main
from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.domain.calls import CallEvent, Direction, EventKind
from hotline.runtime.assembly import open_database
from hotline.services.calls.ledger import Ledger
from hotline.services.roster.service import RosterService
from tests.conftest import FIXTURES, ROOT
from tests.e2e.browser import ARGS, CHROMIUM, require_browser, serve, sign_in
from tests.signin import PASSWORD, add_account

CONFIG = str(ROOT / "config" / "hotline.toml")
NOW = datetime.fromisoformat("2026-11-23T15:00:00+08:00")  # Monday afternoon: second line on duty


@pytest.fixture
def served(tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'tickets.db'}"
    db = open_database(url)
    RosterService(db.factory, settings, ManualClock(NOW, settings.tz)).load_example(ROOT / "config" / "roster.yaml")
    trace = str(FIXTURES / "answered_caller_hangup.ami")
    assert main(["replay", trace, "--json", "--db", url, "--config", CONFIG, "--run-for", "20m"]) == 0
    capsys.readouterr()
    ledger = Ledger(None)  # the caller rings again and extension 8003 answers: still talking
    ledger.apply([CallEvent("live1", EventKind.STARTED, NOW - timedelta(minutes=1), direction=Direction.INBOUND,
                            caller="13800138000", called="4008001234"),
                  CallEvent("live1", EventKind.ANSWERED, NOW - timedelta(seconds=30), answered_by="8003")])
    add_account(db.factory, "supervisor-王芳", "supervisor", "王芳")  # works tickets (staff) and publishes (supervisor)
    with serve(create_app(settings, db.factory, ManualClock(NOW, settings.tz), live={"ledger": ledger})) as base:
        yield base
    db.engine.dispose()


def test_ticket_from_a_call_escalated_resolved_and_found_in_the_knowledge_base(served: str) -> None:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        sign_in(page, served, "supervisor-王芳", PASSWORD)
        page.goto(served + "/tickets")
        row = page.locator("#tickets tbody tr")
        expect(row).to_have_count(1)
        cells = row.first.inner_text().split("\t")
        assert cells[0].startswith("GD20261123-") and cells[3:5] == ["王芳", "13800138000"]
        assert cells[5] == "网络 / Network"  # the configured name, not the code
        ticket_id = cells[0]

        page.fill("#me", "王芳")
        page.fill("#ext", "8003")  # the open call answered by 8003 pops the caller's ticket
        expect(page.locator("#pop-result")).to_contain_text(f"open ticket {ticket_id}", timeout=10_000)
        expect(page.locator("#t-id")).to_have_text(ticket_id)

        page.fill("#f-summary", "打印机脱机")
        page.click("#save")
        expect(page.locator("#tickets tbody tr").first).to_contain_text("打印机脱机")
        page.fill("#f-reason", "一线无法处理，需要二线")
        page.click("#escalate")
        expect(page.locator("#t-state")).to_contain_text("二线")
        expect(page.locator("#t-timeline")).to_contain_text("一线无法处理，需要二线")
        expect(page.locator("#t-timeline")).to_contain_text("升级 escalate tier: 一线 first_line → 二线 second_line")
        expect(page.locator("#t-clocks")).to_contain_text("首次响应 response: 期限 due 11-23 ")
        assert re.fullmatch(r"\d\d-\d\d \d\d:\d\d", page.locator("#t-first").inner_text()), "desk time, short"
        page.fill("#f-solution", "在打印机属性中取消脱机使用打印机")
        page.fill("#f-cause", "误点脱机")
        page.click("#resolve")
        expect(page.locator("#t-state")).to_contain_text("已解决")
        expect(page.locator("#t-solution")).to_have_text("在打印机属性中取消脱机使用打印机")

        page.click("#draft")
        draft = page.locator("#kb tbody tr")
        expect(draft).to_have_count(1)
        expect(draft.first).to_contain_text("草稿 draft")
        page.click("#kb tbody tr button.publish")
        expect(draft.first).to_contain_text("已发布 published")

        page.uncheck("#kb-drafts")
        page.fill("#kb-q", "脱机")  # two characters
        page.click("#kb-go")
        expect(page.locator("#kb tbody tr")).to_have_count(1)
        expect(page.locator("#kb tbody tr").first).to_contain_text("打印机脱机")
        page.fill("#kb-q", "网络")
        page.click("#kb-go")
        expect(page.locator("#kb tbody tr")).to_have_count(0)

        page.click("#close")  # the caller confirmed
        expect(page.locator("#t-state")).to_contain_text("已关闭")
        page.select_option("#state", "open")
        expect(page.locator("#tickets tbody tr")).to_have_count(0)
        browser.close()
