"""The SLA engine: warns the assignee before a deadline, pages up the tiers when it passes, and closes
resolved tickets the caller never confirmed. Short idempotent cycles in one transaction, pages through the
monitor's outbox (unique keys: each page once, across restarts); `next_due`/`tick` let the monitor's
scheduler and virtual clock drive it like the monitor's own engine."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hotline.domain.roster import Tier
from hotline.domain.sla import CLOCK_ZH, ClockName, SlaClock
from hotline.domain.tickets import Status, Ticket, TicketTier
from hotline.paging.base import Recipient
from hotline.services.monitor.outbox import PlannedPage, add_pages
from hotline.services.tickets.pages import nobody_note, sla_text, ticket_pages
from hotline.services.tickets.records import save
from hotline.services.tickets.settings import TicketContext
from hotline.store.base import claim_writer, unit_of_work
from hotline.store.tickets import (
    MissedCallRow,
    TicketClockRow,
    TicketEventRow,
    TicketRow,
    clock_to_row,
    row_to_clock,
    row_to_ticket,
)

# Who is paged when a deadline passes, by the tier holding the ticket.
PAGE_UP = {TicketTier.FIRST_LINE: (Tier.SECOND_LINE, Tier.MANAGER), TicketTier.SECOND_LINE: (Tier.MANAGER,),
           TicketTier.VENDOR: (Tier.SECOND_LINE, Tier.MANAGER)}
AUTO = "system"
MISSED_KEPT = timedelta(days=7)  # a missed call nobody reached within this long joins no ticket later


class SlaEngine:
    def __init__(self, ctx: TicketContext, batch: int = 500) -> None:
        self.ctx = ctx
        self.batch = batch

    @property
    def auto_close_after(self) -> timedelta:
        return timedelta(days=self.ctx.config.auto_close_days)

    def next_due(self) -> datetime | None:
        """The earliest warning, deadline or auto-close of any ticket."""
        with unit_of_work(self.ctx.factory) as s:
            clock = s.scalar(select(func.min(TicketClockRow.next_due_at)))
            resolved = s.scalar(select(func.min(TicketRow.resolved_at)).where(TicketRow.status == str(Status.RESOLVED)))
        close = resolved + self.auto_close_after if resolved is not None else None
        return min((t for t in (clock, close) if t is not None), default=None)

    def tick(self, now: datetime | None = None) -> int:
        """Every warning, breach and auto-close due up to `now`; returns the number of actions."""
        now = now or self.ctx.clock.now()
        done = 0
        while True:
            n, more = self._batch(now)
            done += n
            if not more:
                return done + self._auto_close(now) + self._forget_missed(now)

    def _batch(self, now: datetime) -> tuple[int, bool]:
        with unit_of_work(self.ctx.factory) as s:
            claim_writer(s, TicketClockRow.__tablename__)
            rows = list(s.scalars(select(TicketClockRow).where(TicketClockRow.next_due_at <= now)
                                  .order_by(TicketClockRow.next_due_at).limit(self.batch)
                                  .with_for_update(skip_locked=True)))
            ticket_rows = {r.ticket_id: r for r in s.scalars(
                select(TicketRow).where(TicketRow.ticket_id.in_({r.ticket_id for r in rows})))}
            tickets = {tid: row_to_ticket(r) for tid, r in ticket_rows.items()}
            pages: list[PlannedPage] = []
            for row in rows:
                clock = row_to_clock(row)
                incident = ticket_rows[row.ticket_id].incident_id
                if clock.name is ClockName.MAJOR and incident:
                    self._by_incident(s, tickets[row.ticket_id], clock, now, incident)
                else:
                    pages += self._fire(s, tickets[row.ticket_id], clock, now)
                clock_to_row(row.ticket_id, clock, row)
            add_pages(s, pages, now)
        return len(rows), len(rows) == self.batch

    def _fire(self, s: Session, ticket: Ticket, clock: SlaClock, now: datetime) -> list[PlannedPage]:
        pages: list[PlannedPage] = []
        zh = CLOCK_ZH[clock.name]
        # a clock running again after a reopen has a new deadline: its warning and breach are new pages
        name = f"{clock.name}-r{ticket.reopened}" if clock.resumed_at is not None else str(clock.name)
        if clock.warned_at is None and clock.warn_at is not None and clock.warn_at <= now < clock.due_at:
            clock.warned_at = now
            people = self._holder(now, ticket)
            subject, text = sla_text(ticket, zh, str(clock.name), clock.due_at, False, self.ctx.tz)
            pages += ticket_pages(ticket, "sla_warn", str(clock.name), str(ticket.tier), people, subject, text,
                                  self.ctx.config.page_channels, key=f"{name}-warn")
            self._note(s, ticket, now, "sla", f"{clock.name} warn", ", ".join(p.name for p in people) or "-")
        if clock.warn_at is not None and clock.warned_at is None:
            clock.warned_at = now  # the deadline came first (a late cycle): no warning after the fact
        if clock.breached_at is None and clock.due_at <= now:
            clock.breached_at, clock.met = clock.due_at, False
            subject, text = sla_text(ticket, zh, str(clock.name), clock.due_at, True, self.ctx.tz)
            if clock.name is ClockName.COMPLAINT_SOLVED:  # not solved in the agreed time: the project manager
                people = self.ctx.managers(now, ticket.specialty)
                pages += ticket_pages(ticket, "sla_breach", str(clock.name), str(Tier.MANAGER), people, subject,
                                      text, self.ctx.config.page_channels, key=f"{clock.name}-{Tier.MANAGER}")
                self._note(s, ticket, clock.due_at, "escalate", "complaint_manager",
                           f"投诉未在约定时间内解决，已上报项目经理 {', '.join(p.name for p in people) or '-'} / "
                           f"complaint not solved in the agreed time: escalated to the project manager")
                return pages
            up = {tier: self._up(now, tier, ticket) for tier in PAGE_UP[ticket.tier]}
            for tier, people in up.items():
                pages += ticket_pages(ticket, "sla_breach", str(clock.name), str(tier), people, subject, text,
                                      self.ctx.config.page_channels, key=f"{name}-{tier}")
            note = f"期限已过 / deadline {clock.due_at.astimezone(self.ctx.tz):%m-%d %H:%M} passed"
            if not any(up.values()):  # nobody on duty up the tiers (a night, a holiday): the named managers
                people = [p for p in self.ctx.managers(now, ticket.specialty) if p.name != ticket.assignee]
                pages += ticket_pages(ticket, "sla_breach", str(clock.name), str(Tier.MANAGER), people, subject,
                                      text, self.ctx.config.page_channels, key=f"{name}-fallback")
                note += nobody_note(people)
            self._note(s, ticket, clock.due_at, "sla", f"{clock.name} missed", note)
        return pages

    def _by_incident(self, s: Session, ticket: Ticket, clock: SlaClock, now: datetime, incident: str) -> None:
        """The major-incident clock of a ticket whose incident was declared: the incident's own rule pages the
        maintenance lead (at once, again until acknowledged, and when its deadline passes), so the clock only
        records its outcome and pages nobody: the manager is paged once for one major incident."""
        if clock.warn_at is not None and clock.warned_at is None:
            clock.warned_at = now
        if clock.breached_at is None and clock.due_at <= now:
            clock.breached_at, clock.met = clock.due_at, False
            self._note(s, ticket, clock.due_at, "sla", f"{clock.name} missed",
                       f"期限已过，由重大故障 {incident} 通知维护负责人 / deadline passed: the maintenance lead is "
                       f"paged by incident {incident}")
    def _holder(self, now: datetime, ticket: Ticket) -> list[Recipient]:
        """Who holds the ticket: the assignee (a roster person or the vendor contact), else the on-duty
        first line."""
        vendor = self.ctx.config.vendor_of(ticket.specialty)
        if ticket.assignee and vendor is not None and ticket.assignee == vendor.name:
            return [vendor.recipient()]
        person = self.ctx.staff.person(ticket.assignee) if ticket.assignee else None
        if person is not None:
            return [person]
        return list(self.ctx.staff.on_duty(now, str(Tier.FIRST_LINE), ticket.specialty))[:1]

    def _up(self, now: datetime, tier: Tier, ticket: Ticket) -> list[Recipient]:
        return [p for p in self.ctx.staff.on_duty(now, str(tier), ticket.specialty) if p.name != ticket.assignee]

    def _note(self, s: Session, ticket: Ticket, at: datetime, action: str, field: str, note: str) -> None:
        s.add(TicketEventRow(ticket_id=ticket.ticket_id, at=at, actor=AUTO, action=action, field=field[:32],
                             note=note))

    def _forget_missed(self, now: datetime) -> int:
        """Missed calls of callers never reached are kept a week (the alert has long covered them)."""
        with unit_of_work(self.ctx.factory) as s:
            result = s.execute(delete(MissedCallRow).where(MissedCallRow.ended_at < now - MISSED_KEPT))
        return int(result.rowcount)  # type: ignore[attr-defined]

    def _auto_close(self, now: datetime) -> int:
        """Resolved tickets older than `auto_close_days`: closed without the caller's confirmation."""
        limit = now - self.auto_close_after
        with unit_of_work(self.ctx.factory) as s:
            claim_writer(s, TicketRow.__tablename__)
            rows = list(s.scalars(select(TicketRow).where(TicketRow.status == str(Status.RESOLVED),
                                                          TicketRow.resolved_at <= limit)
                                  .limit(self.batch).with_for_update(skip_locked=True)))
            for row in rows:
                ticket = row_to_ticket(row)
                assert ticket.resolved_at is not None
                ticket.close(ticket.resolved_at + self.auto_close_after, AUTO,
                             note=f"{self.ctx.config.auto_close_days:g} 天未确认，自动关闭 / closed automatically")
                save(s, ticket, row, now, self.ctx.config.policy, self.ctx.calendar())
        return len(rows)
