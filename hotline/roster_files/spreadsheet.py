"""Reading and writing the roster table as CSV (UTF-8, or GBK as saved by Chinese Excel) and .xlsx."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hotline.domain.access import FORMULA_START, neutral_cell
from hotline.roster_files.table import Cell

ROSTER_SHEETS = ("值班表", "roster")
STAFF_SHEETS = ("人员", "staff", "people")


@dataclass(frozen=True)
class Sheets:
    roster: list[list[Cell]]
    staff: list[list[Cell]] | None = None  # only workbooks carry a staff sheet


def read_csv(data: bytes) -> list[list[Cell]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes every byte string
        raise ValueError("无法识别的编码 / unknown text encoding")
    return [[_unneutral(c) for c in r] for r in csv.reader(io.StringIO(text))]


def _unneutral(cell: str) -> str:
    """A cell `write_csv` neutralised ("'=..." so that Excel shows it instead of running it) read back."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_START) else cell


def read_xlsx(data: bytes) -> Sheets:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data), data_only=True, read_only=True)
    try:
        by_title = {ws.title.strip().lower(): ws for ws in wb.worksheets}
        roster_ws = next((by_title[n] for n in ROSTER_SHEETS if n in by_title), wb.worksheets[0])
        staff_ws = next((by_title[n] for n in STAFF_SHEETS if n in by_title), None)

        def rows(ws: object) -> list[list[Cell]]:
            return [list(r) for r in ws.iter_rows(values_only=True)]  # type: ignore[attr-defined]

        return Sheets(rows(roster_ws), rows(staff_ws) if staff_ws is not None else None)
    finally:
        wb.close()


def read_sheets(path: Path) -> Sheets:
    data = path.read_bytes()
    if path.suffix.lower() == ".xlsx":
        return read_xlsx(data)
    return Sheets(read_csv(data))


def write_csv(rows: Sequence[Sequence[str]]) -> bytes:
    buf = io.StringIO()
    # a label or name Excel would run as a formula ('=HYPERLINK(...)') gets a leading apostrophe
    csv.writer(buf, lineterminator="\r\n").writerows([[neutral_cell(c) for c in r] for r in rows])
    return buf.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8


def write_xlsx(roster: Sequence[Sequence[str]], staff: Sequence[Sequence[str]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = ROSTER_SHEETS[0]
    for row in roster:
        ws.append(list(row))
    people = wb.create_sheet(STAFF_SHEETS[0])
    for row in staff:
        people.append(list(row))
    for sheet in (ws, people):
        for line in sheet.iter_rows():
            for cell in line:
                if cell.data_type == "f":  # openpyxl makes '=...' text a live formula: kept as text
                    cell.data_type = "s"
        sheet.freeze_panes = "A2"
        for col in sheet.columns:
            width = max((len(str(c.value or "")) for c in col), default=8)
            sheet.column_dimensions[col[0].column_letter].width = min(40, max(10, width * 2))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
