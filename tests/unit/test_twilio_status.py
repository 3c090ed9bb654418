"""Recorded Twilio sessions -> ledger rows, through the same tracker and ledger the live service uses."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hotline.domain.calls import EventKind
from hotline.providers.twilio.session import is_session, read_session
from hotline.providers.twilio.status import TwilioTracker
from hotline.providers.twilio.webhook import Webhook, WebhookFormatError
from hotline.services.calls.ledger import Ledger
from hotline.services.calls.twilio_calls import replay_session

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "twilio"
TZ = ZoneInfo("Asia/Shanghai")
CALLER, HOTLINE = "+8613912345678", "+864008001234"

# Expected ledger rows, worked out by hand from each session's requests. Times are on hotline's clock: a
# status callback is dated by its Timestamp plus the least (arrival - Timestamp) seen (0.2 s here), e.g.
# answered_by_staff: staff reached 22:15:09.4 (gather), answered 22:15:16 + 0.2, talk until the Dial
# action at 22:16:51.3: wait 6.8 s, talk 95.1 s (the retried session's in-progress arrived 95 s late).
EXPECTED: dict[str, dict[str, Any]] = {
    "answered_by_staff": {"outcome": "answered", "answered_by": "李四", "specialty": "network", "menu": "1",
                          "queue": None, "hung_up_by": "agent", "wait_seconds": 6.8, "talk_seconds": 95.1,
                          "direction": "inbound", "caller": CALLER, "called": HOTLINE},
    "retried_status_callback": {"outcome": "answered", "answered_by": "李四", "specialty": "network",
                                "wait_seconds": 6.8, "talk_seconds": 95.1},
    "caller_hangs_up_waiting": {"outcome": "abandoned", "queue": "servers", "specialty": "servers", "menu": "2",
                                "hung_up_by": "caller", "wait_seconds": 42.0, "talk_seconds": None,
                                "answered_by": None},
    "no_answer_timeout": {"outcome": "timeout", "specialty": "applications", "menu": "3", "wait_seconds": 40.0,
                          "answered_by": None, "hung_up_by": "caller"},
    "busy": {"outcome": "busy", "specialty": "applications", "wait_seconds": 1.0},
    "ivr_hangup": {"outcome": "ivr_abandoned", "specialty": None, "wait_seconds": None, "hung_up_by": "caller"},
    "outbound_callback": {"outcome": "answered", "direction": "outbound", "caller": "+8613800000001",
                          "caller_name": "张三", "called": CALLER, "answered_by": CALLER, "wait_seconds": 14.2,
                          "talk_seconds": 60.0},
}


def replayed(name: str) -> dict[str, Any]:
    calls = replay_session(read_session(FIXTURES / f"{name}.jsonl"), Ledger(None))
    assert len(calls) == 1, [c.call_id for c in calls]
    row = calls[0].as_dict()
    assert row["provider"] == "twilio" and row["ended_at"] is not None
    return row


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_session_gives_the_right_ledger_row(name: str) -> None:
    row = replayed(name)
    for key, want in EXPECTED[name].items():
        got = row[key]
        if isinstance(want, float):
            assert got == pytest.approx(want, abs=0.01), key
        else:
            assert got == want, key


def test_every_fixture_has_an_expectation() -> None:
    assert {p.stem for p in FIXTURES.glob("*.jsonl")} == set(EXPECTED)
    assert all(is_session(p) for p in FIXTURES.glob("*.jsonl"))


def hooks(name: str) -> list[Webhook]:
    return list(read_session(FIXTURES / f"{name}.jsonl"))


def test_duplicates_and_retries_change_nothing() -> None:
    once = hooks("answered_by_staff")
    tracker = TwilioTracker()
    events = [e for h in once for e in tracker.feed(h)]
    again = TwilioTracker()
    twice = [e for h in [x for h in once for x in (h, h)] for e in again.feed(h)]
    assert twice == events
    assert again.stats["duplicates"] == len(once)
    assert [e.kind for e in events].count(EventKind.ENDED) == 1


def test_status_callbacks_are_put_in_sequence_order() -> None:
    session = hooks("answered_by_staff")
    legs = [h for h in session if h.params.get("ParentCallSid")]
    rest = [h for h in session if not h.params.get("ParentCallSid")]
    shuffled = rest[:2] + list(reversed(legs)) + rest[2:]  # every staff-leg callback arrives backwards
    assert replay_session(shuffled, Ledger(None))[0].as_dict()["answered_by"] == "李四"
    tracker = TwilioTracker()
    for h in shuffled:
        tracker.feed(h)
    assert tracker.stats["reordered"] > 0


def test_end_is_held_until_the_attempt_result_arrives() -> None:
    session = hooks("caller_hangs_up_waiting")
    final, action = session[-1], session[-2]
    assert final.route == "status" and action.route == "queue"
    tracker = TwilioTracker()
    events = [e for h in [*session[:-2], final] for e in tracker.feed(h)]
    assert EventKind.ENDED not in [e.kind for e in events]  # the Enqueue action is still to come
    late = tracker.feed(action)
    assert [e.kind for e in late][-1] is EventKind.ENDED
    assert EventKind.ATTEMPT_ENDED in [e.kind for e in late]


def test_a_missing_action_is_given_up_after_the_hold() -> None:
    session = hooks("caller_hangs_up_waiting")
    tracker = TwilioTracker(hold=timedelta(seconds=30))
    for h in [*session[:-2], session[-1]]:
        tracker.feed(h)
    at = session[-1].at
    assert tracker.tick(at + timedelta(seconds=10)) == []
    assert [e.kind for e in tracker.tick(at + timedelta(seconds=31))] == [EventKind.ENDED]


def test_late_request_after_end_fixes_up_without_a_second_call() -> None:
    session = hooks("ivr_hangup")
    tracker = TwilioTracker()
    for h in session:
        tracker.feed(h)
    late = replace(session[0], at=session[0].at + timedelta(seconds=1), query={"node": "x"})
    kinds = [e.kind for e in tracker.feed(late)]
    assert EventKind.STARTED not in kinds and EventKind.ENDED not in kinds


def test_bad_session_lines_say_where(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text('{"at": "2024-05-06T10:00:00+08:00", "route": "voice", "params": {"CallSid": "CA1"}}\n'
                    '{"at": "2024-05-06T10:00:00", "route": "voice", "params": {"CallSid": "CA1"}}\n',
                    encoding="utf-8")
    with pytest.raises(WebhookFormatError, match=r"s.jsonl:2: 'at' 需要时区偏移 / 'at' needs a timezone"):
        list(read_session(path))


def test_raw_rows_replay_back_to_the_same_request() -> None:
    hook = hooks("busy")[1]
    row = hook.raw_row()
    assert row["provider"] == "twilio" and row["call_id"] == hook.call_sid and len(str(row["digest"])) == 40
    raw = row["raw"]
    assert isinstance(raw, bytes) and raw.decode() == hook.line()
    assert datetime.fromisoformat(hook.as_json()["at"]).tzinfo is not None
