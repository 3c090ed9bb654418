"""The roster table (.csv/.xlsx rows), the staff sheet and the desk file: parsing and row/column errors."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from hotline.domain.roster import Person, Tier
from hotline.roster_files.desk_yaml import parse_desk
from hotline.roster_files.ics import shifts_ics
from hotline.roster_files.problems import RosterFileError
from hotline.roster_files.spreadsheet import read_csv, read_xlsx, write_csv, write_xlsx
from hotline.roster_files.staff_sheet import parse_staff, staff_rows
from hotline.roster_files.table import parse_table, table_rows

TZ = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[2]
PEOPLE = {"张伟": Person("张伟", mobile="13800138001"), "李娜": Person("李娜", mobile="13800138002"),
          "陈静": Person("陈静"), "周强": Person("周强")}
HEADER = ["日期", "班次", "开始", "结束", "一线", "二线", "项目经理", "电话"]


def test_valid_table_with_night_shift_and_two_people() -> None:
    rows = [HEADER,
            ["2026-10-01", "白班", "08:00", "20:00", "张伟", "陈静", "周强", "13800138001"],
            ["2026/10/1", "夜班", "20:00", "08:00", "李娜、张伟", "", "", "138-0013-8002, 13800138001"],
            ["", "", "", "", "", "", "", ""]]
    parsed = parse_table(rows, PEOPLE, TZ)
    assert parsed.problems == []
    night = parsed.rows[1]
    assert night.start == datetime(2026, 10, 1, 20, tzinfo=TZ) and night.end == datetime(2026, 10, 2, 8, tzinfo=TZ)
    assert night.people == {Tier.FIRST_LINE: ("李娜", "张伟")}
    assert len(parsed.shifts()) == 5


def test_english_headers_and_excel_typed_cells() -> None:
    rows: list[list[object]] = [["date", "shift", "start", "end", "first_line", "phone"],
            [datetime(2026, 10, 1), "day", time(8), time(20), "张伟", 13800138001]]
    parsed = parse_table(rows, PEOPLE, TZ)
    assert parsed.problems == [] and parsed.rows[0].day == date(2026, 10, 1)


def test_every_problem_names_row_and_column() -> None:
    rows = [HEADER,
            ["2026-10-01", "白班", "08:00", "20:00", "张伟", "", "", ""],
            ["2026-13-01", "白班", "08:00", "20:00", "李娜", "", "", ""],      # row 3: bad date
            ["2026-10-02", "白班", "8点", "20:00", "张三", "", "", ""],         # row 4: bad time, unknown
            ["2026-10-03", "白班", "08:00", "20:00", "张伟", "", "", "1380013800x"],  # row 5: bad phone
            ["2026-10-01", "加班", "19:00", "21:00", "李娜", "", "", ""],      # row 6: overlaps row 2
            ["2026-10-04", "白班", "08:00", "20:00", "张伟", "", "", "13800138002"]]  # row 7: not his
    parsed = parse_table(rows, PEOPLE, TZ)
    text = [str(p) for p in parsed.problems]
    assert parsed.rows == []  # nothing usable when anything is wrong
    assert any(t.startswith("第 3 行 A 列（日期）") and "2026-13-01" in t for t in text)
    assert any(t.startswith("第 4 行 C 列（开始）") for t in text)
    assert any(t.startswith("第 4 行 E 列（一线）") and "张三" in t for t in text)
    assert any(t.startswith("第 5 行 H 列（电话）") and "not a phone number" in t for t in text)
    assert any(t.startswith("第 6 行 E 列（一线）") and "row 2" in t for t in text)
    assert any(t.startswith("第 7 行 H 列（电话）") and "张伟" in t for t in text)
    assert len(text) == 6


def test_unknown_and_missing_columns() -> None:
    parsed = parse_table([["日期", "开始", "值班长"]], PEOPLE, TZ)
    text = " | ".join(str(p) for p in parsed.problems)
    assert "C 列（值班长）" in text and "missing column end" in text and "no tier column" in text


def test_table_rows_round_trip_through_csv_and_xlsx() -> None:
    rows = [HEADER,
            ["2026-10-01", "白班", "08:00", "20:00", "张伟", "陈静", "周强", "13800138001"],
            ["2026-10-01", "夜班", "20:00", "08:00", "李娜", "", "", "13800138002"]]
    shifts = [s for _, s in parse_table(rows, PEOPLE, TZ).shifts()]
    exported = table_rows(shifts, PEOPLE, TZ)
    assert exported == [[*HEADER[:7], "厂商", "电话", "来源"],
                        [*rows[1][:7], "", rows[1][7], "值班表"],
                        [*rows[2][:7], "", rows[2][7], "值班表"]]
    assert parse_table(exported, PEOPLE, TZ).shifts() == parse_table(rows, PEOPLE, TZ).shifts()  # 来源 ignored
    assert read_csv(write_csv(exported)) == exported
    book = read_xlsx(write_xlsx(exported, staff_rows(PEOPLE.values())))
    assert [[c or "" for c in r] for r in book.roster] == exported  # empty cells read back as None
    assert book.staff is not None and parse_staff(book.staff) == (list(PEOPLE.values()), [])


def test_csv_saved_by_chinese_excel_in_gbk() -> None:
    assert read_csv("日期,一线\r\n2026-10-01,张伟\r\n".encode("gbk"))[1] == ["2026-10-01", "张伟"]


def test_staff_sheet_problems() -> None:
    people, problems = parse_staff([["姓名", "手机"], ["张伟", "13800138001"], ["张伟", ""], ["李娜", "abc"]])
    assert [p.name for p in people] == ["张伟", "李娜"]
    assert [str(p).split(":")[0] for p in problems] == [
        "人员 第 3 行 A 列（姓名） / row 3, column A (姓名)", "人员 第 4 行 B 列（手机） / row 4, column B (手机)"]


def test_example_desk_file_parses() -> None:
    desk = parse_desk(yaml.safe_load((ROOT / "config" / "roster.yaml").read_text("utf-8")), TZ, "roster.yaml")
    assert len(desk.people) == 9 and len(desk.rotations) == 5
    assert date(2026, 10, 7) in desk.dated_days and date(2026, 6, 21) not in desk.dated_days
    assert len(desk.overrides) == 1


def test_desk_file_problems_name_their_key() -> None:
    raw = {"people": [{"name": "张伟", "mobile": "phone"}],
           "rotations": [{"name": "r", "tier": "first", "anchor": "2026-01-05", "members": ["李四"],
                          "shifts": [{"start": 800, "end": "20:00"}]}],
           "holiday_rosters": [{"from": "2026-10-01", "to": "2026-10-07",
                                "shifts": [{"start": "08:00", "end": "20:00", "first_line": ["王五"]}]}],
           "extra": 1}
    with pytest.raises(RosterFileError) as err:
        parse_desk(raw, TZ, "desk.yaml")
    where = [p.where for p in err.value.problems]
    assert set(where) == {".extra", "people[0].mobile", "rotations[0].tier", "rotations[0].members",
                          "rotations[0].shifts[0].start", "holiday_rosters[0].shifts[0].first_line"}
    assert "desk.yaml" in str(err.value) and "nothing was changed" in str(err.value)


def test_ics_has_one_event_per_shift() -> None:
    rows = [HEADER, ["2026-10-01", "白班", "08:00", "20:00", "张伟", "陈静", "", ""]]
    shifts = [s for _, s in parse_table(rows, PEOPLE, TZ).shifts()]
    ics = shifts_ics(shifts, "desk", TZ, datetime(2026, 9, 1, tzinfo=TZ)).decode()
    assert ics.count("BEGIN:VEVENT") == 2
    assert "DTSTART;TZID=Asia/Shanghai:20261001T080000" in ics and "一线值班 白班 张伟" in ics


def test_staff_mobiles_are_normalised_and_short_codes_refused() -> None:
    people, problems = parse_staff([["姓名", "手机"], ["冯婷", "+86 139 1111 0001"], ["孙悦", "12345"],
                                    ["新华三售后", "400-810-0000"]])
    assert [(p.name, p.mobile) for p in people] == [("冯婷", "13911110001"), ("孙悦", ""), ("新华三售后", "4008100000")]
    assert [p.where.split(" / ")[0] for p in problems] == ["人员 第 3 行 B 列（手机）"]
    with pytest.raises(RosterFileError) as err:
        parse_desk({"people": [{"name": "孙悦", "mobile": "12345"}]}, TZ, "desk.yaml")
    assert [p.where for p in err.value.problems] == ["people[0].mobile"]
