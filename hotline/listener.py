"""The live AMI listener: our AMI client feeding the shared ingest path, with a snapshot after every
(re)connect, periodic batched writes and the outage log. An entry-point-level module (used by the
`listen`, `serve` and `demo` commands)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hotline.assembly import AmiIngest
from hotline.clock import Clock
from hotline.domain.calls import Call
from hotline.providers.asterisk.client import AmiClient
from hotline.providers.asterisk.protocol import Packet
from hotline.store.base import unit_of_work
from hotline.store.calls import purge_raw_events, record_outage

log = logging.getLogger(__name__)

SNAPSHOT_EVENT = "HotlineSnapshot"


class SnapshotMarker(Packet):
    """Put into the event stream by on_connect: the CoreShowChannels and QueueStatus replies."""

    channels: list[Packet]
    queues: list[Packet]
    at: float
    reconnect: bool


class AmiListener:
    """Runs the client and the consumer; `status` is what /healthz shows."""

    def __init__(self, client: AmiClient, ingest: AmiIngest, clock: Clock, *, flush_interval: float = 0.5,
                 on_calls: Callable[[list[Call]], None] | None = None, retention_days: int | None = None) -> None:
        self.client = client
        self.ingest = ingest
        self.clock = clock
        self.flush_interval = flush_interval
        self.on_calls = on_calls
        self.connects = 0
        self.retention_days = retention_days
        self._purged_on: str | None = None
        self.status: dict[str, Any] = {"connected": False, "connects": 0, "events": 0}
        client.on_connect = self._on_connect

    async def _on_connect(self, client: AmiClient) -> None:
        """After every login: snapshot what is up now, in stream order before the new live events."""
        channels = await client.send_action("CoreShowChannels")
        queues = await client.send_action("QueueStatus")
        marker = SnapshotMarker({"Event": SNAPSHOT_EVENT})
        marker.channels = channels.events
        marker.queues = queues.events
        marker.at = self.clock.now().timestamp()
        marker.reconnect = self.connects > 0
        self.connects += 1
        client.inject(marker)

    def _apply_snapshot(self, marker: SnapshotMarker) -> None:
        self.ingest.pipeline.snapshot(marker.channels, marker.queues, at=marker.at)
        self.status.update(connected=True, connects=self.connects,
                           last_snapshot=datetime.fromtimestamp(marker.at, UTC).isoformat(),
                           snapshot_channels=len(marker.channels))
        log.info("AMI %s: snapshot of %d channels applied", self.client.address, len(marker.channels))
        if marker.reconnect:
            self._record_outage()

    def _record_outage(self) -> None:
        closed = [w for w in self.client.connection_log if w.disconnected_at is not None]
        factory = self.ingest.ledger.factory
        if not closed or factory is None:
            return
        last = closed[-1]
        assert last.disconnected_at is not None
        with unit_of_work(factory) as s:
            record_outage(s, "asterisk", last.disconnected_at, self.clock.now(), last.reason)

    async def run(self) -> None:
        """Consume until the client is closed; raises AmiLoginFailed when the login is refused."""
        await self.client.start()
        flusher = asyncio.create_task(self._flush_loop(), name="ledger-flush")
        try:
            async for packet in self.client.events():
                if isinstance(packet, SnapshotMarker):
                    self._apply_snapshot(packet)
                    continue
                self.status["events"] += 1
                calls = self.ingest.feed(packet)
                if calls:
                    self._done(calls)
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            self._done(self.ingest.flush())
            self.status["connected"] = False

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            self.status["connected"] = self.client.connected
            try:
                self._done(self.ingest.flush())
                self.purge_if_due()
            except Exception:  # a database hiccup must not stop the writes for good
                log.exception("writing the ledger failed; retrying in %.1f s", self.flush_interval)

    def purge_if_due(self) -> int:
        """Once a day: drop raw events older than the retention (the calls themselves stay)."""
        factory = self.ingest.ledger.factory
        now = self.clock.now()
        today = now.date().isoformat()
        if self.retention_days is None or factory is None or self._purged_on == today:
            return 0
        self._purged_on = today
        with unit_of_work(factory) as s:
            removed = purge_raw_events(s, now - timedelta(days=self.retention_days))
        if removed:
            log.info("raw events: %d run(s) older than %d days removed", removed, self.retention_days)
        return removed

    def _done(self, calls: list[Call]) -> None:
        if calls and self.on_calls is not None:
            try:
                self.on_calls(calls)
            except Exception:
                log.exception("call handler failed")
