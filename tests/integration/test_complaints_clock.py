"""Complaints (投诉) on a virtual clock, on SQLite and PostgreSQL: each way a complaint is opened (the IVR's
complaint option, staff marking a call, by hand, a low survey score through the tickets service), the first
reply within 1 h (in time and late), and a complaint not solved in the agreed time paged to the project
manager once, not again after restarts."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import select

from hotline.config import Settings
from hotline.domain.calls import Call, Direction
from hotline.domain.complaints import Source
from hotline.services.complaints.desk import ComplaintService
from hotline.services.tickets.config import TicketConfig
from hotline.store.base import unit_of_work
from hotline.store.tickets import TicketClockRow
from tests.integration.test_tickets_sla import Desk, answered

T0 = datetime.fromisoformat("2026-12-03T10:00:00+08:00")  # Thursday, on-site hours


def complaints(desk: Desk) -> ComplaintService:
    return ComplaintService(desk.tickets.desk.ctx, desk.tickets.desk)


def clocks(desk: Desk, ticket_id: str) -> dict[str, TicketClockRow]:
    with unit_of_work(desk.db.factory) as s:
        return {r.clock: r for r in s.scalars(select(TicketClockRow).where(TicketClockRow.ticket_id == ticket_id))}


async def test_marked_call_replied_in_time_then_late_resolution_pages_the_manager_once(
        settings: Settings, db_url: str) -> None:
    desk = Desk(settings, db_url, T0, TicketConfig())
    desk.tickets.opener.on_call(answered("c1", "010-12345678", T0))
    (view,) = desk.tickets.desk.find()
    tid = view.ticket.ticket_id
    desk.clock.set(T0 + timedelta(minutes=10))
    marked = complaints(desk).mark_call("c1", "王芳")
    assert (marked.ticket.ticket_type, marked.ticket.complaint_source) == ("complaint", "call")
    assert marked.ticket.complained_at == T0  # the call's start, not the marking
    desk.clock.set(T0 + timedelta(minutes=40))
    complaints(desk).reply(tid, "已向客户致歉，工程师下午到场处理", "王芳")
    agreed = complaints(desk).agree(tid, (T0 + timedelta(hours=3)).replace(tzinfo=None), "王芳")  # desk time
    assert agreed.ticket.complaint_due_at == T0 + timedelta(hours=3)
    k = clocks(desk, tid)
    assert (k["complaint"].minutes, k["complaint"].met) == (40.0, True)
    assert k["complaint_solved"].due_at == T0 + timedelta(hours=3)

    await desk.run_until(T0 + timedelta(hours=2, minutes=50))
    warns = [p for p in desk.pages() if p.purpose == "sla_warn" and p.step == "complaint_solved"]
    assert [p.person for p in warns] == ["王芳"]  # the assignee, 15 min before the agreed time
    desk.restart()
    await desk.run_until(T0 + timedelta(hours=3, minutes=30))
    desk.restart()
    await desk.run_until(T0 + timedelta(hours=5))
    late = [p for p in desk.pages() if p.purpose == "sla_breach" and p.step == "complaint_solved"]
    managers = desk.on_duty(T0 + timedelta(hours=3), "manager", "network")
    assert [(p.tier, p.person) for p in late] == [("manager", m) for m in managers] and managers == ["周强"]
    assert late[0].subject.endswith("投诉解决 / Ticket SLA missed: complaint resolution")  # named, not a code
    assert late[0].created_at == T0 + timedelta(hours=3) and "投诉解决" in late[0].subject
    assert max(Counter(d.key for d in desk.delivered).values()) == 1  # every page delivered once
    k = clocks(desk, tid)
    assert (k["complaint_solved"].met, k["complaint_solved"].breached_at) == (False, T0 + timedelta(hours=3))
    notes = [c for c in desk.tickets.desk.timeline(tid) if c.field == "complaint_manager"]
    assert len(notes) == 1 and "周强" in (notes[0].note or "")
    desk.tickets.desk.resolve(tid, "更换打印机硒鼓并回访确认", "王芳")
    assert clocks(desk, tid)["complaint_solved"].met is False  # solved, but late
    desk.db.engine.dispose()


async def test_a_complaint_opened_by_hand_and_replied_late_pages_up_once(settings: Settings, db_url: str) -> None:
    desk = Desk(settings, db_url, T0, TicketConfig())
    view = complaints(desk).open("13800138000", "工程师三次未按约定时间到场", "王芳")
    tid = view.ticket.ticket_id
    assert (view.ticket.ticket_type, view.ticket.complaint_source, view.ticket.assignee) == (
        "complaint", "hand", "王芳")
    await desk.run_until(T0 + timedelta(hours=1, minutes=5))
    desk.restart()
    await desk.run_until(T0 + timedelta(hours=1, minutes=10))
    late = [p for p in desk.pages() if p.purpose == "sla_breach" and p.step == "complaint"]
    assert late and all(p.created_at == T0 + timedelta(hours=1) for p in late)
    assert len({(p.tier, p.person) for p in late}) == len(late)  # each person once
    desk.clock.set(T0 + timedelta(hours=1, minutes=20))
    complaints(desk).reply(tid, "已致电客户说明原因", "王芳")
    k = clocks(desk, tid)
    assert (k["complaint"].minutes, k["complaint"].met) == (80.0, False)
    # a second complaint of the same caller joins the ticket (one ticket per caller)
    again = complaints(desk).open("+86 138 0013 8000", "仍未解决", "李娜")
    assert again.ticket.ticket_id == tid and desk.tickets.desk.count() == 1
    desk.db.engine.dispose()


async def test_the_ivr_complaint_option_opens_a_complaint_made_at_the_first_ring(
        settings: Settings, db_url: str) -> None:
    desk = Desk(settings, db_url, T0, TicketConfig())
    call = Call("ivr1", "asterisk", Direction.INBOUND, T0, caller="13800138000", called="4008001234",
                specialty="complaint", staff_reached_at=T0 + timedelta(seconds=30),
                answered_at=T0 + timedelta(seconds=35), answered_by="8003")
    call.ended_at = T0 + timedelta(minutes=3)
    desk.tickets.opener.on_call(call)
    desk.tickets.opener.on_call(answered("n1", "13900139999", T0))  # the network menu: no complaint
    views = {v.ticket.caller: v for v in desk.tickets.desk.find()}
    ivr = views["13800138000"].ticket
    assert (ivr.ticket_type, ivr.complaint_source, ivr.complained_at) == ("complaint", "ivr", T0)
    assert views["13900139999"].ticket.ticket_type == "incident"
    assert clocks(desk, ivr.ticket_id)["complaint"].due_at == T0 + timedelta(hours=1)
    assert "complaint" not in clocks(desk, views["13900139999"].ticket.ticket_id)
    # a later call of that caller through the complaint option makes the open ticket a complaint
    other = views["13900139999"].ticket.ticket_id
    later = Call("ivr2", "asterisk", Direction.INBOUND, T0 + timedelta(hours=2), caller="13900139999",
                 called="4008001234", specialty="complaint", answered_at=T0 + timedelta(hours=2, seconds=20),
                 answered_by="8003")
    later.ended_at = T0 + timedelta(hours=2, minutes=5)
    desk.tickets.opener.on_call(later)
    t = desk.tickets.desk.get(other).ticket
    assert (t.ticket_type, t.complained_at) == ("complaint", T0 + timedelta(hours=2))
    assert clocks(desk, other)["complaint_solved"].due_at == T0 + timedelta(hours=26)
    desk.db.engine.dispose()


async def test_complaints_from_a_low_survey_score_get_both_clocks(settings: Settings, db_url: str) -> None:
    """The surveys part opens its follow-up through the tickets: by the complaint service with the surveyed
    ticket as `related`, or by changing a ticket's type; either way both clocks run from that moment."""
    desk = Desk(settings, db_url, T0, TicketConfig())
    desk.tickets.opener.on_call(answered("s1", "13800138000", T0))
    (view,) = desk.tickets.desk.find()
    tid = view.ticket.ticket_id
    desk.tickets.desk.resolve(tid, "重装打印驱动", "王芳")
    desk.clock.set(T0 + timedelta(hours=20))
    follow = complaints(desk).open("13800138000", "回访评分 1 分", "system", source=Source.SURVEY, related=tid)
    assert follow.ticket.ticket_id == tid and follow.ticket.status == "in_progress"  # the caller's ticket, reopened
    assert follow.ticket.complaint_source == "survey"
    k = clocks(desk, tid)
    assert k["complaint"].started_at == T0 + timedelta(hours=20) and k["complaint_solved"].done_at is None
    assert any("关于工单" in (c.note or "") for c in desk.tickets.desk.timeline(tid))
    # a ticket whose type is changed to complaint by the tickets service
    desk.tickets.opener.on_call(answered("s2", "13900139999", T0 + timedelta(hours=20)))
    other = next(v for v in desk.tickets.desk.find() if v.ticket.caller == "13900139999").ticket.ticket_id
    desk.clock.set(T0 + timedelta(hours=21))
    desk.tickets.desk.edit(other, "system", ticket_type="complaint")
    k = clocks(desk, other)
    assert k["complaint"].started_at == T0 + timedelta(hours=21)
    assert k["complaint"].due_at == T0 + timedelta(hours=22)
    desk.db.engine.dispose()


async def test_a_ticket_created_as_a_complaint_is_made_when_opened_and_counted(settings: Settings,
                                                                               db_url: str) -> None:
    """A complaint ticket written by any other path of the tickets service (e.g. a survey's follow-up opened
    as a new ticket) without a complaint time: made when it was opened, both clocks, in the month's report."""
    from hotline.domain.tickets import Ticket, TicketType
    from hotline.services.complaints.figures import month_report
    from hotline.services.tickets.records import save

    desk = Desk(settings, db_url, T0, TicketConfig())
    ctx = desk.tickets.desk.ctx
    with unit_of_work(desk.db.factory) as s:
        save(s, Ticket("GD20261203-0042", "+8613800138000", "13800138000", T0, T0,
                       ticket_type=TicketType.COMPLAINT, summary="回访评分 1 分"), None, T0, ctx.config.policy,
             ctx.calendar())
    t = desk.tickets.desk.get("GD20261203-0042").ticket
    assert t.complained_at == T0
    assert clocks(desk, t.ticket_id)["complaint_solved"].due_at == T0 + timedelta(hours=24)
    doc = month_report(desk.db.factory, T0.date().replace(day=1), settings.tz, T0)
    assert [c["ticket_id"] for c in doc["complaints"]] == ["GD20261203-0042"]
    desk.db.engine.dispose()


async def test_a_ticket_no_longer_a_complaint_pages_nobody_about_its_complaint_clocks(
        settings: Settings, db_url: str) -> None:
    desk = Desk(settings, db_url, T0, TicketConfig())
    desk.tickets.opener.on_call(answered("e1", "13800138000", T0))
    (view,) = desk.tickets.desk.find()
    tid = view.ticket.ticket_id
    desk.tickets.desk.edit(tid, "王芳", ticket_type="complaint")
    desk.clock.set(T0 + timedelta(minutes=5))
    desk.tickets.desk.edit(tid, "王芳", ticket_type="incident")  # recorded as a complaint by mistake
    await desk.run_until(T0 + timedelta(hours=30))
    assert not [p for p in desk.pages() if p.step in ("complaint", "complaint_solved")]
    assert [p for p in desk.pages() if p.step == "resolution"]  # its own clocks still page
    desk.db.engine.dispose()
