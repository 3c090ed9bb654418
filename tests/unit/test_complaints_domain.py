"""Complaints in the domain: marking a ticket, the two complaint clocks (reply, resolution in the agreed
time) starting when the complaint was made, the feedback form's fields, the month's figures."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from hotline.domain.complaints import (
    ComplaintFigures,
    Deadline,
    FeedbackForm,
    Source,
    Tally,
    agree_deadline,
    deadline_outcome,
    mark_complaint,
    reply,
)
from hotline.domain.sla import Calendar, ClockName, SlaPolicy, Window, agree, clock_done, new_clock, settle
from hotline.domain.tickets import Status, Ticket, TicketError, TicketType
from hotline.domain.windows import ServiceWindows, WorkingCalendar

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 3, 10, 0, tzinfo=TZ)
CAL = Calendar(ServiceWindows(TZ, onsite_start=time(9), onsite_end=time(17)), WorkingCalendar.of([], [2026]))


def ticket() -> Ticket:
    return Ticket("GD20261203-0001", "+8613800138000", "13800138000", T0, T0 - timedelta(minutes=2))


def test_a_ticket_marked_later_starts_its_complaint_clocks_at_the_complaint_not_the_opening() -> None:
    t = ticket()
    t.start_work(T0 + timedelta(minutes=5), "王芳")  # work before the complaint is no reply to it
    made = T0 + timedelta(hours=2)
    mark_complaint(t, made, "王芳", Source.CALL)
    assert (t.ticket_type, t.complained_at, t.complaint_source) == (TicketType.COMPLAINT, made, "call")
    policy = SlaPolicy()
    assert policy.clocks_of(t)[-2:] == [ClockName.COMPLAINT, ClockName.COMPLAINT_SOLVED]
    first = new_clock(t, ClockName.COMPLAINT, policy, CAL, Window.ROUND_THE_CLOCK)
    assert (first.started_at, first.due_at) == (made, made + timedelta(hours=1))
    assert clock_done(t, ClockName.COMPLAINT) is None
    solved = new_clock(t, ClockName.COMPLAINT_SOLVED, policy, CAL, Window.ROUND_THE_CLOCK)
    assert solved.due_at == made + timedelta(hours=24)
    reply(t, "已联系刘洋先生，今天下午安排工程师上门", made + timedelta(minutes=50), "王芳")
    assert clock_done(t, ClockName.COMPLAINT) == made + timedelta(minutes=50)
    assert settle(first, clock_done(t, ClockName.COMPLAINT), CAL) and (first.met, first.minutes) == (True, 50.0)
    mark_complaint(t, made + timedelta(hours=3), "冯婷", Source.HAND)  # already a complaint: first time kept
    assert t.complained_at == made


def test_a_resolved_ticket_marked_as_a_complaint_is_reopened_and_a_closed_one_refused() -> None:
    t = ticket()
    t.resolve("重启打印服务", T0 + timedelta(hours=1), "王芳")
    mark_complaint(t, T0 + timedelta(hours=5), "system", Source.SURVEY)
    assert t.status is Status.IN_PROGRESS and t.reopened == 1
    assert clock_done(t, ClockName.COMPLAINT_SOLVED) is None
    t.resolve("更换打印机", T0 + timedelta(hours=8), "王芳")
    assert clock_done(t, ClockName.COMPLAINT_SOLVED) == T0 + timedelta(hours=8)
    t.close(T0 + timedelta(hours=9), "王芳")
    other = ticket()
    other.resolve("x", T0, "王芳")
    other.close(T0, "王芳")
    with pytest.raises(TicketError, match="已关闭"):
        mark_complaint(other, T0 + timedelta(hours=1), "王芳", Source.HAND)


def test_editing_the_type_to_complaint_starts_the_clocks_at_the_edit() -> None:
    t = ticket()
    t.edit(T0 + timedelta(hours=3), "王芳", ticket_type="complaint")
    assert (t.complained_at, t.complaint_source) == (T0 + timedelta(hours=3), "hand")


def test_the_agreed_deadline_moves_the_running_clock_but_not_a_passed_one() -> None:
    t = ticket()
    mark_complaint(t, T0, "王芳", Source.HAND)
    policy = SlaPolicy()
    with pytest.raises(TicketError, match="晚于"):
        agree_deadline(t, T0 - timedelta(minutes=1), T0, "王芳")
    agree_deadline(t, T0 + timedelta(hours=6), T0 + timedelta(minutes=30), "王芳")
    clock = new_clock(t, ClockName.COMPLAINT_SOLVED, policy, CAL, Window.ROUND_THE_CLOCK)
    assert (clock.due_at, clock.warn_at) == (T0 + timedelta(hours=6), T0 + timedelta(hours=5, minutes=45))
    assert agree(clock, T0 + timedelta(hours=8), policy) and clock.due_at == T0 + timedelta(hours=8)
    clock.breached_at = clock.due_at
    assert not agree(clock, T0 + timedelta(hours=30), policy) and clock.due_at == T0 + timedelta(hours=8)
    with pytest.raises(TicketError, match="不是投诉"):
        agree_deadline(ticket(), T0 + timedelta(hours=1), T0, "王芳")


def test_a_reply_needs_text_and_a_complaint() -> None:
    t = ticket()
    with pytest.raises(TicketError, match="不是投诉"):
        reply(t, "好的", T0, "王芳")
    mark_complaint(t, T0, "王芳", Source.IVR)
    with pytest.raises(TicketError, match="答复"):
        reply(t, "  ", T0, "王芳")


def test_the_feedback_form_changes_named_fields_and_refuses_unknown_ones() -> None:
    form = FeedbackForm().changed(complaint=" 工程师三次未到场 ", cause=None)
    assert form.complaint == "工程师三次未到场" and form.cause == ""
    assert form.changed(cause="排班冲突").as_dict()["cause"] == "排班冲突"
    with pytest.raises(TicketError, match="no field 'reason'"):
        form.changed(reason="x")
    with pytest.raises(TicketError, match="longer"):
        form.changed(measures="长" * 4001)


def test_figures_give_every_share_with_its_sample_size() -> None:
    f = ComplaintFigures(count=3, replied=3, reply=Tally(in_time=2, late=1), resolved=2,
                         resolution=Tally(in_time=1, late=2), escalated=2)
    d = f.as_dict()
    assert d["replied_in_time"] == {"count": 2, "of": 3, "share": 0.6667, "late": 1, "pending": 0}
    empty = ComplaintFigures(0, 0, Tally(), 0, Tally(), 0).as_dict()
    assert empty["escalated"] == {"count": 0, "of": 0, "share": None}
    assert empty["replied_in_time"] == {"count": 0, "of": 0, "share": None, "late": 0, "pending": 0}


def test_a_deadline_not_passed_and_not_met_is_pending_not_late() -> None:
    """At `now`: done by the deadline - in time; done after it, or not done with the deadline passed - late;
    not done and the deadline ahead - pending (未到期), left out of the share's sample and shown beside it."""
    due = T0 + timedelta(hours=1)
    assert deadline_outcome(T0 + timedelta(minutes=10), due, T0 + timedelta(minutes=20)) is Deadline.IN_TIME
    assert deadline_outcome(due, due, due) is Deadline.IN_TIME
    assert deadline_outcome(due + timedelta(minutes=1), due, due + timedelta(hours=5)) is Deadline.LATE
    assert deadline_outcome(None, due, T0 + timedelta(minutes=5)) is Deadline.PENDING
    assert deadline_outcome(None, due, due) is Deadline.LATE
    assert deadline_outcome(None, None, due + timedelta(days=9)) is Deadline.PENDING  # no deadline: no guess
    tally = Tally.of([Deadline.IN_TIME, *[Deadline.PENDING] * 4])
    assert (tally.in_time, tally.due, tally.pending, tally.share) == (1, 1, 4, 1.0)  # not 1 / 5 = 20 %
