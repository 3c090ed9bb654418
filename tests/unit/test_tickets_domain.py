"""Tickets domain: which calls reach a caller, the readable number, the lifecycle and its timeline,
and SLA clocks counted in the 7x24 and 6x8 service windows (国庆 on the 6x8 window)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from hotline.domain.calls import AttemptResult, Call, Direction
from hotline.domain.sla import Calendar, ClockName, SlaPolicy, Window, new_clock, settle
from hotline.domain.tickets import (
    CallRole,
    Priority,
    Status,
    Ticket,
    TicketError,
    TicketTier,
    TicketType,
    reach_of,
    ticket_number,
)
from hotline.domain.windows import CalendarDay, DayKind, ServiceWindows, WorkingCalendar

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 3, 10, 0, tzinfo=TZ)


def call(caller: str | None, *, answered: bool, direction: Direction = Direction.INBOUND,
         called: str = "4008001234", by: str | None = "8001") -> Call:
    c = Call("c1", "asterisk", direction, T0, caller=caller, called=called, staff_reached_at=T0 + timedelta(seconds=5))
    if answered:
        c.answered_at, c.answered_by = T0 + timedelta(seconds=9), by
    else:
        c.attempt_result = AttemptResult.ABANDONED
    c.ended_at = T0 + timedelta(seconds=60)
    return c


def test_an_answered_inbound_call_reaches_its_caller_in_every_written_form() -> None:
    keys = set()
    for text in ("13800138000", "+8613800138000", "008613800138000", "8613800138000", "+86 138 0013 8000"):
        r = reach_of(call(text, answered=True))
        assert r is not None and r.role is CallRole.REACHED and r.staff == "8001"
        assert r.at == T0 + timedelta(seconds=9)
        keys.add((r.number.key, r.number.national))
    assert keys == {("+8613800138000", "13800138000")}


def test_a_landline_and_a_local_landline_are_one_caller() -> None:
    a = reach_of(call("010-62345678", answered=True))
    b = reach_of(call("62345678", answered=True), local_area_code="010")
    assert a is not None and b is not None and a.number.key == b.number.key == "+861062345678"


def test_an_answered_callback_reaches_the_called_number_and_names_who_called_back() -> None:
    r = reach_of(call("8001", answered=True, direction=Direction.OUTBOUND, called="9 13800138011", by="x"),
                 dial_prefixes=("9",))
    assert r is not None and r.number.national == "13800138011" and r.staff == "8001"


def test_missed_unanswered_callbacks_internal_and_unknown_calls() -> None:
    missed = reach_of(call("13800138002", answered=False))
    assert missed is not None and missed.role is CallRole.MISSED and missed.at == T0 + timedelta(seconds=60)
    assert reach_of(call("8001", answered=False, direction=Direction.OUTBOUND, called="13800138011")) is None
    assert reach_of(call("8002", answered=True, called="8001")) is None  # extension to extension
    assert reach_of(call(None, answered=True)) is None
    ringing = call("13800138002", answered=False)
    ringing.ended_at = None
    assert reach_of(ringing) is None  # still ringing: neither reached nor missed yet


def test_ticket_numbers_read_well_on_the_phone() -> None:
    assert ticket_number(date(2026, 12, 3), 7) == "GD20261203-0007"


def ticket() -> Ticket:
    return Ticket("GD20261203-0001", "+8613800138000", "13800138000", T0, T0 - timedelta(minutes=3))


def test_lifecycle_new_escalated_to_vendor_resolved_closed_reopened_with_a_timeline() -> None:
    t = ticket()
    t.assign("王芳", T0, "system")
    t.start_work(T0 + timedelta(minutes=5), "王芳")
    assert t.status is Status.IN_PROGRESS
    assert t.escalate("陈静", "需要二线排查交换机", T0 + timedelta(minutes=20), "王芳") is TicketTier.SECOND_LINE
    assert (t.status, t.assignee) == (Status.ESCALATED, "陈静")
    assert t.escalate("新华三售后", "硬件故障，需厂商更换", T0 + timedelta(hours=1), "陈静") is TicketTier.VENDOR
    assert t.vendor_started_at == T0 + timedelta(hours=1)
    with pytest.raises(TicketError, match="厂商"):
        t.escalate("x", "again", T0 + timedelta(hours=1), "陈静")
    with pytest.raises(TicketError, match="解决方法"):
        t.resolve("  ", T0 + timedelta(hours=2), "陈静")
    t.resolve("更换交换机电源模块", T0 + timedelta(hours=3), "陈静", cause="电源模块老化")
    assert (t.status, t.vendor_ended_at, t.cause) == (Status.RESOLVED, T0 + timedelta(hours=3), "电源模块老化")
    t.close(T0 + timedelta(hours=4), "王芳", confirmed_by="张先生")
    assert str(t.status) == "closed" and t.confirmed_by == "张先生"
    with pytest.raises(TicketError):
        t.assign("李娜", T0 + timedelta(hours=5), "x")
    t.reopen(T0 + timedelta(days=1), "system", "再次来电")
    assert (t.status, t.resolved_at, t.closed_at, t.reopened) == (Status.IN_PROGRESS, None, None, 1)
    steps = [(c.action, c.field, c.old, c.new) for c in t.changes]
    assert steps[:3] == [("assign", "assignee", None, "王芳"), ("status", "status", "new", "in_progress"),
                         ("escalate", "tier", "first_line", "second_line")]
    assert steps[-1] == ("status", "status", "closed", "in_progress")
    assert all(c.actor for c in t.changes)


def test_only_resolved_tickets_close_and_escalation_needs_a_reason() -> None:
    t = ticket()
    with pytest.raises(TicketError, match="尚未解决"):
        t.close(T0, "x")
    with pytest.raises(TicketError, match="原因"):
        t.escalate("陈静", " ", T0, "x")
    with pytest.raises(TicketError, match="priority"):
        t.edit(T0, "x", priority="very")
    t.edit(T0, "王芳", priority="urgent", ticket_type="complaint", summary="打印机脱机")
    assert (t.priority, t.ticket_type, t.summary) == (Priority.URGENT, TicketType.COMPLAINT, "打印机脱机")


def national_day_calendar() -> Calendar:
    """The 2026 official schedule around 国庆: 10-01 to 10-07 off, 09-20 (Sun) and 10-10 (Sat) worked."""
    days = [CalendarDay(date(2026, 10, d), DayKind.HOLIDAY, "国庆节") for d in range(1, 8)]
    days += [CalendarDay(date(2026, 9, 20), DayKind.WORKDAY, "调休"),
             CalendarDay(date(2026, 10, 10), DayKind.WORKDAY, "调休")]
    return Calendar(ServiceWindows(TZ, onsite_start=time(9), onsite_end=time(17)), WorkingCalendar.of(days, [2026]))


def test_a_6x8_clock_opened_on_the_eve_of_national_day_resumes_after_the_holiday() -> None:
    cal = national_day_calendar()
    eve = datetime(2026, 9, 30, 16, 30, tzinfo=TZ)  # Wednesday, 30 on-site minutes left
    assert cal.add(eve, timedelta(hours=4), Window.ONSITE) == datetime(2026, 10, 8, 12, 30, tzinfo=TZ)
    assert cal.add(eve, timedelta(hours=4), Window.ROUND_THE_CLOCK) == datetime(2026, 9, 30, 20, 30, tzinfo=TZ)
    # one hour after the shift: starts at 09:00 of the next on-site day
    assert cal.add(datetime(2026, 9, 30, 18, 0, tzinfo=TZ), timedelta(hours=1), Window.ONSITE) == \
        datetime(2026, 10, 8, 10, 0, tzinfo=TZ)
    # the adjusted Saturday 10-10 counts, the Sunday after does not
    assert cal.add(datetime(2026, 10, 9, 16, 0, tzinfo=TZ), timedelta(hours=2), Window.ONSITE) == \
        datetime(2026, 10, 10, 10, 0, tzinfo=TZ)
    assert cal.between(eve, datetime(2026, 10, 8, 12, 30, tzinfo=TZ), Window.ONSITE) == timedelta(hours=4)


def test_clocks_of_a_ticket_with_warning_outcome_and_minutes() -> None:
    cal = national_day_calendar()
    t = Ticket("GD20260930-0001", "+8613800138000", "13800138000", datetime(2026, 9, 30, 16, 30, tzinfo=TZ),
               datetime(2026, 9, 30, 16, 20, tzinfo=TZ), service_window="6x8", priority=Priority.URGENT)
    policy = SlaPolicy()
    assert policy.clocks_of(t) == [ClockName.RESPONSE, ClockName.REPAIR_START, ClockName.RESOLUTION, ClockName.MAJOR]
    res = new_clock(t, ClockName.RESOLUTION, policy, cal, Window.ONSITE)
    assert res.due_at == datetime(2026, 10, 8, 12, 30, tzinfo=TZ)
    assert res.warn_at == datetime(2026, 10, 8, 12, 15, tzinfo=TZ)
    assert res.next_due() == res.warn_at
    res.warned_at = res.warn_at
    assert res.next_due() == res.due_at
    assert settle(res, datetime(2026, 10, 8, 10, 0, tzinfo=TZ), cal)
    assert (res.met, res.minutes, res.next_due()) == (True, 90.0, None)  # 30 min on 09-30 + 60 on 10-08
    major = new_clock(t, ClockName.MAJOR, policy, cal, Window.ROUND_THE_CLOCK)
    assert major.due_at == datetime(2026, 9, 30, 17, 0, tzinfo=TZ)
    assert settle(major, datetime(2026, 9, 30, 17, 5, tzinfo=TZ), cal) and major.met is False
