"""Groups raw AMI packets by Linkedid so that each hotline call's raw events can be stored with it.

A group is held in memory while any of its channels is up; when the last one hangs up the group is
handed out, and kept only if it carried a hotline call. Trailing `Cdr` events (no Linkedid) are
matched to a recently closed group by their UniqueID; an `AgentComplete` without channel fields goes
with the call the tracker matched it to (by queue and member).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


class RawPacket(Protocol):
    raw: bytes

    def get(self, key: str, default: str | None = None, /) -> str | None: ...


@dataclass(slots=True)
class RawGroup:
    group_id: str
    packets: list[tuple[str | None, str | None, bytes]] = field(default_factory=list)
    live: set[str] = field(default_factory=set)
    uids: set[str] = field(default_factory=set)
    call_ids: set[str] = field(default_factory=set)


_RECENT = 2048
_MAX_GROUP_PACKETS = 20_000  # a runaway group is cut here rather than growing without bound


def digest(raw: bytes) -> str:
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


class RawGroups:
    """Collects raw packets per Linkedid; `closed()` returns finished groups that belong to calls."""

    def __init__(self) -> None:
        self.groups: dict[str, RawGroup] = {}
        self.by_bytes: dict[bytes, RawGroup] = {}  # the same groups keyed by the Linkedid's bytes (hot path)
        self.recent: OrderedDict[str, str] = OrderedDict()  # uniqueid -> call_id of closed groups
        self.group_of_uid: dict[str, str] = {}  # uniqueid -> linkedid of open groups
        self._closed: list[tuple[str, list[tuple[str | None, str | None, bytes]]]] = []
        self.late: list[tuple[str, tuple[str | None, str | None, bytes]]] = []

    @property
    def ready(self) -> bool:
        """Whether closed groups or late packets wait to be taken."""
        return bool(self._closed or self.late)

    def add_bytes(self, event: str, raw: bytes) -> None:
        """An unparsed event: its group is found from the Linkedid read straight from the bytes."""
        i = raw.find(b"\nLinkedID: " if event == "CEL" else b"\nLinkedid: ")
        if i < 0:
            return
        i += 11
        j = raw.find(b"\r", i)
        group = self.by_bytes.get(raw[i:j if j >= 0 else None])
        if group is None or len(group.packets) >= _MAX_GROUP_PACKETS:
            return  # not (yet) a group with a channel we saw start
        # No timestamp: a group's first/last times come from its parsed events (Newchannel, Hangup).
        group.packets.append((event, None, raw))

    def add(self, packet: Mapping[str, str], raw: bytes, call_id: str | None = None) -> None:
        """A parsed event. `call_id`: the call the tracker matched a packet without channel fields
        to (an `AgentComplete` after the caller's channel was gone)."""
        # Transfer events name their channels with prefixes: they go with the caller's (the transferee's) call.
        linked = packet.get("Linkedid") or packet.get("LinkedID") or packet.get("TransfereeLinkedid")
        event = packet.get("Event")
        ts = packet.get("Timestamp")
        if linked is None:
            uid = packet.get("UniqueID") or packet.get("Uniqueid") or call_id
            if uid is None:
                return
            open_group = self.group_of_uid.get(uid)
            if open_group is not None:
                linked = open_group  # e.g. a Cdr while other channels of the call are still up
            else:
                owner = self.recent.get(uid) or call_id
                if owner is not None:
                    self.late.append((owner, (event, ts, raw)))
                return
        group = self._group(linked)
        if len(group.packets) < _MAX_GROUP_PACKETS:
            group.packets.append((event, ts, raw))
        uid = packet.get("Uniqueid")
        if uid is None:
            return
        if event == "Newchannel":
            group.live.add(uid)
            group.uids.add(uid)
            self.group_of_uid[uid] = linked
        elif event == "Hangup":
            group.live.discard(uid)
            if not group.live:
                self._close(group)

    def _group(self, linkedid: str) -> RawGroup:
        group = self.groups.get(linkedid)
        if group is None:
            group = self.groups[linkedid] = self.by_bytes[linkedid.encode("utf-8", "surrogateescape")] = \
                RawGroup(linkedid)
        return group

    def mark_call(self, linkedid: str, call_id: str) -> None:
        """The group `linkedid` carries hotline call `call_id`."""
        self._group(linkedid).call_ids.add(call_id)

    def track_channel(self, linkedid: str, uniqueid: str) -> None:
        """A channel learned from a snapshot (its Newchannel was never seen)."""
        group = self._group(linkedid)
        group.live.add(uniqueid)
        group.uids.add(uniqueid)
        self.group_of_uid[uniqueid] = linkedid

    def prune(self, alive: set[str]) -> None:
        """After a reconnect: channels not alive any more hung up while we were away."""
        for group in list(self.groups.values()):
            group.live &= alive
            if not group.live:
                self._close(group)

    def _close(self, group: RawGroup) -> None:
        del self.groups[group.group_id]
        self.by_bytes.pop(group.group_id.encode("utf-8", "surrogateescape"), None)
        for uid in group.uids:
            self.group_of_uid.pop(uid, None)
        if not group.call_ids:
            return
        call_id = min(group.call_ids)
        self._closed.append((call_id, group.packets))
        for uid in group.uids:
            self.remember_uniqueid(uid, call_id)

    def remember_uniqueid(self, uniqueid: str, call_id: str) -> None:
        self.recent[uniqueid] = call_id
        while len(self.recent) > _RECENT:
            self.recent.popitem(last=False)

    def take(self) -> list[tuple[str, list[tuple[str | None, str | None, bytes]]]]:
        """Closed call groups and late packets since the last call, as (call_id, packets)."""
        out = self._closed
        if self.late:
            by_call: dict[str, list[tuple[str | None, str | None, bytes]]] = {}
            for call_id, item in self.late:
                by_call.setdefault(call_id, []).append(item)
            out = out + list(by_call.items())
            self.late = []
        self._closed = []
        return out
