"""Satisfaction per month, overall and by specialty or staff member: average / full score, with the sample
size, the response rate (answered surveys / resolved tickets), the share surveyed within 24 h and the
unreachable count beside it. Also the monthly report's indicators for source "surveys"."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.domain.quality import Indicator
from hotline.domain.surveys import Figures, SurveyStatus
from hotline.services.reports.indicators import MonthContext, register
from hotline.store.base import unit_of_work
from hotline.store.surveys import SurveyRow
from hotline.store.tickets import TicketRow

GROUPS = ("all", "specialty", "staff")


def month_span(month: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    first = month.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return datetime.combine(first, datetime.min.time(), tz), datetime.combine(nxt, datetime.min.time(), tz)


def satisfaction(factory: sessionmaker[Session], start: datetime, end: datetime, by: str = "all",
                 full_score: int = 5, limit: timedelta = timedelta(hours=24)) -> list[Figures]:
    """Figures of the tickets resolved in [start, end), one per group (`all`, `specialty` or `staff`)."""
    if by not in GROUPS:
        raise ValueError(f"分组应为 specialty 或 staff / group by specialty or staff, got {by!r}")
    resolved: dict[str, set[str]] = defaultdict(set)
    answered: dict[str, int] = defaultdict(int)
    scores: dict[str, list[int]] = defaultdict(list)
    within: dict[str, int] = defaultdict(int)
    unreachable: dict[str, int] = defaultdict(int)

    def group(specialty: str | None, staff: str | None) -> str:
        if by == "specialty":
            return specialty or "(none)"
        if by == "staff":
            return staff or "(none)"
        return "all"

    with unit_of_work(factory) as s:
        for r in s.scalars(select(SurveyRow).where(SurveyRow.resolved_at >= start, SurveyRow.resolved_at < end)):
            g = group(r.specialty, r.staff)
            resolved[g].add(r.ticket_id)
            if r.status == str(SurveyStatus.ANSWERED):
                answered[g] += 1
                if r.score is not None:
                    scores[g].append(r.score)
                if r.answered_at is not None and r.answered_at - r.resolved_at <= limit:
                    within[g] += 1
            elif r.status == str(SurveyStatus.UNREACHABLE):
                unreachable[g] += 1
        # resolved tickets: those whose survey saw them resolved (maybe reopened since, grouped as surveyed),
        # and those resolved without a survey (not scheduled yet, or resolved before surveys ran)
        seen = set().union(*resolved.values()) if resolved else set()
        for ticket_id, specialty, staff in s.execute(select(TicketRow.ticket_id, TicketRow.specialty,
                                                            TicketRow.assignee).where(
                TicketRow.resolved_at >= start, TicketRow.resolved_at < end)):
            if ticket_id not in seen:
                resolved[group(specialty, staff)].add(ticket_id)
    groups = sorted(set(resolved) | set(answered) | set(unreachable)) or (["all"] if by == "all" else [])
    return [Figures(g, len(resolved[g]), answered[g], tuple(scores[g]), within[g], unreachable[g], full_score)
            for g in groups]


def figures_dict(f: Figures) -> dict[str, Any]:
    def r(v: float | None) -> float | None:
        return None if v is None else round(v, 4)

    return {"group": f.group, "satisfaction": r(f.satisfaction), "average_score": r(f.average),
            "full_score": f.full_score, "sample": f.sample, "resolved": f.resolved, "answered": f.answered,
            "response_rate": r(f.response_rate), "within_24h": f.within_24h,
            "within_24h_share": r(f.within_24h_share), "unreachable": f.unreachable}


class SurveyIndicators:
    """The monthly report's satisfaction figures (replaces the "not measured" placeholder)."""

    source = "surveys"

    def indicators(self, ctx: MonthContext) -> list[Indicator]:
        from hotline.services.surveys.config import survey_config

        policy = survey_config(ctx.settings).policy
        (f,) = satisfaction(ctx.factory, ctx.start, ctx.end, "all", policy.full_score, policy.limit)
        target = ctx.settings.reports.satisfaction_target
        return [
            Indicator("satisfaction.score", "满意度 / Satisfaction", target, "at_least", "%", actual=f.satisfaction,
                      detail=f"样本 {f.sample} 份，平均 {f.average or 0:.2f}/{f.full_score} 分 / sample {f.sample}"),
            Indicator("satisfaction.response_rate", "回访应答率 / Survey response rate", None, "at_least", "%",
                      actual=f.response_rate, detail=f"{f.answered} / {f.resolved}"),
            Indicator("satisfaction.within_24h", "24 小时内回访占比 / Surveyed within 24 h", None, "at_least", "%",
                      actual=f.within_24h_share,
                      detail=f"{f.within_24h} / {f.resolved}，未联系上 {f.unreachable} / unreachable {f.unreachable}"),
        ]


register(SurveyIndicators())
