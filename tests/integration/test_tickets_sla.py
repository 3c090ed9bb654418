"""Escalation 一线 → 二线 → 厂商 and SLA clocks on a virtual clock, on SQLite and PostgreSQL: each hand-off
paged once through the monitor's outbox, a warning before a deadline and pages up the tiers after it,
each page once across restarts; a 6x8 ticket opened on the eve of 国庆 waits out the holiday."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.domain.calls import Call, Direction
from hotline.domain.sla import Window
from hotline.runtime.assembly import open_database
from hotline.services.monitor.config import build_monitor
from hotline.services.monitor.incidents import IncidentService
from hotline.services.monitor.outbox import Delivered, DryRunSender
from hotline.services.monitor.virtual_run import advance
from hotline.services.roster.duty import RosterDuty
from hotline.services.roster.service import RosterService
from hotline.services.tickets.build import Tickets, build_tickets
from hotline.services.tickets.config import TicketConfig, VendorContact
from hotline.services.tickets.desk import TicketError
from hotline.store.alerts import OutboxRow
from hotline.store.base import unit_of_work
from hotline.store.tickets import TicketClockRow
from tests.conftest import ROOT

VENDOR = VendorContact("新华三售后", "4008100000", "support@vendor.example", "HT-2026-017")


class Desk:
    """The tickets and the monitor's engine and outbox on one database; `restart` builds them anew."""

    def __init__(self, settings: Settings, url: str, start: datetime, config: TicketConfig) -> None:
        self.settings, self.url, self.config = settings, url, config
        self.db = open_database(url)
        self.clock = ManualClock(start, settings.tz)
        roster = RosterService(self.db.factory, settings, self.clock)
        roster.load_example(ROOT / "config" / "roster.yaml")
        roster.ensure_calendar()  # the official 2026 holidays (国庆 10-01 to 10-07)
        self.delivered: list[Delivered] = []
        self.restart()

    def restart(self) -> None:
        self.db.engine.dispose()
        self.db = open_database(self.url)
        self.monitor, self.outbox = build_monitor(self.settings, self.db.factory, self.clock, link_mode="ephemeral")
        self.tickets: Tickets = build_tickets(self.settings, self.db.factory, self.clock, config=self.config,
                                              incidents=IncidentService(self.monitor))

    async def run_until(self, until: datetime) -> None:
        self.delivered += await advance(self.monitor, self.clock, until, self.outbox, DryRunSender(),
                                        [self.tickets.engine])

    def pages(self) -> list[OutboxRow]:
        with unit_of_work(self.db.factory) as s:
            return list(s.scalars(select(OutboxRow).order_by(OutboxRow.id)))

    def on_duty(self, at: datetime, tier: str, specialty: str) -> list[str]:
        roster = RosterService(self.db.factory, self.settings, ManualClock(at, self.settings.tz))
        return [p.name for p in RosterDuty(roster).people(at, tier, specialty)]


def answered(call_id: str, caller: str, at: datetime, by: str = "8003") -> Call:
    c = Call(call_id, "asterisk", Direction.INBOUND, at, caller=caller, called="4008001234", specialty="network",
             staff_reached_at=at, answered_at=at + timedelta(seconds=8), answered_by=by)
    c.ended_at = at + timedelta(minutes=4)
    return c


async def test_escalation_pages_each_hand_off_once_and_the_sla_pages_survive_restarts(
        settings: Settings, db_url: str) -> None:
    t0 = datetime.fromisoformat("2026-12-03T10:00:00+08:00")  # Thursday, on-site hours
    desk = Desk(settings, db_url, t0, TicketConfig(vendors={"network": VENDOR}))
    desk.tickets.opener.on_call(answered("c1", "13800138000", t0))
    (view,) = desk.tickets.desk.find()
    tid = view.ticket.ticket_id
    assert view.ticket.assignee == "王芳"  # extension 8003 answered

    desk.clock.set(t0 + timedelta(minutes=20))
    second = desk.on_duty(desk.clock.now(), "second_line", "network")[0]
    up = desk.tickets.desk.escalate(tid, "交换机端口故障，一线无法处理", "王芳")
    assert (up.ticket.tier, up.ticket.assignee, up.ticket.status) == ("second_line", second, "escalated")
    with pytest.raises(TicketError):
        desk.tickets.desk.escalate(tid, " ", "王芳")
    desk.clock.set(t0 + timedelta(minutes=50))
    vendor = desk.tickets.desk.escalate(tid, "硬件故障，需厂商更换板卡", second)
    assert (vendor.ticket.tier, vendor.ticket.assignee) == ("vendor", "新华三售后")
    assert vendor.ticket.vendor_started_at == t0 + timedelta(minutes=50)
    await desk.run_until(t0 + timedelta(hours=1))
    handoffs = [p for p in desk.pages() if p.purpose == "handoff"]
    assert [(p.tier, p.person) for p in handoffs] == [("second_line", second), ("vendor", "新华三售后")]
    assert "HT-2026-017" in handoffs[1].text and "4008100000" in handoffs[1].recipient
    assert handoffs[0].subject.endswith(f"Ticket escalated to second line: {tid}")  # words, not a code
    assert "is now yours (the vendor)" in handoffs[1].text
    assert all(p.status == "sent" for p in handoffs)

    # resolution (4 h from the answer at 10:00:08): warned at 13:45:08, missed at 14:00:08
    await desk.run_until(t0 + timedelta(hours=3, minutes=50))
    warns = [p for p in desk.pages() if p.purpose == "sla_warn"]
    assert [(p.step, p.person) for p in warns] == [("resolution", "新华三售后")]
    desk.restart()  # a restart between the warning and the deadline
    await desk.run_until(t0 + timedelta(hours=4, minutes=30))
    desk.restart()
    await desk.run_until(t0 + timedelta(hours=6))
    pages = desk.pages()
    breach = [p for p in pages if p.purpose == "sla_breach"]
    due = t0 + timedelta(hours=4, seconds=8)
    expected = {("second_line", n) for n in desk.on_duty(due, "second_line", "network")} | {
        ("manager", n) for n in desk.on_duty(due, "manager", "network")}
    assert {(p.tier, p.person) for p in breach} == expected and breach
    assert all(p.created_at == due for p in breach)  # paged when the deadline passed, not at the restart
    assert [p.purpose for p in pages].count("sla_warn") == 1
    assert max(Counter(d.key for d in desk.delivered).values()) == 1  # every page delivered once
    assert {d.key for d in desk.delivered} == {p.key for p in pages}
    with unit_of_work(desk.db.factory) as s:
        clocks = {r.clock: r for r in s.scalars(select(TicketClockRow).where(TicketClockRow.ticket_id == tid))}
    assert clocks["resolution"].due_at == due and clocks["resolution"].met is False
    assert clocks["resolution"].breached_at == due and clocks["resolution"].done_at is None
    assert clocks["repair_start"].done_at == t0 + timedelta(minutes=20) and clocks["repair_start"].met is True
    assert clocks["response"].minutes == pytest.approx(8 / 60, abs=0.01) and clocks["response"].met is True

    # resolved by the vendor, the caller never confirms: closed after auto_close_days (3)
    desk.tickets.desk.resolve(tid, "厂商更换交换机板卡", "新华三售后", cause="板卡故障")
    await desk.run_until(desk.clock.now() + timedelta(days=3, minutes=1))
    closed = desk.tickets.desk.get(tid).ticket
    assert closed.status == "closed" and closed.vendor_ended_at == t0 + timedelta(hours=6)
    assert closed.closed_at == t0 + timedelta(days=3, hours=6)
    assert [c.action for c in desk.tickets.desk.timeline(tid)][-1] == "status"
    desk.db.engine.dispose()


async def test_a_6x8_ticket_opened_on_the_eve_of_national_day_is_due_after_the_holiday(
        settings: Settings, db_url: str) -> None:
    eve = datetime.fromisoformat("2026-09-30T16:30:00+08:00")
    desk = Desk(settings, db_url, eve, TicketConfig(specialty_windows={"network": Window.ONSITE}))
    desk.tickets.opener.on_call(answered("n1", "13800138000", eve - timedelta(seconds=8)))
    (view,) = desk.tickets.desk.find()
    clocks = {str(c.name): c for c in view.clocks}
    assert view.ticket.service_window == "6x8"
    # 30 on-site minutes on 09-30, then nothing until Thursday 10-08 09:00 (10-01 to 10-07 off)
    assert clocks["repair_start"].due_at == datetime.fromisoformat("2026-10-08T12:30:00+08:00")
    assert clocks["resolution"].warn_at == datetime.fromisoformat("2026-10-08T12:15:00+08:00")
    await desk.run_until(datetime.fromisoformat("2026-10-04T12:00:00+08:00"))
    assert desk.pages() == []  # nothing during the holiday
    desk.restart()
    await desk.run_until(datetime.fromisoformat("2026-10-08T12:20:00+08:00"))
    assert sorted((p.purpose, p.step) for p in desk.pages()) == [("sla_warn", "repair_start"),
                                                                 ("sla_warn", "resolution")]
    desk.restart()
    await desk.run_until(datetime.fromisoformat("2026-10-08T13:00:00+08:00"))
    breach = [p for p in desk.pages() if p.purpose == "sla_breach"]
    assert breach and {p.created_at for p in breach} == {datetime.fromisoformat("2026-10-08T12:30:00+08:00")}
    assert len(desk.pages()) == len({p.key for p in desk.pages()}) == len(desk.delivered)
    desk.db.engine.dispose()


async def test_an_urgent_ticket_declares_a_major_incident_and_its_report_stops_both_clocks(
        settings: Settings, db_url: str) -> None:
    t0 = datetime.fromisoformat("2026-12-03T10:00:00+08:00")
    desk = Desk(settings, db_url, t0, TicketConfig())
    desk.tickets.opener.on_call(answered("u1", "13800138000", t0))
    (view,) = desk.tickets.desk.find()
    tid = view.ticket.ticket_id
    desk.clock.set(t0 + timedelta(minutes=2))
    urgent = desk.tickets.desk.edit(tid, "王芳", priority="urgent", summary="全楼断网")
    assert urgent.incident_id is not None
    (incident,) = IncidentService(desk.monitor).list()
    assert incident.incident_id == urgent.incident_id and "全楼断网" in incident.title
    major = next(c for c in urgent.clocks if c.name == "major")
    assert major.due_at == t0 + timedelta(seconds=8, minutes=30) and major.done_at is None
    await desk.run_until(t0 + timedelta(minutes=5))
    lead = [p for p in desk.pages() if p.alert_id == urgent.incident_id]
    assert lead and {p.tier for p in lead} == {"manager"}  # the monitor paged the maintenance lead
    desk.tickets.desk.edit(tid, "王芳", description="核心交换机宕机")  # still urgent: no second incident
    assert len(IncidentService(desk.monitor).list()) == 1
    desk.clock.set(t0 + timedelta(minutes=20))
    reported = desk.tickets.desk.major_reported(tid, "周强")
    done = next(c for c in reported.clocks if c.name == "major")
    assert done.done_at == t0 + timedelta(minutes=20) and done.met is True
    assert IncidentService(desk.monitor).get(urgent.incident_id).reported_by == "周强"
    actions = [c.action for c in desk.tickets.desk.timeline(tid)]
    assert actions.count("incident") == 1 and actions.index("incident") < actions.index("report")
    desk.db.engine.dispose()


async def test_a_major_incident_not_reported_pages_the_manager_through_its_incident_only(
        settings: Settings, db_url: str) -> None:
    """The urgent ticket's `major` clock and its incident both stand for one report to the maintenance lead:
    the incident's rule pages (at once, again, at its deadline); the clock records the miss and pages nobody."""
    t0 = datetime.fromisoformat("2026-12-03T10:00:00+08:00")
    desk = Desk(settings, db_url, t0, TicketConfig())
    desk.tickets.opener.on_call(answered("u2", "13800138004", t0))
    (view,) = desk.tickets.desk.find()
    tid = view.ticket.ticket_id
    desk.clock.set(t0 + timedelta(minutes=1))
    urgent = desk.tickets.desk.edit(tid, "王芳", priority="urgent", summary="机房断电")
    await desk.run_until(t0 + timedelta(minutes=50))  # nobody reports it: the 30-minute deadline passes
    pages = desk.pages()
    by_incident = [p for p in pages if p.alert_id == urgent.incident_id]
    assert by_incident and {p.tier for p in by_incident} == {"manager"}
    assert [p.key for p in pages if p.key.startswith(f"T{tid}:major")] == []
    major = next(c for c in desk.tickets.desk.get(tid).clocks if c.name == "major")
    assert (major.met, major.breached_at) == (False, t0 + timedelta(minutes=30, seconds=8))
    notes = [c.note or "" for c in desk.tickets.desk.timeline(tid) if c.field == "major missed"]
    assert len(notes) == 1 and urgent.incident_id is not None and urgent.incident_id in notes[0]
    desk.restart()  # a restart pages nothing more for the clock
    await desk.run_until(t0 + timedelta(minutes=60))
    assert [p.key for p in desk.pages() if p.key.startswith(f"T{tid}:major")] == []
    desk.db.engine.dispose()


async def test_a_reopened_ticket_gets_what_is_left_of_its_resolution_time_from_the_reopen(
        settings: Settings, db_url: str) -> None:
    """Reopen: the hours the ticket spent resolved (waiting for the caller) do not count; the resolution clock
    runs again from the reopen with what is left of its 4 hours, warns and breaches anew (each page once)."""
    t0 = datetime.fromisoformat("2026-12-03T10:00:00+08:00")
    opened = t0 + timedelta(seconds=8)
    desk = Desk(settings, db_url, t0, TicketConfig())
    desk.tickets.opener.on_call(answered("r1", "13800138002", t0))
    (view,) = desk.tickets.desk.find()
    tid = view.ticket.ticket_id
    desk.clock.set(opened + timedelta(minutes=60))
    desk.tickets.desk.resolve(tid, "重新插拔网线", "王芳")
    reopen_at = datetime.fromisoformat("2026-12-04T09:00:00+08:00")  # the next morning: the fault is back
    await desk.run_until(reopen_at)
    desk.tickets.desk.reopen(tid, "张伟", "故障复现 / fault is back")
    clock = next(c for c in desk.tickets.desk.get(tid).clocks if c.name == "resolution")
    assert (clock.due_at, clock.carried_minutes, clock.met) == (reopen_at + timedelta(minutes=180), 60.0, None)
    await desk.run_until(reopen_at + timedelta(minutes=30))
    assert [p for p in desk.pages() if p.key.startswith(f"T{tid}:resolution")] == []  # not breached at once
    await desk.run_until(reopen_at + timedelta(minutes=170))
    warned = {p.key.split(":")[1] for p in desk.pages() if p.key.startswith(f"T{tid}:resolution")}
    assert warned == {"resolution-r1-warn"}
    desk.clock.set(reopen_at + timedelta(minutes=170))
    done = next(c for c in desk.tickets.desk.resolve(tid, "更换交换机端口", "王芳").clocks if c.name == "resolution")
    assert (done.minutes, done.met) == (230.0, True)  # 60 before the reopen + 170 after: within 240

    # reopened again with 10 minutes left: the new deadline passes and pages up once, across a restart
    again = reopen_at + timedelta(hours=5)
    await desk.run_until(again)
    desk.tickets.desk.reopen(tid, "张伟", "又坏了 / broken again")
    clock = next(c for c in desk.tickets.desk.get(tid).clocks if c.name == "resolution")
    assert (clock.due_at, clock.warn_at) == (again + timedelta(minutes=10), None)
    await desk.run_until(again + timedelta(minutes=15))
    desk.restart()
    await desk.run_until(again + timedelta(minutes=40))
    breach = [p for p in desk.pages() if p.key.startswith(f"T{tid}:resolution-r2-")]
    assert breach and {p.tier for p in breach} == {"second_line", "manager"}
    assert len(breach) == len({p.key for p in breach})
    assert next(c for c in desk.tickets.desk.get(tid).clocks if c.name == "resolution").met is False
    desk.db.engine.dispose()


async def test_at_night_an_escalation_and_a_missed_deadline_page_the_named_managers(
        settings: Settings, db_url: str) -> None:
    """21:30 on a Thursday: only the remote first line is on duty. The hand-off to 二线 and the missed repair-start
    deadline find nobody on duty up the tiers: `[tickets] complaint_managers` are paged instead, the timeline
    says so, and a name that is not on the roster is refused."""
    t0 = datetime.fromisoformat("2026-12-03T21:30:00+08:00")
    desk = Desk(settings, db_url, t0, TicketConfig(complaint_managers=("周强",)))
    assert desk.on_duty(t0, "second_line", "network") == [] and desk.on_duty(t0, "manager", "network") == []
    desk.tickets.opener.on_call(answered("n1", "010-62345678", t0, by="8002"))
    (view,) = desk.tickets.desk.find()
    tid = view.ticket.ticket_id
    with pytest.raises(TicketError, match="路人甲"):
        desk.tickets.desk.escalate(tid, "交换机故障", "李娜", "路人甲")
    with pytest.raises(TicketError, match="路人甲"):
        desk.tickets.desk.assign(tid, "路人甲", "李娜")
    assert desk.tickets.desk.get(tid).ticket.tier == "first_line"  # nothing half-done

    desk.clock.set(t0 + timedelta(minutes=5))
    up = desk.tickets.desk.escalate(tid, "交换机故障，一线无法处理", "李娜")
    assert (up.ticket.tier, up.ticket.assignee, up.paged) == ("second_line", None, ("周强",))
    [handoff] = [p for p in desk.pages() if p.purpose == "handoff"]
    assert (handoff.person, handoff.tier) == ("周强", "manager") and "二线无人值班" in handoff.subject
    assert any("周强" in (c.note or "") and c.action == "page" for c in desk.tickets.desk.timeline(tid))

    # resolution: 4 h of the 7x24 window from the answer (the escalation started the repair); at 01:30 still
    # nobody up the tiers
    await desk.run_until(t0 + timedelta(hours=4, minutes=10))
    breach = [p for p in desk.pages() if p.purpose == "sla_breach"]
    assert {(p.step, p.person, p.tier) for p in breach} == {("resolution", "周强", "manager")}, breach
    missed = [c for c in desk.tickets.desk.timeline(tid) if c.field == "resolution missed"]
    assert len(missed) == 1 and "已通知 周强" in (missed[0].note or "")
    desk.db.engine.dispose()


async def test_with_nobody_to_page_the_escalation_says_so(settings: Settings, db_url: str,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    t0 = datetime.fromisoformat("2026-12-03T21:30:00+08:00")
    desk = Desk(settings, db_url, t0, TicketConfig(complaint_managers=("王小明",)))  # nobody on the roster
    desk.tickets.opener.on_call(answered("n2", "13800138004", t0, by="8002"))
    (view,) = desk.tickets.desk.find()
    up = desk.tickets.desk.escalate(view.ticket.ticket_id, "需二线处理", "李娜")
    assert up.paged == () and [p for p in desk.pages() if p.purpose == "handoff"] == []
    assert any("无人可通知" in (c.note or "") for c in desk.tickets.desk.timeline(view.ticket.ticket_id))
    assert "names people not on the roster: 王小明" in caplog.text  # the mistake in the config, named
    desk.db.engine.dispose()
