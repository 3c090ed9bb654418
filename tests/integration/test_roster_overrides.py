"""Overrides and swaps that can be taken back, nonsense refused with a clear message, the layer each shift
comes from (rotation, table, override) in who / gaps / exports, and an .ics a phone calendar can read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from hotline.clock import ManualClock
from hotline.domain.roster import Tier
from hotline.services.roster.service import RosterError, RosterService

TZ = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "roster.yaml"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.fixture
def desk(roster_desk: Callable[[str], RosterService]) -> RosterService:
    return roster_desk("2026-11-23 10:00")


def first_line(service: RosterService, moment: str) -> list[str]:
    return [p.name for p in service.on_duty(at(moment)).first_line]


def test_an_override_is_removed_by_id_and_a_swap_undone_whole(desk: RosterService) -> None:
    o = desk.add_override(Tier.FIRST_LINE, at("2026-11-24 20:00"), at("2026-11-25 08:00"), "张伟", "李娜",
                          "张伟 体检 / check-up", "周强")
    assert o.id is not None and first_line(desk, "2026-11-24 23:00") == ["李娜"]
    day = desk.shift_of("王芳", at("2026-11-26 10:00"))
    night = desk.shift_of("张伟", at("2026-11-26 22:00"))
    assert day is not None and night is not None
    desk.swap(Tier.FIRST_LINE, day, night, "家里有事", "王芳")
    assert (first_line(desk, "2026-11-26 10:00"), first_line(desk, "2026-11-26 22:00")) == (["张伟"], ["王芳"])

    undone = desk.undo("王芳")  # both halves of 王芳's swap, not 周强's override
    assert len(undone) == 2 and {u.batch for u in undone} != {""}
    assert (first_line(desk, "2026-11-26 10:00"), first_line(desk, "2026-11-26 22:00")) == (["王芳"], ["张伟"])
    assert first_line(desk, "2026-11-24 23:00") == ["李娜"]
    desk.remove_override(o.id, "周强")
    assert first_line(desk, "2026-11-24 23:00") == ["张伟"]
    history = [(c.actor, c.action, c.detail) for c in desk.history(4)]
    assert history[0] == ("周强", "override.remove",
                          f"#{o.id} first_line 2026-11-24 20:00–2026-11-25 08:00 张伟 -> 李娜 张伟 体检 / check-up")
    assert [h[1] for h in history[1:3]] == ["override.remove", "override.remove"]
    with pytest.raises(RosterError, match="has no override to undo"):
        desk.undo("王芳")


def test_nonsense_overrides_and_swaps_are_refused_with_a_clear_message(desk: RosterService) -> None:
    before = [(o.id, o.replaced) for o in desk.overrides(date(2026, 11, 23), date(2026, 12, 31))]
    cases = [
        ((Tier.FIRST_LINE, at("2026-11-24 09:00"), at("2026-11-24 12:00"), "李娜", "刘洋"),
         "李娜 在 11-24 09:00–11-24 12:00 没有一线班次"),  # 李娜 is not on the first line that morning
        ((Tier.SECOND_LINE, at("2026-11-24 09:00"), at("2026-11-24 17:00"), "王芳", "陈静"),
         "has no Second line shift"),  # 王芳 is not in the second line at all
        ((Tier.FIRST_LINE, at("2026-11-24 09:00"), at("2026-11-24 12:00"), "王芳", "王芳"),
         "cannot replace themselves"),
        ((Tier.FIRST_LINE, at("2026-11-20 08:00"), at("2026-11-20 20:00"), "王芳", "刘洋"),
         "cannot rewrite the past"),
        ((Tier.FIRST_LINE, at("2026-11-24 12:00"), at("2026-11-24 09:00"), "王芳", "刘洋"), "must be after"),
        ((Tier.FIRST_LINE, at("2026-11-24 09:00"), at("2026-11-24 12:00"), "王芳", "张三"), "unknown person"),
    ]
    for (tier, start, end, replaced, by), message in cases:
        with pytest.raises(RosterError, match=message):
            desk.add_override(tier, start, end, replaced, by, "", "周强")
    shift = desk.shift_of("王芳", at("2026-11-24 10:00"))
    assert shift is not None
    with pytest.raises(RosterError, match="cannot swap with themselves"):
        desk.swap(Tier.FIRST_LINE, shift, shift, "", "王芳")
    assert [(o.id, o.replaced) for o in desk.overrides(date(2026, 11, 23), date(2026, 12, 31))] == before
    past = desk.overrides(date(2026, 11, 25), date(2026, 11, 25))[0]  # the example file's sick leave
    assert past.id is not None
    clock = desk.clock
    assert isinstance(clock, ManualClock)
    clock.set(at("2026-11-27 10:00"))
    with pytest.raises(RosterError, match="is over"):
        desk.remove_override(past.id, "周强")


def test_cli_override_list_and_remove(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hotline.cli import main

    config = tmp_path / "hotline.toml"
    config.write_text(f'[hotline]\ndata_dir = "{tmp_path}"\n[database]\nurl = "{db_url}"\n'
                      f'[roster]\nfile = "{EXAMPLE}"\n', encoding="utf-8")
    now = ["--now", "2026-11-23T10:00"]

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--config", str(config), "roster", *args, *now])
        out, err = capsys.readouterr()
        return code, out, err

    assert run("load")[0] == 0
    code, out, _ = run("override", "--tier", "first_line", "--from", "2026-11-24T20:00", "--to", "2026-11-25T08:00",
                       "--replace", "张伟", "--by", "李娜", "--actor", "周强")
    assert code == 0 and "override #2 recorded" in out
    code, _, err = run("override", "--tier", "first_line", "--from", "2026-11-24T20:00", "--to", "2026-11-25T08:00",
                       "--replace", "李娜", "--by", "李娜")
    assert code == 1 and "cannot replace themselves" in err
    code, out, _ = run("overrides", "--from", "2026-11-23", "--to", "2026-11-30")
    assert out.splitlines() == ["#1 first_line 2026-11-25 20:00–2026-11-26 08:00 张伟 -> 刘洋 张伟 病假，刘洋 代班 / "
                                "Zhang Wei on sick leave, Liu Yang covers [周强]",
                                "#2 first_line 2026-11-24 20:00–2026-11-25 08:00 张伟 -> 李娜 [周强]"]
    code, out, _ = run("who", "--at", "2026-11-24T23:00")
    assert "李娜" in out and "[调班 override]" in out
    code, out, _ = run("override-remove", "--actor", "周强")  # the latest of 周强's: #2
    assert code == 0 and out.startswith("已撤销 / removed #2")
    code, out, _ = run("who", "--at", "2026-11-24T23:00")
    assert "一线 First line: 张伟" in out and "[轮班 rotation]" in out


def test_the_layer_of_each_shift_in_who_gaps_and_exports(desk: RosterService, tmp_path: Path) -> None:
    table = tmp_path / "2027-01-06.csv"
    table.write_bytes(("日期,班次,开始,结束,一线,二线,项目经理\r\n2027-01-06,白班,08:00,20:00,李娜,,\r\n"
                       "2027-01-06,二线上午,09:00,13:00,,陈静,\r\n").encode("gbk"))
    desk.import_file(table, "周强")
    duty = desk.on_duty(at("2027-01-06 14:00"))
    assert duty.layers(Tier.FIRST_LINE, "李娜") == ("dated",)
    assert duty.layers(Tier.SECOND_LINE, "杨磊") == ("rotation",)
    from hotline.services.roster.notices import fill_line

    fills = [fill_line(desk, s) for s in desk.rotation_fills(date(2027, 1, 6), date(2027, 1, 6))]
    assert fills == [  # the table's afternoon second line and its night are holes the rotation fills
        "ℹ 2027-01-06 13:00 – 01-06 17:00 二线 杨磊 由轮班补上（导入的值班表此处无人） / "
        "Second line filled by the rotation: the imported table has nobody here",
        "ℹ 2027-01-06 20:00 – 01-07 08:00 一线 王芳 由轮班补上（导入的值班表此处无人） / "
        "First line filled by the rotation: the imported table has nobody here"]
    csv = desk.export("csv", date(2027, 1, 6), date(2027, 1, 6)).decode("utf-8-sig").splitlines()
    assert csv[0].endswith(",电话,来源")
    assert "2027-01-06,白班,08:00,20:00,李娜,,,,13800138002,值班表" in csv
    assert "2027-01-06,现场,13:00,17:00,,杨磊,,,,轮班" in csv


def test_the_ics_carries_its_timezone_phones_layers_and_notes(desk: RosterService) -> None:
    clock = desk.clock
    assert isinstance(clock, ManualClock)
    clock.set(at("2026-11-23 19:30"))
    desk.add_handover_note(Tier.FIRST_LINE, "王芳", "3 楼打印机待厂商上门 / printer on 3F waits for the vendor")
    data = desk.export("ics", date(2026, 11, 23), date(2026, 11, 26), person="张伟")
    cal = Calendar.from_ical(data)
    [tz] = cal.walk("VTIMEZONE")
    assert str(tz["TZID"]) == "Asia/Shanghai"
    assert tz.to_tz().utcoffset(datetime(2026, 11, 23, 20)) == timedelta(hours=8)  # type: ignore[attr-defined]
    events = cal.walk("VEVENT")
    assert len(events) == 3  # the nights of 11-23 and 11-24; 11-25 is 刘洋's (the override)
    first = min(events, key=lambda e: e.decoded("dtstart"))
    assert first.decoded("dtstart") == at("2026-11-23 20:00")
    assert first["DTSTART"].params["TZID"] == "Asia/Shanghai"
    text = str(first["DESCRIPTION"])
    assert "轮班 rotation" in text and "13800138001" in text and "打印机" in text


def test_an_override_that_started_earlier_is_stored_from_now(desk: RosterService) -> None:
    # 10:00: 周强 has been away since 09:00; 陈静 covers. Who was on duty at 09:30 is not rewritten.
    o = desk.add_override(Tier.MANAGER, at("2026-11-23 09:00"), at("2026-11-23 17:00"), "周强", "陈静", "出差", "周强")
    assert o.start == at("2026-11-23 10:00")
    assert [p.name for p in desk.on_duty(at("2026-11-23 09:30")).manager] == ["周强"]
    assert [p.name for p in desk.on_duty(at("2026-11-23 10:30")).manager] == ["陈静"]
    assert desk.history(1)[0].detail == "manager 2026-11-23 10:00–2026-11-23 17:00 周强 -> 陈静 出差"
