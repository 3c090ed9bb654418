"""Queue-member availability: which queues have nobody who could take a call, and since when.

Fed by the member events of app_queue (QueueMemberStatus, QueueMemberAdded, QueueMemberRemoved,
QueueMemberPause) and seeded from the QueueMember / QueueParams items of a QueueStatus reply after
every (re)connect. Pure: no I/O, no clock reads (the time of each change is an argument).

A member is *available* when it is not paused and its device Status is one of NOT_INUSE (1),
INUSE (2), BUSY (3), RINGING (6), RINGINUSE (7) or ONHOLD (8): logged in and reachable. A busy agent
still staffs the queue (the call waits for them; that is the no-answer rule's business, not an empty
queue). UNKNOWN (0, also a missing Status), INVALID (4) and UNAVAILABLE (5) are not available.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

AVAILABLE_STATUSES = frozenset({1, 2, 3, 6, 7, 8})
MEMBER_EVENTS = frozenset({"QueueMemberStatus", "QueueMemberAdded", "QueueMemberRemoved", "QueueMemberPause"})

Header = Callable[[str], str | None]  # reads one header of an event (Packet.get or RawEvent.header)


def _status(text: str | None) -> int:
    try:
        return int(text) if text else 0
    except ValueError:
        return 0


def _paused(text: str | None) -> bool:
    return (text or "").strip().lower() in ("1", "true", "yes")


class QueueMembers:
    """Per queue: its members' (status, paused) and since when it has had no available member."""

    def __init__(self) -> None:
        self._members: dict[str, dict[str, tuple[int, bool]]] = {}  # queue -> interface -> (status, paused)
        self._empty_since: dict[str, datetime] = {}

    # -- reading ---------------------------------------------------------------------------------

    def empty_since(self, queue: str) -> datetime | None:
        """Since when `queue` has had no available member; None when staffed or never seen."""
        return self._empty_since.get(queue)

    def empty_queues(self) -> dict[str, datetime]:
        """Every known queue without an available member -> since when (the SilenceWatch probe)."""
        return dict(self._empty_since)

    def available(self, queue: str) -> list[str]:
        """The interfaces of `queue` that could take a call now."""
        return sorted(i for i, m in self._members.get(queue, {}).items() if _is_available(*m))

    def queues(self) -> list[str]:
        return sorted(self._members)

    # -- feeding ---------------------------------------------------------------------------------

    def event(self, name: str, header: Header, at: datetime) -> None:
        """One member event (`header` reads its fields); other event names are ignored."""
        if name not in MEMBER_EVENTS:
            return
        queue = header("Queue")
        interface = header("Interface") or header("StateInterface") or header("MemberName")
        if not queue or not interface:
            return
        members = self._members.setdefault(queue, {})
        if name == "QueueMemberRemoved":
            members.pop(interface, None)
        else:
            old_status, old_paused = members.get(interface, (0, False))
            status_text, paused_text = header("Status"), header("Paused")
            members[interface] = (old_status if status_text is None and name == "QueueMemberPause"
                                  else _status(status_text),
                                  old_paused if paused_text is None else _paused(paused_text))
        self._settle(queue, at)

    def seed(self, items: Iterable[Mapping[str, str]], at: datetime) -> None:
        """A QueueStatus reply (QueueParams / QueueMember items) replaces what we knew. A queue that was
        already empty and still is keeps its earlier time; queues absent from the reply are forgotten."""
        members: dict[str, dict[str, tuple[int, bool]]] = {}
        for item in items:
            queue = item.get("Queue")
            if not queue:
                continue
            kind = item.get("Event")
            if kind == "QueueParams":
                members.setdefault(queue, {})
            elif kind == "QueueMember":
                interface = item.get("Location") or item.get("StateInterface") or item.get("Name")
                if interface:
                    members.setdefault(queue, {})[interface] = (_status(item.get("Status")),
                                                                _paused(item.get("Paused")))
        self._members = members
        for queue in list(self._empty_since):
            if queue not in members:
                del self._empty_since[queue]
        for queue in members:
            self._settle(queue, at)

    def _settle(self, queue: str, at: datetime) -> None:
        if any(_is_available(s, p) for s, p in self._members.get(queue, {}).values()):
            self._empty_since.pop(queue, None)
        else:
            self._empty_since.setdefault(queue, at)


def _is_available(status: int, paused: bool) -> bool:
    return not paused and status in AVAILABLE_STATUSES
