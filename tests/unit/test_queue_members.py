"""Queue-member availability: events and the QueueStatus snapshot decide since when a queue is empty."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hotline.providers.asterisk.protocol import PacketParser, RawEvent
from hotline.providers.asterisk.queue_members import QueueMembers

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
MIN = timedelta(minutes=1)


def member(m: QueueMembers, name: str, queue: str, agent: str, at: datetime, **fields: str) -> None:
    headers = {"Queue": queue, "MemberName": agent, "Interface": f"Local/{agent}@agents/n", **fields}
    m.event(name, headers.get, at)


def staffed(m: QueueMembers, queue: str = "apps", at: datetime = T0) -> None:
    member(m, "QueueMemberAdded", queue, "agent3", at, Status="1", Paused="0")
    member(m, "QueueMemberAdded", queue, "agent4", at, Status="1", Paused="0")


def test_unknown_queue_is_not_empty() -> None:
    assert QueueMembers().empty_since("apps") is None


@pytest.mark.parametrize("status", ["1", "2", "3", "6", "7", "8"])
def test_reachable_statuses_staff_the_queue(status: str) -> None:
    m = QueueMembers()
    member(m, "QueueMemberStatus", "apps", "agent3", T0, Status=status, Paused="0", InCall="1")
    assert m.empty_since("apps") is None  # a busy or ringing agent is still staffed


@pytest.mark.parametrize("status", ["0", "4", "5", ""])
def test_unreachable_statuses_leave_it_empty(status: str) -> None:
    m = QueueMembers()
    member(m, "QueueMemberStatus", "apps", "agent3", T0, Status=status, Paused="0")
    assert m.empty_since("apps") == T0


def test_empty_since_the_last_member_went_and_staffed_again() -> None:
    m = QueueMembers()
    staffed(m)
    member(m, "QueueMemberStatus", "apps", "agent3", T0 + MIN, Status="5", Paused="0")
    assert m.empty_since("apps") is None  # agent4 still there
    member(m, "QueueMemberPause", "apps", "agent4", T0 + 2 * MIN, Paused="1")  # no Status: kept
    assert m.empty_since("apps") == T0 + 2 * MIN
    member(m, "QueueMemberStatus", "apps", "agent3", T0 + 3 * MIN, Status="5", Paused="0")
    assert m.empty_since("apps") == T0 + 2 * MIN  # still empty: the first time stays
    member(m, "QueueMemberPause", "apps", "agent4", T0 + 4 * MIN, Paused="0")
    assert m.empty_since("apps") is None
    assert m.available("apps") == ["Local/agent4@agents/n"]
    assert m.empty_queues() == {}


def test_removing_the_last_member_empties_the_queue_others_untouched() -> None:
    m = QueueMembers()
    staffed(m)
    staffed(m, "network")
    member(m, "QueueMemberRemoved", "apps", "agent3", T0 + MIN)
    member(m, "QueueMemberRemoved", "apps", "agent4", T0 + 2 * MIN)
    assert m.empty_queues() == {"apps": T0 + 2 * MIN}


def test_other_events_and_incomplete_ones_are_ignored() -> None:
    m = QueueMembers()
    m.event("QueueCallerJoin", {"Queue": "apps"}.get, T0)
    m.event("QueueMemberStatus", {"Queue": "apps"}.get, T0)  # no interface
    assert m.queues() == []


def snapshot(*members: tuple[str, str, str, str], queues: tuple[str, ...] = ()) -> list[dict[str, str]]:
    items = [{"Event": "QueueParams", "Queue": q} for q in queues]
    items += [{"Event": "QueueMember", "Queue": q, "Name": a, "Location": f"Local/{a}@agents/n",
               "Status": s, "Paused": p} for q, a, s, p in members]
    return items


def test_snapshot_seeds_and_replaces() -> None:
    m = QueueMembers()
    m.seed(snapshot(("apps", "agent3", "5", "0"), ("network", "agent1", "1", "0"), queues=("apps", "network", "db")),
           T0)
    assert m.empty_queues() == {"apps": T0, "db": T0}  # db: a queue with no member at all
    # reconnect: apps still empty (keeps its time), network emptied while we were away, db gone
    m.seed(snapshot(("apps", "agent3", "5", "0"), ("network", "agent1", "1", "1"), queues=("apps", "network")),
           T0 + 5 * MIN)
    assert m.empty_queues() == {"apps": T0, "network": T0 + 5 * MIN}
    m.seed(snapshot(("apps", "agent3", "2", "0"), ("network", "agent1", "1", "0")), T0 + 6 * MIN)
    assert m.empty_queues() == {}


def test_reads_raw_only_events_from_their_bytes() -> None:
    """QueueMemberStatus stays raw-only in the parser; its fields are read with RawEvent.header."""
    parser = PacketParser(expect_banner=False, raw_only={"QueueMemberStatus": ()})
    data = (b"Event: QueueMemberStatus\r\nPrivilege: agent,all\r\nQueue: apps\r\nMemberName: agent3\r\n"
            b"Interface: Local/agent3@agents/n\r\nInCall: 0\r\nStatus: 5\r\nPaused: 0\r\nPausedReason: \r\n\r\n")
    [event] = parser.feed(data)
    assert isinstance(event, RawEvent)
    m = QueueMembers()
    m.event(event["Event"], lambda key: event.header(key.encode()), T0)
    assert m.empty_since("apps") == T0
