"""Report exports for supervisors: the answer rate as CSV (UTF-8 with BOM, so Excel shows Chinese) and
as an Excel workbook, the call ledger of a date range as CSV, and the count of 15-minute breaches."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from hotline.api.ranges import reversed_error, span_or_today, today
from hotline.config import Settings
from hotline.domain.access import exports_numbers, neutral_cell
from hotline.domain.alerts import AlertKind
from hotline.domain.day_range import DayTextError, day_span, is_reversed, parse_optional_day
from hotline.domain.kpi import AnswerRate, RateParams
from hotline.domain.numbers import mask
from hotline.services.reports.answer_rate import RateParamError, answer_rate_report, rate_params
from hotline.store.alerts import AlertRow
from hotline.store.base import unit_of_work
from hotline.store.call_stats import calls_started
from hotline.store.calls import CallRow, row_legs

router = APIRouter(tags=["reports"])
# `from` / `to` are read as text and checked here, so that a bad value is answered in the desk's words.
FROM = Query(None, alias="from", description="开始日期 first day, YYYY-MM-DD")
TO = Query(None, alias="to", description="结束日期 last day (included), YYYY-MM-DD")

BOM = "\ufeff"
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

GROUP_HEADERS = {
    "specialty": "专业 Specialty",
    "day": "日期 Day",
    "week": "周 Week",
    "hour": "小时 Hour",
    "agent": "坐席 Agent",
    "line": "线路 Line",
}
RATE_HEADERS = [
    "转人工 Offered", "接通 Answered", "接通率 Answer rate", "目标 Target", "达标 Met",
    "放弃 Abandoned", "超时 Timeout", "忙 Busy", "短时放弃 Short abandoned", "IVR挂机 IVR hang-ups",
    "失败 Failed", "平均等待(秒) Avg wait (s)", "P90等待(秒) P90 wait (s)", "平均通话(秒) Avg talk (s)",
    "服务水平 Service level", "平均应答速度(秒) ASA (s)", "放弃率 Abandon rate", "短时放弃率 Short abandon rate",
]
RATE_KEYS = [
    "offered", "answered", "answer_rate", "target", "met", "abandoned", "timeout", "busy",
    "short_abandoned", "ivr_abandoned", "failed", "avg_wait_seconds", "p90_wait_seconds", "avg_talk_seconds",
    "service_level", "asa_seconds", "abandon_rate", "short_abandon_rate",
]
PERCENT_HEADERS = ("接通率 Answer rate", "目标 Target", "服务水平 Service level", "放弃率 Abandon rate",
                   "短时放弃率 Short abandon rate")
TOTAL_LABEL = "合计 total"
FORMULA = ("接通率 = 接通 / 转人工；转人工 = 接通 + 放弃 + 超时 + 忙（IVR挂机不计入） / "
           "answer rate = answered / offered; offered = answered + abandoned + timeout + busy "
           "(IVR hang-ups are not offered)")

CALL_COLUMNS: list[tuple[str, str]] = [
    ("call_id", "呼叫编号 Call ID"),
    ("direction", "方向 Direction"),
    ("caller", "主叫 Caller"),
    ("caller_name", "主叫名称 Caller name"),
    ("called", "被叫 Called"),
    ("queue", "队列 Queue"),
    ("specialty", "专业 Specialty"),
    ("menu", "菜单按键 Menu key"),
    ("outcome", "结果 Outcome"),
    ("answered_by", "接听坐席 Answered by"),
    ("hung_up_by", "挂机方 Hung up by"),
    ("started_at", "开始时间 Started"),
    ("answered_at", "接通时间 Answered at"),
    ("ended_at", "结束时间 Ended"),
    ("wait_seconds", "等待(秒) Wait (s)"),
    ("talk_seconds", "通话(秒) Talk (s)"),
    ("estimated", "时间为估算 Estimated"),
    ("legs", "转接经过 Transfer legs"),
]


# ---- query parameters ---------------------------------------------------------------------------------

DATE = ("日期 YYYY-MM-DD", "a date YYYY-MM-DD")
GROUPING = (" specialty、day、week、hour、agent 或 line", "specialty, day, week, hour, agent or line")
SECONDS = ("不小于 0 的秒数", "a number of seconds, 0 or more")


def _bad(name: str, value: str, expected: tuple[str, str]) -> HTTPException:
    zh, en = expected
    return HTTPException(422, f"参数 {name} 的值 {value!r} 无效，应为{zh} / "
                              f"query parameter `{name}`: {value!r} is not valid; expected {en}")


def parse_day(name: str, value: str | None) -> date | None:
    """A `from` / `to` query value as a date; None when absent or empty."""
    try:
        return parse_optional_day(value)
    except DayTextError:
        raise _bad(name, value or "", DATE) from None


def parse_range(start: str | None, end: str | None) -> tuple[date | None, date | None]:
    first, last = parse_day("from", start), parse_day("to", end)
    if is_reversed(first, last):
        raise reversed_error(first, last)
    return first, last


def parse_by(value: str | None) -> str:
    by = (value or "specialty").strip()
    if by not in GROUP_HEADERS:
        raise _bad("by", value or "", GROUPING)
    return by


def parse_params(settings: Settings, short_abandon: str | None, service_level: str | None) -> RateParams:
    try:
        return rate_params(settings, short_abandon, service_level)
    except RateParamError as e:
        raise _bad(e.name, str(e.value), SECONDS) from None


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# ---- answer rate ---------------------------------------------------------------------------------------

def answer_rate_table(rows: Sequence[AnswerRate], total: AnswerRate, by: str,
                      settings: Settings) -> tuple[list[str], list[list[Any]]]:
    """Headers and rows (total last) of the answer-rate export; rates as fractions, None as empty."""
    headers = [GROUP_HEADERS[by]]
    if by == "specialty":
        headers.append("专业名称 Specialty name")
    headers += RATE_HEADERS
    table: list[list[Any]] = []
    for row in [*rows, total]:
        data = row.as_dict()
        is_total = row is total
        line: list[Any] = [TOTAL_LABEL if is_total else row.group]
        if by == "specialty":
            line.append("" if is_total else _specialty_name(row.group, settings))
        for key in RATE_KEYS:
            value = data[key]
            if key == "met":
                value = None if value is None else ("是 yes" if value else "否 no")
            line.append(value)
        table.append(line)
    return headers, table


def _specialty_name(code: str, settings: Settings) -> str:
    section = settings.specialties.get(code)
    return "" if section is None else f"{section.name_zh} {section.name_en}"


def _answer_rates(request: Request, start: str | None, end: str | None, by: str | None,
                  short_abandon: str | None, service_level: str | None = None,
                  ) -> tuple[str, date | None, date | None, RateParams, list[str], list[list[Any]]]:
    settings = _settings(request)
    group = parse_by(by)
    first, last = parse_range(start, end)
    params = parse_params(settings, short_abandon, service_level)
    rows, total = answer_rate_report(request.app.state.factory, settings.tz, start=first, end=last, by=group,
                                     params=params)
    headers, table = answer_rate_table(rows, total, group, settings)
    return group, first, last, params, headers, table


def _filename(stem: str, first: date | None, last: date | None, ext: str) -> str:
    span = f"{first or 'start'}_{last or 'now'}"
    return f"{stem}_{span}.{ext}"


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"}


def csv_text(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """CSV with a BOM and CRLF line ends (what Excel expects); None becomes an empty cell."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([neutral_cell("" if v is None else v) for v in row])
    return out.getvalue()


@router.get("/api/reports/answer-rate.csv")
def answer_rate_csv(request: Request, start: str | None = FROM, end: str | None = TO, by: str | None = None,
                    short_abandon: str | None = None, service_level: str | None = None) -> Response:
    """The answer-rate report with every count behind each rate, total row last."""
    group, first, last, _, headers, table = _answer_rates(request, start, end, by, short_abandon, service_level)
    name = _filename(f"answer-rate_{group}", first, last, "csv")
    return Response(csv_text(headers, table).encode("utf-8"), media_type=CSV_TYPE, headers=_attachment(name))


@router.get("/api/reports/answer-rate.xlsx")
def answer_rate_xlsx(request: Request, start: str | None = FROM, end: str | None = TO, by: str | None = None,
                     short_abandon: str | None = None, service_level: str | None = None) -> Response:
    """The same report as an Excel workbook, with a sheet naming its parameters and the formula."""
    group, first, last, params, headers, table = _answer_rates(request, start, end, by, short_abandon,
                                                               service_level)
    settings = _settings(request)
    about = [
        ("报表 Report", "接通率 Answer rate"),
        ("分组 Grouped by", GROUP_HEADERS[group]),
        ("开始日期 From", str(first) if first else "(全部 all)"),
        ("结束日期 To", str(last) if last else "(全部 all)"),
        ("时区 Timezone", str(settings.tz)),
        ("目标 Target", settings.reports.answer_rate_target),
        ("短时放弃阈值(秒) Short abandon (s)", params.short_abandon_seconds),
        ("服务水平秒数 Service level within (s)", params.service_level_seconds),
        ("公式 Formula", FORMULA),
    ]
    data = xlsx_bytes("接通率 Answer rate", headers, table, about)
    name = _filename(f"answer-rate_{group}", first, last, "xlsx")
    return Response(data, media_type=XLSX_TYPE, headers=_attachment(name))


def xlsx_bytes(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]],
               about: Sequence[tuple[str, Any]]) -> bytes:
    """A workbook: the table (bold header, frozen, rates as percent) and a sheet of its parameters."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title
    ws.append(list(headers))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    percent = {i + 1 for i, h in enumerate(headers) if h in PERCENT_HEADERS}
    for row in rows:
        ws.append([neutral_cell(v) for v in row])
        for col in percent:
            ws.cell(row=ws.max_row, column=col).number_format = "0.0%"
    ws.freeze_panes = "B2"
    for i, header in enumerate(headers, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(12, len(header) + 4)
    info = wb.create_sheet("说明 About")
    for key, value in about:
        info.append([key, value])
    info.column_dimensions["A"].width = 32
    info.column_dimensions["B"].width = 60
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ---- the call ledger -----------------------------------------------------------------------------------

def _local(t: datetime | None, tz: ZoneInfo) -> str | None:
    return None if t is None else t.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def legs_text(legs: list[dict[str, Any]]) -> str | None:
    """The legs of a transferred call in one cell: `agent1 (network) 12.5s → agent4 2.5s`; None: one leg."""
    if not legs:
        return None
    parts = []
    for leg in legs:
        who = leg.get("who") or ("未接 unanswered" if leg.get("answered") is None else "?")
        queue = f" ({leg['queue']})" if leg.get("queue") else ""
        talk = f" {round(leg['talk'], 1)}s" if leg.get("talk") is not None else ""
        parts.append(f"{who}{queue}{talk}")
    return " → ".join(parts)


def call_line(row: CallRow, tz: ZoneInfo, full_numbers: bool = True) -> list[Any]:
    """One ledger row of the export; numbers masked unless `full_numbers`; no cell Excel would run."""
    def number(value: str | None) -> str | None:
        return value if full_numbers or not value else mask(value)

    values: dict[str, Any] = {
        "call_id": row.call_id, "direction": row.direction, "caller": number(row.caller),
        "caller_name": row.caller_name, "called": number(row.called), "queue": row.queue, "specialty": row.specialty,
        "menu": row.menu, "outcome": row.outcome, "answered_by": row.answered_by, "hung_up_by": row.hung_up_by,
        "started_at": _local(row.started_at, tz), "answered_at": _local(row.answered_at, tz),
        "ended_at": _local(row.ended_at, tz),
        "wait_seconds": None if row.wait_seconds is None else round(row.wait_seconds, 1),
        "talk_seconds": None if row.talk_seconds is None else round(row.talk_seconds, 1),
        "estimated": "是 yes" if row.estimated else "否 no",
        "legs": legs_text(row_legs(row)),
    }
    return [neutral_cell("" if values[key] is None else values[key]) for key, _ in CALL_COLUMNS]


@router.get("/api/calls.csv")
def calls_csv(request: Request, start: str | None = FROM, end: str | None = TO) -> StreamingResponse:
    """Ledger rows started from `from` 00:00 to the end of `to` (local dates), oldest first; streamed."""
    settings = _settings(request)
    first, last = parse_range(start, end)
    if first is None and last is None:  # never the whole ledger by default
        first = last = today(request)
    lo, hi = day_span(first, last, settings.tz)
    stmt = calls_started(lo, hi)
    factory = request.app.state.factory
    tz = settings.tz
    principal = getattr(request.state, "principal", None)
    full = principal is not None and exports_numbers(principal.role)
    header = [f"{label} ({tz})" if key.endswith("_at") else label for key, label in CALL_COLUMNS]

    # The query runs before the response starts: a database error (or a date out of range) is an HTTP
    # error, not a 200 with a cut body. Rows after the first batch are streamed.
    session = factory()
    try:
        result = session.scalars(stmt.execution_options(yield_per=1000))
        head = result.fetchmany(500)
    except BaseException:
        session.close()
        raise

    def lines() -> Iterator[bytes]:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        buf.write(BOM)
        writer.writerow(header)
        try:
            for row in head:
                writer.writerow(call_line(row, tz, full))
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
            for n, row in enumerate(result, start=1):
                writer.writerow(call_line(row, tz, full))
                if n % 500 == 0:
                    yield buf.getvalue().encode("utf-8")
                    buf.seek(0)
                    buf.truncate()
            yield buf.getvalue().encode("utf-8")
        finally:
            session.close()

    name = _filename("calls", first, last, "csv")
    return StreamingResponse(lines(), media_type=CSV_TYPE, headers=_attachment(name))


# ---- breaches of the 15-minute rule --------------------------------------------------------------------

@router.get("/api/reports/breaches")
def breaches(request: Request, start: str | None = FROM, end: str | None = TO) -> dict[str, Any]:
    """Alerts whose deadline passed (breached_at) from `from` to `to` (local dates; without them today
    by the app's clock): the count of missed-call breaches (the 15-minute rule), other kinds apart."""
    settings = _settings(request)
    first, last, lo, hi = span_or_today(request, *parse_range(start, end))
    stmt = (select(AlertRow).where(AlertRow.breached_at.is_not(None), AlertRow.breached_at >= lo,
                                   AlertRow.breached_at < hi).order_by(AlertRow.breached_at))
    by_kind: dict[str, int] = {str(k): 0 for k in AlertKind}
    items: list[dict[str, Any]] = []
    tz = settings.tz
    with unit_of_work(request.app.state.factory) as s:
        for r in s.scalars(stmt):
            by_kind[r.kind] = by_kind.get(r.kind, 0) + 1
            items.append({"alert_id": r.alert_id, "kind": r.kind, "state": r.state, "caller": r.caller,
                          "specialty": r.specialty, "title": r.title,
                          "opened_at": r.opened_at.astimezone(tz).isoformat(),
                          "deadline_at": r.deadline_at.astimezone(tz).isoformat(),
                          "breached_at": r.breached_at.astimezone(tz).isoformat() if r.breached_at else None,
                          "acked_by": r.acked_by})
    return {"from": first.isoformat(), "to": last.isoformat(),
            "count": by_kind[str(AlertKind.MISSED_CALL)], "by_kind": by_kind, "breaches": items}
