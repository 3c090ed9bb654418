"""The optional push to Zammad against a local HTTP server that checks the requests, on SQLite and
PostgreSQL: create then update, a failed push retried later, the ticket never blocked."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from hotline.clock import ManualClock
from hotline.config import ConfigError, Settings, settings_from_dict
from hotline.domain.calls import Call, Direction
from hotline.runtime.assembly import open_database
from hotline.services.roster.service import RosterService
from hotline.services.tickets.build import build_push, build_tickets
from hotline.services.tickets.push import PushEngine, Zammad, ZammadConfig
from tests.conftest import ROOT

T0 = datetime.fromisoformat("2026-12-03T10:00:00+08:00")


class FakeZammad:
    """Records every request; answers 500 while `failing`, else a created ticket id."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self.failing = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
                fake.requests.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                status, reply = (500, {"error": "db down"}) if fake.failing else (201, {"id": 42})
                fake.failing = max(0, fake.failing - 1)
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_PUT = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def zammad() -> Iterator[FakeZammad]:
    fake = FakeZammad()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def test_tickets_are_pushed_once_per_change_and_failures_are_retried(
        settings: Settings, db_url: str, zammad: FakeZammad) -> None:
    db = open_database(db_url)
    clock = ManualClock(T0, settings.tz)
    RosterService(db.factory, settings, clock).load_example(ROOT / "config" / "roster.yaml")
    t = build_tickets(settings, db.factory, clock)
    config = ZammadConfig(zammad.url, "s3cret", group="IT", customer="hotline@huaxin.example")
    push = PushEngine(t.desk.ctx, Zammad(config))
    call = Call("z1", "asterisk", Direction.INBOUND, T0 - timedelta(minutes=1), caller="13800138000",
                called="4008001234", specialty="network", answered_at=T0 - timedelta(seconds=30), answered_by="8001")
    call.ended_at = T0
    t.opener.on_call(call)
    (view,) = t.desk.find()
    tid = view.ticket.ticket_id
    due = push.next_due()
    assert due is not None and due <= T0

    zammad.failing = 1
    assert push.tick() == 1
    failed = push.status(tid)
    assert failed is not None and failed["attempts"] == 1 and "HTTP 500" in failed["last_error"]
    assert push.next_due() == T0 + timedelta(minutes=1)  # retried later
    assert push.tick() == 0  # not before
    assert t.desk.get(tid).ticket.status == "new"  # the ticket is not blocked

    clock.set(T0 + timedelta(minutes=1))
    assert push.tick() == 1
    done = push.status(tid)
    assert done is not None and (done["remote_id"], done["attempts"], done["last_error"]) == ("42", 0, None)
    assert push.tick() == 0 and push.next_due() is None  # pushed: nothing more until it changes

    clock.set(T0 + timedelta(minutes=5))
    t.desk.escalate(tid, "需要二线", "张伟")
    assert push.tick() == 1
    (m1, p1, h1, _), (m2, p2, h2, b2), (m3, p3, h3, b3) = zammad.requests
    assert (m1, p1, m2, p2) == ("POST", "/api/v1/tickets", "POST", "/api/v1/tickets")
    assert h1["authorization"] == h2["authorization"] == h3["authorization"] == "Token token=s3cret"
    assert b2["title"].startswith(tid) and b2["group"] == "IT" and b2["customer"] == "hotline@huaxin.example"
    assert b2["state"] == "new" and "13800138000" in b2["article"]["body"]
    assert (m3, p3, b3["state"]) == ("PUT", "/api/v1/tickets/42", "open")
    db.engine.dispose()


def test_the_push_needs_its_token_from_the_environment(settings: Settings) -> None:
    raw = {"tickets": {"push": {"kind": "zammad", "url": "https://helpdesk.example.com"}}}
    pushed = settings_from_dict(raw, "hotline.toml", env={})
    db = open_database("sqlite://")
    tickets = build_tickets(pushed, db.factory, ManualClock(T0, settings.tz))
    with pytest.raises(ConfigError, match="HOTLINE_ZAMMAD_TOKEN"):
        build_push(pushed, tickets, {})
    assert isinstance(build_push(pushed, tickets, {"HOTLINE_ZAMMAD_TOKEN": "x"}), PushEngine)
    assert build_push(settings, build_tickets(settings, db.factory, ManualClock(T0, settings.tz)), {}) is None
    with pytest.raises(ConfigError, match="kind"):
        build_tickets(settings_from_dict({"tickets": {"push": {"url": "x"}}}, "hotline.toml", env={}),
                      db.factory, ManualClock(T0, settings.tz))
