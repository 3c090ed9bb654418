"""The supervisors' dashboard in a real headless browser (Debian chromium driven by Playwright),
served by a real uvicorn on loopback from a ledger filled by replaying recorded calls."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from hotline.api.app import create_app
from hotline.assembly import AmiIngest, open_database, packets_of_file
from hotline.config import Settings
from hotline.services.ledger import Ledger
from tests.truth import FIXTURES

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _require_browser() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("HOTLINE_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium is required here (HOTLINE_REQUIRE_BROWSER=1) but not installed")
        pytest.skip("Debian chromium not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def served(settings: Settings, tmp_path: Path) -> Iterator[str]:
    db = open_database(f"sqlite:///{tmp_path / 'dash.db'}")
    ledger = Ledger(db.factory)
    ingest = AmiIngest(settings, ledger)
    for trace in ("answered_caller_hangup.ami", "busy.ami", "ivr_hangup_before_menu.ami"):
        for packet in packets_of_file(FIXTURES / trace, settings):
            ingest.feed(packet)
        ingest.finish()
    app = create_app(settings, db.factory, live={"ledger": ledger})
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_dashboard_shows_answer_rates_and_calls(served: str, tmp_path: Path) -> None:
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.goto(served + "/")
        page.wait_for_selector("#rates tbody tr")
        page.wait_for_function("document.querySelectorAll('#calls tbody tr').length === 3")
        rows = page.locator("#rates tbody tr")
        texts = [rows.nth(i).inner_text() for i in range(rows.count())]
        network = next(t for t in texts if t.startswith("network"))
        total = next(t for t in texts if t.startswith("合计"))
        # network: 1 offered, 1 answered, 100 %; total: busy + answered offered, IVR hang-up apart.
        assert network.split("\t")[1:4] == ["1", "1", "100.0%"]
        assert total.split("\t")[1:4] == ["2", "1", "50.0%"]
        assert "否 no" in total and "是 yes" in network
        calls = page.locator("#calls tbody").inner_text()
        assert "13800138000" in calls and "已接通 answered" in calls and "忙 busy" in calls
        assert "IVR挂机 IVR hang-up" in calls
        assert "更新于 updated" in page.locator("#status").inner_text()
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
        browser.close()
