"""Tickets from calls on SQLite and PostgreSQL, with the shipped roster: one ticket per caller number,
missed calls linked, the clock from the first ring, assignment from the roster, reopen on a repeat call."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from hotline.config import Settings
from hotline.domain.calls import AttemptResult, Call, Direction
from hotline.services.tickets.build import build_tickets
from hotline.store.base import unit_of_work
from hotline.store.tickets import TicketClockRow, TicketRow
from tests.integration.conftest import TICKETS_T0 as T0
from tests.integration.conftest import TicketDesk


def inbound(call_id: str, caller: str, at: datetime, *, answered_by: str | None = None,
            specialty: str | None = "network") -> Call:
    c = Call(call_id, "asterisk", Direction.INBOUND, at, caller=caller, called="4008001234", specialty=specialty,
             staff_reached_at=at + timedelta(seconds=4), caller_name="张先生")
    if answered_by:
        c.answered_at, c.answered_by = at + timedelta(seconds=10), answered_by
    else:
        c.attempt_result = AttemptResult.ABANDONED
    c.ended_at = at + timedelta(seconds=90)
    return c


def callback(call_id: str, staff_ext: str, number: str, at: datetime) -> Call:
    # the caller ID name of a callback is the staff phone's own, as Asterisk reports it
    c = Call(call_id, "asterisk", Direction.OUTBOUND, at, caller=staff_ext, called=number, caller_name="Agent One")
    c.answered_at, c.answered_by, c.ended_at = at + timedelta(seconds=6), number, at + timedelta(minutes=3)
    return c


def test_one_ticket_per_caller_whatever_the_written_form(ticket_desk: TicketDesk) -> None:
    t, _ = ticket_desk
    first = inbound("a1", "13800138000", T0, answered_by="8002")
    t.opener.on_answered(first)  # screen pop: the ticket exists while they talk
    t.opener.on_call(first)  # completed: nothing new
    t.opener.on_call(inbound("a2", "+8613800138000", T0 + timedelta(hours=1), answered_by="8003"))
    t.opener.on_call(inbound("a3", "0086 138 0013 8000", T0 + timedelta(hours=2)))  # missed while open
    (view,) = t.desk.find(state="all")
    assert [c.call_id for c in view.calls] == ["a1", "a2", "a3"]
    assert view.ticket.ticket_id == "GD20261203-0001"
    assert (view.ticket.caller_key, view.ticket.caller) == ("+8613800138000", "13800138000")
    assert view.ticket.assignee == "李娜"  # extension 8002 answered first
    assert view.ticket.first_contact_at == T0 and view.ticket.opened_at == T0 + timedelta(seconds=10)
    assert t.desk.caller("+8613800138000") == {"caller_key": "+8613800138000", "number": "13800138000",
                                               "name": "张先生", "organisation": None, "notes": None}
    timeline = t.desk.timeline(view.ticket.ticket_id)
    assert [c.action for c in timeline][:2] == ["open", "assign"]


def test_missed_calls_are_linked_when_staff_call_back_and_the_clock_starts_at_the_first_ring(
        ticket_desk: TicketDesk) -> None:
    t, _ = ticket_desk
    t.opener.on_call(inbound("m1", "13800138011", T0))
    t.opener.on_call(inbound("m2", "13800138011", T0 + timedelta(minutes=2)))
    assert t.desk.find(state="all") == []  # nobody reached yet: the alert covers the caller
    t.opener.on_answered(callback("cb", "8001", "13800138011", T0 + timedelta(minutes=6)))
    (view,) = t.desk.find()
    assert [c.call_id for c in view.calls] == ["m1", "m2", "cb"]
    assert [c.role for c in view.calls] == ["missed", "missed", "reached"]
    assert view.ticket.first_contact_at == T0
    assert view.ticket.assignee == "张伟"  # who called back (extension 8001)
    assert view.ticket.caller_name is None  # not the staff phone's caller ID name, nor in the caller directory
    assert t.desk.caller("+8613800138011") == {"caller_key": "+8613800138011", "number": "13800138011",
                                               "name": None, "organisation": None, "notes": None}
    response = next(c for c in view.clocks if c.name == "response")
    assert (response.started_at, response.done_at, response.minutes, response.met) == (
        T0, T0 + timedelta(minutes=6, seconds=6), 6.1, True)


def test_only_the_missed_calls_whose_alert_the_call_cleared_are_linked(
        settings: Settings, ticket_desk: TicketDesk) -> None:
    t, clock = ticket_desk
    t2 = build_tickets(settings, t.desk.ctx.factory, clock, cleared_calls=lambda call_id: ["m2"])
    t2.opener.on_call(inbound("m1", "13800138011", T0))
    t2.opener.on_call(inbound("m2", "13800138011", T0 + timedelta(minutes=2)))
    t2.opener.on_answered(callback("cb", "8001", "13800138011", T0 + timedelta(minutes=6)))
    (view,) = t2.desk.find()
    assert [c.call_id for c in view.calls] == ["m2", "cb"]
    assert view.ticket.first_contact_at == T0 + timedelta(minutes=2)


def test_no_ticket_for_internal_calls_unknown_numbers_or_unanswered_callbacks(
        ticket_desk: TicketDesk) -> None:
    t, _ = ticket_desk
    t.opener.on_call(inbound("i1", "8002", T0, answered_by="8001"))
    t.opener.on_call(inbound("i2", "", T0, answered_by="8001"))
    unanswered = callback("cb", "8001", "13800138011", T0)
    unanswered.answered_at = None
    t.opener.on_call(unanswered)
    assert t.desk.find(state="all") == []


def test_unknown_answerer_goes_to_the_on_duty_first_line_and_numbers_count_per_day(
        ticket_desk: TicketDesk) -> None:
    t, _ = ticket_desk
    t.opener.on_call(inbound("u1", "13800138021", T0, answered_by="agent1"))
    t.opener.on_call(inbound("u2", "010-62345678", T0 + timedelta(minutes=1), answered_by="agent2"))
    t.opener.on_call(inbound("u3", "13800138023", T0 + timedelta(days=1), answered_by="8001"))
    views = sorted(t.desk.find(state="all"), key=lambda v: v.ticket.ticket_id)
    assert [v.ticket.ticket_id for v in views] == ["GD20261203-0001", "GD20261203-0002", "GD20261204-0001"]
    assert [v.ticket.assignee for v in views] == ["刘洋", "刘洋", "张伟"]
    assert views[1].ticket.caller == "01062345678"


def test_a_repeat_call_reopens_a_resolved_ticket_and_a_closed_one_gives_way_to_a_new_ticket(
        ticket_desk: TicketDesk) -> None:
    t, clock = ticket_desk
    t.opener.on_call(inbound("r1", "13800138000", T0, answered_by="8001"))
    (view,) = t.desk.find()
    tid = view.ticket.ticket_id
    clock.set(T0 + timedelta(hours=1))
    t.desk.resolve(tid, "重启打印机后恢复", "张伟")
    t.opener.on_call(inbound("r2", "13800138000", T0 + timedelta(hours=2), answered_by="8002"))
    again = t.desk.get(tid)
    assert again.ticket.status == "in_progress" and again.ticket.reopened == 1
    assert [c.call_id for c in again.calls] == ["r1", "r2"]
    clock.set(T0 + timedelta(hours=3))
    t.desk.resolve(tid, "更换硒鼓", "张伟")
    t.desk.close(tid, "张伟", confirmed_by="张先生")
    t.opener.on_call(inbound("r3", "13800138000", T0 + timedelta(hours=4), answered_by="8001"))
    tickets = t.desk.find(state="all")
    assert len(tickets) == 2 and {v.ticket.status for v in tickets} == {"closed", "new"}
    with unit_of_work(t.desk.ctx.factory) as s:
        assert s.scalar(select(func.count()).select_from(TicketRow).where(TicketRow.open_caller.is_not(None))) == 1
        resolution = s.scalars(select(TicketClockRow).where(TicketClockRow.ticket_id == tid,
                                                            TicketClockRow.clock == "resolution")).one()
        assert resolution.done_at == T0 + timedelta(hours=3) and resolution.met is True
        # from the answer (T0 + 10 s), not the first ring, to the first resolution (59.83), then from the repeat
        # call's answer (T0 + 2 h 10 s) to the second (59.83): the hour spent resolved does not count
        assert (resolution.minutes, resolution.carried_minutes) == (119.66, 59.83)


def test_a_missed_call_nobody_reached_for_a_week_joins_no_later_ticket(ticket_desk: TicketDesk) -> None:
    t, clock = ticket_desk
    t.opener.on_call(inbound("old", "13800138011", T0))
    clock.set(T0 + timedelta(days=8))
    assert t.engine.tick() >= 1  # forgotten
    t.opener.on_answered(callback("cb", "8001", "13800138011", T0 + timedelta(days=8)))
    (view,) = t.desk.find()
    assert [c.call_id for c in view.calls] == ["cb"]
    assert view.ticket.first_contact_at == T0 + timedelta(days=8)


def test_the_list_puts_overdue_tickets_first_then_the_newest(ticket_desk: TicketDesk) -> None:
    t, clock = ticket_desk
    t.opener.on_call(inbound("o1", "13800138000", T0, answered_by="8001"))
    t.opener.on_call(inbound("o2", "13800138001", T0 + timedelta(hours=1), answered_by="8002"))
    older, newer = sorted(t.desk.find(), key=lambda v: v.ticket.opened_at)
    assert [v.ticket.ticket_id for v in t.desk.find()] == [newer.ticket.ticket_id, older.ticket.ticket_id]
    clock.set(T0 + timedelta(hours=4, minutes=1))  # the older ticket's 4 h clocks have passed
    assert t.engine.tick() > 0
    listed = t.desk.find()
    assert [v.ticket.ticket_id for v in listed] == [older.ticket.ticket_id, newer.ticket.ticket_id]
    assert [v.as_dict(clock.tz)["overdue"] for v in listed] == [True, False]
    assert [v.ticket.ticket_id for v in t.desk.find(state="not_closed", assignee="李娜")] == [newer.ticket.ticket_id]
    assert t.desk.find(state="resolved") == []
