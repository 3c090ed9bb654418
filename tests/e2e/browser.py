"""What the browser tests share: Debian chromium (required in CI, optional on a laptop) and a real
uvicorn serving an app on a free loopback port."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from hotline.config import Settings
from hotline.runtime.assembly import AmiIngest, packets_of_file
from hotline.services.calls.ledger import Ledger
from tests.truth import FIXTURES

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def require_browser() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("HOTLINE_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium is required here (HOTLINE_REQUIRE_BROWSER=1) but not installed")
        pytest.skip("Debian chromium not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run `app` under uvicorn in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def browser_page() -> Iterator[tuple[Any, list[str]]]:
    """A new page of a headless chromium (the test fails or skips without one), and the console errors it logs."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        yield page, errors
        browser.close()


def recorded_ledger(settings: Settings, factory: Any, *traces: str) -> Ledger:
    """A ledger holding the calls of recorded AMI traces (file names in the fixtures folder)."""
    ledger = Ledger(factory)
    ingest = AmiIngest(settings, ledger)
    for trace in traces:
        for packet in packets_of_file(FIXTURES / trace, settings):
            ingest.feed(packet)
        ingest.finish()
    return ledger


def submit_login(page: Any, username: str, password: str) -> None:
    """Fill in the login form on the page and send it."""
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def sign_in(page: Any, url: str, username: str, password: str) -> None:
    """Sign in through the login form, as a person would; lands on the dashboard."""
    page.goto(url + "/")  # anonymous: redirected to the login form
    page.wait_for_selector("form[action='/login']")
    submit_login(page, username, password)
    page.wait_for_url(url + "/")
