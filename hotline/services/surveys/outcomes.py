"""What an answered survey does to its ticket, applied by the engine's cycle (so a restart in between
finishes the work): solved - the caller confirmed, the ticket closes; not solved - the ticket is reopened and
its assignee paged; a score at or below the low score - a complaint ticket for the manager, linked to the
original (or, when the original was reopened, the manager is paged about it)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from hotline.domain.complaints import Source
from hotline.domain.numbers import mask
from hotline.domain.roster import Tier
from hotline.domain.surveys import SurveyStatus, Way
from hotline.domain.tickets import Status, TicketError, TicketType
from hotline.paging.base import Recipient
from hotline.services.monitor.outbox import PlannedPage, add_pages
from hotline.services.surveys.context import SurveyContext
from hotline.services.surveys.keys import THANKS_CHANNEL, survey_subject
from hotline.services.tickets.follow_up import open_follow_up
from hotline.services.tickets.pages import ticket_pages
from hotline.store.alerts import SURVEY_PURPOSE
from hotline.store.base import claim_writer, unit_of_work
from hotline.store.surveys import SurveyRow, thanks_key
from hotline.store.tickets import TicketEventRow

log = logging.getLogger(__name__)
SURVEY_ACTOR = "回访 / survey"


RETRY_AFTER = timedelta(minutes=5)  # an outcome that failed (the database away, a ticket locked) is retried


def pending_outcomes(ctx: SurveyContext, now: datetime, limit: int = 200) -> list[int]:
    with unit_of_work(ctx.factory) as s:
        return list(s.scalars(select(SurveyRow.survey_id).where(
            SurveyRow.status == str(SurveyStatus.ANSWERED), SurveyRow.ended_at.is_(None),
            or_(SurveyRow.wait_until.is_(None), SurveyRow.wait_until <= now)).limit(limit)))


def apply_outcomes(ctx: SurveyContext, now: datetime) -> int:
    done = 0
    for survey_id in pending_outcomes(ctx, now):
        try:
            apply_outcome(ctx, survey_id, now)
            done += 1
        except Exception:  # one ticket's trouble must not stop the others; retried after a pause
            log.exception("survey %s: applying the outcome to its ticket failed; retried in %s", survey_id,
                          RETRY_AFTER)
            with unit_of_work(ctx.factory) as s:
                s.execute(update(SurveyRow).where(SurveyRow.survey_id == survey_id)
                          .values(wait_until=now + RETRY_AFTER))
    return done


def apply_outcome(ctx: SurveyContext, survey_id: int, now: datetime) -> None:
    with unit_of_work(ctx.factory) as s:
        row = s.get(SurveyRow, survey_id)
        if row is None or row.ended_at is not None:
            return
        ticket_id, solved, score, complaint_id = row.ticket_id, row.solved, row.score, row.complaint_ticket_id
        thanks = _thanks(ctx, row)
    p = ctx.config.policy
    low = score is not None and score <= p.low_score
    view = ctx.desk.get(ticket_id)
    t = view.ticket
    pages: list[PlannedPage] = [thanks] if thanks is not None else []
    if solved is False and t.status in (Status.RESOLVED, Status.CLOSED):
        t = ctx.desk.reopen(ticket_id, SURVEY_ACTOR, "回访：问题未解决 / survey: the problem is not solved").ticket
        people = _holder(ctx, t.assignee, t.specialty, now)
        subject = f"工单重开：{ticket_id}（回访未解决）/ Ticket reopened by the survey: {ticket_id}"
        text = (f"回访中来电人 {mask(t.caller)} 表示问题未解决，工单 {ticket_id} 已重开，请跟进。"
                f"\n\nThe caller told the survey that ticket {ticket_id} is not solved: it is reopened, "
                f"please follow up.")
        pages += ticket_pages(t, "survey_outcome", "reopen", "first_line", people, subject, text,
                              ctx.config.page_channels, key=f"survey-reopen-{survey_id}")
    elif solved is True and t.status is Status.RESOLVED:
        t = ctx.desk.close(ticket_id, SURVEY_ACTOR, confirmed_by="回访 / survey").ticket
    if low and complaint_id is None:
        complaint_id = _complaint(ctx, survey_id, ticket_id, score, now, pages)
    with unit_of_work(ctx.factory) as s:
        claim_writer(s, SurveyRow.__tablename__)
        row = s.get(SurveyRow, survey_id)
        if row is None:
            return
        row.complaint_ticket_id = complaint_id
        row.ended_at = now
        add_pages(s, pages, now)


def _thanks(ctx: SurveyContext, row: SurveyRow) -> PlannedPage | None:
    """The thank-you SMS after a reply through Aliyun, where an approved template for it is configured (a reply
    to Twilio is thanked in the webhook's answer); one per survey (its outbox key)."""
    aliyun = ctx.config.aliyun
    if row.answered_via != str(Way.SMS) or ctx.config.sms_provider != "aliyun" or not aliyun.thanks_template_code:
        return None
    return PlannedPage(key=thanks_key(row.survey_id), alert_id=None, purpose=SURVEY_PURPOSE, step="thanks",
                       tier=None, recipient=Recipient(name=f"来电 {mask(row.caller)}", mobile=row.caller),
                       channel=THANKS_CHANNEL, fallback=(), subject=survey_subject(row.ticket_id),
                       text=aliyun.thanks_template_text.replace("${ticket}", row.ticket_id), caller=row.caller,
                       specialty=row.specialty)


def _holder(ctx: SurveyContext, assignee: str | None, specialty: str | None, now: datetime) -> list[Recipient]:
    person = ctx.tickets.staff.person(assignee) if assignee else None
    if person is not None:
        return [person]
    return list(ctx.tickets.staff.on_duty(now, str(Tier.FIRST_LINE), specialty))[:1]


def _complaint(ctx: SurveyContext, survey_id: int, ticket_id: str, score: int | None, now: datetime,
               pages: list[PlannedPage]) -> str | None:
    """A complaint ticket for the manager; when the caller already has a ticket open (the original was
    reopened), the manager is paged about the low score instead."""
    view = ctx.desk.get(ticket_id)
    t = view.ticket
    managers = ctx.tickets.managers(now, t.specialty)  # on duty, else [tickets] complaint_managers (a night)
    full = ctx.config.policy.full_score
    subject = f"回访低分：工单 {ticket_id} {score}/{full} 分 / Low survey score: ticket {ticket_id}"
    text = (f"工单 {ticket_id}（{t.specialty or '-'}，处理人 {t.assignee or '-'}）回访评分 {score}/{full}，"
            f"需投诉跟进。\n\nTicket {ticket_id} scored {score}/{full} in its survey: a complaint follow-up.")
    with unit_of_work(ctx.factory) as s:  # a follow-up opened before a crash is found, not opened twice
        existing = s.scalar(select(TicketEventRow.new).where(TicketEventRow.ticket_id == ticket_id,
                                                             TicketEventRow.action == "link",
                                                             TicketEventRow.field == "follow_up"))
    if existing:
        return existing
    complaint: str | None = None
    if t.status is Status.CLOSED:
        try:
            opened = open_follow_up(ctx.tickets, ticket_id, TicketType.COMPLAINT,
                                    f"回访低分 {score}/{full}：工单 {ticket_id} / low survey score",
                                    text.split("\n\n")[0], SURVEY_ACTOR,
                                    managers[0].name if managers else None, now,
                                    complaint_source=Source.SURVEY)
            complaint = opened.ticket_id
            subject += f" → {complaint}"
            t = opened
        except TicketError as e:
            log.warning("survey %s: complaint ticket not opened: %s", survey_id, e)
    pages += ticket_pages(t, "survey_outcome", "complaint", "manager", managers, subject, text,
                          ctx.config.page_channels, key=f"survey-complaint-{survey_id}")
    return complaint
