"""Surveys read and answered: the due list, one survey with its tries and answers, a caller's history; the
answers arriving by keypad (AMI channel variables), Twilio webhooks, an SMS reply, or recorded by staff
(never by the staff member who solved the ticket); cancelling by hand."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.domain.numbers import try_parse_number
from hotline.domain.surveys import (
    LIVE,
    QUESTION_LABELS,
    QUESTIONS,
    STATUS_ZH,
    Answer,
    SurveyError,
    SurveyStatus,
    Way,
    answer_text,
    by_key,
    complete,
    sms_answers,
)
from hotline.services.surveys.answers import current_try, finish, store
from hotline.services.surveys.context import SurveyContext
from hotline.services.surveys.engine import SurveyEngine
from hotline.services.surveys.outcomes import apply_outcome
from hotline.store.alerts import OutboxRow
from hotline.store.base import claim_writer, unit_of_work
from hotline.store.surveys import SurveyAnswerRow, SurveyRow, SurveyTryRow

log = logging.getLogger(__name__)


class SurveyNotFound(LookupError):
    pass


def _iso(t: datetime | None, ctx: SurveyContext) -> str | None:
    return None if t is None else t.astimezone(ctx.tickets.tz).isoformat()


class SurveyDesk:
    def __init__(self, ctx: SurveyContext, engine: SurveyEngine) -> None:
        self.ctx = ctx
        self.engine = engine

    # ---- reading -----------------------------------------------------------------------------------

    def _row(self, s: Session, ref: str | int, lock: bool = False) -> SurveyRow:
        """A survey by its id or its ticket's number."""
        text = str(ref).strip()
        stmt = select(SurveyRow).where(SurveyRow.survey_id == int(text)) if text.isdigit() else \
            select(SurveyRow).where(SurveyRow.ticket_id == text)
        if lock:
            claim_writer(s, SurveyRow.__tablename__)
            stmt = stmt.with_for_update()
        row = s.scalar(stmt)
        if row is None:
            raise SurveyNotFound(f"没有此回访 / no survey {text!r} (a survey id or a ticket number like "
                                 f"GD20261203-0007)")
        return row

    def get(self, ref: str | int) -> dict[str, Any]:
        with unit_of_work(self.ctx.factory) as s:
            return self._view(s, self._row(s, ref), detail=True)

    def due(self, limit: int = 200) -> list[dict[str, Any]]:
        """Surveys still to be asked, the soonest first."""
        with unit_of_work(self.ctx.factory) as s:
            rows = s.scalars(select(SurveyRow).where(SurveyRow.status.in_([str(x) for x in LIVE]))
                             .order_by(SurveyRow.due_by).limit(limit))
            return [self._view(s, r) for r in rows]

    def of_ticket(self, ticket_id: str) -> dict[str, Any] | None:
        with unit_of_work(self.ctx.factory) as s:
            row = s.scalar(select(SurveyRow).where(SurveyRow.ticket_id == ticket_id))
            return None if row is None else self._view(s, row, detail=True)

    def history(self, caller_key: str, limit: int = 50) -> list[dict[str, Any]]:
        """The caller's surveys, newest first (shown with the caller's history)."""
        with unit_of_work(self.ctx.factory) as s:
            rows = s.scalars(select(SurveyRow).where(SurveyRow.caller_key == caller_key)
                             .order_by(SurveyRow.resolved_at.desc()).limit(limit))
            return [self._view(s, r, detail=True) for r in rows]

    def _view(self, s: Session, r: SurveyRow, detail: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "survey_id": r.survey_id, "ticket_id": r.ticket_id, "caller": r.caller, "way": r.way,
            "status": r.status, "status_zh": STATUS_ZH[SurveyStatus(r.status)], "specialty": r.specialty,
            "staff": r.staff, "resolved_at": _iso(r.resolved_at, self.ctx), "due_by": _iso(r.due_by, self.ctx),
            "next_try_at": _iso(r.next_try_at, self.ctx), "tries": r.tries, "round": r.round,
            "answered_at": _iso(r.answered_at, self.ctx), "answered_via": r.answered_via, "solved": r.solved,
            "score": r.score, "full_score": r.full_score, "complaint_ticket_id": r.complaint_ticket_id,
            "recorded_by": r.recorded_by, "note": r.note}
        if detail:
            out["answers"] = [{"question": a.question, "label": QUESTION_LABELS.get(a.question, a.question),
                               "question_text": a.question_text, "value": a.value,
                               "value_text": answer_text(a.question, a.value),
                               "at": _iso(a.at, self.ctx), "via": a.via} for a in s.scalars(
                select(SurveyAnswerRow).where(SurveyAnswerRow.survey_id == r.survey_id).order_by(SurveyAnswerRow.id))]
            out["try_list"] = [{"round": t.round, "try": t.try_no, "way": t.way, "at": _iso(t.at, self.ctx),
                                "outcome": t.outcome, "detail": t.detail} for t in s.scalars(
                select(SurveyTryRow).where(SurveyTryRow.survey_id == r.survey_id).order_by(SurveyTryRow.id))]
        return out

    # ---- answers -----------------------------------------------------------------------------------

    def record(self, ref: str | int, answers: Mapping[str, str | int], by: str, note: str | None = None
               ) -> dict[str, Any]:
        """Staff who called the customer themselves record the answers (any live or unreachable survey)."""
        who = self.ctx.tickets.staff.identify(by) or by.strip()
        if not who:
            raise SurveyError("需要记录人 / who records the answers is needed")
        parsed = by_key(answers, self.ctx.config.policy.full_score, QUESTIONS)
        if not any(a.question.key == "overall" for a in parsed):
            raise SurveyError("需要总体满意度评分 overall / the overall score is needed")
        with unit_of_work(self.ctx.factory) as s:
            row = self._row(s, ref, lock=True)
            if who in {row.resolved_by, self.ctx.tickets.staff.identify(row.resolved_by)} - {None}:
                raise SurveyError(f"{who} 解决了工单 {row.ticket_id}，不能为其记录评分 / {who} solved ticket "
                                  f"{row.ticket_id} and cannot record its score")
            if row.status not in (*(str(x) for x in LIVE), str(SurveyStatus.UNREACHABLE)):
                raise SurveyError(f"回访 {row.survey_id} 状态为 {STATUS_ZH[SurveyStatus(row.status)]}，不能记录 / "
                                  f"survey {row.survey_id} is {row.status}")
            survey_id = row.survey_id
            self._store(s, row, parsed, Way.MANUAL, final=True, by=who, note=note)
        self._finish(survey_id)
        return self.get(survey_id)

    def keypress(self, survey_id: int, token: str | None, question: str, digit: str, via: Way = Way.ASTERISK,
                 attempt: tuple[int, int] | None = None) -> dict[str, Any]:
        """One keypad answer of a survey call (an AMI channel variable or a Twilio <Gather>): checked by the
        survey's token, or by the (round, try) our call's Uniqueid names."""
        policy = self.ctx.config.policy
        q = {x.key: x for x in QUESTIONS}.get(question)
        if q is None:
            raise SurveyError(f"没有此问题 / unknown question {question!r}")
        parsed = by_key({q.key: digit}, policy.full_score)
        with unit_of_work(self.ctx.factory) as s:
            row = self._live(s, survey_id, token, attempt)
            done = self._store(s, row, parsed, via, final=False, texts=self.ctx.prompts)
        if done:
            self._finish(survey_id)
        return self.get(survey_id)

    def sms_reply(self, number: str, body: str) -> dict[str, Any]:
        """An SMS reply ('1 5') from the caller's number to the survey SMS out to that number."""
        parsed_number = try_parse_number(number, local_area_code=self.ctx.tickets.config.local_area_code)
        if parsed_number is None:
            raise SurveyNotFound(f"号码无效 / not a phone number: {number!r}")
        policy = self.ctx.config.policy
        with unit_of_work(self.ctx.factory) as s:
            claim_writer(s, SurveyRow.__tablename__)
            row = s.scalar(select(SurveyRow).where(SurveyRow.caller_key == parsed_number.key,
                                                   SurveyRow.status == str(SurveyStatus.CALLING),
                                                   SurveyRow.way == str(Way.SMS))
                           .order_by(SurveyRow.resolved_at.desc()).limit(1).with_for_update())
            if row is None:
                raise SurveyNotFound(f"该号码没有待回复的回访短信 / no survey SMS awaits a reply from "
                                     f"{parsed_number.masked}")
            answers = sms_answers(body, policy.questions, policy.full_score)
            survey_id = row.survey_id
            attempt = current_try(s, row)
            sent = s.scalar(select(OutboxRow.text).where(OutboxRow.key == attempt.page_key)) if attempt else None
            self._store(s, row, answers, Way.SMS, final=True,  # the SMS as the caller read it
                        texts={a.question.key: sent for a in answers} if sent else None)
        self._finish(survey_id)
        return self.get(survey_id)

    def machine(self, survey_id: int, token: str, answered_by: str) -> None:
        """Twilio's answering-machine detection found a voicemail: the try counts as not answered."""
        with unit_of_work(self.ctx.factory) as s:
            row = self._live(s, survey_id, token)
            attempt = current_try(s, row)
            if attempt is not None and attempt.outcome is None:
                attempt.outcome, attempt.detail = "no_answer", f"语音信箱 / answering machine ({answered_by[:32]})"
                attempt.ended_at = self.ctx.clock.now()
                row.wait_until = attempt.ended_at  # the try is over: the next cycle settles it

    def cancel(self, ref: str | int, by: str, reason: str) -> dict[str, Any]:
        if not reason.strip():
            raise SurveyError("取消回访需要说明原因 / cancelling needs a reason")
        with unit_of_work(self.ctx.factory) as s:
            row = self._row(s, ref, lock=True)
            if row.status not in [str(x) for x in LIVE]:
                raise SurveyError(f"回访 {row.survey_id} 状态为 {STATUS_ZH[SurveyStatus(row.status)]}，不能取消 / "
                                  f"survey {row.survey_id} is {row.status} and cannot be cancelled")
            self.engine._cancel(s, row, self.ctx.clock.now(), f"{by}：{reason.strip()}")
            survey_id = row.survey_id
        return self.get(survey_id)

    def _live(self, s: Session, survey_id: int, token: str | None,
              attempt: tuple[int, int] | None = None) -> SurveyRow:
        claim_writer(s, SurveyRow.__tablename__)
        row = s.scalar(select(SurveyRow).where(SurveyRow.survey_id == survey_id).with_for_update())
        if row is None or (token is None and attempt is None) or \
                (token is not None and not hmac.compare_digest(row.token, token)):
            raise SurveyNotFound(f"回访 {survey_id} 不存在或令牌不符 / survey {survey_id}: unknown or wrong token")
        if row.status != str(SurveyStatus.CALLING):
            raise SurveyError(f"回访 {survey_id} 未在进行中（{row.status}）/ survey {survey_id} is not being asked")
        if attempt is not None and attempt != (row.round, row.tries):
            raise SurveyError(f"回访 {survey_id} 的第 {attempt[1]} 次呼叫已结束 / survey {survey_id}: try "
                              f"{attempt} is over (now {row.round}, {row.tries})")
        return row

    def _store(self, s: Session, row: SurveyRow, answers: Sequence[Answer], via: Way, *, final: bool,
               by: str | None = None, note: str | None = None, texts: Mapping[str, str] | None = None) -> bool:
        """Store answers (a repeated question keeps the latest); the survey is answered when `final` or when
        every question asked has its answer. Returns whether it is answered now."""
        now = self.ctx.clock.now()
        have = store(s, row, answers, via, now, texts)
        if not (final or complete(have, self.ctx.config.policy, every=True)):
            return False
        finish(s, row, have, via, now, by=by, note=note)
        return True

    def _finish(self, survey_id: int) -> None:
        """Apply the outcome now; when that fails, the engine's cycle applies it (the answers are stored)."""
        try:
            apply_outcome(self.ctx, survey_id, self.ctx.clock.now())
        except Exception:
            log.exception("survey %s: outcome not applied now; the survey engine retries it", survey_id)
