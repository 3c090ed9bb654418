"""The live AMI listener: our AMI client feeding the shared ingest path, with a snapshot after every
(re)connect, periodic batched writes and the outage log. An entry-point-level module (used by the
`listen`, `serve` and `demo` commands).

Besides the calls, it keeps queue-member availability (`queue_members`, read by the silence watch)
and routes a voice page's keypad acknowledgement (`UserEvent: HotlineAck`) to `on_page_ack`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hotline.clock import Clock
from hotline.domain.alerts import AlertClosed
from hotline.domain.calls import Call
from hotline.providers.asterisk.client import AmiClient
from hotline.providers.asterisk.protocol import Packet, RawEvent
from hotline.providers.asterisk.queue_members import MEMBER_EVENTS, QueueMembers
from hotline.runtime.assembly import AmiIngest
from hotline.runtime.timings import LagHistogram
from hotline.services.monitor.page_replies import VoiceAck
from hotline.services.surveys.keypress import SurveyKeypress
from hotline.store.base import unit_of_work
from hotline.store.calls import beat, last_beat, open_outages, purge_raw_events_chunk, record_outage
from hotline.store.recordings import collect_twilio

log = logging.getLogger(__name__)

SNAPSHOT_EVENT = "HotlineSnapshot"
ACK_USER_EVENT = "HotlineAck"
SURVEY_VARIABLE_PREFIX = "HOTLINE_SURVEY_"
# read here besides the call ingest (one lookup each; a VarSet only when it sets a survey variable)
WATCHED_EVENTS = MEMBER_EVENTS | {"UserEvent", "VarSet"}


class SnapshotMarker(Packet):
    """Put into the event stream by on_connect: the CoreShowChannels and QueueStatus replies."""

    channels: list[Packet]
    queues: list[Packet]
    at: float
    reconnect: bool


class ExpiryMarker(Packet):
    """Put into the event stream by the periodic reconcile: the Uniqueids CoreShowChannels listed (None
    when the PBX did not answer) and when they were asked for."""

    alive: set[str] | None
    asked_at: float


class AmiListener:
    """Runs the client and the consumer; `status` is what /healthz shows."""

    def __init__(self, client: AmiClient, ingest: AmiIngest, clock: Clock, *, flush_interval: float = 0.2,
                 on_calls: Callable[[list[Call]], None] | None = None, retention_days: int | None = None,
                 on_page_ack: Callable[[VoiceAck], object] | None = None, heartbeat_seconds: float = 5.0,
                 reconcile_seconds: float | None = 300.0, max_call_seconds: float | None = 14_400.0,
                 on_survey_key: Callable[[SurveyKeypress], object] | None = None) -> None:
        self.client = client
        # Every reconcile_seconds the open calls are checked against CoreShowChannels (a lost Hangup must not
        # keep a call open until the next reconnect) and calls older than max_call_seconds end, estimated.
        self.reconcile_seconds = reconcile_seconds
        self.max_call_seconds = max_call_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self._beat_at: datetime | None = None
        self.ingest = ingest
        self.clock = clock
        self.flush_interval = flush_interval
        self.on_calls = on_calls
        self.connects = 0
        self.retention_days = retention_days
        self._purged_on: str | None = None
        self._purge_task: asyncio.Future[int] | None = None
        self.queue_members = QueueMembers()
        self.on_page_ack = on_page_ack  # set by the monitor's wiring (acknowledges in page_replies)
        self.on_survey_key = on_survey_key  # set by the surveys' wiring (keypad answers of survey calls)
        self.status: dict[str, Any] = {"connected": False, "connects": 0, "events": 0}
        # /metrics: the PBX's event time (Timestamp) to receipt, and receipt to the call stored
        self.event_lag = LagHistogram()
        self.store_lag = LagHistogram()
        self._unstored_since: datetime | None = None  # receipt of the oldest event not yet stored
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
        self.queue_members.seed(marker.queues, datetime.fromtimestamp(marker.at, self.clock.now().tzinfo))
        self.status.update(connected=True, connects=self.connects,
                           last_snapshot=datetime.fromtimestamp(marker.at, UTC).isoformat(),
                           snapshot_channels=len(marker.channels))
        log.info("AMI %s: snapshot of %d channels applied", self.client.address, len(marker.channels))
        try:
            if marker.reconnect:
                self._record_outage()
            else:
                self._record_restart()
        except Exception:  # the database may be away: the outage log must not stop the listener
            log.exception("recording the listener outage failed")

    def _record_restart(self) -> None:
        """At the first connect of this process: the time the listener was not running is an outage.
        A clean stop left an open outage (`record_stop`): it ends now. Without one the process ended
        without a clean stop (kill -9, power loss): the outage runs from its last heartbeat."""
        factory = self.ingest.ledger.factory
        if factory is None:
            return
        now = self.clock.now()
        with unit_of_work(factory) as s:
            stopped = open_outages(s, "asterisk")
            for row in stopped:
                row.ended_at = now
            last = last_beat(s, "asterisk")
            if not stopped and last is not None and last < now:
                record_outage(s, "asterisk", last, now, "监听进程未正常停止 / listener process ended without a "
                              "clean stop (restart; down since its last heartbeat)")
            beat(s, "asterisk", now)
        self._beat_at = now
        first = stopped[0].started_at if stopped else last
        if first is not None:
            since = first.astimezone(self.clock.now().tzinfo)
            log.info("监听重启，停机时段已记录，自 %s 起 / listener restart recorded as an outage since %s",
                     f"{since:%Y-%m-%d %H:%M:%S}", f"{since:%Y-%m-%d %H:%M:%S%z}")

    def record_stop(self, reason: str) -> None:
        """A clean stop: an outage starts now, ended when a listener connects again."""
        factory = self.ingest.ledger.factory
        if factory is None:
            return
        now = self.clock.now()
        try:
            with unit_of_work(factory) as s:
                record_outage(s, "asterisk", now, None, reason)
                beat(s, "asterisk", now)
        except Exception:
            log.exception("recording the listener stop failed")

    def _heartbeat(self) -> None:
        factory = self.ingest.ledger.factory
        now = self.clock.now()
        if factory is None or not self.client.connected or (
                self._beat_at is not None and (now - self._beat_at).total_seconds() < self.heartbeat_seconds):
            return
        self._beat_at = now  # tried at most once per heartbeat_seconds, even while the database is away
        with unit_of_work(factory) as s:
            beat(s, "asterisk", now)

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
        reconciler = asyncio.create_task(self._reconcile_loop(), name="reconcile") \
            if self.reconcile_seconds else None
        try:
            async for packet in self.client.events():
                if isinstance(packet, SnapshotMarker):
                    self._apply_snapshot(packet)
                    continue
                if isinstance(packet, ExpiryMarker):
                    self._expire(packet)
                    continue
                self.status["events"] += 1
                self._received(packet)
                if packet.get("Event") in WATCHED_EVENTS:
                    self._watch(packet)
                calls = self.ingest.feed(packet)
                if calls:
                    self._done(calls)
        finally:
            for task in (flusher, reconciler):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            self._done(self.ingest.flush(force=True))
            if self.ingest.ledger.pending:
                log.error("停止时数据库不可用，%d 条未写入 / stopping with the database away: %d call(s) and raw "
                          "run(s) not written", self.ingest.ledger.pending, self.ingest.ledger.pending)
            self.status["connected"] = False

    def _received(self, packet: Packet) -> None:
        now = self.clock.now()
        ts = packet.timestamp if not isinstance(packet, RawEvent) else _number(packet.header(b"Timestamp"))
        if ts is not None:
            self.event_lag.observe(now.timestamp() - ts)
        if self._unstored_since is None:
            self._unstored_since = now

    def _stored(self) -> None:
        """After a flush: with nothing left to write, the oldest event's wait until it was stored."""
        if self._unstored_since is not None and not self.ingest.ledger.pending:
            self.store_lag.observe((self.clock.now() - self._unstored_since).total_seconds())
            self._unstored_since = None

    async def _reconcile_loop(self) -> None:
        assert self.reconcile_seconds
        while True:
            await asyncio.sleep(self.reconcile_seconds)
            if not self.client.connected:
                continue  # the reconnect's own snapshot reconciles
            # "Before the question" in the PBX's own clock (the newest event time seen so far): channels
            # created after it carry later timestamps, whatever the skew between the PBX's clock and ours.
            asked_at = self.ingest.pipeline.tracker.last_ts
            alive: set[str] | None = None
            try:
                reply = await self.client.send_action("CoreShowChannels")
                alive = {uid for p in reply.events
                         if p.get("Event") == "CoreShowChannel" and (uid := p.get("Uniqueid"))}
            except Exception as e:  # only the age limit applies this time
                log.warning("periodic CoreShowChannels failed (%s); only the call age limit is applied", e)
            marker = ExpiryMarker({"Event": "HotlineExpiry"})
            marker.alive, marker.asked_at = alive, asked_at
            self.client.inject(marker)  # applied in stream order, after the events already received

    def _expire(self, marker: ExpiryMarker) -> None:
        ended = self.ingest.pipeline.expire(marker.alive, marker.asked_at, self.clock.now().timestamp(),
                                            self.max_call_seconds)
        if ended:
            log.warning("%d 通通话已不在 PBX 上或超过最长时长，按估计结束 / %d call(s) gone from the PBX or older than "
                        "%s s ended as estimated", ended, ended, self.max_call_seconds)

    def _watch(self, packet: Packet) -> None:
        """Queue-member events (raw-only ones read from their bytes) and HotlineAck user events."""
        header: Callable[[str], str | None]
        if type(packet) is RawEvent:
            raw_event = packet
            header = lambda key: raw_event.header(key.encode())  # noqa: E731
        else:
            header = packet.get
        name = packet["Event"]
        if name == "VarSet":
            variable = header("Variable")
            if variable and variable.startswith(SURVEY_VARIABLE_PREFIX):
                self._survey_key(SurveyKeypress(header("Uniqueid") or "", variable, header("Value") or ""))
            return
        if name == "UserEvent":
            if header("UserEvent") == ACK_USER_EVENT:
                self._page_ack(header)
            return
        try:
            self.queue_members.event(name, header, self._event_time(header("Timestamp")))
        except Exception:  # a malformed event must not stop the listener
            log.exception("queue member event not understood: %s", name)

    def _event_time(self, stamp: str | None) -> datetime:
        now = self.clock.now()
        if stamp:
            try:
                return datetime.fromtimestamp(float(stamp), now.tzinfo)
            except (ValueError, OverflowError, OSError):
                pass
        return now

    def _page_ack(self, header: Callable[[str], str | None]) -> None:
        ack = VoiceAck(alert_id=header("AlertId") or "", code=header("Code") or None,
                       digit=header("Digit") or "", page_key=header("PageKey") or None,
                       channel=header("Channel") or None)
        if self.on_page_ack is None:
            log.warning("语音寻呼确认未处理（监控未运行）/ voice page ack for alert %s dropped: no monitor",
                        ack.alert_id)
            return
        try:
            self.on_page_ack(ack)
        except (LookupError, ValueError, AlertClosed) as e:  # wrong code, closed alert, not `1`
            log.warning("语音寻呼确认被忽略 / voice page ack ignored (alert %s, channel %s): %s",
                        ack.alert_id or "-", ack.channel or "-", e)
        except Exception:
            log.exception("voice page ack for alert %s failed", ack.alert_id)
        else:
            log.info("告警已由语音寻呼确认 / alert %s acknowledged by voice page", ack.alert_id)

    def _survey_key(self, key: SurveyKeypress) -> None:
        if self.on_survey_key is None:
            log.warning("回访按键未处理（回访未运行）/ survey keypress on %s dropped: surveys not running",
                        key.uniqueid)
            return
        try:
            self.on_survey_key(key)
        except Exception:  # the database may be away: the listener goes on
            log.exception("survey keypress on %s failed", key.uniqueid)

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            self.status["connected"] = self.client.connected
            try:
                self._done(self.ingest.flush())  # keeps the batch and retries while the database is away
                self._stored()
                self._heartbeat()
                self._start_purge()
            except Exception:  # anything else must not stop the writes for good
                log.exception("writing the ledger failed; the batch is kept and written at the next flush")

    def _purge_due(self) -> bool:
        return (self.retention_days is not None and self.ingest.ledger.factory is not None
                and self._purged_on != self.clock.now().date().isoformat())

    def _start_purge(self) -> None:
        """The daily purge runs in a worker thread, so the event loop keeps reading the PBX."""
        if self._purge_task is not None and not self._purge_task.done():
            return
        if self._purge_due():
            self._purge_task = asyncio.get_running_loop().create_task(asyncio.to_thread(self.purge_if_due))

    def purge_if_due(self, chunk: int = 1000) -> int:
        """Once a day: drop raw events older than the retention (the calls themselves stay), `chunk`
        runs per transaction so that no long lock holds up the ledger's writes. The Twilio recordings they
        name are collected first (`[privacy] recordings_days` deletes their audio later)."""
        factory = self.ingest.ledger.factory
        now = self.clock.now()
        if not self._purge_due() or factory is None or self.retention_days is None:
            return 0
        self._purged_on = now.date().isoformat()
        before = now - timedelta(days=self.retention_days)
        with unit_of_work(factory) as s:  # the recordings Twilio requests name, before those requests go
            collect_twilio(s)
        removed = 0
        while True:
            with unit_of_work(factory) as s:
                n = purge_raw_events_chunk(s, before, chunk)
            removed += n
            if n < chunk:
                break
        if removed:
            log.info("raw events: %d run(s) older than %d days removed", removed, self.retention_days)
        return removed

    def _done(self, calls: list[Call]) -> None:
        if calls and self.on_calls is not None:
            try:
                self.on_calls(calls)
            except Exception:
                log.exception("call handler failed")


def _number(text: str | None) -> float | None:
    try:
        return None if text is None else float(text)
    except ValueError:
        return None
