"""The 《客户投诉反馈表》 as an Excel workbook (openpyxl) and as a PDF (WeasyPrint with the Noto CJK fonts, as
the monthly report: the Chinese text embeds and extracts)."""

from __future__ import annotations

import io
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from hotline.domain.complaints import FORM_EN, FORM_FIELDS, FORM_ZH, SOURCE_ZH, FeedbackForm, Source
from hotline.domain.tickets import STATUS_ZH, Ticket
from hotline.services.complaints.desk import ComplaintService

TITLE = "客户投诉反馈表"
TITLE_EN = "Customer complaint feedback form"


def _t(at: datetime | None, tz: ZoneInfo) -> str:
    return "-" if at is None else f"{at.astimezone(tz):%Y-%m-%d %H:%M}"


def header_rows(ticket: Ticket, tz: ZoneInfo) -> list[tuple[str, str]]:
    """The form's head: which ticket, who complained, when, how, who handles it, the deadlines."""
    source = Source(ticket.complaint_source) if ticket.complaint_source else None
    return [
        ("工单号 / Ticket", ticket.ticket_id),
        ("投诉人 / Complainant", " ".join(p for p in (ticket.caller_name or "", ticket.caller) if p)),
        ("投诉时间 / Made at", _t(ticket.complained_at or ticket.opened_at, tz)),
        ("投诉来源 / Source", f"{SOURCE_ZH[source]} / {source}" if source else "-"),
        ("处理人 / Handled by", ticket.assignee or "-"),
        ("首次答复 / First reply", _t(ticket.complaint_replied_at, tz)),
        ("约定解决时间 / Agreed deadline", _t(ticket.complaint_due_at, tz)),
        ("状态 / Status", f"{STATUS_ZH[ticket.status]} / {ticket.status}"),
        ("摘要 / Summary", ticket.summary or "-"),
    ]


def form_xlsx(ticket: Ticket, form: FeedbackForm, version: int, saved_by: str, saved_at: datetime,
              tz: ZoneInfo) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "投诉反馈表"
    ws["A1"] = f"{TITLE} / {TITLE_EN}"
    ws["A1"].font = Font(bold=True, size=14)
    ws.merge_cells("A1:B1")
    head = PatternFill("solid", fgColor="EEF1F4")
    wrap = Alignment(wrap_text=True, vertical="top")
    row = 3
    for label, value in header_rows(ticket, tz):
        ws.cell(row, 1, label).font = Font(bold=True)
        ws.cell(row, 1).fill = head
        ws.cell(row, 2, value).alignment = wrap
        row += 1
    row += 1
    for name in FORM_FIELDS:
        ws.cell(row, 1, f"{FORM_ZH[name]} / {FORM_EN[name]}").font = Font(bold=True)
        ws.cell(row, 1).fill = head
        ws.cell(row, 2, getattr(form, name) or "").alignment = wrap
        row += 1
    row += 1
    ws.cell(row, 1, "版本 / Version").font = Font(bold=True)
    ws.cell(row, 2, f"v{version}，{saved_by}，{_t(saved_at, tz)}")
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 80
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


_CSS = """
@page { size: A4; margin: 18mm 16mm; }
body { font-family: "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", sans-serif; font-size: 10pt; }
h1 { font-size: 16pt; text-align: center; margin: 0 0 1mm; } p.en { text-align: center; color: #555; margin: 0 0 5mm; }
table { width: 100%; border-collapse: collapse; margin-bottom: 5mm; }
th, td { border: 1px solid #888; padding: 2mm; vertical-align: top; text-align: left; }
th { width: 32%; background: #eef1f4; } td { white-space: pre-wrap; }
.foot { color: #555; font-size: 8.5pt; }
"""


def form_html(ticket: Ticket, form: FeedbackForm, version: int, saved_by: str, saved_at: datetime,
              tz: ZoneInfo) -> str:
    head = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in header_rows(ticket, tz))
    body = "".join(f"<tr><th>{escape(FORM_ZH[n])} / {escape(FORM_EN[n])}</th>"
                   f"<td>{escape(getattr(form, n) or '-')}</td></tr>" for n in FORM_FIELDS)
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><style>{_CSS}</style></head><body>'
            f"<h1>{TITLE}</h1><p class=\"en\">{TITLE_EN}</p><table>{head}</table><table>{body}</table>"
            f'<p class="foot">版本 / version v{version}，{escape(saved_by)}，{_t(saved_at, tz)}</p></body></html>')


def form_pdf(ticket: Ticket, form: FeedbackForm, version: int, saved_by: str, saved_at: datetime,
             tz: ZoneInfo) -> bytes:
    from weasyprint import HTML

    pdf: bytes = HTML(string=form_html(ticket, form, version, saved_by, saved_at, tz)).write_pdf()
    return pdf


def form_file(service: ComplaintService, ticket_id: str, kind: str) -> bytes:
    """The ticket's saved form as `kind` (xlsx or pdf); an empty form when none was saved yet."""
    from hotline.domain.tickets import TicketError

    view = service.tickets.get(ticket_id)
    current = service.form(ticket_id)
    tz = service.ctx.tz
    form, version, by, at = ((current.form, current.version, current.saved_by, current.saved_at) if current
                             else (FeedbackForm(), 0, "-", service.ctx.clock.now()))
    if kind == "xlsx":
        return form_xlsx(view.ticket, form, version, by, at, tz)
    if kind == "pdf":
        return form_pdf(view.ticket, form, version, by, at, tz)
    raise TicketError(f"格式 {kind!r} 不支持 / format {kind!r}: use xlsx or pdf")
