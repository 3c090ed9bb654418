"""The survey engine: short idempotent cycles on the monitor's engine loop and outbox, like the SLA engine.

Each cycle, in its own transactions: a survey for every newly resolved ticket (one per ticket: a unique
ticket_id); surveys of reopened tickets cancelled; tries whose outcome is known settled (no answer: the next
try inside calling hours, or unreachable when none is left or fits the 24 h); due tries placed as outbox rows
(`S<survey>:r<round>t<try>`: the outbox's unique key and claim fencing deliver each try once, across
restarts); the outcomes of answered surveys applied to their tickets (reopen and page, close, complaint).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from hotline.domain.numbers import mask, try_parse_number
from hotline.domain.surveys import (
    SurveyPolicy,
    SurveyStatus,
    Way,
    first_try,
    next_try,
    sampled,
)
from hotline.paging.base import Recipient
from hotline.services.monitor.outbox import PlannedPage, add_pages
from hotline.services.surveys.answers import answered_when_wait_ends
from hotline.services.surveys.calls import sms_text
from hotline.services.surveys.context import SurveyContext
from hotline.services.surveys.keys import SURVEY_CHANNEL, survey_of_key, survey_subject, try_key
from hotline.services.surveys.outcomes import apply_outcomes, pending_outcomes
from hotline.services.surveys.work import LIVE_SQL, Found, SurveyWork
from hotline.store.alerts import SURVEY_PURPOSE, OutboxRow
from hotline.store.base import claim_writer, unit_of_work
from hotline.store.surveys import SurveyRow, SurveyTryRow
from hotline.store.tickets import TicketEventRow, TicketRow

log = logging.getLogger(__name__)
PAUSE = timedelta(minutes=1)


class SurveyEngine:
    def __init__(self, ctx: SurveyContext, batch: int = 200) -> None:
        self.ctx = ctx
        self.batch = batch
        self._pause_until: datetime | None = None  # after a failed step: no hot loop on work that keeps failing
        self.work = SurveyWork(ctx.config.policy)
        self._since: datetime | None = None  # where the last read looked for unsurveyed tickets

    @property
    def policy(self) -> SurveyPolicy:
        return self.ctx.config.policy

    # ---- when --------------------------------------------------------------------------------------

    def next_due(self) -> datetime | None:
        """The earliest moment a cycle has work: a try due, a wait ending, or work to do now (after a failed
        step, not before a pause)."""
        due = self._next_due()
        if due is not None and self._pause_until is not None and due < self._pause_until:
            return self._pause_until
        return due

    def _next_due(self) -> datetime | None:
        now = self.ctx.clock.now()
        found = self._work(now)
        if found.any:
            return now
        return min((t for t in (found.next_try, found.next_wait) if t is not None), default=None)

    def tick(self, now: datetime | None = None) -> int:
        """One cycle; a step runs (and takes the writer's lock) only when a read found work for it."""
        now = now or self.ctx.clock.now()
        found = self._work(now)
        done = 0
        for step, needed in zip((self._schedule, self._cancel_reopened, self._settle, self._place), found.steps,
                                strict=True):
            if needed:
                try:
                    done += step(now)
                except Exception:  # the other steps go on; this one is tried again after a pause
                    log.exception("survey engine step %s failed; tried again in %s", step.__name__, PAUSE)
                    self._pause_until = now + PAUSE
        if found.outcomes:
            done += apply_outcomes(self.ctx, now)
        return done

    def _work(self, now: datetime) -> Found:
        """Which steps have work and when the next is due: one indexed read (see work.py)."""
        self._since = self.work.unsurveyed_since(now)
        with unit_of_work(self.ctx.factory) as s:
            return self.work.read(s, now)

    # ---- steps -------------------------------------------------------------------------------------

    def _schedule(self, now: datetime) -> int:
        holiday = self.ctx.tickets.calendar().days.is_holiday
        with unit_of_work(self.ctx.factory) as s:
            claim_writer(s, SurveyRow.__tablename__)
            since = self._since or now - self.policy.limit
            ids = list(s.scalars(self.work.unsurveyed(since).limit(self.batch)))
            if not ids:
                return 0
            # the batch's resolvers (the latest resolve of each ticket) and cancelled surveys, in two queries
            resolvers: dict[str, str] = {}
            for ticket_id, actor in s.execute(select(TicketEventRow.ticket_id, TicketEventRow.actor).where(
                    TicketEventRow.ticket_id.in_(ids), TicketEventRow.action == "resolve")
                    .order_by(TicketEventRow.at, TicketEventRow.id)):
                resolvers[ticket_id] = actor
            existing = {r.ticket_id: r for r in s.scalars(select(SurveyRow).where(SurveyRow.ticket_id.in_(ids))
                                                            .with_for_update())}
            for ticket in s.scalars(select(TicketRow).where(TicketRow.ticket_id.in_(ids))):
                self._new_survey(s, ticket, now, holiday, resolvers.get(ticket.ticket_id),
                                 existing.get(ticket.ticket_id))
        return len(ids)

    def _new_survey(self, s: Session, t: TicketRow, now: datetime, holiday: Callable[[date], bool],
                    resolver: str | None, row: SurveyRow | None) -> None:
        assert t.resolved_at is not None
        p = self.policy
        if row is None:
            row = SurveyRow(ticket_id=t.ticket_id, round=1, created_at=now)
            s.add(row)
        else:  # cancelled when the ticket was reopened: a new round for the new resolution
            row.round += 1
        way = self.ctx.config.way_of(t.caller_key)
        row.caller_key, row.caller, row.way = t.caller_key, t.caller, str(way)
        # the staff a survey reports on: who held the ticket, else who solved it (escalated at night, unassigned)
        row.specialty, row.staff, row.resolved_by = t.specialty, t.assignee or resolver, resolver
        row.resolved_at, row.due_by = t.resolved_at, t.resolved_at + p.limit
        row.tries, row.wait_until, row.ended_at, row.note = 0, None, None, None
        row.token, row.full_score = secrets.token_hex(8), p.full_score
        row.status, row.next_try_at = str(SurveyStatus.SCHEDULED), None
        if try_parse_number(t.caller_key) is None:  # the caller's data was erased (privacy erase)
            row.status, row.note = str(SurveyStatus.SKIPPED), "没有可回访的号码 / no number to call"
        elif t.caller_key in p.do_not_call:
            row.status, row.note = str(SurveyStatus.SKIPPED), "免打扰名单 / on the do-not-call list"
        elif not sampled(t.ticket_id, p.sampling):
            row.status, row.note = str(SurveyStatus.SKIPPED), f"未抽中 / not in the {p.sampling:.0%} sample"
        elif way is Way.MANUAL:
            row.next_try_at = None  # staff call the customer themselves: listed as due until the limit
            row.wait_until = row.due_by
            row.status = str(SurveyStatus.CALLING)
        else:
            at = first_try(t.resolved_at, p, holiday)
            if at is None:
                row.status, row.note = str(SurveyStatus.UNREACHABLE), "24 小时内无可呼叫时段 / no calling hours " \
                                                                      "within the limit"
                row.ended_at = now
            row.next_try_at = at

    def _cancel_reopened(self, now: datetime) -> int:
        with unit_of_work(self.ctx.factory) as s:
            claim_writer(s, SurveyRow.__tablename__)
            rows = list(s.scalars(select(SurveyRow).where(SurveyRow.ticket_id.in_(self.work.reopened()),
                                                          SurveyRow.status.in_(LIVE_SQL))
                                  .with_for_update(skip_locked=True)))
            for row in rows:
                self._cancel(s, row, now, "工单已重开 / the ticket was reopened")
        return len(rows)

    def _cancel(self, s: Session, row: SurveyRow, now: datetime, why: str) -> None:
        row.status, row.next_try_at, row.wait_until, row.ended_at = str(SurveyStatus.CANCELLED), None, None, now
        row.note = why
        keys = select(SurveyTryRow.page_key).where(SurveyTryRow.survey_id == row.survey_id)
        s.execute(update(OutboxRow).where(OutboxRow.key.in_(keys), OutboxRow.status == "pending")
                  .values(status="cancelled", last_error=why, lease_until=None))

    def _settle(self, now: datetime) -> int:
        """Tries with a known outcome: not answered (outbox failed, machine, ended without keys) or the wait
        for keypresses over."""
        holiday = self.ctx.tickets.calendar().days.is_holiday
        with unit_of_work(self.ctx.factory) as s:
            claim_writer(s, SurveyRow.__tablename__)
            rows = list(s.scalars(select(SurveyRow).where(
                SurveyRow.status == str(SurveyStatus.CALLING),
                or_(SurveyRow.survey_id.in_(select(SurveyTryRow.survey_id).where(
                    SurveyTryRow.page_key.in_(self.work.settled_now(self.work.ended_since(now))))),
                    SurveyRow.wait_until <= now))
                .limit(self.batch).with_for_update(skip_locked=True)))
            current = {(r.survey_id, r.round, r.tries) for r in rows}
            attempts = {(a.survey_id, a.round, a.try_no): a for a in s.scalars(select(SurveyTryRow).where(
                SurveyTryRow.survey_id.in_([r.survey_id for r in rows])))
                if (a.survey_id, a.round, a.try_no) in current}
            pages = {p.key: p for p in s.scalars(select(OutboxRow).where(
                OutboxRow.key.in_([a.page_key for a in attempts.values()])))} if attempts else {}
            for row in rows:
                attempt = attempts.get((row.survey_id, row.round, row.tries))
                if row.way != str(Way.MANUAL) and answered_when_wait_ends(s, row, self.policy):
                    continue  # hung up during the optional sub-scores: answered with the required ones
                self._no_answer(row, attempt, pages.get(attempt.page_key) if attempt else None, now, holiday)
        return len(rows)

    def _no_answer(self, row: SurveyRow, attempt: SurveyTryRow | None, page: OutboxRow | None, now: datetime,
                   holiday: Callable[[date], bool]) -> None:
        if attempt is not None and attempt.outcome is None:
            attempt.outcome = "failed" if page is not None and page.status == "failed" and page.attempts > 1 \
                else "no_answer"
            attempt.ended_at = now
            attempt.detail = (page.last_error if page is not None and page.status != "sent" else None) or \
                "无按键 / no keypress"
        if row.way == str(Way.MANUAL):
            row.status, row.wait_until, row.ended_at = str(SurveyStatus.UNREACHABLE), None, now
            row.note = "人工回访未在时限内记录 / not recorded by hand within the limit"
            return
        last = attempt.at if attempt is not None else now
        at = next_try(last, row.tries, row.resolved_at, self.policy, holiday)
        if at is None:
            row.status, row.next_try_at, row.wait_until, row.ended_at = (str(SurveyStatus.UNREACHABLE), None,
                                                                         None, now)
            row.note = f"{row.tries} 次未接通 / {row.tries} tries unanswered"
        else:
            row.status, row.next_try_at, row.wait_until = str(SurveyStatus.SCHEDULED), max(at, now), None

    def _place(self, now: datetime) -> int:
        with unit_of_work(self.ctx.factory) as s:
            claim_writer(s, SurveyRow.__tablename__)
            rows = list(s.scalars(select(SurveyRow).where(SurveyRow.status == str(SurveyStatus.SCHEDULED),
                                                          SurveyRow.next_try_at <= now)
                                  .order_by(SurveyRow.next_try_at).limit(self.batch)
                                  .with_for_update(skip_locked=True)))
            pages = []
            for row in rows:
                if now >= row.due_by:  # a late cycle: the limit passed before the try
                    row.status, row.next_try_at, row.ended_at = str(SurveyStatus.UNREACHABLE), None, now
                    row.note = "超过 24 小时时限 / the limit passed"
                    continue
                row.tries += 1
                way = Way(row.way)
                key = try_key(row.survey_id, row.round, row.tries, row.way)
                s.add(SurveyTryRow(survey_id=row.survey_id, round=row.round, try_no=row.tries, way=row.way, at=now,
                                   page_key=key))
                row.status, row.next_try_at = str(SurveyStatus.CALLING), None
                row.wait_until = now + self.policy.wait_for(way)
                pages.append(self._page(row, key))
            add_pages(s, pages, now)
        return len(rows)

    def _page(self, row: SurveyRow, key: str) -> PlannedPage:
        channel = SURVEY_CHANNEL.format(way=row.way)
        subject = survey_subject(row.ticket_id)
        text = (f"工单 {row.ticket_id} 的满意度回访（第 {row.tries} 次）/ survey of ticket {row.ticket_id} "
                f"(try {row.tries})")
        if row.way == str(Way.SMS):  # the text the caller reads, stored with the answers
            config = self.ctx.config
            text = config.aliyun.template_text.replace("${ticket}", row.ticket_id) \
                if config.sms_provider == "aliyun" else sms_text(row.ticket_id, self.policy.questions,
                                                                 self.policy.full_score)
        person = Recipient(name=f"来电 {mask(row.caller)}", mobile=row.caller)
        return PlannedPage(key=key, alert_id=None, purpose=SURVEY_PURPOSE, step=f"r{row.round}t{row.tries}", tier=None,
                           recipient=person, channel=channel, fallback=(), subject=subject, text=text,
                           ack_code=row.token, caller=row.caller, specialty=row.specialty)


__all__ = ["SurveyEngine", "pending_outcomes", "survey_of_key", "try_key"]
