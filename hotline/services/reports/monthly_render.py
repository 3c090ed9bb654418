"""The monthly report as HTML (Jinja2, with SVG bar charts) and as PDF (WeasyPrint renders the same
HTML; the Noto CJK fonts make the Chinese text embed and extract)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

TEMPLATES = Path(__file__).resolve().parent / "templates"
RATE_COLUMNS = [("offered", "转人工"), ("answered", "接通"), ("answer_rate", "接通率"), ("met", "达标"),
                ("abandoned", "放弃"), ("timeout", "超时"), ("busy", "忙"), ("ivr_abandoned", "IVR挂机"),
                ("avg_wait_seconds", "平均等待(秒)"), ("p90_wait_seconds", "P90等待(秒)"),
                ("avg_talk_seconds", "平均通话(秒)")]


def pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.1f}%"


def local_time(iso: str | None) -> str:
    return "-" if not iso else iso.replace("T", " ")[:16]


def _cell(key: str, value: Any) -> str:
    if key == "answer_rate":
        return pct(value)
    if key == "met":
        return "-" if value is None else ("是" if value else "否")
    return "-" if value is None else str(value)


def rate_table(rows: Sequence[dict[str, Any]], label: str, names: dict[str, str] | None = None) -> Markup:
    head = "".join(f"<th>{escape(h)}</th>" for _, h in RATE_COLUMNS)
    body = []
    for r in rows:
        group = "合计 total" if r["group"] == "total" else (names or {}).get(r["group"], r["group"])
        cls = "met" if r["met"] is True else ("missed" if r["met"] is False else "")
        cells = "".join(f'<td class="{cls if k == "met" else ""}">{escape(_cell(k, r[k]))}</td>'
                        for k, _ in RATE_COLUMNS)
        body.append(f'<tr><td class="text">{escape(str(group))}</td>{cells}</tr>')
    return Markup(f'<table class="rates"><thead><tr><th class="text">{escape(label)}</th>{head}</tr></thead>'
                  f'<tbody>{"".join(body)}</tbody></table>')


def bar_svg(labels: Sequence[str], values: Sequence[float | None], *, percent: bool, target: float | None = None,
            width: int = 680, height: int = 150) -> str:
    """A small bar chart; `percent` values are fractions drawn against 100% with the target line."""
    if not labels:
        return "<p>无数据 / no data</p>"
    top = 1.0 if percent else max([v or 0 for v in values] + [1])
    slot = (width - 40) / len(labels)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 30}" '
             f'viewBox="0 0 {width} {height + 30}">']
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        x = 30 + i * slot
        h = 0 if v is None else (v / top) * height
        parts.append(f'<rect x="{x + slot * 0.15:.1f}" y="{height - h + 5:.1f}" width="{slot * 0.7:.1f}" '
                     f'height="{h:.1f}" fill="#4a7bb7"/>')
        text = "-" if v is None else (f"{v * 100:.0f}%" if percent else f"{v:.0f}")
        parts.append(f'<text x="{x + slot / 2:.1f}" y="{height - h + 2:.1f}" text-anchor="middle">{text}</text>')
        parts.append(f'<text x="{x + slot / 2:.1f}" y="{height + 18}" text-anchor="middle">{escape(label)}</text>')
    if target is not None:
        y = height - target * height / top + 5
        parts.append(f'<line x1="30" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#b00020" '
                     f'stroke-dasharray="4 3"/><text x="{width - 10}" y="{y - 2:.1f}" text-anchor="end" '
                     f'fill="#b00020">目标 {target * 100:.0f}%</text>')
    parts.append("</svg>")
    return "".join(parts)


def monthly_html(doc: dict[str, Any], target: float = 0.75) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    by_hour = [r for r in doc["answer_rate"]["by_hour"] if r["group"] != "total"]
    trend = doc["trend"]
    return env.get_template("monthly.html").render(
        doc=doc, rate_table=rate_table, pct=pct, t=local_time,
        hours_svg=bar_svg([r["group"][:2] for r in by_hour], [float(r["offered"]) for r in by_hour], percent=False),
        trend_svg=bar_svg([m["month"][2:] for m in trend], [m["answer_rate"] for m in trend], percent=True,
                          target=target),
    )


def monthly_pdf(doc: dict[str, Any], target: float = 0.75) -> bytes:
    from weasyprint import HTML

    pdf: bytes = HTML(string=monthly_html(doc, target), base_url=str(TEMPLATES)).write_pdf()
    return pdf
