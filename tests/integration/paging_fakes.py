"""Local stand-ins for the paging providers: a recording HTTP server on 127.0.0.1 and sample pages."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from hotline.paging.base import Page, Recipient


@dataclass
class Recorded:
    """One request as the server saw it (header names lower-cased)."""

    method: str
    path: str
    raw_query: str
    headers: dict[str, str]
    body: bytes

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.raw_query, keep_blank_values=True).items()}

    @property
    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)

    def json(self) -> Any:
        return json.loads(self.body)


Reply = tuple[int, dict[str, str], bytes]
Responder = Callable[[Recorded], Reply]


def json_reply(data: Any, status: int = 200) -> Reply:
    return status, {"Content-Type": "application/json"}, json.dumps(data).encode()


@dataclass
class FakeServer:
    """A threaded HTTP server that records every request and answers with `responder`."""

    responder: Responder
    requests: list[Recorded] = field(default_factory=list)

    def start(self) -> FakeServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                rec = Recorded(self.command, split.path, split.query,
                               {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length))
                fake.requests.append(rec)
                status, headers, body = fake.responder(rec)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # many pages at once must not overflow the listen backlog

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(name="fake_server")
def fake_server_fixture() -> Iterator[Callable[[Responder], FakeServer]]:
    """A factory: `fake_server(responder)` starts a server that is stopped after the test."""
    servers: list[FakeServer] = []

    def start(responder: Responder) -> FakeServer:
        server = FakeServer(responder).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


SHANGHAI = ZoneInfo("Asia/Shanghai")
ALICE = Recipient(name="王丽", mobile="13800138000", email="wangli@example.com", extension="8001",
                  feishu_id="ou_7d8a6e6df7621556ce0d21922b676706ccs")


def sample_page(key: str = "alert-42/step-1/wangli", recipient: Recipient = ALICE) -> Page:
    return Page(
        key=key,
        recipient=recipient,
        subject="热线未接来电（网络）/ Missed hotline call (Network)",
        text="热线有未接来电：来电号码 02112345678，时间 2024-05-06 14:05，专业 网络。\n\n"
             "Missed hotline call: caller 02112345678, at 2024-05-06 14:05, specialty Network.",
        alert_id="42",
        caller="02112345678",
        specialty="网络",
        ack_url="https://hotline.example.com/ack/42?sig=abc",
        ack_code="7291",
        at=datetime(2024, 5, 6, 14, 5, tzinfo=SHANGHAI),
    )
