"""Test clients for the guarded app: accounts of each role, signed in through the real /login route."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from hotline.clock import SystemClock
from hotline.services.access.accounts import AccountError, AccountService

PASSWORD = "长城-correct-horse-8"
BASE_URL = "http://127.0.0.1:8080"  # a host the default [access] allow-list accepts


def add_account(factory: sessionmaker[Session], username: str, role: str, person: str | None = None) -> None:
    try:
        AccountService(factory, SystemClock()).add(username, role, PASSWORD, person)
    except AccountError as e:
        if "exists" not in str(e):
            raise


def client(app: FastAPI) -> TestClient:
    """An anonymous client, with a Host the guard accepts."""
    return TestClient(app, base_url=BASE_URL)


def signed_in(app: FastAPI, role: str = "supervisor", person: str | None = "张伟",
              username: str | None = None) -> TestClient:
    """A client signed in as a fresh account of `role` linked to `person`; every state-changing request
    it sends carries the session's CSRF token, as the dashboard's script does."""
    name = username or f"{role}-{person or 'none'}"
    add_account(app.state.factory, name, role, person)
    c = client(app)
    r = c.post("/login", json={"username": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return c


async def login(c: httpx.AsyncClient, factory: sessionmaker[Session], role: str, person: str | None) -> None:
    """Sign the async client `c` in as an account of `role` for `person` (replacing any earlier one)."""
    name = f"{role}-{person or 'none'}"
    add_account(factory, name, role, person)
    c.cookies.clear()
    r = await c.post("/login", json={"username": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
