"""The call model: events fold into calls; outcomes follow the desk's definitions."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hotline.domain.calls import (
    AttemptResult,
    CallEvent,
    Direction,
    EventKind,
    Outcome,
    Party,
    Transfer,
    apply,
    start,
)

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def ev(kind: EventKind, s: float, **kw: object) -> CallEvent:
    return CallEvent("c1", kind, T0 + timedelta(seconds=s), **kw)  # type: ignore[arg-type]


def run(*events: CallEvent):  # type: ignore[no-untyped-def]
    call = start(ev(EventKind.STARTED, 0, direction=Direction.INBOUND, caller="138", called="400"))
    for e in events:
        apply(call, e)
    return call


def test_answered_call_wait_and_talk() -> None:
    call = run(ev(EventKind.QUEUE, 5, queue="network"), ev(EventKind.ANSWERED, 8, answered_by="agent1"),
               ev(EventKind.HANGUP_REQUEST, 20, party=Party.CALLER), ev(EventKind.TALK_ENDED, 20.1,
               party=Party.CALLER), ev(EventKind.ENDED, 21))
    assert call.outcome is Outcome.ANSWERED
    assert call.wait_seconds == 3.0
    assert call.talk_seconds == 12.1
    assert call.hung_up_by is Party.CALLER


def test_in_progress_call_has_no_outcome() -> None:
    call = run(ev(EventKind.QUEUE, 5, queue="network"))
    assert call.outcome is None


def test_abandon_wait_runs_to_the_callers_hangup() -> None:
    call = run(ev(EventKind.QUEUE, 5, queue="network"), ev(EventKind.HANGUP_REQUEST, 11.5, party=Party.CALLER),
               ev(EventKind.ATTEMPT_ENDED, 11.6, result=AttemptResult.ABANDONED), ev(EventKind.ENDED, 11.7))
    assert call.outcome is Outcome.ABANDONED
    assert call.wait_seconds == 6.5


def test_ivr_hangup_is_not_offered() -> None:
    call = run(ev(EventKind.HANGUP_REQUEST, 2, party=Party.CALLER), ev(EventKind.ENDED, 2.1))
    assert call.outcome is Outcome.IVR_ABANDONED
    assert call.wait_seconds is None


def test_overflow_to_a_second_queue_is_one_call_and_new_attempt_clears_the_old_result() -> None:
    call = run(ev(EventKind.QUEUE, 5, queue="network"), ev(EventKind.ATTEMPT_ENDED, 20, result=AttemptResult.TIMEOUT),
               ev(EventKind.QUEUE, 21, queue="servers"), ev(EventKind.ANSWERED, 25, answered_by="agent3"),
               ev(EventKind.ENDED, 40))
    assert call.outcome is Outcome.ANSWERED
    assert call.queue == "servers" and call.queues == ["network", "servers"]
    assert call.wait_seconds == 20.0


def test_earliest_hangup_request_decides_even_out_of_order() -> None:
    call = run(ev(EventKind.HANGUP_REQUEST, 10.0002, party=Party.SYSTEM),
               ev(EventKind.HANGUP_REQUEST, 10.0001, party=Party.CALLER), ev(EventKind.ENDED, 10.1))
    assert call.hung_up_by is Party.CALLER


def test_duplicate_events_change_nothing() -> None:
    events = [ev(EventKind.QUEUE, 5, queue="network"), ev(EventKind.ANSWERED, 8, answered_by="agent1"),
              ev(EventKind.ENDED, 21)]
    once = run(*events).as_dict()
    twice = run(*events, *events).as_dict()
    assert once == twice


def test_busy_direct_dial() -> None:
    call = run(ev(EventKind.STAFF_REACHED, 0.1), ev(EventKind.ATTEMPT_ENDED, 0.102, result=AttemptResult.BUSY),
               ev(EventKind.HANGUP_REQUEST, 0.104, party=Party.CALLER), ev(EventKind.ENDED, 0.105))
    assert call.outcome is Outcome.BUSY


def test_two_transfers_stay_one_call_with_three_legs() -> None:
    """First line (8001) sends the caller to the servers queue through the menu's extension, 8101 answers
    there and hands the caller to 8200 after consulting; the caller hangs up."""
    call = run(ev(EventKind.MENU, 4, menu="1", specialty="network"), ev(EventKind.QUEUE, 4.3, queue="network"),
               ev(EventKind.ANSWERED, 7, answered_by="8001", queue="network"),
               ev(EventKind.TRANSFERRED, 30, transfer=Transfer.BLIND),
               ev(EventKind.MENU, 30.1, specialty="servers"),  # HOTLINE_QUEUE set again by the queue's extension
               ev(EventKind.QUEUE, 30.2, queue="servers", specialty="servers"),
               ev(EventKind.ATTEMPT_ENDED, 30.3, result=AttemptResult.ABANDONED),  # the agent's leg, not a miss
               ev(EventKind.ANSWERED, 40, answered_by="8101", queue="servers"),
               ev(EventKind.HANGUP_REQUEST, 70, party=Party.AGENT),  # 8101 hangs up: the attended transfer
               ev(EventKind.TRANSFERRED, 70.01, transfer=Transfer.ATTENDED, answered_by="8200"),
               ev(EventKind.HANGUP_REQUEST, 100, party=Party.CALLER),
               ev(EventKind.TALK_ENDED, 100.1, party=Party.CALLER), ev(EventKind.ENDED, 100.2))
    assert call.outcome is Outcome.ANSWERED
    assert (call.queue, call.specialty, call.answered_by) == ("network", "network", "8001")
    assert call.hung_up_by is Party.CALLER
    assert call.wait_seconds == 2.7
    assert call.talk_seconds == pytest.approx((30 - 7) + (70.01 - 40) + (100.1 - 70.01))  # to AgentComplete
    legs = call.as_dict()["legs"]
    assert [(leg["who"], leg["queue"], leg["transfer"]) for leg in legs] == [
        ("8001", "network", None), ("8101", "servers", "blind"), ("8200", None, "attended")]
    assert [leg["talk"] for leg in legs] == [23.0, 30.01, 30.09]
    assert call.queues == ["network", "servers"]


def test_a_transfer_before_an_answer_or_after_the_end_changes_nothing() -> None:
    missed = run(ev(EventKind.QUEUE, 5, queue="network"), ev(EventKind.TRANSFERRED, 6, transfer=Transfer.BLIND),
                 ev(EventKind.HANGUP_REQUEST, 9, party=Party.CALLER), ev(EventKind.ENDED, 9.1))
    assert missed.outcome is Outcome.ABANDONED and missed.legs == []
    done = run(ev(EventKind.ANSWERED, 5, answered_by="8001"), ev(EventKind.HANGUP_REQUEST, 9, party=Party.AGENT),
               ev(EventKind.ENDED, 9.1), ev(EventKind.TRANSFERRED, 9.2, transfer=Transfer.BLIND))
    assert done.hung_up_by is Party.AGENT and len(done.legs) == 1 and done.talk_seconds == 4.0


@pytest.mark.parametrize("member_done_at", [11.9, 12.05])  # the member's AgentComplete before / after the transfer
def test_the_transferring_members_end_does_not_end_the_colleagues_leg(member_done_at: float) -> None:
    """Seen on the real PBX under load: agent3 completes an attended transfer to agent2 at 12 s by hanging up,
    and its AgentComplete (reason "agent") arrives after the AttendedTransfer; agent2 hangs up at 14 s. The
    colleague's leg is 2 s, not 0."""
    events = [ev(EventKind.QUEUE, 1, queue="apps"), ev(EventKind.ANSWERED, 2, answered_by="agent3", queue="apps"),
              ev(EventKind.TRANSFERRED, 12, transfer=Transfer.ATTENDED, answered_by="agent2"),
              ev(EventKind.HANGUP_REQUEST, 14, party=Party.AGENT), ev(EventKind.ENDED, 14.1)]
    member_done = ev(EventKind.TALK_ENDED, member_done_at, party=Party.AGENT, answered_by="agent3")
    call = run(*sorted([*events, member_done], key=lambda e: e.at))
    legs = call.as_dict()["legs"]
    assert [(leg["who"], leg["talk"]) for leg in legs] == [("agent3", 10.0), ("agent2", 2.0)]
    assert call.talk_seconds == pytest.approx(12.0) and call.hung_up_by is Party.AGENT
