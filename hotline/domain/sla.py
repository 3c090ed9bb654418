"""SLA clocks of a ticket: first response, repair start, resolution, complaint reply, major-incident report.

Each clock counts in the calendar of its service window: 7x24 (remote phone service: every minute counts)
or 6x8 (on-site service: only the on-site hours of on-site days, holidays out, 调休上班 days in). Pure:
times are arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from hotline.domain.complaints import complaint_start
from hotline.domain.tickets import Priority, Ticket, TicketType
from hotline.domain.windows import ServiceWindows, WorkingCalendar

_MAX_DAYS = 800  # a 6x8 clock never looks further ahead than this


class Window(StrEnum):
    ROUND_THE_CLOCK = "7x24"
    ONSITE = "6x8"


class ClockName(StrEnum):
    RESPONSE = "response"  # 首次响应: first ring of the first call -> staff reached the caller
    REPAIR_START = "repair_start"  # 开始修复: ticket opened -> work started (处理中 / escalated)
    RESOLUTION = "resolution"  # 解决: ticket opened -> resolved (MTTR is the mean of its minutes)
    COMPLAINT = "complaint"  # 投诉回复: the complaint made -> first reply to the complainant
    COMPLAINT_SOLVED = "complaint_solved"  # 投诉解决: the complaint made -> resolved, in the agreed time
    MAJOR = "major"  # 重大故障上报: an urgent ticket -> reported to the maintenance lead


CLOCK_ZH = {ClockName.RESPONSE: "首次响应", ClockName.REPAIR_START: "开始修复", ClockName.RESOLUTION: "解决",
            ClockName.COMPLAINT: "投诉回复", ClockName.COMPLAINT_SOLVED: "投诉解决",
            ClockName.MAJOR: "重大故障上报"}
CLOCK_EN = {ClockName.RESPONSE: "first response", ClockName.REPAIR_START: "repair start",
            ClockName.RESOLUTION: "resolution", ClockName.COMPLAINT: "complaint reply",
            ClockName.COMPLAINT_SOLVED: "complaint resolution", ClockName.MAJOR: "major incident report"}
COMPLAINT_CLOCKS = (ClockName.COMPLAINT, ClockName.COMPLAINT_SOLVED)


@dataclass(frozen=True)
class SlaPolicy:
    """Targets (defaults from the desk's regulations) and how long before a deadline the assignee is warned."""

    targets: Mapping[ClockName, timedelta] = field(default_factory=lambda: {
        ClockName.RESPONSE: timedelta(hours=1), ClockName.REPAIR_START: timedelta(hours=4),
        ClockName.RESOLUTION: timedelta(hours=4), ClockName.COMPLAINT: timedelta(hours=1),
        ClockName.COMPLAINT_SOLVED: timedelta(hours=24), ClockName.MAJOR: timedelta(minutes=30)})
    warn_before: timedelta = timedelta(minutes=15)

    def clocks_of(self, ticket: Ticket) -> list[ClockName]:
        """The clocks that run for `ticket` (the complaint clocks only for complaints, major only for urgent
        tickets)."""
        names = [ClockName.RESPONSE, ClockName.REPAIR_START, ClockName.RESOLUTION]
        if ticket.ticket_type is TicketType.COMPLAINT:
            names += COMPLAINT_CLOCKS
        if ticket.priority is Priority.URGENT:
            names.append(ClockName.MAJOR)
        return [n for n in names if n in self.targets]


@dataclass
class SlaClock:
    """One deadline of one ticket and its outcome (a `ticket_clocks` row)."""

    name: ClockName
    window: Window
    started_at: datetime
    due_at: datetime
    warn_at: datetime | None
    done_at: datetime | None = None
    minutes: float | None = None  # service-window minutes from start to done
    met: bool | None = None
    warned_at: datetime | None = None
    breached_at: datetime | None = None
    # After a reopen: the service minutes counted before it, and when the clock ran again (see `resume`).
    carried_minutes: float | None = None
    resumed_at: datetime | None = None

    def next_due(self) -> datetime | None:
        """When the engine next has to look at this clock (None: nothing more to do)."""
        if self.done_at is not None:
            return None
        if self.warned_at is None and self.warn_at is not None and self.warn_at < self.due_at:
            return self.warn_at
        return self.due_at if self.breached_at is None else None


@dataclass(frozen=True)
class Calendar:
    """The service windows and the working-day calendar a clock counts in."""

    windows: ServiceWindows
    days: WorkingCalendar

    def add(self, start: datetime, duration: timedelta, window: Window) -> datetime:
        """`start` plus `duration` of service time in `window`."""
        if window is Window.ROUND_THE_CLOCK:
            return start + duration
        left = duration
        day = start.astimezone(self.windows.tz).date()
        for _ in range(_MAX_DAYS):
            if self.windows.is_onsite_day(day, self.days):
                s, e = self.windows.onsite_hours(day)
                s = max(s, start)
                if s < e:
                    if e - s >= left:
                        return s + left
                    left -= e - s
            day += timedelta(days=1)
        raise ValueError(f"no on-site hours within {_MAX_DAYS} days of {start.isoformat()}")

    def between(self, start: datetime, end: datetime, window: Window) -> timedelta:
        """The service time in `window` from `start` to `end` (zero when end <= start)."""
        if end <= start:
            return timedelta(0)
        if window is Window.ROUND_THE_CLOCK:
            return end - start
        total = timedelta(0)
        day = start.astimezone(self.windows.tz).date()
        last = end.astimezone(self.windows.tz).date()
        while day <= last:
            if self.windows.is_onsite_day(day, self.days):
                s, e = self.windows.onsite_hours(day)
                s, e = max(s, start), min(e, end)
                if s < e:
                    total += e - s
            day += timedelta(days=1)
        return total


def clock_start(ticket: Ticket, name: ClockName) -> datetime:
    if name in COMPLAINT_CLOCKS:
        return complaint_start(ticket)
    return ticket.first_contact_at if name is ClockName.RESPONSE else ticket.opened_at


def _since(at: datetime | None, start: datetime) -> datetime | None:
    """`at` if it happened at or after `start` (work done before a complaint was made is no reply to it)."""
    return at if at is not None and at >= start else None


def clock_done(ticket: Ticket, name: ClockName, major_reported_at: datetime | None = None) -> datetime | None:
    """When the clock's event happened, from the ticket's state (None: still running)."""
    if name is ClockName.RESPONSE:
        return ticket.responded_at or ticket.opened_at
    if name is ClockName.COMPLAINT:
        return ticket.complaint_replied_at or _since(ticket.work_started_at, complaint_start(ticket))
    if name is ClockName.COMPLAINT_SOLVED:
        return _since(ticket.resolved_at, complaint_start(ticket))
    if name is ClockName.REPAIR_START:
        return ticket.work_started_at
    if name is ClockName.RESOLUTION:
        return ticket.resolved_at
    return major_reported_at


def new_clock(ticket: Ticket, name: ClockName, policy: SlaPolicy, calendar: Calendar, window: Window) -> SlaClock:
    start = clock_start(ticket, name)
    target = policy.targets[name]
    due = calendar.add(start, target, window)
    warn = calendar.add(start, target - policy.warn_before, window) if target > policy.warn_before else None
    clock = SlaClock(name, window, start, due, warn)
    if name is ClockName.COMPLAINT_SOLVED and ticket.complaint_due_at is not None:
        agree(clock, ticket.complaint_due_at, policy)
    return clock


def agree(clock: SlaClock, due: datetime, policy: SlaPolicy) -> bool:
    """Move a running clock's deadline to the time agreed with the caller (the warning moves with it); a
    deadline already passed stays passed. Returns whether anything changed."""
    if clock.due_at == due or clock.breached_at is not None or clock.done_at is not None:
        return False
    clock.due_at = due
    warn = due - policy.warn_before
    clock.warn_at = warn if warn > clock.started_at else None
    clock.warned_at = None
    return True


def resume(clock: SlaClock, at: datetime, policy: SlaPolicy, calendar: Calendar) -> None:
    """A done clock runs again from `at` (a reopened ticket's resolution clock). The time the ticket spent
    resolved, waiting for the caller, does not count: the minutes counted so far are carried, and the new
    deadline is what is left of the target counted from `at` (at once when nothing is left). The new
    deadline gets its own warning and, if missed, its own breach."""
    used = timedelta(minutes=clock.minutes or 0.0)
    left = max(policy.targets[clock.name] - used, timedelta(0))
    clock.carried_minutes = clock.minutes or 0.0
    clock.resumed_at = at
    clock.due_at = calendar.add(at, left, clock.window)
    clock.warn_at = calendar.add(at, left - policy.warn_before, clock.window) if left > policy.warn_before else None
    clock.warned_at = None
    clock.breached_at = None
    clock.done_at, clock.minutes, clock.met = None, None, None


def settle(clock: SlaClock, done_at: datetime | None, calendar: Calendar) -> bool:
    """Record (or clear, on a reopen) the clock's outcome; returns whether anything changed."""
    if done_at == clock.done_at:
        return False
    clock.done_at = done_at
    if done_at is None:
        clock.minutes, clock.met = None, None
        if clock.breached_at is not None:
            clock.met = False
        return True
    counted = calendar.between(clock.resumed_at or clock.started_at, done_at, clock.window)
    clock.minutes = round((clock.carried_minutes or 0.0) + counted.total_seconds() / 60, 2)
    clock.met = done_at <= clock.due_at
    return True
