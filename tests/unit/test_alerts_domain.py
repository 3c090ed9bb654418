"""The alert state machine on plain times: escalation positions, skips, acks, breach, clearing."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hotline.domain import alerts as m
from hotline.domain.alerts import AlertKind, AlertState, BreachDue, StepDue
from hotline.domain.calls import Call, Direction
from hotline.domain.rules import Chain, Step

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 23, 13, 48, 35, tzinfo=TZ)
MIN = timedelta(minutes=1)
CHAIN = Chain(deadline=15 * MIN, ack_timeout=10 * MIN,
              steps=(Step(0 * MIN, "first_line"), Step(5 * MIN, "second_line"), Step(10 * MIN, "manager")))


def new() -> m.Alert:
    return m.open_alert("a1", AlertKind.MISSED_CALL, T0, "onsite", CHAIN, caller="13800138002")


def run(alert: m.Alert, until: datetime, empty: frozenset[str] = frozenset()) -> list[tuple[str, timedelta]]:
    """Fire everything due up to `until` as the service would; (what, offset from T0) per action."""
    fired: list[tuple[str, timedelta]] = []
    while (a := m.next_action(alert, CHAIN, until)) is not None:
        if isinstance(a, BreachDue):
            m.breached(alert, a.due_at)
            fired.append(("breach", a.due_at - T0))
        elif a.step.tier in empty:
            m.step_skipped(alert, CHAIN, a)
            fired.append((f"skip {a.step.tier}", a.due_at - T0))
        else:
            m.step_paged(alert, CHAIN, a)
            fired.append((a.step.tier, a.due_at - T0))
    return fired


def test_first_line_at_once_then_5_and_10_minutes_and_breach_at_15() -> None:
    alert = new()
    assert m.next_due(alert) == T0
    assert run(alert, T0) == [("first_line", timedelta(0))]
    assert m.next_due(alert) == T0 + 5 * MIN
    assert run(alert, T0 + 4 * MIN) == []
    assert run(alert, T0 + 5 * MIN) == [("second_line", 5 * MIN)]
    assert run(alert, T0 + 10 * MIN) == [("manager", 10 * MIN)]
    assert m.next_due(alert) == T0 + 15 * MIN
    assert run(alert, T0 + 15 * MIN) == [("breach", 15 * MIN)]
    assert alert.breached_at == T0 + 15 * MIN and alert.active
    assert m.next_due(alert) is None


def test_late_steps_fire_at_once_and_once_each_in_due_order() -> None:
    alert = new()
    run(alert, T0)
    assert run(alert, T0 + 16 * MIN) == [("second_line", 5 * MIN), ("manager", 10 * MIN), ("breach", 15 * MIN)]
    assert run(alert, T0 + 30 * MIN) == []


def test_restart_at_minute_7_keeps_the_10_minute_step_on_time() -> None:
    alert = new()
    run(alert, T0)
    assert run(alert, T0 + 7 * MIN) == [("second_line", 5 * MIN)]
    assert m.next_due(alert) == T0 + 10 * MIN


def test_empty_tier_is_skipped_at_once_and_the_next_tier_paged_then() -> None:
    alert = new()
    run(alert, T0)
    assert run(alert, T0 + 5 * MIN, empty=frozenset({"second_line"})) == [
        ("skip second_line", 5 * MIN), ("manager", 5 * MIN)]
    assert m.next_due(alert) == T0 + 15 * MIN  # the deadline does not move


def test_ack_holds_escalation_but_not_the_deadline() -> None:
    alert = new()
    run(alert, T0)
    m.acknowledge(alert, CHAIN, "张伟", T0 + 2 * MIN)
    assert alert.state is AlertState.ACKED and alert.ack_until == T0 + 12 * MIN
    assert run(alert, T0 + 11 * MIN) == []
    assert run(alert, T0 + 15 * MIN) == [("second_line", 12 * MIN), ("breach", 15 * MIN)]
    # the next tier keeps its 5-minute distance from the held step
    assert m.next_due(alert) == T0 + 17 * MIN


def test_repeat_pages_the_same_tier_until_the_next_step() -> None:
    chain = Chain(deadline=30 * MIN, steps=(Step(0 * MIN, "manager", repeat=5, every=10 * MIN),))
    alert = m.open_alert("i1", AlertKind.INCIDENT, T0, "onsite", chain)
    times = []
    while (a := m.next_action(alert, chain, T0 + 60 * MIN)) is not None:
        if isinstance(a, StepDue):
            times.append((a.key, a.due_at - T0))
            m.step_paged(alert, chain, a)
        else:
            m.breached(alert, a.due_at)
    assert times[:3] == [("s0r0", 0 * MIN), ("s0r1", 10 * MIN), ("s0r2", 20 * MIN)]
    assert len(times) == 6


def test_clear_and_resolve_close_and_cannot_be_repeated() -> None:
    alert = new()
    m.clear(alert, T0 + 3 * MIN, "callback:x")
    assert alert.returned_within == 3 * MIN and m.next_due(alert) is None
    with pytest.raises(m.AlertClosed):
        m.acknowledge(alert, CHAIN, "x", T0 + 4 * MIN)
    other = new()
    with pytest.raises(ValueError):
        m.resolve(other, "张伟", "  ", T0)
    m.resolve(other, "张伟", "打错了 wrong number", T0)
    assert other.state is AlertState.RESOLVED and other.returned_within is None


def test_join_counts_calls_without_moving_the_deadline() -> None:
    alert = new()
    m.join(alert, T0 + 2 * MIN)
    assert alert.missed_calls == 2 and alert.deadline_at == T0 + 15 * MIN


def _call(direction: Direction, caller: str, called: str, answered: bool, at: datetime) -> Call:
    return Call("c", "asterisk", direction, at, caller=caller, called=called, answered_at=at if answered else None,
                staff_reached_at=at, ended_at=at + MIN)


def test_callback_and_answered_repeat_reach_the_caller() -> None:
    alert = new()
    later = T0 + MIN
    assert m.reaches(_call(Direction.OUTBOUND, "8001", "13800138002", True, later), alert) == "callback"
    assert m.reaches(_call(Direction.OUTBOUND, "8001", "9 138-0013-8002", True, later), alert, ("9",)) == "callback"
    assert m.reaches(_call(Direction.INBOUND, "+8613800138002", "4008001234", True, later), alert) == "repeat"
    assert m.reaches(_call(Direction.OUTBOUND, "8001", "13800138002", False, later), alert) is None
    assert m.reaches(_call(Direction.OUTBOUND, "8001", "13900000000", True, later), alert) is None
    assert m.reaches(_call(Direction.OUTBOUND, "8001", "13800138002", True, T0 - MIN), alert) is None


def test_normalize_number() -> None:
    assert m.normalize_number("+86 138-0013-8002") == "13800138002"
    assert m.normalize_number("008613800138002") == "13800138002"
    assert m.normalize_number("013800138002", ("0",)) == "13800138002"
    assert m.normalize_number("8001") == "8001"
    assert m.normalize_number("") is None


def test_e164_numbers_match_the_national_numbers_the_pbx_reports() -> None:
    """Twilio gives E.164 (+86...); AMI gives national numbers: a landline keeps its trunk 0 at home."""
    assert m.normalize_number("+8613800138002") == m.normalize_number("13800138002") == "13800138002"
    assert m.normalize_number("+861088886666") == m.normalize_number("010-8888-6666") == "01088886666"
    assert m.normalize_number("+862188886666") == "02188886666"  # Shanghai
    assert m.normalize_number("+867558888888") == "07558888888"  # Shenzhen, 3-digit area code
    assert m.normalize_number("+8657487654321") == "057487654321"  # Ningbo, 3-digit area code, 8 digits
    assert m.normalize_number("0086 10 8888 6666") == "01088886666"
    assert m.normalize_number("+864008001234") == "4008001234"  # 400 and 800 numbers: no trunk 0
    assert m.normalize_number("+868008101234") == "8008101234"
    assert m.normalize_number("+8695588") == "95588"  # short service number
    assert m.normalize_number("+14155550100") == "14155550100"  # other countries: digits as they are


def test_e164_callback_to_a_landline_clears_its_alert() -> None:
    alert = m.open_alert("a1", AlertKind.MISSED_CALL, T0, "onsite", CHAIN, caller="01088886666")
    later = T0 + MIN
    assert m.reaches(_call(Direction.OUTBOUND, "+8613800000001", "+861088886666", True, later), alert) == "callback"
    assert m.reaches(_call(Direction.OUTBOUND, "+8613800000001", "+861088886667", True, later), alert) is None
