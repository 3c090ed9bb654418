"""Single sign-on against a local OpenID Connect provider stand-in over HTTP: the provider says who
someone is, the local account says what they may do; state, nonce, PKCE, the ID token's signature and
an unknown person are each refused."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hotline.api.app import create_app
from hotline.clock import ManualClock, SystemClock
from hotline.config import Settings
from hotline.runtime.assembly import Database, open_database
from hotline.services.access.accounts import AccountService
from hotline.store.access import AuditRow, SignOnPendingRow
from tests.e2e.browser import serve
from tests.integration.oidc_provider import Provider
from tests.signin import client


@pytest.fixture
def provider() -> Iterator[tuple[Provider, str]]:
    p = Provider()
    with serve(p.app()) as url:
        yield p, url


@pytest.fixture
def app(settings: Settings, tmp_path: Path, provider: tuple[Provider, str]) -> Iterator[FastAPI]:
    p, url = provider
    db = open_database(f"sqlite:///{tmp_path / 'sso.db'}")
    AccountService(db.factory, SystemClock()).add("zhangwei", "staff", None, "张伟")  # SSO only: no password
    configured = replace(settings, oidc=replace(settings.oidc, issuer=url, client_id=p.client_id,
                                                client_secret=p.client_secret))
    yield create_app(configured, db.factory)
    db.engine.dispose()


def sign_on(c: TestClient, next_path: str = "/api/me") -> httpx.Response:
    """The browser's round trip: hotline -> provider (which signs the person in) -> hotline's callback."""
    start = c.get("/login/oidc", params={"next": next_path}, follow_redirects=False)
    assert start.status_code == 303, start.text
    at_provider = httpx.get(start.headers["location"], follow_redirects=False)
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["location"])
    assert f"{back.scheme}://{back.netloc}" == "http://127.0.0.1:8080"  # public_base_url
    done: httpx.Response = c.get(f"{back.path}?{back.query}", follow_redirects=False)
    return done


def test_sign_on_gives_the_local_accounts_role_and_person(app: FastAPI, provider: tuple[Provider, str]) -> None:
    c = client(app)
    page = c.get("/login")
    assert 'id="sso"' in page.text
    done = sign_on(c)
    assert done.status_code == 303 and done.headers["location"] == "/api/me"
    assert c.get("/api/me").json() == {"username": "zhangwei", "person": "张伟", "role": "staff", "via": "session"}
    p, _ = provider
    assert p.token_requests[0]["auth"].startswith("Basic ")  # the client secret went to the token endpoint only
    # no password login for an SSO-only account
    assert client(app).post("/login", json={"username": "zhangwei", "password": ""}).status_code == 401


def test_a_replayed_callback_is_refused(app: FastAPI) -> None:
    c = client(app)
    start = c.get("/login/oidc", follow_redirects=False)
    back = urlsplit(httpx.get(start.headers["location"], follow_redirects=False).headers["location"])
    assert c.get(f"{back.path}?{back.query}", follow_redirects=False).status_code == 303
    again = client(app).get(f"{back.path}?{back.query}", follow_redirects=False)
    assert again.status_code == 401 and "unknown or expired sign-in request" in again.text


@pytest.mark.parametrize(("knob", "says"), [
    ("user", "wrong user name or password"),  # the provider vouches for someone with no local account
    ("wrong_nonce", "the ID token is not valid"),
    ("foreign_key", "the ID token is not valid"),
])
def test_what_cannot_be_trusted_is_refused(app: FastAPI, provider: tuple[Provider, str], knob: str,
                                           says: str) -> None:
    p, _ = provider
    if knob == "user":
        p.user = "stranger"
    else:
        setattr(p, knob, True)
    c = client(app)
    r = sign_on(c)
    assert r.status_code == 401 and says in r.text
    assert "hotline_session" not in c.cookies
    assert c.get("/api/me").status_code == 401
    with app.state.factory() as s:
        failed = [(a.actor, a.target) for a in s.scalars(select(AuditRow).where(AuditRow.action == "login_failed"))]
    assert failed == ([("stranger", "login oidc")] if knob == "user" else [])


def test_without_oidc_configured_the_routes_are_404(settings: Settings, tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'plain.db'}")
    c = client(create_app(settings, db.factory))
    assert c.get("/login/oidc", follow_redirects=False).status_code == 404
    assert 'id="sso"' not in c.get("/login").text
    db.engine.dispose()


def _sso_app(settings: Settings, db_url: str, provider: tuple[Provider, str], clock: ManualClock) -> tuple[
        FastAPI, Database]:
    p, url = provider
    db = open_database(db_url)
    configured = replace(settings, oidc=replace(settings.oidc, issuer=url, client_id=p.client_id,
                                                client_secret=p.client_secret))
    return create_app(configured, db.factory, clock), db


def test_a_sign_on_started_on_one_worker_finishes_on_another_after_a_restart(
        settings: Settings, db_url: str, provider: tuple[Provider, str]) -> None:
    """The state, nonce and PKCE verifier wait in the database: the callback reaches a second worker (a
    process of its own, here a second app and engine) or the service restarted in between, and signs in."""
    clock = ManualClock(datetime.now(UTC), settings.tz)
    first, db1 = _sso_app(settings, db_url, provider, clock)
    AccountService(db1.factory, SystemClock()).add("fengting", "supervisor", None, "冯婷")
    c = client(first)
    start = c.get("/login/oidc", params={"next": "/alerts"}, follow_redirects=False)
    p, _ = provider
    p.user = "fengting"
    back = urlsplit(httpx.get(start.headers["location"], follow_redirects=False).headers["location"])
    state = parse_qs(back.query)["state"][0]
    with db1.factory() as s:  # kept as its hash only
        hashes = list(s.scalars(select(SignOnPendingRow.state_hash)))
    assert hashes == [hashlib.sha256(state.encode()).hexdigest()]
    db1.engine.dispose()  # the first worker is gone

    second, db2 = _sso_app(settings, db_url, provider, clock)
    other = client(second)
    done = other.get(f"{back.path}?{back.query}", follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/alerts"
    assert other.get("/api/me").json()["person"] == "冯婷"
    again = client(second).get(f"{back.path}?{back.query}", follow_redirects=False)  # used once
    assert again.status_code == 401 and "unknown or expired sign-in request" in again.text
    with db2.factory() as s:
        assert s.scalar(select(func.count()).select_from(SignOnPendingRow)) == 0
    db2.engine.dispose()


def test_a_sign_on_left_longer_than_ten_minutes_expires(settings: Settings, db_url: str,
                                                        provider: tuple[Provider, str]) -> None:
    # started ten minutes and a second ago (the provider stamps its ID tokens with the real time)
    clock = ManualClock(datetime.now(UTC) - timedelta(minutes=10, seconds=1), settings.tz)
    app, db = _sso_app(settings, db_url, provider, clock)
    AccountService(db.factory, SystemClock()).add("zhangwei", "staff", None, "张伟")
    c = client(app)
    start = c.get("/login/oidc", follow_redirects=False)
    back = urlsplit(httpx.get(start.headers["location"], follow_redirects=False).headers["location"])
    clock.set(datetime.now(UTC))
    late = c.get(f"{back.path}?{back.query}", follow_redirects=False)
    assert late.status_code == 401 and "unknown or expired sign-in request" in late.text
    assert "hotline_session" not in c.cookies
    # a new sign-on works within its ten minutes; neither the expired nor the used one is left
    fresh = sign_on(client(app))
    assert fresh.status_code == 303, fresh.text
    with db.factory() as s:
        assert s.scalar(select(func.count()).select_from(SignOnPendingRow)) == 0
    db.engine.dispose()
