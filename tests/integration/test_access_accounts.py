"""Accounts on SQLite and PostgreSQL: `hotline users add|list|disable|reset-password|token`, argon2 hashes
at rest, login throttling, disabled accounts, personal API tokens (hashed, scoped, revocable)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hotline.api.app import create_app
from hotline.cli import main
from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.runtime.assembly import Database, open_database
from hotline.store.access import AccountRow, AuditRow, TokenRow
from tests.signin import BASE_URL, PASSWORD

CONFIG = str(Path(__file__).resolve().parents[2] / "config" / "hotline.toml")
NOW = datetime.fromisoformat("2026-12-03T09:00:00+08:00")


def users(db_url: str, *args: str, stdin: str | None = None,
          monkeypatch: pytest.MonkeyPatch | None = None) -> int:
    if stdin is not None and monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["users", "--config", CONFIG, "--db", db_url, *args])


@pytest.fixture
def roster_db(db_url: str, settings: Settings, capsys: pytest.CaptureFixture[str]) -> Iterator[Database]:
    from hotline.services.roster.service import RosterService

    database = open_database(db_url)
    RosterService(database.factory, settings, ManualClock(NOW, settings.tz)).load_example(
        Path(CONFIG).parent / "roster.yaml")
    yield database
    database.engine.dispose()


def test_users_add_list_disable_reset(roster_db: Database, db_url: str, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert users(db_url, "add", "zhangwei", "--role", "staff", "--person", "张伟", "--password-stdin",
                 stdin=PASSWORD + "\n", monkeypatch=monkeypatch) == 0
    assert users(db_url, "add", "lina", "--role", "supervisor", "--person", "李娜", "--password-stdin",
                 stdin=PASSWORD + "\n", monkeypatch=monkeypatch) == 0
    capsys.readouterr()
    # not one of the roster's people; too short a password; a name taken
    assert users(db_url, "add", "x", "--role", "staff", "--person", "路人甲", "--password-stdin",
                 stdin=PASSWORD + "\n", monkeypatch=monkeypatch) == 2
    assert "'路人甲' is not one of the roster's people" in capsys.readouterr().err
    assert users(db_url, "add", "y", "--role", "staff", "--password-stdin", stdin="short\n",
                 monkeypatch=monkeypatch) == 2
    assert "at least 10 characters" in capsys.readouterr().err
    assert users(db_url, "add", "zhangwei", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n",
                 monkeypatch=monkeypatch) == 2
    assert "exists already" in capsys.readouterr().err
    assert users(db_url, "list") == 0
    listing = capsys.readouterr().out.splitlines()
    assert [line.split()[:3] for line in listing] == [["lina", "supervisor", "李娜"], ["zhangwei", "staff", "张伟"]]
    with roster_db.factory() as s:
        hashes = [r.password_hash for r in s.scalars(select(AccountRow))]
    assert all(h and h.startswith("$argon2id$") and PASSWORD not in h for h in hashes)

    app = create_app(_settings_for(db_url), roster_db.factory)
    c = TestClient(app, base_url=BASE_URL)
    assert c.post("/login", json={"username": "zhangwei", "password": PASSWORD}).status_code == 200
    assert c.get("/api/me").json() == {"username": "zhangwei", "person": "张伟", "role": "staff", "via": "session"}
    assert users(db_url, "disable", "zhangwei") == 0
    assert c.get("/api/me").status_code == 401  # the session ended with the account
    assert c.post("/login", json={"username": "zhangwei", "password": PASSWORD}).status_code == 401
    assert users(db_url, "reset-password", "lina", "--password-stdin", stdin="新的密码-new-password\n",
                 monkeypatch=monkeypatch) == 0
    assert c.post("/login", json={"username": "lina", "password": PASSWORD}).status_code == 401
    assert c.post("/login", json={"username": "lina", "password": "新的密码-new-password"}).status_code == 200
    with roster_db.factory() as s:
        actions = [r.action for r in s.scalars(select(AuditRow).order_by(AuditRow.audit_id))]
    assert actions.count("account_added") == 2 and "account_disabled" in actions and "password_reset" in actions
    assert actions.count("login_failed") == 2 and actions.count("login") == 2
    with roster_db.factory() as s:
        added_by = {r.actor for r in s.scalars(select(AuditRow).where(AuditRow.action == "account_added"))}
    assert len(added_by) == 1 and added_by.pop().startswith("cli:")  # who ran `hotline users add`


def _settings_for(db_url: str) -> Settings:
    from hotline.config import load_settings

    return load_settings(CONFIG, env={"HOTLINE_DATABASE_URL": db_url})


def test_login_is_throttled_after_five_failures(roster_db: Database, db_url: str, settings: Settings,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    assert users(db_url, "add", "wangfang", "--role", "staff", "--person", "王芳", "--password-stdin",
                 stdin=PASSWORD + "\n", monkeypatch=monkeypatch) == 0
    clock = ManualClock(NOW, settings.tz)
    c = TestClient(create_app(settings, roster_db.factory, clock), base_url=BASE_URL)
    for _ in range(5):
        assert c.post("/login", json={"username": "wangfang", "password": "guess-guess-guess"}).status_code == 401
    r = c.post("/login", json={"username": "wangfang", "password": PASSWORD})
    assert r.status_code == 429 and "too many failed logins" in r.json()["detail"]
    form = c.post("/login", data={"username": "wangfang", "password": PASSWORD, "next": "/"})
    assert form.status_code == 429 and "登录过于频繁" in form.text
    clock.set(NOW + timedelta(minutes=16))  # the window moved on
    assert c.post("/login", json={"username": "wangfang", "password": PASSWORD}).status_code == 200


def test_api_tokens_are_hashed_scoped_and_revocable(roster_db: Database, db_url: str, settings: Settings,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert users(db_url, "add", "chenjing", "--role", "supervisor", "--person", "陈静", "--password-stdin",
                 stdin=PASSWORD + "\n", monkeypatch=monkeypatch) == 0
    capsys.readouterr()
    assert users(db_url, "token", "add", "chenjing", "--name", "wallboard", "--scope", "viewer") == 0
    viewer_token = capsys.readouterr().out.strip()
    assert users(db_url, "token", "add", "chenjing", "--name", "script") == 0
    full_token = capsys.readouterr().out.strip()
    with roster_db.factory() as s:
        stored = [(r.name, r.scope, r.token_hash) for r in s.scalars(select(TokenRow).order_by(TokenRow.token_id))]
    assert [(n, sc) for n, sc, _ in stored] == [("wallboard", "viewer"), ("script", "supervisor")]
    assert all(viewer_token not in h and full_token not in h and len(h) == 64 for _, _, h in stored)

    c = TestClient(create_app(settings, roster_db.factory), base_url=BASE_URL)
    as_viewer = {"Authorization": f"Bearer {viewer_token}"}
    as_super = {"Authorization": f"Bearer {full_token}"}
    assert c.get("/api/me", headers=as_viewer).json()["role"] == "viewer"
    # no CSRF token needed with a bearer token (no cookie the browser would send by itself)
    assert c.post("/api/incidents", json={}, headers=as_viewer).status_code == 403
    assert c.post("/api/incidents", json={}, headers=as_super).status_code == 422  # allowed; body incomplete
    assert c.get("/api/me", headers={"Authorization": "Bearer hl_not-a-token"}).status_code == 401
    # a phone calendar subscribes to a URL: a viewer token may ride in ?token= on .ics feeds, nothing else
    feed = c.get("/api/roster/calendar.ics", params={"token": viewer_token})
    assert feed.status_code == 200 and "BEGIN:VCALENDAR" in feed.text
    assert c.get("/api/roster/calendar.ics", params={"token": full_token}).status_code == 401
    assert c.get("/api/me", params={"token": viewer_token}).status_code == 401
    assert users(db_url, "token", "revoke", "1") == 0
    assert c.get("/api/me", headers=as_viewer).status_code == 401
    assert c.get("/api/me", headers=as_super).status_code == 200
    # a token cannot go beyond its account's role
    assert users(db_url, "add", "liuyang", "--role", "staff", "--person", "刘洋", "--password-stdin",
                 stdin=PASSWORD + "\n", monkeypatch=monkeypatch) == 0
    assert users(db_url, "token", "add", "liuyang", "--scope", "admin") == 2
    assert "cannot go beyond" in capsys.readouterr().err


def test_admins_manage_accounts_and_tokens_over_http(roster_db: Database, settings: Settings) -> None:
    from tests.signin import signed_in

    app = create_app(settings, roster_db.factory)
    admin = signed_in(app, "admin", None, username="ops")
    r = admin.post("/api/access/accounts", json={"username": "liuyang", "role": "staff", "person": "刘洋",
                                                 "password": PASSWORD})
    assert r.status_code == 201 and r.json()["person"] == "刘洋"
    assert admin.post("/api/access/accounts", json={"username": "x", "role": "staff", "person": "路人甲",
                                                    "password": PASSWORD}).status_code == 422
    assert admin.post("/api/access/accounts", json={"username": "liuyang", "role": "staff",
                                                    "password": PASSWORD}).status_code == 409
    issued = admin.post("/api/access/tokens", json={"username": "liuyang", "name": "wall", "scope": "viewer"})
    assert issued.status_code == 201 and issued.json()["token"].startswith("hl_")
    assert "token" not in admin.get("/api/access/tokens").json()[0]  # listed without the secret
    script = TestClient(app, base_url=BASE_URL, headers={"Authorization": f"Bearer {issued.json()['token']}"})
    assert script.get("/api/me").json()["role"] == "viewer"
    assert admin.post(f"/api/access/tokens/{issued.json()['token_id']}/revoke").json()["revoked"] is True
    assert script.get("/api/me").status_code == 401
    assert admin.post("/api/access/accounts/liuyang/disable").json()["disabled"] is True
    assert TestClient(app, base_url=BASE_URL).post(
        "/login", json={"username": "liuyang", "password": PASSWORD}).status_code == 401
    with roster_db.factory() as s:
        by = {(r.action, r.actor) for r in s.scalars(select(AuditRow))}
    assert {("account_added", "ops"), ("token_issued", "ops"), ("account_disabled", "ops")} <= by
    supervisor = signed_in(app, "supervisor", "李娜")
    assert supervisor.get("/api/access/accounts").status_code == 403
