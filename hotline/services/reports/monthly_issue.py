"""Issuing the monthly quality report: every missed target needs its 原因分析 (cause) and 改进措施
(action) first; the issued document is stored as it is (figures and text frozen); issuing the month
again is a correction and gets the next version number."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from hotline.config import Settings
from hotline.services.reports.monthly import build_monthly, month_unfinished
from hotline.store.base import unit_of_work
from hotline.store.quality_reports import issued_document, issued_list, store_issued


class MonthNotOver(Exception):
    """The month has not ended yet in the desk's timezone: its report cannot be issued (frozen) yet."""


class AnalysisMissing(ValueError):
    """Missed targets without a cause or an action."""


def fill_analysis(doc: dict[str, Any], analysis: dict[str, dict[str, str]]) -> list[str]:
    """Put the supervisor's text into the document; returns the keys still missing a cause or action."""
    missing = []
    for row in doc["analysis"]:
        given = analysis.get(row["key"], {})
        row["cause"] = str(given.get("cause", "") or "").strip()
        row["action"] = str(given.get("action", "") or "").strip()
        if not row["cause"] or not row["action"]:
            missing.append(row["key"])
    return missing


def issue_monthly(factory: sessionmaker[Session], settings: Settings, first_day: date, now: datetime, by: str,
                  analysis: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Build, check and store the month's report; returns the issued document (with its version). A month
    not over at `now` is refused (MonthNotOver): its figures would be frozen half made, or empty."""
    if unfinished := month_unfinished(first_day, now, settings.tz):
        raise MonthNotOver(f"{unfinished}; 月份结束后才能发布质量月报 / a month's report can be issued once the "
                           f"month is over")
    doc = build_monthly(factory, settings, first_day, now)
    missing = fill_analysis(doc, analysis)
    if missing:
        raise AnalysisMissing("未达标指标缺少原因分析或改进措施 / missed targets need a cause and an action "
                              f"before the report is issued: {', '.join(missing)}")
    with unit_of_work(factory) as s:
        store_issued(s, doc["month"], by, now, doc)
    with unit_of_work(factory) as s:
        issued = issued_document(s, doc["month"])
    assert issued is not None
    return issued


def issued_report(factory: sessionmaker[Session], month: str, version: int | None = None) -> dict[str, Any] | None:
    with unit_of_work(factory) as s:
        return issued_document(s, month, version)


def issued_reports(factory: sessionmaker[Session]) -> list[tuple[str, int, datetime, str]]:
    with unit_of_work(factory) as s:
        return issued_list(s)
