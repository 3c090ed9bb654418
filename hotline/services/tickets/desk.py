"""People act on tickets (assign, start, escalate 一线 → 二线 → 厂商, resolve, close, reopen, edit) and read
them (one ticket with its calls, clocks and timeline; lists with overdue first; a caller's history)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from hotline.domain.numbers import NumberError, mask, outside_number
from hotline.domain.roster import Tier
from hotline.domain.sla import SlaClock
from hotline.domain.tickets import (
    PRIORITY_ZH,
    STATUS_ZH,
    TIER_ZH,
    TYPE_ZH,
    Change,
    Priority,
    Status,
    Ticket,
    TicketError,
    TicketTier,
    TicketType,
    check_specialty,
)
from hotline.paging.base import Recipient
from hotline.services.monitor.outbox import PlannedPage, add_pages
from hotline.services.tickets.pages import handoff_text, nobody_note, ticket_pages, vendor_text
from hotline.services.tickets.records import LinkedCall, TicketNotFound, locked, save
from hotline.services.tickets.settings import TicketContext
from hotline.store.base import chunks, unit_of_work
from hotline.store.tickets import (
    OPEN_SQL,
    OVERDUE_SQL,
    CallerRow,
    TicketCallRow,
    TicketClockRow,
    TicketEventRow,
    TicketRow,
    row_to_clock,
    row_to_ticket,
)

__all__ = ["TicketError", "TicketNotFound", "TicketService", "TicketView"]


def _iso(t: datetime | None, tz: ZoneInfo) -> str | None:
    return None if t is None else t.astimezone(tz).isoformat()


@dataclass(frozen=True)
class TicketView:
    ticket: Ticket
    calls: Sequence[LinkedCall]
    clocks: Sequence[SlaClock]
    incident_id: str | None = None
    paged: tuple[str, ...] = ()  # whom the change just paged (an escalation's hand-off), for the one who made it

    def contract(self, tz: ZoneInfo) -> dict[str, Any]:
        """The line `hotline replay --json` prints for the ticket."""
        t = self.ticket
        return {"type": "ticket", "ticket_id": t.ticket_id, "number": t.caller_key, "caller": t.caller,
                "calls": [c.call_id for c in self.calls], "opened_at": _iso(t.opened_at, tz),
                "first_contact_at": _iso(t.first_contact_at, tz), "status": str(t.status),
                "specialty": t.specialty, "tier": str(t.tier), "assignee": t.assignee,
                "ticket_type": str(t.ticket_type), "priority": str(t.priority)}

    def as_dict(self, tz: ZoneInfo) -> dict[str, Any]:
        t = self.ticket
        return {**self.contract(tz), "caller_name": t.caller_name, "summary": t.summary,
                "description": t.description, "solution": t.solution, "cause": t.cause,
                "service_window": t.service_window, "resolved_at": _iso(t.resolved_at, tz),
                "closed_at": _iso(t.closed_at, tz), "confirmed_by": t.confirmed_by, "reopened": t.reopened,
                "vendor_started_at": _iso(t.vendor_started_at, tz), "vendor_ended_at": _iso(t.vendor_ended_at, tz),
                "incident_id": self.incident_id,
                "complaint": None if t.complained_at is None and t.ticket_type is not TicketType.COMPLAINT else {
                    "complained_at": _iso(t.complained_at or t.opened_at, tz), "source": t.complaint_source,
                    "replied_at": _iso(t.complaint_replied_at, tz), "agreed_due_at": _iso(t.complaint_due_at, tz)},
                "overdue": any(c.breached_at is not None and c.done_at is None for c in self.clocks),
                "call_details": [{"call_id": c.call_id, "role": c.role, "started_at": _iso(c.started_at, tz),
                                  "staff": c.staff} for c in self.calls],
                "clocks": [{"clock": str(c.name), "window": str(c.window), "started_at": _iso(c.started_at, tz),
                            "due_at": _iso(c.due_at, tz), "done_at": _iso(c.done_at, tz), "minutes": c.minutes,
                            "met": c.met, "warned_at": _iso(c.warned_at, tz), "breached_at": _iso(c.breached_at, tz)}
                           for c in self.clocks]}


HANDOVER_TIERS = {Tier.FIRST_LINE: TicketTier.FIRST_LINE, Tier.SECOND_LINE: TicketTier.SECOND_LINE}


def handover_line(view: TicketView, tz: ZoneInfo) -> str:
    """An open ticket for the shift-end handover reminder, the caller's number masked (personal data):
    `GD20261203-0001 故障 重要 处理中 138****8004 11-23 10:00 打印机卡纸 [超时 / overdue]`."""
    t = view.ticket
    overdue = any(c.breached_at is not None and c.done_at is None for c in view.clocks)
    summary = " ".join(t.summary.split())[:40]
    return " ".join(x for x in (
        t.ticket_id, TYPE_ZH[t.ticket_type], PRIORITY_ZH[t.priority], STATUS_ZH[t.status], mask(t.caller),
        f"{t.opened_at.astimezone(tz):%m-%d %H:%M}", summary, "[超时 / overdue]" if overdue else "") if x)


def change_dict(c: Change, tz: ZoneInfo) -> dict[str, Any]:
    return {"at": _iso(c.at, tz), "actor": c.actor, "action": c.action, "field": c.field, "old": c.old,
            "new": c.new, "note": c.note}


Action = Callable[[Session, Ticket, datetime], Sequence[PlannedPage] | None]


class Incidents(Protocol):
    """The monitor's major incidents, as the tickets use them (an adapter over `IncidentService`)."""

    def declare(self, title: str, by: str, description: str | None, specialty: str | None) -> str:
        """Declare one (the maintenance lead is paged); returns its id."""
        ...

    def reported(self, incident_id: str, by: str) -> None: ...


class TicketService:
    def __init__(self, ctx: TicketContext, incidents: Incidents | None = None) -> None:
        self.ctx = ctx
        self.incidents = incidents

    # ---- people act ------------------------------------------------------------------------------

    def _change(self, ticket_id: str, action: Action) -> TicketView:
        now = self.ctx.clock.now()
        with unit_of_work(self.ctx.factory) as s:
            ticket, row = locked(s, ticket_id)
            pages = action(s, ticket, now)
            save(s, ticket, row, now, self.ctx.config.policy, self.ctx.calendar())
            add_pages(s, list(pages or ()), now)
        return replace(self.get(ticket_id), paged=tuple(dict.fromkeys(p.recipient.name for p in pages or ())))

    def _known(self, given: str, t: Ticket) -> tuple[str, Recipient]:
        """A person named by the user (name or extension): someone on the roster, or the specialty's vendor
        contact; anyone else is refused, so that a hand-off never goes to a name nobody can be paged at."""
        name = self.ctx.staff.identify(given) or given.strip()
        person = self.ctx.staff.person(name)
        if person is not None:
            return name, person
        vendor = self.ctx.config.vendor_of(t.specialty)
        if vendor is not None and name == vendor.name:
            return name, vendor.recipient()
        raise TicketError(f"不在值班表人员中：{given} / not on the roster: {given!r}")

    def assign(self, ticket_id: str, assignee: str, by: str) -> TicketView:
        return self._change(ticket_id, lambda s, t, now: t.assign(self._known(assignee, t)[0], now, by))

    def start(self, ticket_id: str, by: str) -> TicketView:
        """处理中: work on the ticket started (the repair-start clock stops)."""
        return self._change(ticket_id, lambda s, t, now: t.start_work(now, by))

    def escalate(self, ticket_id: str, reason: str, by: str, assignee: str | None = None) -> TicketView:
        """Up one tier: to the on-duty second line of the specialty, or to the specialty's vendor contact;
        the new assignee is paged once through the outbox."""

        def act(s: Session, t: Ticket, now: datetime) -> Sequence[PlannedPage]:
            target, person, contract = self._next_holder(t, now, assignee)
            tier = t.escalate(target, reason, now, by)
            subject, text = handoff_text(t, reason.strip(), self.ctx.tz)
            if person is not None:
                return ticket_pages(t, "handoff", f"to-{tier}", str(tier), [person], subject,
                                    text + vendor_text(t, contract), self.ctx.config.page_channels)
            # nobody on duty in the next tier (a night, a holiday): the managers, to find someone
            people = [p for p in self.ctx.managers(now, t.specialty) if p.name != by]
            t.remark(now, "system", "page", nobody_note(people).lstrip("；"))
            return ticket_pages(t, "handoff", f"to-{tier}", str(Tier.MANAGER), people,
                                f"{subject}（{TIER_ZH[t.tier]}无人值班 / nobody on duty）",
                                f"{TIER_ZH[t.tier]}无人值班，请安排处理人。/ Nobody is on duty in {t.tier}: please "
                                f"assign someone.\n\n{text}", self.ctx.config.page_channels)

        return self._change(ticket_id, act)

    def _next_holder(self, t: Ticket, now: datetime, assignee: str | None) -> tuple[str | None, Recipient | None, str]:
        """(name, recipient, vendor contract) of the next tier's holder."""
        if assignee:
            name, person = self._known(assignee, t)
            vendor = self.ctx.config.vendor_of(t.specialty)
            return name, person, vendor.contract if vendor is not None and name == vendor.name else ""
        if t.tier is TicketTier.FIRST_LINE:
            people = self.ctx.staff.on_duty(now, str(Tier.SECOND_LINE), t.specialty)
            return (people[0].name, people[0], "") if people else (None, None, "")
        vendor = self.ctx.config.vendor_of(t.specialty)
        if vendor is not None:
            return vendor.name, vendor.recipient(), vendor.contract
        people = self.ctx.staff.on_duty(now, str(Tier.VENDOR), t.specialty)
        return (people[0].name, people[0], "") if people else (None, None, "")

    def resolve(self, ticket_id: str, solution: str, by: str, cause: str | None = None) -> TicketView:
        return self._change(ticket_id, lambda s, t, now: t.resolve(solution, now, by, cause))

    def close(self, ticket_id: str, by: str, confirmed_by: str | None = None) -> TicketView:
        """The caller confirmed the solution (recorded by staff or a survey): 已关闭."""
        return self._change(ticket_id, lambda s, t, now: t.close(now, by, confirmed_by))

    def reopen(self, ticket_id: str, by: str, reason: str) -> TicketView:
        def act(s: Session, t: Ticket, now: datetime) -> Sequence[PlannedPage]:
            if t.status is Status.CLOSED:
                other = s.scalar(select(TicketRow.ticket_id).where(TicketRow.open_caller == t.caller_key))
                if other is not None:
                    raise TicketError(f"来电号码已有未关闭工单 {other} / the caller has ticket {other} open")
            t.reopen(now, by, reason)
            return []

        return self._change(ticket_id, act)

    def edit(self, ticket_id: str, by: str, **values: str | None) -> TicketView:
        """Change descriptive fields; a ticket made urgent (紧急) declares a major incident (the maintenance
        lead is paged by the monitor) and links it. A specialty must be a configured one."""
        check_specialty(values.get("specialty"), self.ctx.config.specialties)
        view = self._change(ticket_id, lambda s, t, now: t.edit(now, by, **values))
        if view.ticket.priority is Priority.URGENT and self.incidents is not None:
            view = self._declare(view, by)
        return view

    def _declare(self, view: TicketView, by: str) -> TicketView:
        t = view.ticket
        with unit_of_work(self.ctx.factory) as s:
            linked = s.scalar(select(TicketRow.incident_id).where(TicketRow.ticket_id == t.ticket_id))
        if linked or self.incidents is None:
            return view
        title = f"工单 {t.ticket_id}：{t.summary or t.caller} / ticket {t.ticket_id}"
        incident_id = self.incidents.declare(title, by, t.description or None, t.specialty)

        def link(s: Session, ticket: Ticket, now: datetime) -> None:
            row = s.get(TicketRow, ticket.ticket_id)
            if row is not None:
                row.incident_id = incident_id
            ticket.changes.append(Change(now, by, "incident", "incident", None, incident_id,
                                         "重大故障已申报 / major incident declared"))

        return self._change(t.ticket_id, link)

    def major_reported(self, ticket_id: str, by: str) -> TicketView:
        """An urgent ticket was reported to the maintenance lead: the major-incident clock stops, and the
        linked incident is recorded as reported (its alert clears)."""
        incident: list[str] = []

        def act(s: Session, t: Ticket, now: datetime) -> Sequence[PlannedPage]:
            row = s.get(TicketRow, t.ticket_id)
            if row is not None and row.major_reported_at is None:
                row.major_reported_at = now
                t.changes.append(Change(now, by, "report", note="已上报维护负责人 / reported to the maintenance lead"))
            if row is not None and row.incident_id:
                incident.append(row.incident_id)
            return []

        view = self._change(ticket_id, act)
        if incident and self.incidents is not None:
            self.incidents.reported(incident[0], by)
        return view

    # ---- reading ---------------------------------------------------------------------------------

    def get(self, ticket_id: str) -> TicketView:
        with unit_of_work(self.ctx.factory) as s:
            row = s.get(TicketRow, ticket_id)
            if row is None:
                raise TicketNotFound(f"没有此工单 / no ticket {ticket_id!r}")
            return self._views(s, [row])[0]

    def timeline(self, ticket_id: str) -> list[Change]:
        with unit_of_work(self.ctx.factory) as s:
            rows = s.scalars(select(TicketEventRow).where(TicketEventRow.ticket_id == ticket_id)
                             .order_by(TicketEventRow.at, TicketEventRow.id))
            return [Change(r.at, r.actor, r.action, r.field, r.old, r.new, r.note) for r in rows]

    def find(self, *, state: str = "open", assignee: str | None = None, tier: str | None = None,
             caller: str | None = None, limit: int = 100) -> list[TicketView]:
        """Tickets, overdue first then newest; state: open (new, in progress, escalated), not_closed (open or
        resolved), new, in_progress, escalated, resolved, closed or all; `caller` is a number's key.

        Two index-backed queries (the partial indexes of store/tickets.py): the overdue tickets of the
        selection, then the newest of the rest."""
        stmt = select(TicketRow)
        if state == "open":
            stmt = stmt.where(OPEN_SQL)
        elif state == "not_closed":
            stmt = stmt.where(TicketRow.open_caller.is_not(None))
        elif state != "all":
            stmt = stmt.where(TicketRow.status == str(Status(state)))
        if assignee:
            stmt = stmt.where(TicketRow.assignee == assignee)
        if tier:
            stmt = stmt.where(TicketRow.tier == str(TicketTier(tier)))
        if caller:
            stmt = stmt.where(TicketRow.caller_key == caller)
        newest = (TicketRow.opened_at.desc(),)
        with unit_of_work(self.ctx.factory) as s:
            first: list[TicketRow] = []
            if state in ("open", "not_closed"):
                overdue = select(TicketClockRow.ticket_id).where(OVERDUE_SQL)
                first = list(s.scalars(stmt.where(TicketRow.ticket_id.in_(overdue)).order_by(*newest).limit(limit)))
            if len(first) < limit:
                rest = stmt.where(TicketRow.ticket_id.not_in([r.ticket_id for r in first])) if first else stmt
                first += s.scalars(rest.order_by(*newest).limit(limit - len(first)))
            return self._views(s, first)

    def of_calls(self, call_ids: Collection[str]) -> list[TicketView]:
        """The tickets the calls `call_ids` are linked to (a replay's own tickets), oldest first."""
        with unit_of_work(self.ctx.factory) as s:
            tickets: set[str] = set()
            for part in chunks(list(dict.fromkeys(call_ids))):
                tickets.update(s.scalars(select(TicketCallRow.ticket_id).where(TicketCallRow.call_id.in_(part))))
            views: list[TicketView] = []
            for part in chunks(sorted(tickets)):
                views += self._views(s, list(s.scalars(select(TicketRow).where(TicketRow.ticket_id.in_(part)))))
        return sorted(views, key=lambda v: (v.ticket.opened_at, v.ticket.ticket_id))

    def held(self, tier: Tier, person: str, limit: int = 50) -> list[TicketView]:
        """The open tickets `person`, going off duty in the roster tier `tier`, hands over: those assigned to
        them, and those of the same ticket tier (一线, 二线) that nobody holds; oldest first."""
        mine = TicketRow.assignee == person
        ticket_tier = HANDOVER_TIERS.get(tier)
        if ticket_tier is not None:
            mine = or_(mine, and_(TicketRow.assignee.is_(None), TicketRow.tier == str(ticket_tier)))
        stmt = select(TicketRow).where(OPEN_SQL, mine).order_by(TicketRow.opened_at, TicketRow.ticket_id).limit(limit)
        with unit_of_work(self.ctx.factory) as s:
            return self._views(s, list(s.scalars(stmt)))

    def open_ticket_of(self, caller_key: str) -> TicketView | None:
        """The caller's ticket that is not closed (the screen pop)."""
        with unit_of_work(self.ctx.factory) as s:
            row = s.scalars(select(TicketRow).where(TicketRow.open_caller == caller_key)).first()
            return self._views(s, [row])[0] if row is not None else None

    def count(self) -> int:
        with unit_of_work(self.ctx.factory) as s:
            return int(s.scalar(select(func.count()).select_from(TicketRow)) or 0)

    def caller(self, caller_key: str) -> dict[str, Any] | None:
        """The caller directory's entry (name, organisation, notes)."""
        with unit_of_work(self.ctx.factory) as s:
            row = s.get(CallerRow, caller_key)
            if row is None:
                return None
            return {"caller_key": row.caller_key, "number": row.number, "name": row.name,
                    "organisation": row.organisation, "notes": row.notes}

    def set_caller(self, text: str, **values: str | None) -> dict[str, Any]:
        """Fill in the caller directory (name, organisation, notes) by hand, for the outside number `text`
        (any written form)."""
        allowed = {"name", "organisation", "notes"}
        try:
            parsed = outside_number(text, local_area_code=self.ctx.config.local_area_code,
                                    dial_prefixes=self.ctx.dial_prefixes)
        except NumberError as e:
            raise TicketError(str(e)) from None
        caller_key, number = parsed.key, parsed.national
        with unit_of_work(self.ctx.factory) as s:
            row = s.get(CallerRow, caller_key)
            if row is None:
                row = CallerRow(caller_key=caller_key, number=number)
                s.add(row)
            for name, value in values.items():
                if name not in allowed:
                    raise TicketError(f"字段 {name!r} 不能修改 / field {name!r} cannot be edited")
                if value is not None:
                    setattr(row, name, value.strip() or None)
            row.updated_at = self.ctx.clock.now()
        result = self.caller(caller_key)
        assert result is not None
        return result

    def _views(self, s: Session, rows: Sequence[TicketRow]) -> list[TicketView]:
        ids = [r.ticket_id for r in rows]
        calls: dict[str, list[LinkedCall]] = {i: [] for i in ids}
        clocks: dict[str, list[SlaClock]] = {i: [] for i in ids}
        if ids:
            for c in s.scalars(select(TicketCallRow).where(TicketCallRow.ticket_id.in_(ids))
                               .order_by(TicketCallRow.started_at, TicketCallRow.call_id)):
                calls[c.ticket_id].append(LinkedCall(c.call_id, c.role, c.started_at, c.at, c.staff))
            for k in s.scalars(select(TicketClockRow).where(TicketClockRow.ticket_id.in_(ids))
                               .order_by(TicketClockRow.due_at)):
                clocks[k.ticket_id].append(row_to_clock(k))
        return [TicketView(row_to_ticket(r), calls[r.ticket_id], clocks[r.ticket_id], r.incident_id) for r in rows]
