"""The roster editor in a real headless browser (Debian chromium via Playwright) on a real uvicorn: the week
as a grid with each shift's layer, an override made from the grid with a preview, saved, then undone; a
nonsense override refused with its reason. Every effect is checked against the roster service too."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
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

NOW = datetime.fromisoformat("2026-11-23T10:00:00+08:00")


@pytest.fixture
def roster(tmp_path: Path, settings: Settings) -> Iterator[tuple[str, RosterService]]:
    db = open_database(f"sqlite:///{tmp_path / 'editor.db'}")
    service = RosterService(db.factory, settings, ManualClock(NOW, settings.tz))
    service.load_example(ROOT / "config" / "roster.yaml", "周强")
    add_account(db.factory, "supervisor-周强", "supervisor", "周强")  # roster edits need a supervisor
    with serve(create_app(settings, db.factory, ManualClock(NOW, settings.tz), live={})) as url:
        yield url, service
    db.engine.dispose()


def night_of_1124(service: RosterService) -> list[str]:
    return [p.name for p in service.on_duty(datetime.fromisoformat("2026-11-24T23:00:00+08:00")).first_line]


def test_override_from_the_grid_with_preview_and_undo(roster: tuple[str, RosterService], tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    url, service = roster
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        sign_in(page, url, "supervisor-周强", PASSWORD)
        page.goto(url + "/roster?start=2026-11-23")
        page.wait_for_selector("#grid tbody tr")
        first = "#grid tr[data-tier=first_line] td[data-day='2026-11-24']"
        assert page.locator(first).inner_text().splitlines() == ["08:00–20:00 王芳", "20:00–08:00 张伟"]
        assert page.locator(f"{first} .shift").first.get_attribute("data-layer") == "rotation"
        assert len(page.locator("#grid thead th").all()) == 8  # the tier and seven days
        override = "#grid tr[data-tier=first_line] td[data-day='2026-11-25'] .shift[data-layer=override]"
        assert page.locator(override).inner_text() == "20:00–08:00 刘洋"  # the example file's sick leave

        # 张伟's night: click it, let 李娜 cover, preview
        page.click(f"{first} .shift[data-person=张伟]")
        assert page.input_value("#o-from") == "2026-11-24T20:00" and page.input_value("#o-replace") == "张伟"
        page.select_option("#o-by", "李娜")
        page.fill("#o-reason", "体检 / check-up")
        assert page.is_disabled("#save-btn")
        page.click("#preview-btn")
        page.wait_for_selector("#preview-lines li")
        assert page.locator("#preview-lines li").all_inner_texts() == [
            "− 11-24 20:00–08:00 张伟 (轮班 rotation)", "+ 11-24 20:00–08:00 李娜 (调班 override)"]
        assert night_of_1124(service) == ["张伟"]  # a preview stores nothing

        page.click("#save-btn")
        page.wait_for_selector("#undo-btn")
        expect(page.locator("#grid tr[data-tier=first_line] td[data-day='2026-11-24']")).to_contain_text("李娜")
        assert night_of_1124(service) == ["李娜"]
        assert page.locator(f"{first} .shift[data-person=李娜]").get_attribute("data-layer") == "override"
        assert service.history(1)[0].action == "override"

        page.click("#undo-btn")
        page.wait_for_selector("#undo-result")
        assert page.locator("#undo-result").inner_text().startswith("已撤销 / undone #")
        expect(page.locator("#grid tr[data-tier=first_line] td[data-day='2026-11-24']")).to_contain_text("张伟")
        assert night_of_1124(service) == ["张伟"]
        assert service.history(1)[0].action == "override.remove"

        # nonsense: 李娜 has no first-line shift that night
        page.select_option("#o-replace", "李娜")
        page.select_option("#o-by", "刘洋")
        page.click("#preview-btn")
        page.wait_for_selector("#preview-error")
        assert "has no First line shift" in page.locator("#preview-error").inner_text()
        assert page.is_disabled("#save-btn")

        page.select_option("#view", "month")
        expect(page.locator("#grid thead th")).to_have_count(31)  # the tier + 30 days
        page.screenshot(path=str(tmp_path / "roster.png"), full_page=True)
        browser.close()


def test_import_preview_then_apply_on_the_web(roster: tuple[str, RosterService], tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    url, service = roster
    table = tmp_path / "11月.csv"
    table.write_bytes("日期,班次,开始,结束,二线\r\n2026-11-24,二线,09:00,17:00,陈静\r\n".encode("gbk"))
    service.import_file(table, "周强")
    fix = tmp_path / "补班.csv"  # as saved by Chinese Excel: GBK
    fix.write_bytes("日期,班次,开始,结束,二线\r\n2026-11-24,二线补班,13:00,17:00,赵敏\r\n".encode("gbk"))
    second = "#grid tr[data-tier=second_line] td[data-day='2026-11-24']"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        sign_in(page, url, "supervisor-周强", PASSWORD)
        page.goto(url + "/roster?start=2026-11-23")
        page.wait_for_selector("#grid tbody tr")
        assert page.locator(second).inner_text() == "09:00–17:00 陈静"
        page.set_input_files("#import-file", str(fix))
        page.click("#import-preview")
        page.wait_for_selector("#import-lines li")
        assert page.locator("#import-lines li").all_inner_texts() == [
            "+ 新增 / add: 2026-11-24 13:00–17:00 二线 赵敏 二线补班",
            "~ 缩短 / change: 2026-11-24 09:00–17:00 二线 陈静 二线 → 09:00–13:00"]
        assert page.locator(second).inner_text() == "09:00–17:00 陈静"  # nothing stored yet
        page.click("#import-apply")
        expect(page.locator(second)).to_contain_text("赵敏")
        assert page.locator(second).inner_text().splitlines() == ["09:00–13:00 陈静", "13:00–17:00 赵敏"]
        assert page.locator("#import-summary").inner_text().startswith("已导入 / imported")
        assert page.is_disabled("#import-apply")
        bad = tmp_path / "bad.csv"
        bad.write_bytes("日期,班次,开始,结束,二线\r\n".encode("utf-8-sig"))
        page.set_input_files("#import-file", str(bad))
        page.click("#import-preview")
        page.wait_for_selector("#import-error")
        assert "no shifts" in page.locator("#import-error").inner_text()
        browser.close()
    late = service.on_duty(datetime.fromisoformat("2026-11-24T14:00:00+08:00")).second_line
    assert [p.name for p in late] == ["赵敏"]


def test_with_approval_a_person_requests_and_a_manager_approves(tmp_path: Path, settings: Settings) -> None:
    require_browser()
    import httpx
    from playwright.sync_api import expect, sync_playwright

    approving = replace(settings, extra={**settings.extra, "roster": {"approval": True}})
    db = open_database(f"sqlite:///{tmp_path / 'approval.db'}")
    service = RosterService(db.factory, approving, ManualClock(NOW, settings.tz))
    service.load_example(ROOT / "config" / "roster.yaml", "周强")
    assert "周强" in service.managers() and not {"张伟", "王芳"} & service.managers()
    for person in ("张伟", "周强", "王芳"):
        add_account(db.factory, f"supervisor-{person}", "supervisor", person)
    first = "#grid tr[data-tier=first_line] td[data-day='2026-11-24']"
    with serve(create_app(approving, db.factory, ManualClock(NOW, settings.tz), live={})) as url, \
            sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        sign_in(page, url, "supervisor-张伟", PASSWORD)  # 张伟 may edit the roster but is no manager
        page.goto(url + "/roster?start=2026-11-23")
        page.wait_for_selector("#grid tbody tr")
        expect(page.locator("#actor")).to_have_value("张伟")  # the signed-in person acts, not the selector
        expect(page.locator("#save-btn")).to_have_text("申请 Request")
        page.click(f"{first} .shift[data-person=张伟]")
        page.select_option("#o-by", "李娜")
        page.click("#preview-btn")
        page.wait_for_selector("#preview-lines li")
        page.click("#save-btn")
        page.wait_for_selector("#requests tbody tr")
        assert page.locator("#preview").inner_text().startswith("已提交申请 / requested #")
        row = page.locator("#requests tbody tr").inner_text()
        assert "张伟" in row and "first_line 2026-11-24 20:00–2026-11-25 08:00 张伟 -> 李娜" in row
        assert night_of_1124(service) == ["张伟"]  # nothing changes before a manager approves

        page.click("#requests tbody tr button.approve")  # 张伟 is no manager
        page.wait_for_selector("#preview.error")
        assert "is not a manager" in page.locator("#preview").inner_text()
        page = browser.new_context().new_page()  # 周强, a manager, signs in on his own browser
        sign_in(page, url, "supervisor-周强", PASSWORD)
        page.goto(url + "/roster?start=2026-11-23")
        page.wait_for_selector("#requests tbody tr")
        expect(page.locator("#actor")).to_have_value("周强")
        page.click("#requests tbody tr button.approve")
        expect(page.locator(first)).to_contain_text("李娜")
        assert page.locator("#requests tbody tr").count() == 0
        assert night_of_1124(service) == ["李娜"]
        assert [c.action for c in service.history(3)][:2] == ["request.approve", "override"]
        browser.close()

        # a swap asked for over the API by a person is a request too
        with httpx.Client(base_url=url, timeout=10) as wang:  # 王芳, signed in, is no manager
            signed = wang.post("/login", json={"username": "supervisor-王芳", "password": PASSWORD})
            assert signed.status_code == 200, signed.text
            made = wang.post("/api/roster/swaps", headers={"X-CSRF-Token": signed.json()["csrf_token"]}, json={
                "tier": "first_line", "first": "王芳@2026-11-26T10:00", "second": "张伟@2026-11-26T22:00",
                "reason": "家里有事", "actor": "王芳"}).json()
        [pending] = service.requests()
        assert made == {"request": pending.id} and pending.kind == "swap" and len(pending.overrides) == 2
    db.engine.dispose()


def test_swap_from_the_grid_and_undo(roster: tuple[str, RosterService]) -> None:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    url, service = roster
    day = "#grid tr[data-tier=first_line] td[data-day='2026-11-26']"

    def first_line(moment: str) -> list[str]:
        return [p.name for p in service.on_duty(datetime.fromisoformat(moment + "+08:00")).first_line]

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        sign_in(page, url, "supervisor-周强", PASSWORD)
        page.goto(url + "/roster?start=2026-11-23")
        page.wait_for_selector("#grid tbody tr")
        page.click(f"{day} .shift[data-person=王芳]")
        page.click("#s-pick-first")
        page.click(f"{day} .shift[data-person=张伟]")
        page.click("#s-pick-second")
        assert (page.input_value("#s-first"), page.input_value("#s-second")) == (
            "王芳@2026-11-26T08:00", "张伟@2026-11-26T20:00")
        page.click("#swap-btn")
        page.wait_for_selector("#swap-undo")
        expect(page.locator(day)).to_have_text(re.compile("^" + re.escape("08:00–20:00 张伟")))
        assert page.locator(day).inner_text().splitlines() == ["08:00–20:00 张伟", "20:00–08:00 王芳"]
        assert (first_line("2026-11-26T10:00"), first_line("2026-11-26T22:00")) == (["张伟"], ["王芳"])
        page.click("#swap-undo")
        expect(page.locator(day)).to_have_text(re.compile("^" + re.escape("08:00–20:00 王芳")))
        assert page.locator("#swap-result").inner_text().startswith("已撤销 / undone #")
        assert (first_line("2026-11-26T10:00"), first_line("2026-11-26T22:00")) == (["王芳"], ["张伟"])
        # swapping with oneself is refused with its reason
        page.click(f"{day} .shift[data-person=王芳]")
        page.click("#s-pick-second")
        page.click("#swap-btn")
        page.wait_for_selector("#swap-result.error")
        assert "cannot swap with themselves" in page.locator("#swap-result").inner_text()
        browser.close()


def test_a_staff_account_asks_for_a_change_from_the_grid(roster: tuple[str, RosterService]) -> None:
    """Staff may not edit the roster: on their page, saving files a request (approval off or on)."""
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    url, service = roster
    assert not service.config.approval
    add_account(service.factory, "staff-张伟", "staff", "张伟")
    first = "#grid tr[data-tier=first_line] td[data-day='2026-11-24']"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        sign_in(page, url, "staff-张伟", PASSWORD)
        page.goto(url + "/roster?start=2026-11-23")
        page.wait_for_selector("#grid tbody tr")
        expect(page.locator("#actor")).to_have_value("张伟")
        expect(page.locator("#save-btn")).to_have_text("申请 Request")
        page.click(f"{first} .shift[data-person=张伟]")
        page.select_option("#o-by", "李娜")
        page.click("#preview-btn")
        page.wait_for_selector("#preview-lines li")
        page.click("#save-btn")
        expect(page.locator("#preview")).to_contain_text("已提交申请 / requested #")
        browser.close()
    [pending] = service.requests()
    assert pending.requested_by == "张伟" and [o.replacement for o in pending.overrides] == ["李娜"]
    assert night_of_1124(service) == ["张伟"]  # nothing changes before a manager approves
