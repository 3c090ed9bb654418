"""Imports a supervisor makes in the first month, on a real database: a 元旦 2027 holiday table (xlsx with a
staff sheet), one-row corrections (BOM CSV, GBK CSV) that replace only what they cover, previews
(--dry-run), removals in the history, partial staff sheets and phone numbers in every written form."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook

from hotline.domain.roster import Tier
from hotline.roster_files.problems import RosterFileError
from hotline.services.roster.service import RosterService

TZ = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[2]
HEADER = ["日期", "班次", "开始", "结束", "一线", "二线", "项目经理", "电话"]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.fixture
def desk(roster_desk: Callable[[str], RosterService]) -> RosterService:
    return roster_desk("2026-12-03 10:00")


def workbook(path: Path, rows: Sequence[Sequence[object]], staff: Sequence[Sequence[object]] | None = None) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "值班表"
    for r in rows:
        ws.append(list(r))
    if staff is not None:
        people = wb.create_sheet("人员")
        for r in staff:
            people.append(list(r))
    wb.save(path)
    return path


def names(service: RosterService, moment: str, tier: Tier) -> list[str]:
    return [p.name for p in service.on_duty(at(moment)).tier(tier)]


def who(service: RosterService, moment: str) -> dict[Tier, list[str]]:
    duty = service.on_duty(at(moment))
    return {t: [p.name for p in duty.tier(t)] for t in (Tier.FIRST_LINE, Tier.SECOND_LINE, Tier.MANAGER)}


@pytest.fixture
def january(desk: RosterService, tmp_path: Path) -> RosterService:
    """The desk's 2027-01-06 table: first-line day and night, morning second line, manager; 冯婷 joins."""
    d = datetime(2027, 1, 6)
    desk.import_file(workbook(tmp_path / "2027-01.xlsx", [
        HEADER,
        [d, "白班", time(8), time(20), "李娜", None, None, "13800138002"],
        [d, "夜班", time(20), time(8), "王芳", None, None, "13800138003"],
        [d, "二线上午", time(9), time(13), None, "陈静", None, None],
        [d, "经理", time(9), time(17), None, None, "周强", None],
    ], staff=[["姓名", "手机", "分机", "专业"], ["冯婷", "+86 139 1111 0001", "8104", "network"]]), "周强")
    return desk


def test_a_one_row_correction_replaces_only_its_tier_and_span(january: RosterService, tmp_path: Path) -> None:
    before = {m: who(january, m) for m in ("2027-01-06 10:00", "2027-01-06 14:00", "2027-01-06 23:00")}
    # the afternoon second line is a hole of the table, filled by the rotation (杨磊's week)
    assert before["2027-01-06 14:00"] == {Tier.FIRST_LINE: ["李娜"], Tier.SECOND_LINE: ["杨磊"],
                                          Tier.MANAGER: ["周强"]}
    fix = tmp_path / "补班.csv"  # as saved by Excel "CSV UTF-8": with a BOM
    fix.write_bytes("日期,班次,开始,结束,二线\r\n2027-01-06,二线补班,13:00,17:00,冯婷\r\n".encode("utf-8-sig"))

    preview = january.import_file(fix, "周强", dry_run=True)
    assert not preview.applied and preview.plan is not None
    assert [str(line) for line in preview.lines] == ["+ 新增 / add: 2027-01-06 13:00–17:00 二线 冯婷 二线补班"]
    assert "dry run, nothing was changed" in str(preview)
    assert who(january, "2027-01-06 14:00")[Tier.SECOND_LINE] == ["杨磊"]  # nothing stored by the preview

    report = january.import_file(fix, "周强")
    assert report.plan is not None and (len(report.plan.add), report.plan.change, report.plan.remove) == (1, (), ())
    assert who(january, "2027-01-06 10:00") == before["2027-01-06 10:00"]
    assert who(january, "2027-01-06 23:00") == before["2027-01-06 23:00"]
    assert who(january, "2027-01-06 14:00") == {Tier.FIRST_LINE: ["李娜"], Tier.SECOND_LINE: ["冯婷"],
                                                Tier.MANAGER: ["周强"]}


def test_what_a_correction_shortens_and_removes_is_previewed_and_written_to_history(
        january: RosterService, tmp_path: Path) -> None:
    fix = tmp_path / "调整.csv"  # as saved by Chinese Excel: GBK
    fix.write_bytes(("日期,班次,开始,结束,一线,二线,电话\r\n"
                     "2027-01-06,白班,08:00,20:00,张伟,,13800138001\r\n"
                     "2027-01-06,二线,10:00,12:00,,赵敏,\r\n").encode("gbk"))
    preview = january.import_file(fix, "周强", dry_run=True)
    assert preview.lines == (
        "+ 新增 / add: 2027-01-06 08:00–20:00 一线 张伟 白班",
        "+ 新增 / add: 2027-01-06 10:00–12:00 二线 赵敏 二线",
        "~ 缩短 / change: 2027-01-06 09:00–13:00 二线 陈静 二线上午 → 09:00–10:00、12:00–13:00",
        "- 删除 / remove: 2027-01-06 08:00–20:00 一线 李娜 白班")
    assert names(january, "2027-01-06 10:00", Tier.FIRST_LINE) == ["李娜"]
    history_before = len(january.history())

    january.import_file(fix, "周强")
    assert names(january, "2027-01-06 10:00", Tier.FIRST_LINE) == ["张伟"]
    assert names(january, "2027-01-06 09:30", Tier.SECOND_LINE) == ["陈静"]
    assert names(january, "2027-01-06 11:00", Tier.SECOND_LINE) == ["赵敏"]
    assert names(january, "2027-01-06 12:30", Tier.SECOND_LINE) == ["陈静"]
    assert names(january, "2027-01-06 23:00", Tier.FIRST_LINE) == ["王芳"]  # the night is not in the file
    changes = january.history()[: len(january.history()) - history_before]
    assert {(c.action, c.detail) for c in changes} >= {
        ("import.remove", "2027-01-06 08:00–20:00 一线 李娜 白班"),
        ("import.change", "2027-01-06 09:00–13:00 二线 陈静 二线上午 → 09:00–10:00、12:00–13:00")}
    # the same file again changes nothing
    again = january.import_file(fix, "周强", dry_run=True)
    assert again.lines == () and again.plan is not None and again.plan.unchanged == 2


def test_a_cell_saying_nobody_removes_and_an_empty_cell_leaves_alone(january: RosterService, tmp_path: Path) -> None:
    fix = tmp_path / "取消.csv"
    fix.write_text("日期,班次,开始,结束,一线,项目经理\n2027-01-06,经理,09:00,17:00,,无\n", encoding="utf-8")
    report = january.import_file(fix, "周强")
    assert report.lines == ("- 删除 / remove: 2027-01-06 09:00–17:00 项目经理 周强 经理",)
    assert names(january, "2027-01-06 10:00", Tier.MANAGER) == ["周强"]  # the rotation fills the day again
    assert names(january, "2027-01-06 10:00", Tier.FIRST_LINE) == ["李娜"]


def test_a_staff_sheet_with_some_columns_keeps_the_others(desk: RosterService, tmp_path: Path) -> None:
    before = desk.people()["陈静"]
    assert before.extension == "8101" and before.specialties == {"network", "servers"}
    desk.import_file(workbook(tmp_path / "手机.xlsx", [HEADER, ["2026-12-07", "白班", "08:00", "20:00", "张伟",
                                                                 "", "", ""]],
                              staff=[["姓名", "手机"], ["陈静", "+86 139 0013 9999"]]), "周强")
    after = desk.people()["陈静"]
    assert after.mobile == "13900139999"
    assert (after.extension, after.email, after.chat_ids, after.channels, after.specialties) == (
        before.extension, before.email, before.chat_ids, before.channels, before.specialties)


def test_phone_numbers_are_compared_normalised_and_short_codes_refused(desk: RosterService, tmp_path: Path) -> None:
    bad = workbook(tmp_path / "short.xlsx", [HEADER, ["2026-12-07", "白班", "08:00", "20:00", "张伟", "", "", ""]],
                   staff=[["姓名", "手机"], ["冯婷", "12345"]])
    with pytest.raises(RosterFileError) as err:
        desk.import_file(bad, "周强")
    assert "人员 第 2 行 B 列（手机）" in str(err.value) and "not a mobile" in str(err.value)
    assert "冯婷" not in desk.people()
    good = workbook(tmp_path / "ok.xlsx", [HEADER, ["2026-12-07", "白班", "08:00", "20:00", "冯婷", "", "",
                                                     "+86 139 1111 0001"]],
                    staff=[["姓名", "手机"], ["冯婷", "13911110001"]])
    desk.import_file(good, "周强")
    assert desk.people()["冯婷"].mobile == "13911110001"
    assert names(desk, "2026-12-07 10:00", Tier.FIRST_LINE) == ["冯婷"]


def test_a_header_only_file_is_refused_and_huge_error_lists_are_cut(desk: RosterService, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes("日期,班次,开始,结束,一线\r\n".encode("utf-8-sig"))
    with pytest.raises(RosterFileError, match="no shifts"):
        desk.import_file(empty, "周强")
    many = tmp_path / "many.csv"
    many.write_text("日期,班次,开始,结束,一线\n" + "2027-02-30,白班,08:00,20:00,张伟\n" * 50_000, encoding="utf-8")
    with pytest.raises(RosterFileError) as err:
        desk.import_file(many, "周强")
    assert len(err.value.problems) == 50_000
    text = str(err.value)
    assert text.count("no such date") == 50 and "and 49950 more problem(s)" in text
