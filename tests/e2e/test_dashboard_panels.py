"""The dashboard's supervisor panels in a real headless browser (Debian chromium via Playwright), served
by a real uvicorn on loopback: a caller abandoned in the queue and nobody called back for 20 minutes,
so an alert is open and breached; the example roster says who is on duty; exports download."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from hotline.api import app as app_module
from hotline.api.app import create_app
from hotline.cli import main
from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.domain.roster import Tier
from hotline.runtime.assembly import open_database
from hotline.services.roster.service import RosterService
from tests.conftest import FIXTURES, ROOT
from tests.e2e.browser import ARGS, CHROMIUM, require_browser, serve, sign_in
from tests.signin import PASSWORD, add_account

CONFIG = str(ROOT / "config" / "hotline.toml")
CALLER = "13800138002"  # abandoned_in_queue.ami: Wang Fang gives up after 6.5 s in the network queue
DAY = "2026-11-23"
NOW = datetime.fromisoformat(f"{DAY}T15:00:00+08:00")  # the app's clock: an on-site afternoon, November


@pytest.fixture
def db_file(tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]) -> str:
    url = f"sqlite:///{tmp_path / 'panels.db'}"
    db = open_database(url)
    RosterService(db.factory, settings, ManualClock(NOW, settings.tz)).load_example(ROOT / "config" / "roster.yaml")
    db.engine.dispose()
    for trace, extra in (("answered_caller_hangup.ami", []), ("abandoned_in_queue.ami", ["--run-for", "20m"])):
        assert main(["replay", str(FIXTURES / trace), "--json", "--db", url, "--config", CONFIG, *extra]) == 0
    capsys.readouterr()
    return url


@pytest.fixture
def served(db_file: str, settings: Settings) -> Iterator[str]:
    db = open_database(db_file)
    add_account(db.factory, "supervisor-张伟", "supervisor", "张伟")
    with serve(create_app(settings, db.factory, ManualClock(NOW, settings.tz), live={})) as url:
        yield url
    db.engine.dispose()


def on_duty_now(db_file: str, settings: Settings) -> dict[Tier, list[tuple[str, str]]]:
    """Who the roster has on duty at NOW, asked of the roster service, not of the page."""
    db = open_database(db_file)
    duty = RosterService(db.factory, settings, ManualClock(NOW, settings.tz)).on_duty(NOW)
    db.engine.dispose()
    return {t: [(p.name, p.mobile) for p in duty.tier(t)] for t in Tier}


def test_panels_show_the_open_breached_alert_duty_and_warnings(served: str, db_file: str, settings: Settings,
                                                               tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    duty = on_duty_now(db_file, settings)
    assert all(duty[t] for t in (Tier.FIRST_LINE, Tier.SECOND_LINE, Tier.MANAGER))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        sign_in(page, served, "supervisor-张伟", PASSWORD)
        page.goto(served + "/alerts")  # alerts, breaches and returns have a page of their own
        page.wait_for_selector("#alerts tbody tr")
        page.wait_for_selector("#warnings .warn")

        (alert,) = page.locator("#alerts tbody tr").all_inner_texts()
        cells = alert.split("\t")
        assert cells[0] == f"{CALLER} (Wang Fang)"
        assert cells[1].startswith(f"{DAY} 13:48:34")  # first missed: when the caller hung up
        assert cells[2:4] == ["网络 / Network", "待处理 open"]  # the config's name, not `network`
        # paged at 0, 5 and 10 minutes: first line, second line, manager on duty then (by the replay: a dry run)
        assert cells[4] == "、".join(name for tier in (Tier.FIRST_LINE, Tier.SECOND_LINE, Tier.MANAGER)
                                     for name, _ in duty[tier]) + "（演练，未发送 dry run）"
        assert cells[5] == "-"  # nobody acknowledged
        assert cells[6] == f"{DAY} 14:03:34"
        assert cells[7] == f"已超时 breached {DAY} 14:03"

        expect(page.locator("#breach-count")).to_have_text("1")
        assert DAY in page.locator("#breach-span").inner_text()
        assert CALLER in page.locator("#breaches tbody").inner_text()

        unreturned = page.locator("#unreturned tbody tr").all_inner_texts()
        assert len(unreturned) == 1 and unreturned[0].startswith(CALLER) and unreturned[0].endswith("是 yes")
        assert "（演练，未发送 dry run）" in unreturned[0]
        assert page.locator("#returned tbody tr").inner_text().split("\t")[:2] == ["0", "0"]
        assert "不可用" not in page.locator("body").inner_text()
        page.screenshot(path=str(tmp_path / "alerts.png"), full_page=True)

        page.goto(served + "/duty")
        page.wait_for_selector("#duty tbody tr")
        page.wait_for_selector("#warnings .warn")
        rows = [r.split("\t") for r in page.locator("#duty tbody tr").all_inner_texts()]
        shown = {(r[0], r[1], r[2]) for r in rows}
        for tier, label in ((Tier.FIRST_LINE, "一线 First line"), (Tier.SECOND_LINE, "二线 Second line"),
                            (Tier.MANAGER, "项目经理 Manager")):
            for name, mobile in duty[tier]:
                assert (label, name, mobile) in shown

        banner = page.locator("#warnings").inner_text()
        assert "2027 年的法定节假日" in banner and "official 2027 holiday" in banner
        page.wait_for_selector("#gaps tbody tr")
        assert "无空档 no gaps" in page.locator("#gaps tbody").inner_text()
        assert "不可用" not in page.locator("body").inner_text()

        page.goto(served + "/")
        page.wait_for_selector("#rates tbody tr")
        assert "网络 / Network" in page.locator("#rates tbody").inner_text()
        expect(page.locator("#tile-breaches")).to_have_text("1")
        assert page.locator("#tile-alerts").inner_text() == "1"
        expect(page.locator("#tile-complaints")).to_have_text("0")  # no complaints: 0 of 0, never a bare share
        assert "replied in time 0 / 0" in page.locator("#tile-complaints-sub").inner_text()
        assert "不可用" not in page.locator("body").inner_text()
        page.screenshot(path=str(tmp_path / "panels.png"), full_page=True)
        browser.close()


def test_export_links_download_the_selected_range(served: str, tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(accept_downloads=True)
        sign_in(page, served, "supervisor-张伟", PASSWORD)
        page.goto(served + "/reports")
        page.wait_for_selector("#rates tbody tr")
        page.fill("#from", DAY)
        page.fill("#to", DAY)
        page.select_option("#by", "agent")
        assert page.get_attribute("#export-rate-csv", "href") == \
            f"/api/reports/answer-rate.csv?by=agent&from={DAY}&to={DAY}"

        with page.expect_download() as info:
            page.click("#export-rate-csv")
        body = Path(info.value.path()).read_bytes()
        assert info.value.suggested_filename == f"answer-rate_agent_{DAY}_{DAY}.csv"
        assert body.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(body[3:].decode("utf-8"))))
        assert rows[0][:3] == ["坐席 Agent", "转人工 Offered", "接通 Answered"]
        groups = {r[0]: r for r in rows[1:]}
        assert groups["agent1"][1:3] == ["1", "1"] and groups["(unanswered)"][1:3] == ["1", "0"]
        assert groups["合计 total"][1:4] == ["2", "1", "0.5"]

        with page.expect_download() as info:
            page.click("#export-rate-xlsx")
        wb = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()))
        table = list(wb["接通率 Answer rate"].iter_rows(values_only=True))
        assert table[-1][:4] == ("合计 total", 2, 1, 0.5)

        with page.expect_download() as info:
            page.click("#export-calls-csv")
        body = Path(info.value.path()).read_bytes()
        calls = list(csv.reader(io.StringIO(body[3:].decode("utf-8"))))
        assert [(r[2], r[8]) for r in calls[1:]] == [("13800138000", "answered"), (CALLER, "abandoned")]

        page.fill("#from", "2026-11-24")
        page.fill("#to", "2026-11-24")
        page.dispatch_event("#to", "change")
        expect(page.locator("#breach-count")).to_have_text("0")
        with page.expect_download() as info:
            page.click("#export-calls-csv")
        assert Path(info.value.path()).read_bytes().decode("utf-8").count("\r\n") == 1  # header only
        browser.close()


def test_page_survives_a_failing_and_an_unreachable_endpoint(served: str) -> None:
    require_browser()
    from playwright.sync_api import Route, expect, sync_playwright

    def fail(route: Route) -> None:
        route.fulfill(status=500, body="internal error")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.route("**/api/roster/on-duty*", fail)
        page.route("**/api/reports/breaches*", lambda route: route.abort())
        sign_in(page, served, "supervisor-张伟", PASSWORD)
        page.goto(served + "/duty")
        expect(page.locator("#duty-status")).to_contain_text("不可用")
        assert page.locator("#duty-status").inner_text() == "不可用 / unavailable (HTTP 500)"
        assert page.locator("#duty tbody tr").count() == 0
        page.wait_for_selector("#gaps tbody tr")  # the other roster panel still works
        assert "2027" in page.locator("#warnings").inner_text()

        page.goto(served + "/alerts")
        page.wait_for_selector("#alerts tbody tr")
        expect(page.locator("#breaches-status")).to_contain_text("不可用")
        assert page.locator("#breach-count").inner_text() == "-"
        # everything else still works
        assert CALLER in page.locator("#alerts tbody").inner_text()
        assert CALLER in page.locator("#unreturned tbody").inner_text()
        expect(page.locator("#status")).to_contain_text("panels unavailable")
        assert "breaches" in page.locator("#status").inner_text()

        page.goto(served + "/")
        page.wait_for_selector("#rates tbody tr")
        assert "网络 / Network" in page.locator("#rates tbody").inner_text()
        browser.close()


def test_page_without_the_alerts_part_shows_those_panels_unavailable(
        db_file: str, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    routers = [r for r in app_module.OPTIONAL_ROUTERS if r[0] != "hotline.api.alerts"]
    monkeypatch.setattr(app_module, "OPTIONAL_ROUTERS", routers)
    db = open_database(db_file)
    add_account(db.factory, "supervisor-张伟", "supervisor", "张伟")
    with serve(create_app(settings, db.factory, ManualClock(NOW, settings.tz), live={})) as url, \
            sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        sign_in(page, url, "supervisor-张伟", PASSWORD)
        page.goto(url + "/alerts")
        for panel in ("alerts", "unreturned", "returned"):
            expect(page.locator(f"#{panel}-status")).to_contain_text("HTTP 404")
        assert page.locator("#alerts-status").inner_text() == "不可用 / unavailable (HTTP 404)"
        expect(page.locator("#breach-count")).to_have_text("1")
        page.goto(url + "/duty")
        page.wait_for_selector("#duty tbody tr")
        page.goto(url + "/")
        page.wait_for_selector("#rates tbody tr")
        assert "网络 / Network" in page.locator("#rates tbody").inner_text()
        browser.close()
    db.engine.dispose()


def test_reports_page_shows_service_level_and_abandons_by_line(served: str) -> None:
    """The reports page's line table (the hotline and the direct-dial duty line apart) shows what the API
    counts: service level, speed of answer, abandon rate, short abandons."""
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        sign_in(page, served, "supervisor-张伟", PASSWORD)
        page.goto(served + "/reports")
        page.fill("#from", DAY)
        page.fill("#to", DAY)
        page.dispatch_event("#to", "change")
        expect(page.locator("#lines tbody tr").last).to_contain_text("合计 total")
        api = page.request.get(f"{served}/api/reports/answer-rate?by=line&from={DAY}&to={DAY}").json()
        total = api["total"]
        assert total["offered"] == 2 and total["answered"] == 1 and total["abandoned"] == 1
        cells = page.locator("#lines tbody tr").last.locator("td").all_inner_texts()
        assert cells[:4] == ["合计 total", "2", "1", "50.0%"]
        assert cells[4] == f"{100 * total['service_level']:.1f}%" and cells[6] == "50.0%"
        groups = [r["group"] for r in api["rows"]]
        assert groups and page.locator("#lines tbody").inner_text().count("\n") >= len(groups)
        for group in groups:
            assert group in page.locator("#lines tbody").inner_text()
        assert page.locator("#sl-seconds").inner_text() == "20"
        browser.close()
