"""The monthly report as an Excel workbook (XlsxWriter): the indicator table, the answer-rate tables,
and native Excel charts (answer rate per specialty against the target, calls per hour, 12-month trend)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

RATE_KEYS = ["offered", "answered", "answer_rate", "abandoned", "timeout", "busy", "ivr_abandoned",
             "avg_wait_seconds", "p90_wait_seconds", "avg_talk_seconds"]
RATE_HEADERS = ["转人工 Offered", "接通 Answered", "接通率 Rate", "放弃 Abandoned", "超时 Timeout", "忙 Busy",
                "IVR挂机 IVR", "平均等待(秒)", "P90等待(秒)", "平均通话(秒)"]


# (key of the report's JSON, the column's header): the lists' sheets in both languages
BREACH_COLUMNS = [("caller", "来电 Caller"), ("specialty_name", "专业 Specialty"), ("opened_at", "告警 Opened"),
                  ("breached_at", "超时 Breached"), ("returned_at", "回复 Returned"), ("acked_by", "确认人 Acked by")]
INCIDENT_COLUMNS = [("title", "故障 Incident"), ("declared_at", "宣布 Declared"), ("reported_at", "上报 Reported"),
                    ("report_minutes", "上报用时(分钟) Minutes"), ("late", "超时 Late")]


def monthly_xlsx(doc: dict[str, Any], target: float = 0.75) -> bytes:
    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"in_memory": True})
    fmt = {"bold": wb.add_format({"bold": True, "bg_color": "#EEF1F4", "border": 1}),
           "time": wb.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
           "pct": wb.add_format({"num_format": "0.0%"}), "title": wb.add_format({"bold": True, "font_size": 14}),
           "missed": wb.add_format({"font_color": "#B00020", "bold": True}),
           "met": wb.add_format({"font_color": "#176B1A", "bold": True})}
    _indicators(wb, doc, fmt)
    sheet, n = _rates(wb, "分专业 Specialty", doc["answer_rate"]["by_specialty"], fmt, doc["specialty_names"])
    _rate_chart(wb, sheet, n, "分专业接通率 / Answer rate by specialty", target)
    _rates(wb, "坐席 Staff", doc["answer_rate"]["by_agent"], fmt)
    sheet, n = _rates(wb, "时段 Hours", doc["answer_rate"]["by_hour"], fmt)
    _column_chart(wb, sheet, n, "各时段来电 / Calls offered per hour")
    _rates(wb, "日 Days", doc["answer_rate"]["by_day"], fmt)
    _trend(wb, doc["trend"], fmt, target)
    _list(wb, "超时 Breaches", doc["breaches"], BREACH_COLUMNS, fmt)
    _list(wb, "故障 Incidents", doc["incidents"], INCIDENT_COLUMNS, fmt)
    wb.close()
    return out.getvalue()


def _indicators(wb: Workbook, doc: dict[str, Any], fmt: dict[str, Any]) -> None:
    ws = wb.add_worksheet("指标 Indicators")
    ws.write(0, 0, f"{doc['company']} 热线服务质量月报 {doc['month']}", fmt["title"])
    headers = ["指标", "标准", "实际", "达标", "上月", "说明"]
    for c, h in enumerate(headers):
        ws.write(2, c, h, fmt["bold"])
    for r, i in enumerate(doc["indicators"], start=3):
        ws.write(r, 0, i["name"])
        ws.write(r, 1, i["target_text"])
        ws.write(r, 2, i["actual_text"])
        ws.write(r, 3, i["met_text"], fmt["met"] if i["met"] is True else fmt["missed"] if i["met"] is False else None)
        ws.write(r, 4, i["last_month_text"])
        ws.write(r, 5, i["detail"])
    ws.set_column(0, 0, 46)
    ws.set_column(1, 4, 16)
    ws.set_column(5, 5, 36)
    ws.freeze_panes(3, 1)


def _rates(wb: Workbook, title: str, rows: Sequence[dict[str, Any]], fmt: dict[str, Any],
           names: dict[str, str] | None = None) -> tuple[Worksheet, int]:
    ws = wb.add_worksheet(title)
    ws.write(0, 0, "组 Group", fmt["bold"])
    for c, h in enumerate(RATE_HEADERS, start=1):
        ws.write(0, c, h, fmt["bold"])
    body = [r for r in rows if r["group"] != "total"] + [r for r in rows if r["group"] == "total"]
    for r, row in enumerate(body, start=1):
        label = "合计 total" if row["group"] == "total" else (names or {}).get(row["group"], row["group"])
        ws.write(r, 0, label)
        for c, key in enumerate(RATE_KEYS, start=1):
            value = row[key]
            if value is None:
                ws.write_blank(r, c, None)
            else:
                ws.write_number(r, c, value, fmt["pct"] if key == "answer_rate" else None)
    ws.set_column(0, 0, 24)
    ws.set_column(1, len(RATE_KEYS), 13)
    ws.freeze_panes(1, 1)
    return ws, len(body) - 1  # data rows without the total


def _rate_chart(wb: Workbook, ws: Worksheet, n: int, title: str, target: float) -> None:
    if n <= 0:
        return
    name = ws.get_name()
    chart = wb.add_chart({"type": "column"})
    assert chart is not None
    chart.add_series({"name": "接通率 Answer rate", "categories": [name, 1, 0, n, 0],
                      "values": [name, 1, 3, n, 3], "data_labels": {"value": True, "num_format": "0.0%"}})
    ws.write(0, len(RATE_KEYS) + 2, "目标 Target")
    for r in range(1, n + 1):
        ws.write_number(r, len(RATE_KEYS) + 2, target)
    line = wb.add_chart({"type": "line"})
    assert line is not None
    line.add_series({"name": "目标 Target", "categories": [name, 1, 0, n, 0],
                     "values": [name, 1, len(RATE_KEYS) + 2, n, len(RATE_KEYS) + 2],
                     "line": {"color": "#B00020", "dash_type": "dash"}})
    chart.combine(line)
    chart.set_title({"name": title})
    chart.set_y_axis({"min": 0, "max": 1, "num_format": "0%"})
    ws.insert_chart(n + 4, 1, chart)


def _column_chart(wb: Workbook, ws: Worksheet, n: int, title: str) -> None:
    if n <= 0:
        return
    name = ws.get_name()
    chart = wb.add_chart({"type": "column"})
    assert chart is not None
    chart.add_series({"name": "转人工 Offered", "categories": [name, 1, 0, n, 0], "values": [name, 1, 1, n, 1]})
    chart.add_series({"name": "接通 Answered", "categories": [name, 1, 0, n, 0], "values": [name, 1, 2, n, 2]})
    chart.set_title({"name": title})
    ws.insert_chart(n + 4, 1, chart)


def _trend(wb: Workbook, trend: Sequence[dict[str, Any]], fmt: dict[str, Any], target: float) -> None:
    ws = wb.add_worksheet("趋势 Trend")
    for c, h in enumerate(["月份 Month", "转人工 Offered", "接通 Answered", "接通率 Rate", "目标 Target"]):
        ws.write(0, c, h, fmt["bold"])
    for r, m in enumerate(trend, start=1):
        ws.write(r, 0, m["month"])
        ws.write_number(r, 1, m["offered"])
        ws.write_number(r, 2, m["answered"])
        if m["answer_rate"] is None:
            ws.write_blank(r, 3, None)
        else:
            ws.write_number(r, 3, m["answer_rate"], fmt["pct"])
        ws.write_number(r, 4, target, fmt["pct"])
    n = len(trend)
    if n:
        chart = wb.add_chart({"type": "line"})
        assert chart is not None
        chart.add_series({"name": "接通率 Answer rate", "categories": ["趋势 Trend", 1, 0, n, 0],
                          "values": ["趋势 Trend", 1, 3, n, 3], "marker": {"type": "circle"}})
        chart.add_series({"name": "目标 Target", "categories": ["趋势 Trend", 1, 0, n, 0],
                          "values": ["趋势 Trend", 1, 4, n, 4], "line": {"dash_type": "dash"}})
        chart.set_title({"name": "近 12 个月接通率 / Answer rate, 12 months"})
        chart.set_y_axis({"min": 0, "max": 1, "num_format": "0%"})
        ws.insert_chart(1, 6, chart)


def _list(wb: Workbook, title: str, rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]],
          fmt: dict[str, Any]) -> None:
    """A sheet of the month's breaches or incidents: headers in both languages, times as Excel times in desk
    time (the JSON's ISO times carry the desk's offset), yes/no in words."""
    ws = wb.add_worksheet(title)
    for c, (_, header) in enumerate(columns):
        ws.write(0, c, header, fmt["bold"])
    for r, row in enumerate(rows, start=1):
        for c, (key, _) in enumerate(columns):
            value = row.get(key)
            if value is None:
                ws.write_blank(r, c, None)
            elif isinstance(value, bool):
                ws.write(r, c, "是 yes" if value else "否 no")
            elif key.endswith("_at"):
                ws.write_datetime(r, c, datetime.fromisoformat(value).replace(tzinfo=None), fmt["time"])
            else:
                ws.write(r, c, value)
    ws.set_column(0, len(columns), 20)
    ws.freeze_panes(1, 0)
