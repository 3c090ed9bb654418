"""A receiver that drips a byte every 2 s cannot hold a page past its deadline, and a result that comes
back after the page was claimed again is not counted: one page key, one delivery recorded."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from hotline.paging.base import Page, SendResult
from hotline.paging.dispatcher import Dispatcher
from hotline.paging.retry import RetryPolicy
from hotline.paging.webhook import WebhookChannel
from hotline.services.monitor.outbox import Outbox, PlannedPage, add_pages
from hotline.store.alerts import OutboxRow, PageAttemptRow
from hotline.store.base import unit_of_work
from tests.integration.monitor_fakes import LI, T0, Rig, rig


class DripServer:
    """Answers every POST with a 200 whose 60-byte body comes one byte every `every` seconds."""

    def __init__(self, every: float = 2.0) -> None:
        self.every = every
        self.posts = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            await reader.readexactly(length)
            self.posts += 1
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n")
            for _ in range(60):
                await writer.drain()
                await asyncio.sleep(self.every)
                writer.write(b" ")
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> DripServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()


@pytest.fixture
async def r(db_url: str) -> AsyncIterator[Rig]:
    rig_ = rig(db_url)
    yield rig_
    rig_.dispose()


def planned(key: str = "a1:first_line:李娜:webhook") -> PlannedPage:
    return PlannedPage(key=key, alert_id=None, purpose="page", step="first_line", tier="first_line", recipient=LI,
                       channel="webhook", fallback=(), subject="热线未接来电 / missed hotline call",
                       text="13800138004 未接来电", caller="13800138004", specialty="network")


def put(r: Rig, page: PlannedPage) -> None:
    with unit_of_work(r.monitor.factory) as s:
        add_pages(s, [page], r.clock.now())


async def test_a_dripping_receiver_times_out_on_the_total_request_deadline() -> None:
    async with DripServer() as server:
        channel = WebhookChannel(f"http://127.0.0.1:{server.port}/page", timeout=3.0)
        page = Page(key="k1", recipient=LI, subject="热线未接来电", text="13800138004", at=T0)
        started = time.monotonic()
        async with asyncio.timeout(10):  # before: the drip kept httpx's per-read timeout from ever firing
            result = await channel.send(page)
        assert time.monotonic() - started < 5
        assert not result.ok and result.retryable and "timed out" in (result.error or "")


async def test_a_dripping_receiver_cannot_hold_a_page_past_its_deadline(r: Rig) -> None:
    outbox = Outbox(r.monitor.factory, r.clock, lease=timedelta(seconds=6))  # deadline: 3 s
    put(r, planned())
    async with DripServer() as server:
        # three tries of 10 s each (the default chain) would outlast the lease on their own
        channel = WebhookChannel(f"http://127.0.0.1:{server.port}/page", timeout=10.0)
        sender = Dispatcher({"webhook": channel}, ["webhook"], retry=RetryPolicy(attempts=3, initial=0.1))
        started = time.monotonic()
        async with asyncio.timeout(12):
            delivered = await outbox.drain(sender)
        assert time.monotonic() - started < 6
        assert server.posts == 1
    assert [(d.status, d.ok) for d in delivered] == [("pending", False)]
    assert "deadline" in (delivered[0].results[0].error or "")
    with r.monitor.factory() as s:
        row = s.scalars(select(OutboxRow)).one()
    assert row.status == "pending" and row.lease_until is None


async def test_a_result_of_a_superseded_claim_is_not_counted(r: Rig) -> None:
    outbox = Outbox(r.monitor.factory, r.clock, lease=timedelta(seconds=120))
    put(r, planned())
    [first] = outbox.claim()
    r.clock.advance(timedelta(seconds=121))  # the lease ran out: another process claims the page again
    [second] = outbox.claim()
    assert (first.attempts, second.attempts) == (1, 2)
    late = outbox.record(first, [SendResult(ok=True, channel="webhook", provider_id="p1")])
    assert (late.status, late.ok) == ("superseded", False)
    with r.monitor.factory() as s:
        assert s.scalars(select(OutboxRow.status)).one() == "sending"  # still the second claim's
    current = outbox.record(second, [SendResult(ok=True, channel="webhook", provider_id="p2")])
    assert (current.status, current.ok) == ("sent", True)
    with r.monitor.factory() as s:
        row = s.scalars(select(OutboxRow)).one()
        attempts = s.scalars(select(PageAttemptRow.provider_id).order_by(PageAttemptRow.id)).all()
    assert row.status == "sent" and row.provider_id == "p2"
    assert attempts == ["p1", "p2"]  # what happened is kept; only the current claim decides the status
