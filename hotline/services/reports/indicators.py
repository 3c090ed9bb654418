"""Providers of the monthly report's indicators, one per data source, in a registry.

A provider answers for one source (`calls`, `alerts`, `outages`, `roster`, `pages`, `tickets`,
`surveys`, `complaints`). Tickets answer through `ticket_indicators.TicketIndicators`, complaints through
`ComplaintIndicators`. Sources not built yet (satisfaction surveys) are
registered as "not measured" placeholders; the capability that brings the data registers its own
provider under the same source name, which replaces the placeholder:

    from hotline.services.reports.indicators import register
    register(TicketIndicators())          # source = "tickets"
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hotline.config import Settings
from hotline.domain.alerts import AlertKind
from hotline.domain.complaints import Deadline, Tally
from hotline.domain.kpi import AnswerRate
from hotline.domain.quality import Indicator, merge_spans, minutes, not_measured, share
from hotline.domain.sla import Calendar
from hotline.services.reports.answer_rate import rate_params
from hotline.services.reports.live_figures import attempt_result
from hotline.services.reports.rollup import rates
from hotline.store.alerts import SURVEY_PURPOSE, AlertRow, IncidentRow, OutboxRow, PageAttemptRow
from hotline.store.base import unit_of_work
from hotline.store.call_stats import Span
from hotline.store.calls import OutageRow


@dataclass(frozen=True)
class MonthContext:
    """The month a report is about: [start, end) in the desk's timezone, and when it is made."""

    factory: sessionmaker[Session]
    settings: Settings
    first_day: date
    start: datetime
    end: datetime
    now: datetime
    cache: dict[str, Any] = field(default_factory=dict)  # figures already counted for this month

    @property
    def last_day(self) -> date:
        return (self.end.astimezone(self.settings.tz) - timedelta(days=1)).date()

    @property
    def until(self) -> datetime:
        """The end of what has happened: the month's end, or now for the running month."""
        return min(self.end, self.now)


class IndicatorProvider(Protocol):
    source: str

    def indicators(self, ctx: MonthContext) -> list[Indicator]: ...


def specialty_name(settings: Settings, code: str) -> str:
    section = settings.specialties.get(code)
    if section is None:
        return "未分类 / none" if code == "(none)" else code
    return f"{section.name_zh} / {section.name_en}"


class CallIndicators:
    """接通率 per specialty and overall (offered = answered + abandoned + timeout + busy)."""

    source = "calls"

    def rates(self, ctx: MonthContext) -> tuple[list[AnswerRate], AnswerRate]:
        if "specialty_rates" in ctx.cache:
            cached: tuple[list[AnswerRate], AnswerRate] = ctx.cache["specialty_rates"]
            return cached
        with unit_of_work(ctx.factory) as s:
            return rates(s, Span(ctx.start, ctx.end), "specialty", str(ctx.settings.tz), rate_params(ctx.settings),
                         with_p90=False)

    def indicators(self, ctx: MonthContext) -> list[Indicator]:
        rows, total = self.rates(ctx)
        target = ctx.settings.reports.answer_rate_target
        out = [_rate("answer_rate.total", "接通率（全部） / Answer rate (all)", total, target)]
        codes = list(ctx.settings.specialties) + [r.group for r in rows
                                                  if r.group not in ctx.settings.specialties and r.offered]
        by_code = {r.group: r for r in rows}
        for code in codes:
            row = by_code.get(code, AnswerRate(code, target=target))
            out.append(_rate(f"answer_rate.{code}", f"接通率（{specialty_name(ctx.settings, code)}） / "
                             f"Answer rate ({code})", row, target))
        return out


def _rate(key: str, name: str, row: AnswerRate, target: float) -> Indicator:
    return Indicator(key, name, target, "at_least", "%", actual=row.answer_rate,
                     detail=f"{row.answered} / {row.offered}")


class AlertIndicators:
    """The 15-minute rule (breaches during on-site duty, the longest unanswered time) and incidents."""

    source = "alerts"

    def indicators(self, ctx: MonthContext) -> list[Indicator]:
        r = ctx.settings.reports
        with unit_of_work(ctx.factory) as s:
            missed = s.scalars(select(AlertRow).where(
                AlertRow.kind == str(AlertKind.MISSED_CALL), AlertRow.window == "onsite",
                AlertRow.opened_at >= ctx.start, AlertRow.opened_at < ctx.end)).all()
            incidents = s.scalars(select(IncidentRow).where(
                IncidentRow.declared_at >= ctx.start, IncidentRow.declared_at < ctx.end)).all()
        breaches = sum(1 for a in missed if a.breached_at is not None)
        longest = max((minutes(_returned_at(a, ctx) - a.opened_at) for a in missed), default=0.0)
        report_times = [minutes((i.reported_at or ctx.until) - i.declared_at) for i in incidents]
        late = sum(1 for m in report_times if m > r.incident_report_minutes)
        return [
            Indicator("unanswered.breaches", "现场值守期间超 15 分钟未回复的来电 / Missed calls not returned "
                      "within 15 min (on-site duty)", 0, "at_most", "count", actual=float(breaches),
                      detail=f"未接告警 {len(missed)} 个 / {len(missed)} missed-call alerts"),
            Indicator("unanswered.longest", "最长未回复时间 / Longest unanswered time", r.unanswered_minutes,
                      "at_most", "min", actual=longest),
            Indicator("incidents.count", "重大故障 / Major incidents", None, "at_most", "count",
                      actual=float(len(incidents))),
            Indicator("incidents.report", "重大故障最长上报时间 / Longest incident reporting time",
                      r.incident_report_minutes, "at_most", "min",
                      actual=max(report_times) if report_times else None,
                      detail=f"超时上报 {late} 起 / {late} late" if incidents else "本月无重大故障 / none this month"),
        ]


def _returned_at(alert: AlertRow, ctx: MonthContext) -> datetime:
    """When the caller was reached (or the alert closed by hand); still open: now (or the month's end)."""
    ends = [t for t in (alert.cleared_at, alert.resolved_at) if t is not None]
    return min(ends) if ends else max(ctx.until, alert.opened_at)


class OutageIndicators:
    """Hotline outages: the listener's disconnections and silence alerts, merged; each and in total."""

    source = "outages"

    def spans(self, ctx: MonthContext) -> list[tuple[datetime, datetime]]:
        with unit_of_work(ctx.factory) as s:
            spans = [(o.started_at, o.ended_at or ctx.until) for o in s.scalars(select(OutageRow).where(
                OutageRow.started_at < ctx.end, func.coalesce(OutageRow.ended_at, ctx.end) > ctx.start))]
            for a in s.scalars(select(AlertRow).where(AlertRow.kind == str(AlertKind.SILENCE),
                                                      AlertRow.opened_at < ctx.end)):
                ends = [t for t in (a.cleared_at, a.resolved_at) if t is not None]
                spans.append((a.opened_at, min(ends) if ends else ctx.until))
        return spans

    def indicators(self, ctx: MonthContext) -> list[Indicator]:
        r = ctx.settings.reports
        outages = merge_spans(self.spans(ctx), ctx.start, ctx.until)
        return [
            Indicator("outage.longest", "热线单次中断 / Longest hotline outage", r.outage_each_minutes, "at_most",
                      "min", actual=outages.longest,
                      detail=f"中断 {len(outages.spans)} 次 / {len(outages.spans)} outages"),
            Indicator("outage.total", "热线中断累计 / Hotline outages in total", r.outage_total_minutes, "at_most",
                      "min", actual=outages.total),
        ]


class PageIndicators:
    """Pages sent and failed, alerts acknowledged and how fast (no targets: reported for the meeting); an alert
    is paged when at least one page about it was really sent (not by a dry run)."""

    source = "pages"

    def indicators(self, ctx: MonthContext) -> list[Indicator]:
        with unit_of_work(ctx.factory) as s:
            result = attempt_result()
            attempts = dict(s.execute(select(result, func.count()).join(  # survey tries are no pages
                OutboxRow, OutboxRow.id == PageAttemptRow.outbox_id).where(
                PageAttemptRow.at >= ctx.start, PageAttemptRow.at < ctx.end, OutboxRow.purpose != SURVEY_PURPOSE)
                .group_by(result)).all())
            # an alert counts as paged when a page about it was really sent (a dry run's pages were not)
            sent = (select(OutboxRow.alert_id).join(PageAttemptRow, PageAttemptRow.outbox_id == OutboxRow.id)
                    .where(OutboxRow.alert_id.is_not(None), result == "sent"))
            paged = s.scalars(select(AlertRow).where(AlertRow.opened_at >= ctx.start, AlertRow.opened_at < ctx.end,
                                                     AlertRow.alert_id.in_(sent))).all()
        dry = attempts.get("dry_run", 0)
        acked = [a for a in paged if a.acked_at is not None]
        ack_minutes = [minutes(a.acked_at - a.opened_at) for a in acked if a.acked_at is not None]
        return [
            Indicator("pages.sent", "寻呼发送 / Pages sent", None, unit="count", actual=float(attempts.get("sent", 0)),
                      detail=f"另有演练 {dry} 条（未发送）/ {dry} more in dry run (not sent)" if dry else ""),
            Indicator("pages.failed", "寻呼失败 / Page attempts failed", None, unit="count",
                      actual=float(attempts.get("failed", 0))),
            Indicator("pages.acked", "告警确认率 / Paged alerts acknowledged", None, unit="%",
                      actual=share(len(acked), len(paged)), detail=f"{len(acked)} / {len(paged)}"),
            Indicator("pages.ack_minutes", "平均确认时间 / Mean time to acknowledge", None, unit="min",
                      actual=sum(ack_minutes) / len(ack_minutes) if ack_minutes else None),
        ]


class RosterIndicators:
    """Coverage gaps of the duty roster in the month (a required tier with nobody on duty)."""

    source = "roster"

    def indicators(self, ctx: MonthContext) -> list[Indicator]:
        from hotline.clock import ManualClock
        from hotline.services.roster.service import RosterService

        service = RosterService(ctx.factory, ctx.settings, ManualClock(ctx.now, ctx.settings.tz))
        gaps = service.gaps(ctx.first_day, ctx.last_day)
        hours = sum((g.end - g.start).total_seconds() for g in gaps) / 3600
        return [Indicator("roster.gaps", "值班空档 / Roster coverage gaps", 0, "at_most", "count",
                          actual=float(len(gaps)), detail=f"共 {hours:.1f} 小时 / {hours:.1f} h")]


class ComplaintIndicators:
    """投诉: how many complaints were made, the longest wait for a first reply against the target (a complaint
    not replied yet waits until the report's now), the shares replied and resolved in time (of the complaints
    whose outcome is known, the pending ones beside) and escalated to the project manager."""

    source = "complaints"

    def indicators(self, ctx: MonthContext) -> list[Indicator]:
        from hotline.services.complaints.figures import complaint_lines, figures, reply_waits

        with unit_of_work(ctx.factory) as s:
            lines = complaint_lines(s, ctx.start, ctx.end)
        f = figures(lines, ctx.now)
        target = ctx.settings.reports.complaint_reply_minutes
        unreplied = [c for c in lines if c.replied_at is None]
        waits = reply_waits(lines, ctx.now, _calendar(ctx) if unreplied else None)
        overdue = sum(1 for c in unreplied if c.reply(ctx.now) is Deadline.LATE)
        r = f.reply
        return [
            Indicator("complaints.count", "投诉数 / Complaints", None, unit="count", actual=float(f.count)),
            Indicator("complaints.reply", "投诉最长回复等待（含未回复）/ Longest wait for a complaint reply "
                      "(not replied included)", target, "at_most", "min", actual=max(waits) if waits else None,
                      detail=f"按时 {r.in_time} / {r.due}，超时 {r.late}（其中超时未回复 {overdue}），未到期 "
                             f"{r.pending} / in time {r.in_time} / {r.due}, late {r.late} ({overdue} not replied "
                             f"yet), not yet due {r.pending}"),
            _in_time("complaints.replied_in_time", "投诉按时回复率 / Complaints replied in time", r),
            _in_time("complaints.resolved_in_time", "投诉按时解决率 / Complaints resolved in time", f.resolution),
            Indicator("complaints.escalated", "上报项目经理 / Escalated to the project manager", None,
                      unit="count", actual=float(f.escalated), detail=f"{f.escalated} / {f.count}"),
        ]


def _in_time(key: str, name: str, t: Tally) -> Indicator:
    """The share in time of the complaints whose deadline has come (`n / N`), the pending ones (未到期) beside
    when there are any."""
    return Indicator(key, name, None, unit="%", actual=share(t.in_time, t.due),
                     detail=f"{t.in_time} / {t.due}" + (f"，未到期 {t.pending} / not yet due {t.pending}"
                                                         if t.pending else ""))


def _calendar(ctx: MonthContext) -> Calendar:
    """The service windows and working days a clock counts in (a reply clock of the on-site window stops
    outside on-site hours)."""
    from hotline.clock import ManualClock
    from hotline.services.roster.service import RosterService

    roster = RosterService(ctx.factory, ctx.settings, ManualClock(ctx.now, ctx.settings.tz))
    return Calendar(roster.windows, roster.calendar())


class NotMeasured:
    """A placeholder for a source not built yet: its indicators, all "not measured"."""

    def __init__(self, source: str, rows: list[Indicator]) -> None:
        self.source = source
        self.rows = rows

    def indicators(self, ctx: MonthContext) -> list[Indicator]:
        return list(self.rows)


def _placeholders(settings: Settings) -> list[NotMeasured]:
    r = settings.reports
    return [
        NotMeasured("surveys", [
            not_measured("satisfaction.score", "满意度 / Satisfaction", r.satisfaction_target, "at_least", "%",
                         "满意度回访尚未启用 / no surveys yet"),
            not_measured("satisfaction.response_rate", "回访应答率 / Survey response rate", None, "at_least", "%",
                         "满意度回访尚未启用 / no surveys yet"),
            not_measured("satisfaction.within_24h", "24 小时内回访占比 / Surveyed within 24 h", None, "at_least",
                         "%", "满意度回访尚未启用 / no surveys yet")]),
    ]


_REGISTERED: dict[str, IndicatorProvider] = {}


def register(provider: IndicatorProvider) -> None:
    """Add a provider, or replace the one (or the placeholder) of the same source."""
    _REGISTERED[provider.source] = provider


# Capabilities whose module registers its provider on import (a module not yet written is skipped).
CAPABILITY_PROVIDERS = ("hotline.services.surveys.report",)


def _import_capabilities() -> None:
    import importlib

    for name in CAPABILITY_PROVIDERS:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise


def providers(settings: Settings) -> list[IndicatorProvider]:
    """Built-in providers, placeholders for missing sources, with registered ones in their place."""
    from hotline.services.reports.ticket_indicators import TicketIndicators  # it imports MonthContext from here

    _import_capabilities()
    built: list[IndicatorProvider] = [CallIndicators(), AlertIndicators(), TicketIndicators(),
                                      *_placeholders(settings), ComplaintIndicators(), OutageIndicators(),
                                      RosterIndicators(), PageIndicators()]
    out = [_REGISTERED.get(p.source, p) for p in built]
    known = {p.source for p in built}
    out += [p for source, p in _REGISTERED.items() if source not in known]
    return out
