"""The no-answer monitor on a manual clock against SQLite and PostgreSQL: alerts, escalation from
the roster (across a shift change), breach, clearing by callback or repeat call, acknowledgement,
after-hours and holiday deadlines, empty tiers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from textwrap import dedent

import pytest

from hotline.domain.alerts import AlertState
from hotline.domain.calls import CallEvent, Direction, EventKind, Outcome, Party
from hotline.services.calls.ledger import Ledger
from hotline.services.monitor.engine import EventLine
from hotline.services.monitor.rule_files import load_rules
from hotline.services.monitor.virtual_run import advance
from tests.integration.monitor_fakes import (
    CHEN,
    LI,
    MIN,
    T0,
    TZ,
    WANG,
    ZHANG,
    FakeRoster,
    RecordingSender,
    Rig,
    answered,
    day_roster,
    missed,
    rig,
)

CALLER = "13800138002"


@pytest.fixture
def r(db_url: str) -> Iterator[Rig]:
    rig_ = rig(db_url)
    yield rig_
    rig_.dispose()


def pages(events: list[EventLine]) -> list[tuple[timedelta, str | None, str | None]]:
    return [(e.at - T0, e.tier, e.person) for e in events if e.type == "page"]


def types(events: list[EventLine]) -> list[str]:
    return [e.type for e in events]


async def test_missed_call_pages_first_line_at_once(r: Rig) -> None:
    r.monitor.on_call(missed(CALLER, T0))
    events = r.monitor.events()
    assert types(events) == ["alert", "page"]
    assert events[0].caller == CALLER and events[0].at == T0
    assert pages(events) == [(timedelta(0), "first_line", ZHANG.name)]
    sender = RecordingSender()
    delivered = await r.outbox.drain(sender)
    assert [d.status for d in delivered] == ["sent"]
    page, order = sender.sent[0]
    assert order == ("sms",) and page.caller == CALLER and page.ack_code
    assert CALLER in page.text and page.ack_code in page.text and "热线未接来电" in page.subject
    assert page.recipient.mobile == ZHANG.mobile and page.specialty == "network"


async def test_escalation_follows_the_roster_across_a_shift_change_and_breaches_at_15(r: Rig) -> None:
    # second line: 李娜 until minute 7, 王强 after; a manager override at minute 8 is not needed here
    r.monitor.on_call(missed(CALLER, T0))
    await advance(r.monitor, r.clock, T0 + 20 * MIN)
    events = r.monitor.events()
    assert pages(events) == [
        (timedelta(0), "first_line", ZHANG.name),
        (5 * MIN, "second_line", LI.name),
        (10 * MIN, "manager", CHEN.name),
    ]  # the breach is recorded, not paged (the shipped rule: breach.notify is empty)
    breach = [e for e in events if e.type == "breach"]
    assert [(e.at - T0) for e in breach] == [15 * MIN]
    assert r.monitor.alerts("breached")[0].breached_at == T0 + 15 * MIN


async def test_shift_change_before_the_step_pages_the_new_person(db_url: str) -> None:
    roster = day_roster()
    r = rig(db_url, roster)
    try:
        r.monitor.on_call(missed(CALLER, T0 + 3 * MIN))  # second line due at minute 8: after the change
        await advance(r.monitor, r.clock, T0 + 14 * MIN)
        assert pages(r.monitor.events())[:2] == [(3 * MIN, "first_line", ZHANG.name),
                                                 (8 * MIN, "second_line", WANG.name)]
    finally:
        r.dispose()


async def test_callback_clears_before_breach_and_nothing_more_is_paged(r: Rig) -> None:
    r.monitor.on_call(missed(CALLER, T0))
    await advance(r.monitor, r.clock, T0 + 6 * MIN)
    r.clock.set(T0 + 8 * MIN)
    r.monitor.on_call(answered("8001", CALLER, T0 + 7 * MIN, Direction.OUTBOUND))
    await advance(r.monitor, r.clock, T0 + 30 * MIN)
    events = r.monitor.events()
    assert types(events) == ["alert", "page", "page", "clear"]
    clear = events[-1]
    assert clear.at == T0 + 7 * MIN and clear.person == "8001" and "callback" in (clear.detail or "")
    alert = r.monitor.alert(events[0].alert_id)
    assert alert.state is AlertState.CLEARED and alert.breached_at is None
    assert alert.returned_within == 7 * MIN
    assert r.monitor.next_due() is None


async def test_answered_repeat_call_clears_and_unsent_pages_are_cancelled(r: Rig) -> None:
    r.monitor.on_call(missed(CALLER, T0))
    r.monitor.on_call(answered(CALLER, "4008001234", T0 + 2 * MIN, Direction.INBOUND))
    sender = RecordingSender()
    await advance(r.monitor, r.clock, T0 + 20 * MIN, r.outbox, sender)
    assert types(r.monitor.events()) == ["alert", "page", "clear"]
    assert sender.sent == []  # the first-line page was still in the outbox: cancelled


async def test_ack_stops_escalation_but_the_breach_still_counts(r: Rig) -> None:
    r.monitor.on_call(missed(CALLER, T0))
    alert_id = r.monitor.events()[0].alert_id
    r.clock.set(T0 + 2 * MIN)
    r.monitor.acknowledge(alert_id, ZHANG.name, via="link")
    await advance(r.monitor, r.clock, T0 + 11 * MIN + 59 * timedelta(seconds=1))
    assert types(r.monitor.events()) == ["alert", "page", "ack"]  # no second line at 5, no manager at 10
    await advance(r.monitor, r.clock, T0 + 15 * MIN)
    events = r.monitor.events()
    assert [e.at - T0 for e in events if e.type == "breach"] == [15 * MIN]
    alert = r.monitor.alert(alert_id)
    assert alert.state is AlertState.ACKED and alert.breached_at == T0 + 15 * MIN
    ack = events[2]
    assert (ack.type, ack.person, ack.channel, ack.at) == ("ack", ZHANG.name, "link", T0 + 2 * MIN)


async def test_ack_timeout_resumes_escalation(r: Rig) -> None:
    r.monitor.on_call(missed(CALLER, T0))
    alert_id = r.monitor.events()[0].alert_id
    r.clock.set(T0 + 2 * MIN)
    r.monitor.acknowledge(alert_id, ZHANG.name)
    await advance(r.monitor, r.clock, T0 + 20 * MIN)
    assert pages(r.monitor.events()) == [
        (timedelta(0), "first_line", ZHANG.name),
        (12 * MIN, "second_line", WANG.name),  # ack at 2 + 10 min timeout; 王强 took over at minute 7
        (17 * MIN, "manager", CHEN.name),  # the manager step, 5 minutes after the held step
    ]


@pytest.mark.parametrize(("when", "holidays", "window", "deadline"), [
    (datetime(2026, 11, 23, 20, 15, tzinfo=TZ), set(), "remote", 30),
    (datetime(2026, 11, 28, 10, 0, tzinfo=TZ), set(), "remote", 30),  # Saturday
    (datetime(2026, 10, 1, 10, 0, tzinfo=TZ), {date(2026, 10, 1)}, "holiday", 30),  # National Day
    (datetime(2026, 11, 23, 9, 0, tzinfo=TZ), set(), "onsite", 15),
])
async def test_after_hours_and_holiday_deadlines(db_url: str, when: datetime, holidays: set[date], window: str,
                                                 deadline: int) -> None:
    far = timedelta(days=400)
    roster = FakeRoster(holidays=holidays).add("first_line", ZHANG, when - far, when + far) \
        .add("second_line", LI, when - far, when + far).add("manager", CHEN, when - far, when + far)
    r = rig(db_url, roster, start=when)
    try:
        r.monitor.on_call(missed(CALLER, when))
        alert = r.monitor.alerts("open")[0]
        assert alert.window == window and alert.deadline_at == when + deadline * MIN
        await advance(r.monitor, r.clock, when + 40 * MIN)
        breach = [e for e in r.monitor.events() if e.type == "breach"]
        assert [e.at - when for e in breach] == [deadline * MIN]
    finally:
        r.dispose()


async def test_repeat_missed_calls_join_the_open_alert(r: Rig) -> None:
    r.monitor.on_call(missed(CALLER, T0, "m1"))
    r.clock.set(T0 + 2 * MIN)
    r.monitor.on_call(missed("+86 138 0013 8002", T0 + 2 * MIN, "m2"))
    r.monitor.on_call(missed("13900000000", T0 + 2 * MIN, "m3"))
    open_ = r.monitor.alerts("open")
    assert sorted(a.missed_calls for a in open_) == [1, 2]
    assert types(r.monitor.events()) == ["alert", "page", "join", "alert", "page"]


async def test_empty_tier_is_skipped_at_once_and_the_manager_told(db_url: str) -> None:
    roster = day_roster()
    roster.shifts = [s for s in roster.shifts if s[0] != "second_line"]
    r = rig(db_url, roster)
    try:
        r.monitor.on_call(missed(CALLER, T0))
        await advance(r.monitor, r.clock, T0 + 14 * MIN)
        events = r.monitor.events()
        assert [(e.type, e.at - T0, e.tier, e.person) for e in events if e.type != "alert"] == [
            ("page", timedelta(0), "first_line", ZHANG.name),
            ("skip", 5 * MIN, "second_line", None),
            ("hole", 5 * MIN, "manager", CHEN.name),
            ("page", 5 * MIN, "manager", CHEN.name),  # not waited out until minute 10
        ]
    finally:
        r.dispose()


async def test_resolve_by_hand_needs_a_reason_and_stops_pages(r: Rig) -> None:
    r.monitor.on_call(missed(CALLER, T0))
    alert_id = r.monitor.events()[0].alert_id
    with pytest.raises(ValueError):
        r.monitor.resolve(alert_id, ZHANG.name, "")
    r.monitor.resolve(alert_id, ZHANG.name, "客户已用手机联系 / reached on mobile")
    await advance(r.monitor, r.clock, T0 + 20 * MIN)
    assert types(r.monitor.events()) == ["alert", "page", "resolve"]


async def test_ack_by_code(r: Rig) -> None:
    r.monitor.on_call(missed(CALLER, T0))
    alert = r.monitor.alerts("open")[0]
    assert alert.ack_code is not None
    acked = r.monitor.acknowledge_code(alert.ack_code, LI.name, "sms")
    assert acked.acked_by == LI.name


async def test_breach_action_pages_the_tiers_it_names(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "no_answer.yaml").write_text(dedent("""\
        kind: no_answer
        steps:
          - {after: 0m, tier: first_line}
        deadlines: {onsite: 15m}
        breach:
          notify: [manager, second_line]
          channels: [voice]
    """), encoding="utf-8")
    r = rig(db_url)
    r.monitor.rules = load_rules(tmp_path)
    try:
        r.monitor.on_call(missed(CALLER, T0))
        await advance(r.monitor, r.clock, T0 + 16 * MIN)
        breach_pages = [(e.tier, e.person, e.channel) for e in r.monitor.events() if e.step == "breach"]
        assert breach_pages == [("manager", CHEN.name, "voice"), ("second_line", WANG.name, "voice")]
    finally:
        r.dispose()


async def test_a_callback_clears_when_it_is_answered_not_when_it_ends(r: Rig) -> None:
    # Staff call the customer back at minute 3; the customer picks up at minute 4 and they talk until
    # minute 16. The ledger tells the monitor at the answer: no second-line page at 5, no breach at 15.
    ledger = Ledger(r.monitor.factory)
    ledger.on_completed(r.monitor.on_call)
    ledger.on_answered(r.monitor.on_answered)
    r.monitor.on_call(missed(CALLER, T0))
    sender = RecordingSender()
    await advance(r.monitor, r.clock, T0 + 3 * MIN, r.outbox, sender)
    cb = "1795412999.7"
    ledger.apply([CallEvent(cb, EventKind.STARTED, T0 + 3 * MIN, direction=Direction.OUTBOUND, caller="8001",
                            called=CALLER),
                  CallEvent(cb, EventKind.STAFF_REACHED, T0 + 3 * MIN)])
    ledger.flush()
    assert [a.state for a in r.monitor.alerts("all")] == [AlertState.OPEN]  # ringing is not reaching the caller
    r.clock.set(T0 + 4 * MIN + timedelta(seconds=2))
    ledger.apply([CallEvent(cb, EventKind.ANSWERED, T0 + 4 * MIN, answered_by=CALLER)])
    ledger.flush()
    (alert,) = r.monitor.alerts("all")
    assert alert.state is AlertState.CLEARED and alert.cleared_at == T0 + 4 * MIN
    await advance(r.monitor, r.clock, T0 + 16 * MIN, r.outbox, sender)
    ledger.apply([CallEvent(cb, EventKind.HANGUP_REQUEST, T0 + 16 * MIN, party=Party.CUSTOMER),
                  CallEvent(cb, EventKind.ENDED, T0 + 16 * MIN)])
    (done,) = ledger.flush()
    assert done.outcome is Outcome.ANSWERED
    assert types(r.monitor.events()) == ["alert", "page", "clear"]
    assert [p.recipient.name for p, _ in sender.sent] == [ZHANG.name]  # first line only
    (alert,) = r.monitor.alerts("all")
    assert alert.breached_at is None and alert.returned_within == 4 * MIN


async def test_only_a_newly_opened_alert_wakes_the_engine(r: Rig) -> None:
    """The scheduler is woken for a missed call that opens an alert (its first pages leave at once), not
    for an answered call, nor for a repeat missed call that joins the open alert."""
    woken: list[datetime] = []
    r.monitor.due_listeners.append(woken.append)
    r.monitor.on_call(answered("13900139000", "4008001234", T0, Direction.INBOUND, call_id="a0"))
    assert woken == []
    r.monitor.on_call(missed(CALLER, T0))
    assert woken == [r.clock.now()]
    r.monitor.on_call(missed(CALLER, T0 + MIN, call_id="m2"))
    assert woken == [r.clock.now()]
