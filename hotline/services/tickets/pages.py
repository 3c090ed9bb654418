"""Ticket pages (hand-offs, SLA warnings, SLA breaches) planned into the monitor's outbox: the outbox's
unique key sends each once, whichever process decides it and however often it restarts."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from hotline.domain.sla import CLOCK_EN
from hotline.domain.tickets import TIER_EN, TIER_ZH, Ticket, TicketTier
from hotline.paging.base import Recipient
from hotline.services.monitor.outbox import PlannedPage, page_key

log = logging.getLogger(__name__)
DEFAULT_CHANNEL = "default"  # the dispatcher's default order
_CLOCK_EN = {str(k): v for k, v in CLOCK_EN.items()}  # by the clock's code, as the pages are given it


def ticket_pages(ticket: Ticket, purpose: str, step: str, tier: str, people: Sequence[Recipient],
                 subject: str, text: str, default_channels: Sequence[str] = (), *,
                 key: str | None = None) -> list[PlannedPage]:
    """One page per person on the person's first channel (the rest as fallbacks); `key` (default: the step)
    makes the outbox key, so the same decision is never paged twice."""
    pages = []
    for person in people:
        preferred = person.channels or tuple(default_channels)
        channel, fallback = (preferred[0], tuple(preferred[1:])) if preferred else (DEFAULT_CHANNEL, ())
        pages.append(PlannedPage(
            key=page_key(f"T{ticket.ticket_id}", key or step, person.name, channel), alert_id=None, purpose=purpose,
            step=step[:16], tier=tier, recipient=person, channel=channel, fallback=fallback, subject=subject,
            text=text, caller=ticket.caller, specialty=ticket.specialty))
    return pages


def nobody_note(paged: Sequence[Recipient]) -> str:
    """The timeline's word when the tiers to page had nobody on duty: who was paged instead, or that nobody
    could be (logged as an error too)."""
    if paged:
        zh, en = "、".join(p.name for p in paged), ", ".join(p.name for p in paged)
        return f"；相应层级无人值班，已通知 {zh} / nobody on duty in those tiers: paged {en}"
    log.error("nobody on duty and nobody on the roster in [tickets] complaint_managers: a ticket's page went to "
              "nobody")
    return ("；无人值班，且 [tickets] complaint_managers 中没有值班表上的人员，无人可通知 / nobody on duty, and "
            "[tickets] complaint_managers names nobody on the roster: nobody paged")


def handoff_text(ticket: Ticket, reason: str, tz: ZoneInfo) -> tuple[str, str]:
    tier, tier_en = TIER_ZH[ticket.tier], TIER_EN[ticket.tier]
    subject = f"工单升级至{tier}：{ticket.ticket_id} / Ticket escalated to {tier_en}: {ticket.ticket_id}"
    opened = ticket.opened_at.astimezone(tz)
    text = (f"工单 {ticket.ticket_id}（来电 {ticket.caller}，{opened:%m-%d %H:%M}）已升级至{tier}，由您处理。"
            f"原因：{reason}\n摘要：{ticket.summary or '-'}\n\n"
            f"Ticket {ticket.ticket_id} (caller {ticket.caller}, {opened:%m-%d %H:%M}) is now yours ({tier_en}). "
            f"Reason: {reason}")
    return subject, text


def vendor_text(ticket: Ticket, contract: str) -> str:
    return f"\n合同编号 / contract: {contract}" if contract and ticket.tier is TicketTier.VENDOR else ""


def sla_text(ticket: Ticket, clock_zh: str, clock: str, due: datetime, breached: bool,
             tz: ZoneInfo) -> tuple[str, str]:
    local = due.astimezone(tz)
    clock = _CLOCK_EN.get(clock, clock)  # 'complaint resolution', not a code
    if breached:
        subject = f"工单超时：{ticket.ticket_id} {clock_zh} / Ticket SLA missed: {clock}"
        text = (f"工单 {ticket.ticket_id}（来电 {ticket.caller}，处理人 {ticket.assignee or '未指派'}）"
                f"的{clock_zh}期限 {local:%m-%d %H:%M} 已过。\n\n"
                f"Ticket {ticket.ticket_id} (assignee {ticket.assignee or 'none'}) "
                f"missed its {clock} deadline {local:%m-%d %H:%M}.")
    else:
        subject = f"工单即将超时：{ticket.ticket_id} {clock_zh} / Ticket SLA due soon: {clock}"
        text = (f"工单 {ticket.ticket_id}（来电 {ticket.caller}）的{clock_zh}期限为 {local:%m-%d %H:%M}，请尽快处理。"
                f"\n\nTicket {ticket.ticket_id}: the {clock} deadline is {local:%m-%d %H:%M}.")
    return subject, text
