"""Tickets (工单): which calls open or join one, the lifecycle 新建 → 处理中 → 已升级 → 已解决 → 已关闭 (reopen),
the tiers 一线 → 二线 → 厂商, and the timeline of every change. Pure: times and people are arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from hotline.domain.calls import Call, Direction, Outcome
from hotline.domain.numbers import NumberKind, PhoneNumber, try_parse_number


class TicketType(StrEnum):
    INCIDENT = "incident"  # 故障
    REQUEST = "request"  # 服务请求
    QUESTION = "question"  # 咨询
    COMPLAINT = "complaint"  # 投诉


class Priority(StrEnum):
    NORMAL = "normal"  # 一般
    IMPORTANT = "important"  # 重要
    URGENT = "urgent"  # 紧急: a major incident, reported to the maintenance lead


class Status(StrEnum):
    NEW = "new"  # 新建
    IN_PROGRESS = "in_progress"  # 处理中
    ESCALATED = "escalated"  # 已升级
    RESOLVED = "resolved"  # 已解决
    CLOSED = "closed"  # 已关闭


class TicketTier(StrEnum):
    FIRST_LINE = "first_line"  # 一线
    SECOND_LINE = "second_line"  # 二线
    VENDOR = "vendor"  # 厂商


TYPE_ZH = {TicketType.INCIDENT: "故障", TicketType.REQUEST: "服务请求", TicketType.QUESTION: "咨询",
           TicketType.COMPLAINT: "投诉"}
PRIORITY_ZH = {Priority.NORMAL: "一般", Priority.IMPORTANT: "重要", Priority.URGENT: "紧急"}
STATUS_ZH = {Status.NEW: "新建", Status.IN_PROGRESS: "处理中", Status.ESCALATED: "已升级", Status.RESOLVED: "已解决",
             Status.CLOSED: "已关闭"}
TIER_ZH = {TicketTier.FIRST_LINE: "一线", TicketTier.SECOND_LINE: "二线", TicketTier.VENDOR: "厂商"}
TIER_EN = {TicketTier.FIRST_LINE: "first line", TicketTier.SECOND_LINE: "second line", TicketTier.VENDOR: "the vendor"}
# the timeline's actions as staff read them (the stored action stays the code)
ACTION_ZH = {"open": "受理", "link": "关联", "assign": "指派", "status": "状态", "escalate": "升级", "edit": "修改",
             "resolve": "解决", "close": "关闭", "reopen": "重开", "page": "通知", "sla": "时限", "complaint": "投诉",
             "reply": "回复", "form": "反馈表", "transfer": "转接", "incident": "重大故障", "report": "上报",
             "kb": "知识库", "survey": "回访"}
NEXT_TIER = {TicketTier.FIRST_LINE: TicketTier.SECOND_LINE, TicketTier.SECOND_LINE: TicketTier.VENDOR}
OPEN = frozenset({Status.NEW, Status.IN_PROGRESS, Status.ESCALATED})  # being worked on
NOT_CLOSED = OPEN | {Status.RESOLVED}  # the caller's one ticket: later calls are linked to it


class TicketError(ValueError):
    """A change the ticket's state does not allow; the message says why, Chinese first."""


class InvalidValue(TicketError):
    """A value the request gave that no ticket can take (an unknown type, priority or field): the request is
    wrong, whatever the ticket's state (HTTP 422, not 409)."""


class UnknownSpecialty(InvalidValue):
    """A specialty that is none of the configured ones ([specialties] in the config file)."""


def check_specialty(value: str | None, known: Collection[str]) -> None:
    """Refuse a specialty not among `known` (an empty `known`: none configured, anything goes; an empty
    value: no specialty)."""
    if value and known and value not in known:
        raise UnknownSpecialty(f"专业 {value!r} 未配置 / unknown specialty {value!r} "
                               f"(known: {', '.join(sorted(known))})")


class CallRole(StrEnum):
    REACHED = "reached"  # staff talked to the caller (answered inbound or answered callback)
    MISSED = "missed"  # the caller did not reach staff


@dataclass(frozen=True)
class Reach:
    """What a call means for tickets: the outside number it concerns and whether staff reached it."""

    number: PhoneNumber
    role: CallRole
    staff: str | None  # who answered (inbound) or who called back (outbound)
    at: datetime  # the answer, or the end of a missed call


def reach_of(call: Call, *, local_area_code: str | None = None, dial_prefixes: tuple[str, ...] = (),
             parse: Callable[[str | None], PhoneNumber | None] | None = None) -> Reach | None:
    """The outside number a call concerns, or None: internal calls (extension to extension), calls whose
    number is unknown, and calls still ringing. An outbound call only counts when answered (a callback).
    `parse`: the number parser to use instead of `try_parse_number` with those options (e.g. a memo)."""
    outbound = call.direction is Direction.OUTBOUND
    text = call.called if outbound else call.caller
    number = parse(text) if parse is not None else try_parse_number(
        text, local_area_code=local_area_code, dial_prefixes=dial_prefixes)
    if number is None or number.kind is NumberKind.EXTENSION:
        return None
    if call.answered_at is not None:
        staff = call.caller if outbound else call.answered_by
        return Reach(number, CallRole.REACHED, staff, call.answered_at)
    if outbound or call.outcome is None or call.outcome is Outcome.ANSWERED:
        return None
    return Reach(number, CallRole.MISSED, None, call.ended_at or call.started_at)


def ticket_number(day: date, seq: int) -> str:
    """The number read out on the phone: GD + local date + the day's sequence ('GD20261203-0007')."""
    return f"GD{day:%Y%m%d}-{seq:04d}"


@dataclass(frozen=True)
class Change:
    """One line of the timeline: who changed what from what to what, and why."""

    at: datetime
    actor: str
    action: str  # open, link, assign, status, escalate, edit, resolve, close, reopen, page, sla
    field: str | None = None
    old: str | None = None
    new: str | None = None
    note: str | None = None


@dataclass
class Ticket:
    ticket_id: str
    caller_key: str  # PhoneNumber.key: '+8613800138000'
    caller: str  # national form: '13800138000'
    opened_at: datetime  # when staff first reached the caller
    first_contact_at: datetime  # the start of the first linked call (the response clock's start)
    caller_name: str | None = None
    ticket_type: TicketType = TicketType.INCIDENT
    priority: Priority = Priority.NORMAL
    specialty: str | None = None
    status: Status = Status.NEW
    tier: TicketTier = TicketTier.FIRST_LINE
    assignee: str | None = None
    summary: str = ""
    description: str = ""
    solution: str | None = None
    cause: str | None = None
    service_window: str = "7x24"
    responded_at: datetime | None = None
    work_started_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    confirmed_by: str | None = None
    reopened: int = 0
    vendor_started_at: datetime | None = None
    vendor_ended_at: datetime | None = None
    # a complaint (投诉): when it was made, how (ivr, call, staff, survey), the first reply to the
    # complainant and the resolution deadline agreed with them (None: the configured target)
    complained_at: datetime | None = None
    complaint_source: str | None = None
    complaint_replied_at: datetime | None = None
    complaint_due_at: datetime | None = None
    changes: list[Change] = field(default_factory=list)
    reopened_at: datetime | None = None  # set by `reopen` for the save that follows (not stored)

    def _note(self, change: Change) -> Change:
        self.changes.append(change)
        return change

    def remark(self, at: datetime, actor: str, action: str, note: str) -> None:
        """A line on the timeline that changes no field (e.g. whom a hand-off paged when nobody was on duty)."""
        self._note(Change(at, actor, action, None, None, None, note))

    def _status(self, new: Status, at: datetime, actor: str, note: str | None = None) -> None:
        if new is not self.status:
            self._note(Change(at, actor, "status", "status", str(self.status), str(new), note))
            self.status = new

    def assign(self, assignee: str, at: datetime, actor: str, note: str | None = None) -> None:
        """Give the ticket to `assignee` (closed tickets cannot be reassigned)."""
        if self.status is Status.CLOSED:
            raise TicketError(f"工单 {self.ticket_id} 已关闭，不能指派 / ticket is closed and cannot be assigned")
        if assignee != self.assignee:
            self._note(Change(at, actor, "assign", "assignee", self.assignee, assignee, note))
            self.assignee = assignee

    def start_work(self, at: datetime, actor: str) -> None:
        """处理中: the repair has started (the repair-start clock stops)."""
        if self.status not in OPEN:
            raise TicketError(f"工单 {self.ticket_id} 状态为 {STATUS_ZH[self.status]}，不能开始处理 / "
                              f"ticket is {self.status}, work cannot start")
        if self.work_started_at is None:
            self.work_started_at = at
        if self.status is Status.NEW:
            self._status(Status.IN_PROGRESS, at, actor)

    def escalate(self, assignee: str | None, reason: str, at: datetime, actor: str) -> TicketTier:
        """Hand the ticket up one tier (一线 → 二线 → 厂商) to `assignee` (None: nobody of that tier yet),
        with a reason."""
        if not reason.strip():
            raise TicketError("升级需要说明原因 / escalating needs a reason")
        if self.status not in OPEN:
            raise TicketError(f"工单 {self.ticket_id} 状态为 {STATUS_ZH[self.status]}，不能升级 / "
                              f"ticket is {self.status} and cannot be escalated")
        new = NEXT_TIER.get(self.tier)
        if new is None:
            raise TicketError(f"工单 {self.ticket_id} 已在厂商处理，不能再升级 / ticket is already with the vendor")
        self._note(Change(at, actor, "escalate", "tier", str(self.tier), str(new), reason.strip()))
        self.tier = new
        if new is TicketTier.VENDOR:
            self.vendor_started_at = at
        if self.work_started_at is None:
            self.work_started_at = at
        if assignee is not None:
            self.assign(assignee, at, actor, f"升级 / escalated: {reason.strip()}")
        elif self.assignee is not None:
            self._note(Change(at, actor, "assign", "assignee", self.assignee, None, "无人值班 / nobody on duty"))
            self.assignee = None
        self._status(Status.ESCALATED, at, actor)
        return new

    def resolve(self, solution: str, at: datetime, actor: str, cause: str | None = None) -> None:
        """已解决 with the solution (解决方法) and, if known, the cause."""
        if not solution.strip():
            raise TicketError("解决工单需要填写解决方法 / resolving needs the solution")
        if self.status not in OPEN:
            raise TicketError(f"工单 {self.ticket_id} 状态为 {STATUS_ZH[self.status]}，不能解决 / "
                              f"ticket is {self.status} and cannot be resolved")
        self._note(Change(at, actor, "resolve", "solution", self.solution, solution.strip(), cause))
        self.solution, self.cause = solution.strip(), (cause or self.cause)
        self.resolved_at = at
        if self.work_started_at is None:
            self.work_started_at = at
        if self.tier is TicketTier.VENDOR and self.vendor_ended_at is None:
            self.vendor_ended_at = at
        self._status(Status.RESOLVED, at, actor)

    def close(self, at: datetime, actor: str, confirmed_by: str | None = None, note: str | None = None) -> None:
        """已关闭: the caller confirmed (recorded by staff or a survey), or the auto-close time passed."""
        if self.status is not Status.RESOLVED:
            raise TicketError(f"工单 {self.ticket_id} 尚未解决，不能关闭 / ticket is {self.status}: "
                              f"only a resolved ticket can be closed")
        self.confirmed_by = confirmed_by
        self.closed_at = at
        self._status(Status.CLOSED, at, actor, note or (f"用户确认 / confirmed by {confirmed_by}"
                                                        if confirmed_by else None))

    def reopen(self, at: datetime, actor: str, reason: str) -> None:
        """Back to 处理中 (a repeat call while resolved, or by hand); the resolution clock runs again."""
        if self.status not in (Status.RESOLVED, Status.CLOSED):
            raise TicketError(f"工单 {self.ticket_id} 未解决，无需重开 / ticket is {self.status}, not resolved")
        self.reopened += 1
        self.reopened_at = at
        self.resolved_at = None
        self.closed_at = None
        self.confirmed_by = None
        self._status(Status.IN_PROGRESS, at, actor, reason)

    def edit(self, at: datetime, actor: str, **values: str | None) -> None:
        """Change descriptive fields (summary, description, specialty, type, priority, caller name, cause)."""
        allowed = {"summary", "description", "specialty", "ticket_type", "priority", "caller_name", "cause"}
        for name, value in values.items():
            if name not in allowed:
                raise InvalidValue(f"字段 {name!r} 不能直接修改 / field {name!r} cannot be edited")
            if name == "ticket_type":
                value = str(_enum(TicketType, value, "ticket_type"))
            elif name == "priority":
                value = str(_enum(Priority, value, "priority"))
            old = getattr(self, name)
            if value != (str(old) if old is not None else None):
                self._note(Change(at, actor, "edit", name, None if old is None else str(old), value))
                if name == "ticket_type":
                    self.ticket_type = TicketType(str(value))
                    if self.ticket_type is TicketType.COMPLAINT and self.complained_at is None:
                        self.complained_at = at  # the complaint clocks start now, not at the opening
                        self.complaint_source = self.complaint_source or "hand"
                elif name == "priority":
                    self.priority = Priority(str(value))
                else:
                    setattr(self, name, value)


def _enum(kind: type[StrEnum], value: str | None, name: str) -> StrEnum:
    try:
        return kind(str(value))
    except ValueError:
        known = ", ".join(str(k) for k in kind)
        raise InvalidValue(f"{name} 取值无效 {value!r} / unknown {name} {value!r} (known: {known})") from None
