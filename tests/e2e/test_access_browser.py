"""Signing in and out in a real browser (Debian chromium): the login form, a form post without the CSRF
token refused, logout, and the dashboard as a viewer's wallboard with caller numbers masked. The page runs
under the strict CSP (no inline script), so a violation would stop these pages from working."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from hotline.api.app import create_app
from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.runtime.assembly import open_database
from tests.e2e.browser import (
    ARGS,
    CHROMIUM,
    browser_page,
    recorded_ledger,
    require_browser,
    serve,
    sign_in,
    submit_login,
)
from tests.signin import PASSWORD, add_account


@pytest.fixture
def served(settings: Settings, tmp_path: Path) -> Iterator[str]:
    db = open_database(f"sqlite:///{tmp_path / 'access.db'}")
    ledger = recorded_ledger(settings, db.factory, "answered_caller_hangup.ami")  # caller 13800138000
    add_account(db.factory, "zhangwei", "staff", "张伟")
    add_account(db.factory, "wall", "viewer")
    # the app's clock on the day of the recorded call: the pages show today by default
    clock = ManualClock(datetime(2026, 11, 23, 15, 0, tzinfo=settings.tz), settings.tz)
    with serve(create_app(settings, db.factory, clock, live={"ledger": ledger})) as url:
        yield url
    db.engine.dispose()


def test_login_wrong_password_then_right_then_logout(served: str) -> None:
    with browser_page() as (page, errors):
        from playwright.sync_api import expect

        page.goto(served + "/")
        assert page.url == served + "/login?next=/"
        submit_login(page, "zhangwei", "not-the-password")
        expect(page.locator("#error")).to_contain_text("wrong user name or password")
        submit_login(page, "zhangwei", PASSWORD)
        page.wait_for_url(served + "/")
        expect(page.locator("#me")).to_have_text("张伟 · staff")
        page.goto(served + "/calls")  # the calls have a page of their own
        expect(page.locator("#calls tbody tr")).to_have_count(1)
        assert "13800138000" in page.locator("#calls tbody").inner_text()  # staff call back: full numbers
        cookies = {c["name"]: c for c in page.context.cookies()}
        assert cookies["hotline_session"]["httpOnly"] and cookies["hotline_session"]["sameSite"] == "Lax"
        assert not [e for e in errors if "Content Security Policy" in e], errors

        page.click("#account button[type=submit]")  # logout: a form post with the CSRF field
        page.wait_for_url(served + "/login")
        assert "hotline_session" not in {c["name"] for c in page.context.cookies()}
        page.goto(served + "/")
        assert page.url.startswith(served + "/login")  # the session is gone on the server too


def test_a_form_post_without_the_csrf_token_is_refused(served: str, tmp_path: Path) -> None:
    # Another site's page posting a form to the desk, as a signed-in person's browser would send it.
    attack = tmp_path / "attack.html"
    attack.write_text(f'<form method="post" action="{served}/logout"><button>win a prize</button></form>',
                      encoding="utf-8")
    with browser_page() as (page, _):
        sign_in(page, served, "zhangwei", PASSWORD)
        # a same-site form post that lacks the token: the page's form with its hidden field emptied
        page.evaluate("document.querySelector('#account input[name=csrf_token]').value = ''")
        with page.expect_response(served + "/logout") as refused:
            page.click("#account button[type=submit]")
        assert refused.value.status == 403 and "CSRF" in refused.value.text()
        page.goto(served + "/api/me")
        assert "zhangwei" in page.content()  # still signed in: the post changed nothing
        page.goto(attack.as_uri())
        with page.expect_response(served + "/logout") as cross:
            page.click("button")
        assert cross.value.status in (401, 403)  # SameSite=Lax keeps the cookie home, the CSRF check too
        page.goto(served + "/api/me")
        assert "zhangwei" in page.content()


def test_the_wallboard_reads_as_a_viewer_with_numbers_masked(served: str) -> None:
    with browser_page() as (page, _):
        from playwright.sync_api import expect

        sign_in(page, served, "wall", PASSWORD)
        expect(page.locator("#me")).to_have_text("wall · viewer")
        page.goto(served + "/calls")
        expect(page.locator("#calls tbody tr")).to_have_count(1)
        calls = page.locator("#calls tbody").inner_text()
        assert "138****8000" in calls and "13800138000" not in calls
        assert "13800138000" not in page.content()
        page.goto(served + "/reports")
        expect(page.locator("#rates tbody tr").first).to_be_visible()
        assert "13800138000" not in page.content()


def test_the_one_tap_link_still_acknowledges_under_the_csp(settings: Settings, tmp_path: Path) -> None:
    """The page of a page's link submits its form by a script file (no inline script under the CSP): one
    tap in a real browser acknowledges, without signing in, as the person the link was issued to."""
    require_browser()
    from dataclasses import replace

    from playwright.sync_api import expect, sync_playwright

    from hotline.services.monitor.ack_links import AckLinks
    from tests.integration.monitor_fakes import ZHANG, missed, rig

    r = rig(f"sqlite:///{tmp_path / 'link.db'}")
    base = "http://127.0.0.1:8080"
    r.monitor.links = AckLinks(b"k" * 32, base)
    r.monitor.on_call(missed("13800138002", r.clock.now()))
    link = next(p for p in r.outbox.claim()).page.ack_url
    assert link is not None
    app = create_app(replace(settings, api=replace(settings.api, public_base_url=base)), r.monitor.factory,
                     r.clock, live={"monitor": r.monitor})
    with serve(app) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
        refused: list[str] = []
        page.on("response", lambda resp: refused.append(resp.url) if resp.status >= 400
                and not resp.url.endswith("/favicon.ico") else None)
        page.goto(url + link.removeprefix(base))
        expect(page.locator("h1")).to_have_text("已确认 / Acknowledged")
        assert not errors and not refused, (errors, refused)
        browser.close()
    assert r.monitor.alerts("open")[0].acked_by == ZHANG.name
    r.dispose()
