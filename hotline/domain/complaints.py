"""Complaints (投诉): how a ticket becomes one, the first reply to the complainant, the resolution deadline
agreed with them, and the 《客户投诉反馈表》 (complaint feedback form). Pure: times and people are arguments.

A complaint is a ticket of type 投诉. Its two clocks (domain/sla.py) start when the complaint was made:
投诉回复 (first reply, 1 h by the regulations) and 投诉解决 (resolved within the agreed time, else the project
manager is paged).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum

from hotline.domain.tickets import OPEN, STATUS_ZH, Change, Status, Ticket, TicketError, TicketType


class Source(StrEnum):
    IVR = "ivr"  # the caller chose the complaint option of the IVR menu
    CALL = "call"  # staff marked a call as a complaint
    HAND = "hand"  # opened by hand (CLI, API, page)
    SURVEY = "survey"  # a low satisfaction score


SOURCE_ZH = {Source.IVR: "语音菜单", Source.CALL: "来电标记", Source.HAND: "人工登记", Source.SURVEY: "回访低分"}


def mark_complaint(ticket: Ticket, at: datetime, actor: str, source: Source, note: str | None = None) -> None:
    """Make `ticket` a complaint made at `at`; a resolved ticket is reopened (a complaint is investigated).
    A ticket already a complaint keeps its first complaint time."""
    if ticket.status is Status.CLOSED:
        raise TicketError(f"工单 {ticket.ticket_id} 已关闭，请新开投诉工单 / ticket is closed: open a new complaint")
    if ticket.ticket_type is TicketType.COMPLAINT and ticket.complained_at is not None:
        return
    if ticket.ticket_type is not TicketType.COMPLAINT:
        ticket.changes.append(Change(at, actor, "edit", "ticket_type", str(ticket.ticket_type),
                                     str(TicketType.COMPLAINT), note))
        ticket.ticket_type = TicketType.COMPLAINT
    ticket.complained_at = at
    ticket.complaint_source = str(source)
    ticket.changes.append(Change(at, actor, "complaint", "complaint_source", None, str(source),
                                 f"投诉（{SOURCE_ZH[source]}）/ complaint ({source})"))
    if ticket.status is Status.RESOLVED:
        ticket.reopen(at, actor, "投诉 / complaint")


def complaint_start(ticket: Ticket) -> datetime:
    """When the complaint clocks start: when the complaint was made (else the ticket's opening)."""
    return ticket.complained_at or ticket.opened_at


def reply(ticket: Ticket, text: str, at: datetime, actor: str) -> None:
    """The first reply to the complainant (答复): stops the 投诉回复 clock; work on the ticket has started."""
    if ticket.ticket_type is not TicketType.COMPLAINT:
        raise TicketError(f"工单 {ticket.ticket_id} 不是投诉 / ticket is not a complaint")
    if not text.strip():
        raise TicketError("答复需要填写内容 / a reply needs its text")
    if ticket.status not in OPEN:
        raise TicketError(f"工单 {ticket.ticket_id} 状态为 {STATUS_ZH[ticket.status]}，不能答复 / "
                          f"ticket is {ticket.status}")
    ticket.changes.append(Change(at, actor, "reply", "complaint_reply", None, text.strip(),
                                 "答复投诉人 / replied to the complainant"))
    if ticket.complaint_replied_at is None:
        ticket.complaint_replied_at = at
    ticket.start_work(at, actor)


def agree_deadline(ticket: Ticket, due: datetime, at: datetime, actor: str) -> None:
    """The resolution deadline agreed with the complainant (the 投诉解决 clock's due time)."""
    if ticket.ticket_type is not TicketType.COMPLAINT:
        raise TicketError(f"工单 {ticket.ticket_id} 不是投诉 / ticket is not a complaint")
    if due <= complaint_start(ticket):
        raise TicketError("约定解决时间须晚于投诉时间 / the agreed deadline must be after the complaint was made")
    old = ticket.complaint_due_at
    if old != due:
        ticket.changes.append(Change(at, actor, "edit", "complaint_due_at", None if old is None else old.isoformat(),
                                     due.isoformat(), "约定解决时间 / agreed resolution deadline"))
        ticket.complaint_due_at = due


# ---- 《客户投诉反馈表》 ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackForm:
    """The complaint feedback form: what the customer complained of, the investigation, the cause, the
    measures taken, the feedback given to the customer, and the customer's confirmation."""

    complaint: str = ""  # 投诉内容
    investigation: str = ""  # 调查情况
    cause: str = ""  # 原因分析
    measures: str = ""  # 处理措施
    feedback: str = ""  # 反馈客户
    confirmation: str = ""  # 客户确认

    def changed(self, **values: str | None) -> FeedbackForm:
        """A copy with `values` (None: unchanged); unknown fields are refused by name."""
        known = {f.name for f in fields(self)}
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        for name, value in values.items():
            if name not in known:
                raise TicketError(f"投诉反馈表没有字段 {name!r} / the form has no field {name!r} "
                                  f"(known: {', '.join(FORM_FIELDS)})")
            if value is not None:
                if len(value) > MAX_FIELD:
                    raise TicketError(f"{FORM_ZH[name]} 超过 {MAX_FIELD} 字 / {name} is longer than {MAX_FIELD}")
                out[name] = value.strip()
        return FeedbackForm(**out)

    def as_dict(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in FORM_FIELDS}


FORM_FIELDS = ("complaint", "investigation", "cause", "measures", "feedback", "confirmation")
FORM_ZH = {"complaint": "投诉内容", "investigation": "调查情况", "cause": "原因分析", "measures": "处理措施",
           "feedback": "反馈客户", "confirmation": "客户确认"}
FORM_EN = {"complaint": "Complaint", "investigation": "Investigation", "cause": "Cause", "measures": "Measures",
           "feedback": "Feedback to the customer", "confirmation": "Customer confirmation"}
MAX_FIELD = 4000


# ---- the report ------------------------------------------------------------------------------------


class Deadline(StrEnum):
    """A complaint clock's outcome as seen at the report's "now"."""

    IN_TIME = "in_time"  # done by its deadline
    LATE = "late"  # done after its deadline, or not done and the deadline passed
    PENDING = "pending"  # 未到期: not done and the deadline still ahead: neither in time nor late yet


DEADLINE_ZH = {Deadline.IN_TIME: "按时", Deadline.LATE: "超时", Deadline.PENDING: "未到期"}


def deadline_outcome(done_at: datetime | None, due_at: datetime | None, now: datetime) -> Deadline:
    """In time, late or pending (未到期) at `now`. A clock without a deadline (none recorded) and not done is
    pending: it is never counted late on a guess."""
    if done_at is not None:
        return Deadline.IN_TIME if due_at is None or done_at <= due_at else Deadline.LATE
    return Deadline.LATE if due_at is not None and due_at <= now else Deadline.PENDING


@dataclass(frozen=True)
class Tally:
    """How many of a month's complaints met one deadline, missed it, or are not due yet."""

    in_time: int = 0
    late: int = 0
    pending: int = 0

    @property
    def due(self) -> int:
        """The sample of the share: complaints whose outcome is known (in time or late)."""
        return self.in_time + self.late

    @property
    def share(self) -> float | None:
        return None if self.due == 0 else round(self.in_time / self.due, 4)

    @staticmethod
    def of(outcomes: list[Deadline]) -> Tally:
        return Tally(outcomes.count(Deadline.IN_TIME), outcomes.count(Deadline.LATE),
                     outcomes.count(Deadline.PENDING))

    def as_dict(self) -> dict[str, object]:
        return {"count": self.in_time, "of": self.due, "share": self.share, "late": self.late,
                "pending": self.pending}


@dataclass(frozen=True)
class ComplaintFigures:
    """The month's complaints: how many, replied within the target, resolved in time, escalated to the
    project manager. A complaint whose deadline has not passed and that is not done yet is pending (未到期),
    neither in time nor late: a share is of the complaints whose outcome is known, and comes with that sample
    size and the pending count."""

    count: int
    replied: int  # replied at all (the reply clock stopped)
    reply: Tally  # first reply within its deadline (投诉回复)
    resolved: int  # resolved at all
    resolution: Tally  # resolved within the agreed time (投诉解决)
    escalated: int  # the 投诉解决 deadline passed: paged to the project manager

    @staticmethod
    def _share(part: int, whole: int) -> float | None:
        return None if whole == 0 else round(part / whole, 4)

    def as_dict(self) -> dict[str, object]:
        return {"count": self.count, "replied": self.replied, "replied_in_time": self.reply.as_dict(),
                "resolved": self.resolved, "resolved_in_time": self.resolution.as_dict(),
                "escalated": {"count": self.escalated, "of": self.count,
                              "share": self._share(self.escalated, self.count)}}
