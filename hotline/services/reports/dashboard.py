"""What a supervisor sees at a glance (the dashboard's tiles and charts, the wallboard): today's answer
rate per specialty against the target, callers waiting now and the longest wait, open alerts and the
oldest, breaches today, who is on duty now; answer rate by hour today and by day this month.

Every query is bounded to today or this month (the calls' (direction, started_at) index); the days of
this month before today do not change, so their counts are kept between calls."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from hotline.config import Settings
from hotline.domain.calls import Call
from hotline.domain.durations import zh_duration
from hotline.services.reports import rollup
from hotline.services.reports.answer_rate import rate_params
from hotline.services.reports.indicators import specialty_name
from hotline.services.reports.live_figures import callers_waiting, snapshot
from hotline.services.reports.rollup import offered_answered
from hotline.store.base import unit_of_work
from hotline.store.call_stats import Span

log = logging.getLogger(__name__)
TIERS = ("first_line", "second_line", "manager", "vendor")
COMPLAINTS_TTL = timedelta(minutes=1)


class Dashboard:
    """Builds the summary; keeps the finished days' counts of the running month."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings) -> None:
        self.factory = factory
        self.settings = settings
        self._days: tuple[date, list[tuple[str, int, int]]] | None = None
        self._complaints: tuple[datetime, dict[str, Any] | None] | None = None
        self._lock = threading.Lock()

    def _span(self, first: date, last: date) -> Span:
        tz = self.settings.tz
        return Span(datetime.combine(first, time(0), tz), datetime.combine(last + timedelta(days=1), time(0), tz))

    def _month_days(self, today: date) -> list[tuple[str, int, int]]:
        """(day, offered, answered) for the month's days before today, cached until the day changes."""
        with self._lock:
            if self._days is None or self._days[0] != today:
                first = today.replace(day=1)
                days: list[tuple[str, int, int]] = []
                if today > first:
                    with unit_of_work(self.factory) as s:
                        days = offered_answered(s, self._span(first, today - timedelta(days=1)), "day",
                                                str(self.settings.tz))
                self._days = (today, days)
            return list(self._days[1])

    def summary(self, now: datetime, open_calls: Iterable[Call] = ()) -> dict[str, Any]:
        settings = self.settings
        tz = settings.tz
        local = now.astimezone(tz)
        today = local.date()
        span = self._span(today, today)
        assert span.start is not None and span.end is not None
        r = settings.reports
        with unit_of_work(self.factory) as s:
            rows, total = rollup.rates(s, span, "specialty", str(tz), rate_params(settings), with_p90=False)
            hours = offered_answered(s, span, "hour", str(tz))
            today_days = offered_answered(s, span, "day", str(tz))
        snap = snapshot(self.factory, span.start, span.end)
        waiting = callers_waiting(open_calls, now)
        oldest = snap.alerts.oldest_opened_at
        oldest_age = None if oldest is None else max(0.0, (now - oldest).total_seconds())
        by_code = {row.group: row for row in rows}
        codes = list(settings.specialties) + [c for c in by_code if c not in settings.specialties]
        rates = []
        for code in codes:
            row = by_code.get(code)
            rate = None if row is None else row.answer_rate
            rates.append({"group": code, "name": specialty_name(settings, code), "offered": row.offered if row else 0,
                          "answered": row.answered if row else 0,
                          "answer_rate": None if rate is None else round(rate, 4),
                          "met": None if row is None else row.met, "waiting": waiting.by_specialty.get(code, 0)})
        return {
            "at": local.isoformat(timespec="seconds"),
            "day": today.isoformat(),
            "target": r.answer_rate_target,
            "answer_rate": {"rows": rates, "total": {"offered": total.offered, "answered": total.answered,
                                                     "answer_rate": None if total.answer_rate is None
                                                     else round(total.answer_rate, 4), "met": total.met}},
            "waiting": {"count": waiting.count, "longest_seconds": waiting.longest_seconds,
                        "longest_text": zh_duration(waiting.longest_seconds)},
            "alerts": {"open": snap.alerts.count, "by_kind": snap.alerts.by_kind, "breached": snap.alerts.breached,
                       "oldest_opened_at": None if oldest is None else oldest.astimezone(tz).isoformat(),
                       "oldest_age_seconds": oldest_age, "oldest_age_text": zh_duration(oldest_age)},
            "breaches_today": snap.breaches_today,
            "on_duty": self._on_duty(now),
            "by_hour": [{"hour": h, "offered": o, "answered": a, "answer_rate": _rate(o, a)} for h, o, a in hours],
            "by_day": [{"day": d, "offered": o, "answered": a, "answer_rate": _rate(o, a)}
                       for d, o, a in self._month_days(today) + today_days],
            "specialty_names": {code: specialty_name(settings, code) for code in codes},
            "complaints": self._month_complaints(now),
        }

    def _month_complaints(self, now: datetime) -> dict[str, Any] | None:
        """This month's complaints: count, replied within the target, escalated (each share with its sample
        size); counted at most once a minute. None when they cannot be read."""
        with self._lock:
            if self._complaints is not None and self._complaints[0] <= now < self._complaints[0] + COMPLAINTS_TTL:
                return self._complaints[1]
        from hotline.services.complaints.figures import month_report

        try:
            doc = month_report(self.factory, now.astimezone(self.settings.tz).date().replace(day=1),
                               self.settings.tz, now)
            figures: dict[str, Any] | None = {k: doc[k] for k in ("month", "count", "replied_in_time",
                                                                   "resolved_in_time", "escalated")}
        except Exception:  # the tiles stay up without the complaints
            log.exception("complaints tile: the complaints could not be read")
            figures = None
        with self._lock:
            self._complaints = (now, figures)
        return figures

    def _on_duty(self, now: datetime) -> dict[str, list[str]] | None:
        """Names per tier on duty now; None when the roster cannot be read."""
        from hotline.clock import ManualClock
        from hotline.services.roster.service import RosterService

        try:
            duty = RosterService(self.factory, self.settings, ManualClock(now, self.settings.tz)).on_duty(now)
        except Exception:  # a missing or broken roster must not take the tiles down
            log.exception("on-duty tile: the roster could not be read")
            return None
        return {t: [p.name for p in duty.tier(t)] for t in TIERS}


def recent_calls(factory: sessionmaker[Session], tz: Any, start: datetime, end: datetime,
                 limit: int = 50) -> list[dict[str, Any]]:
    """The latest calls started in [start, end), newest first, at most `limit`."""
    from hotline.store.call_stats import calls_started
    from hotline.store.calls import row_as_dict

    stmt = calls_started(start, end, newest_first=True, limit=limit)
    with unit_of_work(factory) as s:
        return [row_as_dict(r, tz) for r in s.scalars(stmt)]


def _rate(offered: int, answered: int) -> float | None:
    return None if not offered else round(answered / offered, 4)


def today_summary(factory: sessionmaker[Session], settings: Settings, now: datetime,
                  open_calls: Iterable[Call] = ()) -> dict[str, Any]:
    """One summary without the month cache (the benchmark, one-off callers)."""
    return Dashboard(factory, settings).summary(now, open_calls)
