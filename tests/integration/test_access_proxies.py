"""The client address of the audit log and the login throttle behind reverse proxies: `X-Forwarded-For`
is believed only from a peer listed in `[access] trusted_proxies`, read from the right. Served by a real
uvicorn on loopback with the settings `hotline serve` uses (uvicorn's own proxy headers off)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import uvicorn

from hotline.api.app import create_app
from hotline.cli.serve import server_config
from hotline.config import ConfigError, Settings, settings_from_dict
from hotline.domain.forwarded import client_of, parse_networks
from hotline.runtime.assembly import Database, open_database
from hotline.services.access.audit import AuditLog
from hotline.services.access.config import access_config
from tests.e2e.browser import free_port
from tests.signin import PASSWORD, add_account


def _serve(settings: Settings, db: Database) -> Iterator[str]:
    config = server_config(create_app(settings, db.factory))
    config.host, config.port = "127.0.0.1", free_port()
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(10)


def _with_access(settings: Settings, access: dict[str, object]) -> Settings:
    return replace(settings, extra={**settings.extra, "access": access})


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'proxies.db'}")
    add_account(database.factory, "fengting", "staff", "冯婷")
    yield database
    database.engine.dispose()


def _addresses(db: Database, action: str) -> list[str | None]:
    return [e.address for e in AuditLog(db.factory).entries(action=action)]


def test_without_trusted_proxies_the_header_is_ignored(settings: Settings, db: Database) -> None:
    for url in _serve(settings, db):
        r = httpx.post(url + "/login", json={"username": "fengting", "password": "wrong"},
                       headers={"X-Forwarded-For": "203.0.113.9"})
        assert r.status_code == 401
    assert _addresses(db, "login_failed") == ["127.0.0.1"]  # uvicorn did not believe it either


def test_a_trusted_proxy_names_the_client_and_a_spoofed_left_entry_is_not_believed(
        settings: Settings, db: Database) -> None:
    behind = _with_access(settings, {"trusted_proxies": ["127.0.0.1", "10.8.0.0/16"],
                                     "failed_logins_per_address": 2, "failed_logins_per_account": 50})
    for url in _serve(behind, db):
        # the client wrote 198.51.100.7 itself; the edge proxy (10.8.1.1) saw 203.0.113.9; the local proxy
        # (the peer, 127.0.0.1) saw the edge proxy
        chain = {"X-Forwarded-For": "198.51.100.7, 203.0.113.9, 10.8.1.1"}
        assert httpx.post(url + "/login", json={"username": "fengting", "password": "x"},
                          headers=chain).status_code == 401
        ok = httpx.post(url + "/login", json={"username": "fengting", "password": PASSWORD},
                        headers={"X-Forwarded-For": "192.0.2.44"})
        assert ok.status_code == 200
        # the throttle counts per client, not per proxy: two failures from one client throttle it ...
        assert httpx.post(url + "/login", json={"username": "fengting", "password": "x"},
                          headers=chain).status_code == 401
        assert httpx.post(url + "/login", json={"username": "fengting", "password": PASSWORD},
                          headers=chain).status_code == 429
        # ... and not another client behind the same proxy
        assert httpx.post(url + "/login", json={"username": "fengting", "password": PASSWORD},
                          headers={"X-Forwarded-For": "192.0.2.45"}).status_code == 200
    assert _addresses(db, "login_failed") == ["203.0.113.9", "203.0.113.9"]
    assert sorted(a for a in _addresses(db, "login") if a) == ["192.0.2.44", "192.0.2.45"]
    assert _addresses(db, "login_throttled") == ["203.0.113.9"]


def test_reading_the_header_from_the_right() -> None:
    trusted = parse_networks(["127.0.0.1", "10.0.0.0/8", "::1"])
    assert client_of("127.0.0.1", "1.2.3.4, 10.0.0.2", trusted) == "1.2.3.4"
    assert client_of("127.0.0.1", "evil, 5.6.7.8", trusted) == "5.6.7.8"
    assert client_of("127.0.0.1", "5.6.7.8, not-an-address", trusted) == "127.0.0.1"
    assert client_of("127.0.0.1", "10.0.0.3, 10.0.0.2", trusted) == "10.0.0.3"
    assert client_of("127.0.0.1", "2001:db8::7", trusted) == "2001:db8::7"
    assert client_of("::1", "[2001:db8::8]", trusted) == "2001:db8::8"
    assert client_of("192.0.2.1", "1.2.3.4", trusted) == "192.0.2.1"  # the peer is no proxy of ours
    assert client_of("127.0.0.1", None, trusted) == "127.0.0.1"
    assert client_of("127.0.0.1", "1.2.3.4", ()) == "127.0.0.1"


def test_a_bad_proxy_entry_is_named() -> None:
    with pytest.raises(ConfigError) as e:
        access_config(settings_from_dict({"access": {"trusted_proxies": ["10.0.0.0/8", "nginx.local"]}},
                                         source="hotline.toml"))
    assert "[access.trusted_proxies]" in str(e.value) and "'nginx.local'" in str(e.value)
