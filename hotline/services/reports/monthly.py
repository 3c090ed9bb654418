"""The monthly quality report (质量月报): the indicator table against the targets with last month beside
it, the answer rate per specialty, per staff member, per hour and per day, the busiest hours, a
12-month trend, and the month's breaches, incidents and outages. One JSON-ready document; the HTML,
PDF and XLSX renderings are made from it (monthly_render.py, monthly_xlsx.py)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.config import Settings
from hotline.domain.alerts import AlertKind
from hotline.domain.kpi import AnswerRate
from hotline.domain.quality import Indicator, merge_spans, missed_targets
from hotline.services.reports.answer_rate import rate_params
from hotline.services.reports.indicators import MonthContext, OutageIndicators, providers, specialty_name
from hotline.services.reports.rollup import offered_answered, rates
from hotline.store.alerts import AlertRow, IncidentRow
from hotline.store.base import unit_of_work
from hotline.store.call_stats import Span

TITLE = "热线服务质量月报 / Hotline monthly quality report"


def parse_month(text: str) -> date:
    """`2026-11` as the first day of that month; a clear error otherwise (`26-1` or `2026-13` too)."""
    try:
        m = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
        if m is None:
            raise ValueError(text)
        return date(int(m[1]), int(m[2]), 1)
    except ValueError:
        raise ValueError(f"月份 {text!r} 无效，应为 YYYY-MM / month {text!r} is not valid: expected YYYY-MM, "
                         f"e.g. 2026-11") from None


def add_months(first_day: date, n: int) -> date:
    index = first_day.year * 12 + first_day.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def month_unfinished(first_day: date, now: datetime, tz: tzinfo) -> str | None:
    """Why the month starting `first_day` is not over at `now` in the desk's timezone (it has not started,
    or it is still running); None once it has ended."""
    start = datetime.combine(first_day, time(0), tz)
    end = datetime.combine(add_months(first_day, 1), time(0), tz)
    month = f"{first_day:%Y-%m}"
    if now < start:
        return (f"{month} 尚未开始（{start:%Y-%m-%d} 开始），各项均无数据 / the month {month} has not started "
                f"yet (it starts {start:%Y-%m-%d}, desk time): there are no figures")
    if now < end:
        return (f"{month} 尚未结束（{end:%Y-%m-%d %H:%M} 结束），数据截至现在 / the month {month} is not over "
                f"yet (it ends {end:%Y-%m-%d %H:%M}, desk time): the figures are up to now")
    return None


def month_context(factory: sessionmaker[Session], settings: Settings, first_day: date, now: datetime) -> MonthContext:
    tz = settings.tz
    start = datetime.combine(first_day, time(0), tz)
    end = datetime.combine(add_months(first_day, 1), time(0), tz)
    return MonthContext(factory, settings, first_day, start, end, now)


def indicator_table(ctx: MonthContext) -> list[Indicator]:
    out: list[Indicator] = []
    for provider in providers(ctx.settings):
        out.extend(provider.indicators(ctx))
    return out


def mask(number: str | None) -> str | None:
    """A caller's number with the middle hidden (138****8004): the report goes to many readers."""
    if not number:
        return number
    digits = number.strip()
    if len(digits) <= 6:
        return digits[:2] + "*" * (len(digits) - 2)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def _rows(rows: list[AnswerRate], total: AnswerRate) -> list[dict[str, Any]]:
    """Answer-rate rows in the shape of `hotline report answer-rate --json`, total last."""
    return [r.as_dict() for r in [*rows, total]]


def build_monthly(factory: sessionmaker[Session], settings: Settings, first_day: date,
                  now: datetime) -> dict[str, Any]:
    """The whole report of the month starting `first_day`, as made at `now`."""
    ctx = month_context(factory, settings, first_day, now)
    previous = month_context(factory, settings, add_months(first_day, -1), now)
    tz = str(settings.tz)
    span = Span(ctx.start, ctx.end)
    with unit_of_work(factory) as s:
        tables = {by: rates(s, span, by, tz, rate_params(settings))
                  for by in ("specialty", "agent", "hour", "day")}
    ctx.cache["specialty_rates"] = tables["specialty"]
    last = {i.key: i for i in indicator_table(previous)}
    indicators = [i.with_last_month(last.get(i.key)) for i in indicator_table(ctx)]
    with unit_of_work(factory) as s:
        trend = offered_answered(s, Span(datetime.combine(add_months(first_day, -11), time(0), settings.tz),
                                         ctx.end), "month", tz)
        breaches, incidents = _breaches(s, ctx), _incidents(s, ctx)
    hours = sorted(tables["hour"][0], key=lambda h: (-h.offered, h.group))
    outages = merge_spans(OutageIndicators().spans(ctx), ctx.start, ctx.until)
    return {
        "report": TITLE,
        "month": first_day.strftime("%Y-%m"),
        "company": settings.hotline.company_name,
        "company_en": settings.hotline.company_name_en,
        "period": {"from": first_day.isoformat(), "to": ctx.last_day.isoformat(), "timezone": tz},
        "generated_at": now.astimezone(settings.tz).isoformat(timespec="seconds"),
        "indicators": [i.as_dict() for i in indicators],
        "specialty_names": {r.group: specialty_name(settings, r.group) for r in tables["specialty"][0]},
        "answer_rate": {
            "formula": "answer_rate = answered / offered; offered = answered + abandoned + timeout + busy",
            "by_specialty": _rows(*tables["specialty"]),
            "by_agent": _rows(*tables["agent"]),
            "by_hour": _rows(*tables["hour"]),
            "by_day": _rows(*tables["day"]),
        },
        "busiest_hours": [{"hour": h.group, "offered": h.offered, "answered": h.answered,
                           "answer_rate": None if h.answer_rate is None else round(h.answer_rate, 4)}
                          for h in hours[:5] if h.offered],
        "trend": [{"month": m, "offered": o, "answered": a, "answer_rate": None if not o else round(a / o, 4)}
                  for m, o, a in trend],
        "breaches": breaches,
        "incidents": incidents,
        "outages": [{"start": a.astimezone(settings.tz).isoformat(timespec="seconds"),
                     "end": b.astimezone(settings.tz).isoformat(timespec="seconds"),
                     "minutes": round((b - a).total_seconds() / 60, 1)} for a, b in outages.spans],
        "analysis": [{"key": i.key, "name": i.name, "cause": "", "action": ""} for i in missed_targets(indicators)],
        "issued": None,
    }


def _local(t: datetime | None, ctx: MonthContext) -> str | None:
    return None if t is None else t.astimezone(ctx.settings.tz).isoformat(timespec="seconds")


def _breaches(s: Session, ctx: MonthContext) -> list[dict[str, Any]]:
    rows = s.scalars(select(AlertRow).where(
        AlertRow.kind == str(AlertKind.MISSED_CALL), AlertRow.breached_at.is_not(None),
        AlertRow.breached_at >= ctx.start, AlertRow.breached_at < ctx.end).order_by(AlertRow.breached_at))
    return [{"alert_id": a.alert_id, "caller": mask(a.caller), "specialty": a.specialty,
             "specialty_name": specialty_name(ctx.settings, a.specialty or "(none)"), "window": a.window,
             "opened_at": _local(a.opened_at, ctx), "breached_at": _local(a.breached_at, ctx),
             "returned_at": _local(a.cleared_at or a.resolved_at, ctx), "acked_by": a.acked_by} for a in rows]


def _incidents(s: Session, ctx: MonthContext) -> list[dict[str, Any]]:
    rows = s.scalars(select(IncidentRow).where(IncidentRow.declared_at >= ctx.start,
                                               IncidentRow.declared_at < ctx.end).order_by(IncidentRow.declared_at))
    out = []
    for i in rows:
        took = ((i.reported_at or ctx.until) - i.declared_at).total_seconds() / 60
        out.append({"incident_id": i.incident_id, "title": i.title, "specialty": i.specialty,
                    "declared_by": i.declared_by, "declared_at": _local(i.declared_at, ctx),
                    "reported_at": _local(i.reported_at, ctx), "report_minutes": round(took, 1),
                    "late": took > ctx.settings.reports.incident_report_minutes})
    return out
