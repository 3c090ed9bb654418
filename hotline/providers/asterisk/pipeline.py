"""The one AMI ingest path, shared by the live listener and `hotline replay`:
packet -> tracker -> call events -> sink (the ledger), plus the raw events of each hotline call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Protocol

from hotline.domain.calls import CallEvent, EventKind
from hotline.providers.asterisk.protocol import RawEvent
from hotline.providers.asterisk.raw_groups import RawGroups, digest
from hotline.providers.asterisk.snapshot import reconcile
from hotline.providers.asterisk.tracker import Tracker, TrackerConfig

Packet = Mapping[str, str]

END = b"\r\n\r\n"
SNAPSHOT_ITEMS = frozenset({"CoreShowChannel", "QueueParams", "QueueMember", "QueueEntry"})
SNAPSHOT_ENDS = frozenset({"CoreShowChannelsComplete", "QueueStatusComplete"})
SNAPSHOT_EVENTS = SNAPSHOT_ITEMS | SNAPSHOT_ENDS


class CallSink(Protocol):
    """Where call events go (the ledger service implements it)."""

    def apply(self, events: Iterable[CallEvent]) -> None: ...

    def add_raw(self, rows: Iterable[dict[str, object]]) -> None: ...

    def end_missing(self, provider: str, alive: set[str], at: datetime) -> object: ...

    def open_started(self, provider: str) -> dict[str, datetime]: ...


class AmiPipeline:
    """Feeds AMI packets through the tracker into a sink; handles reconnect snapshots."""

    def __init__(self, config: TrackerConfig, sink: CallSink, keep_raw: bool = True) -> None:
        self.tracker = Tracker(config)
        self.sink = sink
        self.keep_raw = keep_raw
        self.raw = RawGroups()
        self.tz = config.tz

    def packet(self, packet: Packet, raw: bytes | None = None) -> None:
        """One live packet (an event, not part of an action's reply)."""
        if isinstance(packet, RawEvent):
            if self.keep_raw:
                self.raw.add_bytes(packet["Event"], packet.raw)
            return
        events = self.tracker.feed(packet)
        if self.keep_raw and raw is not None:
            matched = self.tracker.matched_without_channel
            if matched is not None:
                self.tracker.matched_without_channel = None
            self.raw.add(packet, raw, matched)
        if events:
            self._mark(events)
            self.sink.apply(events)
        if self.raw.ready:
            self._drain_raw()

    def snapshot(self, channels: Iterable[Packet], queue_status: Iterable[Packet],
                 at: float | None = None) -> None:
        """After (re)connecting: reconcile with CoreShowChannels + QueueStatus replies."""
        channels = list(channels)
        events = reconcile(self.tracker, channels, queue_status, at)
        alive = {c["Uniqueid"] for c in channels if c.get("Uniqueid")}
        self.raw.prune(alive)
        for c in channels:
            linked, uid = c.get("Linkedid"), c.get("Uniqueid")
            if linked and uid:
                self.raw.track_channel(linked, uid)
        self._mark(events)
        self.sink.apply(events)
        when = datetime.fromtimestamp(self.tracker.last_ts if at is None else at, self.tz)
        self.sink.end_missing("asterisk", alive, when)

    def expire(self, alive: set[str] | None, asked_at: float, at: float, max_age: float | None) -> int:
        """Periodic reconcile: forget channels and end calls (estimated, at `at`) that the PBX no longer has
        (`alive`: the Uniqueids of a CoreShowChannels reply, None when there is none) or that are older than
        `max_age` seconds. Only what started before `asked_at` (when the reply was asked for) can be gone:
        younger channels may have begun after the reply. Returns how many calls were ended."""
        oldest = at - max_age if max_age else float("-inf")

        def stale(uid: str, created: float) -> bool:
            return created < oldest or (alive is not None and uid not in alive and created < asked_at)

        tracker = self.tracker
        for uid in [u for u, ch in tracker.channels.items() if stale(u, ch.created_at)]:
            del tracker.channels[uid]
        kept = set(tracker.channels)
        when = datetime.fromtimestamp(at, self.tz)
        events: list[CallEvent] = []
        for call in [c for c in tracker.calls.values() if not c.ended and c.call_id not in kept]:
            call.ended = True
            events.append(CallEvent(call.call_id, EventKind.ENDED, when, estimated=True))
            tracker._forget(call)
        self.raw.prune(kept)
        self.sink.apply(events)
        open_calls = self.sink.open_started("asterisk")
        keep = {cid for cid, started in open_calls.items()
                if cid in kept or not stale(cid, started.timestamp())}
        gone = len(open_calls) - len(keep)
        if gone:
            self.sink.end_missing("asterisk", keep, when)
        return gone + len(events)

    def _mark(self, events: list[CallEvent]) -> None:
        for e in events:
            if e.kind is EventKind.STARTED:
                chan = self.tracker.channels.get(e.call_id)
                if chan is not None:
                    self.raw.mark_call(chan.linkedid, e.call_id)

    def _drain_raw(self) -> None:
        taken = self.raw.take()
        if not taken:
            return
        rows: list[dict[str, object]] = []
        for call_id, packets in taken:
            blob = END.join([raw for _e, _t, raw in packets]) + END  # packet bytes never hold the separator
            stamps = [float(t) for _e, t, _r in packets if t]
            rows.append({
                "provider": "asterisk", "call_id": call_id,
                "first_at": datetime.fromtimestamp(min(stamps), self.tz) if stamps else None,
                "last_at": datetime.fromtimestamp(max(stamps), self.tz) if stamps else None,
                "events": len(packets), "names": ",".join(e or "" for e, _t, _r in packets),
                "digest": digest(blob), "raw": blob,
            })
        self.sink.add_raw(rows)


class SnapshotCollector:
    """Replays action replies from a recorded stream: gathers the CoreShowChannels and QueueStatus
    lists (sent back to back after login) and holds live events back until the snapshot is whole."""

    def __init__(self, pipeline: AmiPipeline) -> None:
        self.pipeline = pipeline
        self.channels: list[Packet] = []
        self.queues: list[Packet] = []
        self.held: list[tuple[Packet, bytes | None]] = []
        self.open_lists = 0
        self.pending = False  # a list finished; another may follow at once

    @property
    def idle(self) -> bool:
        """No action reply being gathered and nothing held back: live events may go straight through."""
        return not self.open_lists and not self.pending and not self.held

    def feed(self, packet: Packet, raw: bytes | None = None) -> None:
        event = packet.get("Event")
        if packet.get("EventList") == "start" and packet.get("Response"):
            self.open_lists += 1
            return
        if event in SNAPSHOT_ITEMS:
            (self.channels if event == "CoreShowChannel" else self.queues).append(packet)
            return
        if event in SNAPSHOT_ENDS:
            self.open_lists = max(0, self.open_lists - 1)
            self.pending = self.open_lists == 0
            if event == "QueueStatusComplete" and self.pending:
                self._release()
            return
        if self.open_lists:
            self.held.append((packet, raw))
            return
        if self.pending:
            self._release()
        if event is not None:
            self.pipeline.packet(packet, raw)

    def _release(self) -> None:
        self.pending = False
        if self.channels or self.queues:
            self.pipeline.snapshot(self.channels, self.queues)
        self.channels, self.queues = [], []
        held, self.held = self.held, []
        for packet, raw in held:
            self.pipeline.packet(packet, raw)

    def finish(self) -> None:
        if self.pending or self.held or self.channels:
            self._release()
