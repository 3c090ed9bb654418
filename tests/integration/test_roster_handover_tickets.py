"""The shift-end handover reminder as `hotline serve` wires it (start_monitor), on a virtual clock and a real
database: the person going off duty is reminded of the desk's open alerts and of the open tickets they hold
(and their tier's unassigned ones), callers' numbers masked; tickets resolved or held by others are left out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import select

from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.domain.calls import Call, Direction
from hotline.domain.roster import Tier
from hotline.runtime.scheduler import start_monitor
from hotline.services.calls.ledger import Ledger
from hotline.services.roster.jobs import RosterJobs
from hotline.services.roster.service import RosterService
from hotline.services.tickets.build import Tickets, build_tickets
from hotline.services.tickets.desk import handover_line
from hotline.store.alerts import OutboxRow
from hotline.store.tickets import TicketRow
from tests.integration.monitor_fakes import missed


def answered(call_id: str, caller: str, at: datetime, extension: str) -> Call:
    return Call(call_id, "asterisk", Direction.INBOUND, at, caller=caller, called="4008001234",
                specialty="network", staff_reached_at=at + timedelta(seconds=4), answered_at=at + timedelta(seconds=10),
                answered_by=extension, ended_at=at + timedelta(minutes=4), caller_name="张先生")


def handover_text(service: RosterService, key: str) -> str:
    with service.factory() as s:
        texts = list(s.scalars(select(OutboxRow.text).where(OutboxRow.key == key)))
    assert len(texts) == 1, key
    return texts[0]


async def test_the_one_going_off_hands_over_their_open_tickets_and_the_open_alerts(
        roster_desk: Callable[[str], RosterService], settings: Settings) -> None:
    desk = roster_desk("2026-12-03 10:00")  # Thursday: 刘洋 on the first-line day shift, 李娜 on the night
    clock = desk.clock
    assert isinstance(clock, ManualClock)
    keyed = replace(settings, api=replace(settings.api, link_key="k" * 32))
    live: dict[str, object] = {}
    jobs = start_monitor(keyed, desk.factory, Ledger(desk.factory), live, env={}, clock=clock)
    jobs.scheduler.shutdown(wait=False)  # the test runs the jobs itself, on the virtual clock
    tickets, roster = live["tickets"], live["roster_jobs"]
    assert isinstance(tickets, Tickets) and isinstance(roster, RosterJobs)

    t0 = clock.now()
    tickets.opener.on_call(answered("c1", "13800138004", t0, "8004"))  # 刘洋 answers: her ticket
    tickets.opener.on_call(answered("c2", "+86 139 1111 0001", t0 + timedelta(minutes=5), "8002"))  # 李娜's
    tickets.opener.on_call(answered("c3", "010-12345678", t0 + timedelta(minutes=9), "8004"))
    mine, others, done = (v.ticket.ticket_id for v in tickets.desk.find(state="all")[::-1])
    assert [v.ticket.assignee for v in tickets.desk.find(state="all")] == ["刘洋", "李娜", "刘洋"]
    tickets.desk.resolve(done, "重启打印机 / printer restarted", "刘洋")
    assert live["monitor"] is jobs.monitor
    jobs.monitor.on_call(missed("13800138004", t0 + timedelta(hours=2), "m1"))  # a missed call: an open alert

    clock.set(datetime.fromisoformat("2026-12-03T19:44:00+08:00"))
    await roster.run_due()
    clock.set(datetime.fromisoformat("2026-12-03T19:45:00+08:00"))  # 15 minutes before 刘洋's day shift ends
    await roster.run_due()
    text = handover_text(desk, "roster-handover:first_line:刘洋:2026-12-03T20:00:00+08:00")
    assert "请交接未结告警 1 项、未结工单 1 项" in text and "接班：李娜" in text
    lines = text.splitlines()
    [ticket] = [line for line in lines if line.startswith(f"- {mine}")]
    assert ticket == f"- {mine} 故障 一般 新建 138****8004 12-03 10:00"
    alerts = [line for line in lines if line.startswith("- missed_call")]
    assert alerts == ["- missed_call 138****8004 12-03 12:00 open"]
    assert others not in text and done not in text and "13800138004" not in text

    # 李娜 goes off at 08:00 and hands over the ticket she answered on 12-03 (not 刘洋's)
    clock.set(datetime.fromisoformat("2026-12-04T07:45:00+08:00"))
    await roster.run_due()
    night = handover_text(desk, "roster-handover:first_line:李娜:2026-12-04T08:00:00+08:00")
    assert "未结工单 1 项" in night and f"- {others} 故障 一般 新建 139****0001 12-03 10:05" in night
    assert mine not in night and "13911110001" not in night


def test_unassigned_open_tickets_go_to_the_handover_of_their_tier(
        roster_desk: Callable[[str], RosterService], settings: Settings) -> None:
    desk = roster_desk("2026-12-03 10:00")
    tickets = build_tickets(settings, desk.factory, desk.clock)
    tickets.opener.on_call(answered("c1", "13800138004", desk.clock.now(), "8004"))
    [view] = tickets.desk.find()
    tickets.desk.edit(view.ticket.ticket_id, "刘洋", summary="3 楼打印机卡纸\n急")
    with desk.factory.begin() as s:  # nobody holds it any more (the person left the desk)
        row = s.get(TicketRow, view.ticket.ticket_id)
        assert row is not None
        row.assignee = None
    held = {tier: [v.ticket.ticket_id for v in tickets.desk.held(tier, "王芳")] for tier in Tier}
    assert held == {Tier.FIRST_LINE: [view.ticket.ticket_id], Tier.SECOND_LINE: [], Tier.MANAGER: [], Tier.VENDOR: []}
    [again] = tickets.desk.held(Tier.FIRST_LINE, "王芳")
    assert handover_line(again, desk.tz).endswith("138****8004 12-03 10:00 3 楼打印机卡纸 急")
