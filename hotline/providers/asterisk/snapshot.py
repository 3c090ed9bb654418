"""Reconciling the tracker with a `CoreShowChannels` + `QueueStatus` snapshot after (re)connecting.

AMI has no replay: what happened while we were away is gone. The snapshot tells which channels are
up now; calls already known keep their state, calls we had not seen are started from the snapshot
(times estimated from whole-second durations), and calls that vanished during the outage are ended.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from hotline.domain.calls import CallEvent, Direction, EventKind
from hotline.providers.asterisk.channels import (
    CallState,
    Channel,
    interface_key,
    interface_of,
    local_exten,
    value,
)
from hotline.providers.asterisk.tracker import Tracker

Packet = Mapping[str, str]


def _duration(text: str | None) -> float:
    """`00:01:05` -> 65.0 (CoreShowChannel's Duration)."""
    if not text:
        return 0.0
    try:
        parts = [int(x) for x in text.split(":")]
    except ValueError:
        return 0.0
    total = 0
    for part in parts:
        total = total * 60 + part
    return float(total)


def reconcile(tracker: Tracker, channels: Iterable[Packet], queue_status: Iterable[Packet],
              at: float | None = None) -> list[CallEvent]:
    """Bring the tracker in line with what the PBX says is up now; returns the resulting call events."""
    now = tracker.last_ts if at is None else at
    tz = tracker.config.tz
    now_dt = datetime.fromtimestamp(now, tz)
    snap = [c for c in channels if c.get("Event") == "CoreShowChannel" and c.get("Uniqueid")]
    members: dict[tuple[str, str], str] = {}  # (queue, interface) -> member name
    entries: dict[str, tuple[str, float]] = {}  # uniqueid -> (queue, wait seconds)
    for q in queue_status:
        ev = q.get("Event")
        if ev == "QueueMember":
            iface = q.get("StateInterface") or q.get("Location") or ""
            members[(q.get("Queue", ""), interface_key(iface))] = q.get("Name") or iface
            loc = q.get("Location")
            if loc:
                members[(q.get("Queue", ""), interface_key(loc))] = q.get("Name") or loc
        elif ev == "QueueEntry" and q.get("Uniqueid"):
            entries[q["Uniqueid"]] = (q.get("Queue", ""), float(q.get("Wait") or 0))

    out: list[CallEvent] = []
    alive = {c["Uniqueid"] for c in snap}
    out.extend(_end_vanished(tracker, alive, now_dt))

    by_bridge: dict[str, list[Packet]] = {}
    for c in snap:
        bridge = c.get("BridgeId")
        if bridge:
            by_bridge.setdefault(bridge, []).append(c)

    for c in snap:
        uid = c["Uniqueid"]
        if uid in tracker.channels:
            continue  # already tracked live: nothing to add, nothing duplicated
        created = now - _duration(c.get("Duration"))
        chan = Channel(uniqueid=uid, name=c.get("Channel", ""), linkedid=c.get("Linkedid") or uid,
                       created_at=created, state=c.get("ChannelState", ""),
                       exten=c.get("Exten", ""), caller=value(c, "CallerIDNum"),
                       caller_name=value(c, "CallerIDName"))
        tracker.channels[uid] = chan

    for c in snap:
        uid = c["Uniqueid"]
        known = tracker.calls.get(uid)
        if known is not None:
            # Tracked before the outage: only learn what the outage hid (an answer).
            bridged = [o for o in by_bridge.get(c.get("BridgeId") or "", []) if o["Uniqueid"] != uid]
            if bridged and not known.answered:
                if known.queue is None and c.get("Application") == "Queue":
                    known.queue = (c.get("ApplicationData") or "").split(",", 1)[0] or None
                _answered_while_away(tracker, known, bridged[0].get("Channel", ""), members)
            continue
        called = _hotline_number(tracker, c)
        app = c.get("Application", "")
        queue = (c.get("ApplicationData") or "").split(",", 1)[0] if app == "Queue" else None
        if called is None and queue is None and uid not in entries:
            continue
        if c.get("Channel", "").endswith(";1") and called is not None and queue is None:
            continue  # the outgoing half of a Local pair is not the hotline side
        chan = tracker.channels[uid]
        call = tracker._register_call(chan, outbound=False)
        start = datetime.fromtimestamp(chan.created_at, tz)
        out.append(CallEvent(uid, EventKind.STARTED, start, direction=Direction.INBOUND,
                             caller=chan.caller, caller_name=chan.caller_name, called=called, estimated=True))
        if queue is None:
            continue
        call.queue = queue
        specialty = tracker.config.specialty(queue)
        out.append(CallEvent(uid, EventKind.MENU, start, specialty=specialty, estimated=True))
        bridged = [o for o in by_bridge.get(c.get("BridgeId") or "", []) if o["Uniqueid"] != uid]
        if uid in entries:
            entry_queue, wait = entries[uid]
            call.in_queue = True
            out.append(CallEvent(uid, EventKind.QUEUE, now_dt - timedelta(seconds=wait), queue=entry_queue or queue,
                                 specialty=specialty, estimated=True))
            for other in snap:
                if other.get("Linkedid") == chan.linkedid and other.get("Application") == "AppQueue":
                    name = other.get("Channel", "")
                    member = members.get((queue, interface_of(name)))
                    if member:
                        call.rung[name] = member
        elif bridged:
            _answered_while_away(tracker, call, bridged[0].get("Channel", ""), members)
    return out


def _answered_while_away(tracker: Tracker, call: CallState, staff: str,
                         members: dict[tuple[str, str], str]) -> None:
    """The snapshot shows the call bridged with staff: it was answered before we could see it. The
    answer time is learned from AgentComplete's TalkTime (or the hangup) later."""
    queue = call.queue
    if queue is not None:
        member = members.get((queue, interface_of(staff))) or interface_of(staff)
        call.member_key = (queue, member)
        tracker.members[(queue, member)] = call.call_id
    else:
        member = call.rung.get(staff) or call.dial_target or interface_of(staff)
    call.answered = True
    call.in_queue = False
    call.pending_answer_by = member
    call.pending_answer_queue = queue
    tracker._bind_staff(call, staff)


def _hotline_number(tracker: Tracker, c: Packet) -> str | None:
    numbers = tracker.config.numbers
    exten = local_exten(c.get("Channel", ""))
    if exten in numbers:
        return exten
    if c.get("Exten") in numbers:
        return c.get("Exten")
    return None


def _end_vanished(tracker: Tracker, alive: set[str], now: datetime) -> list[CallEvent]:
    """Calls we tracked whose channel is gone: they ended while we were disconnected."""
    out: list[CallEvent] = []
    for uid in [u for u in tracker.channels if u not in alive]:
        del tracker.channels[uid]
    for call in [c for c in tracker.calls.values() if not c.ended and c.call_id not in alive]:
        call.ended = True
        out.append(CallEvent(call.call_id, EventKind.ENDED, now, estimated=True))
        tracker._forget(call)
    return out
