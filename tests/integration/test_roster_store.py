"""The roster service on a real database (SQLite, and PostgreSQL when HOTLINE_TEST_PG_URL is set):
the example roster, the calendar table, imports that are all-or-nothing, exports, notices, API, CLI."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import inspect

from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.domain.roster import Gap, Tier
from hotline.domain.windows import DayKind, WindowKind
from hotline.roster_files.problems import RosterFileError
from hotline.services.roster import notices as roster_notices
from hotline.services.roster.service import RosterService
from hotline.store.base import Base, make_engine, migrate, session_factory

TZ = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[2]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.fixture
def service(db_url: str, settings: Settings) -> Iterator[RosterService]:
    engine = make_engine(db_url)
    migrate(engine, "heads")
    yield RosterService(session_factory(engine), settings, ManualClock(at("2026-11-23 10:00"), TZ))
    engine.dispose()


@pytest.fixture
def desk(service: RosterService) -> RosterService:
    service.load_example(ROOT / "config" / "roster.yaml", actor="周强")
    return service


def names(service: RosterService, moment: str, tier: Tier = Tier.FIRST_LINE) -> list[str]:
    return [p.name for p in service.on_duty(at(moment)).tier(tier)]


def snapshot(service: RosterService, first: date, last: date) -> list[tuple[str, str, datetime, datetime]]:
    return [(s.tier.value, s.person, s.start, s.end) for s in service.shifts(first, last)]


def test_migration_matches_the_models(service: RosterService) -> None:
    insp = inspect(service.factory.kw["bind"])
    for table in (t for t in Base.metadata.sorted_tables if t.name.startswith("roster_")):
        assert {c["name"] for c in insp.get_columns(table.name)} == {c.name for c in table.columns}


def test_example_roster_reports_the_deliberate_hole_and_nothing_else(desk: RosterService) -> None:
    assert desk.gaps(date(2026, 1, 1), date(2027, 12, 31)) == [
        Gap(Tier.FIRST_LINE, at("2026-06-21 08:00"), at("2026-06-22 08:00"), holiday=True)]


def test_who_on_the_day_the_ami_fixtures_were_recorded(desk: RosterService) -> None:
    duty = desk.on_duty(at("2026-11-23 10:00"))
    assert duty.window is WindowKind.ONSITE
    assert [p.name for p in duty.first_line] == ["王芳"]
    assert [p.name for p in duty.second_line] == ["杨磊"]
    assert [p.name for p in duty.manager] == ["周强"]
    assert duty.first_line[0].mobile == "13800138003" and duty.first_line[0].chat_ids.wecom == "wangfang"
    assert names(desk, "2026-11-23 20:00") == ["张伟"]
    assert names(desk, "2026-11-25 20:00") == ["刘洋"]  # the override in the example file
    assert [p.name for p in desk.on_duty(at("2026-11-23 10:00"), "network").second_line] == []
    assert [p.name for p in desk.on_duty(at("2026-11-23 10:00"), "servers").second_line] == ["杨磊"]


def test_holiday_rosters_and_adjusted_days_from_the_store(desk: RosterService) -> None:
    assert desk.classify(at("2026-10-01 10:00")) is WindowKind.HOLIDAY
    assert names(desk, "2026-10-01 10:00") == ["刘洋"]
    assert names(desk, "2026-10-01 10:00", Tier.VENDOR) == ["新华三售后"]  # `holidays: true`
    assert names(desk, "2026-02-17 21:00") == ["张伟"]  # Spring Festival night, third day
    assert desk.classify(at("2026-10-10 10:00")) is WindowKind.ONSITE
    assert names(desk, "2026-10-10 10:00", Tier.SECOND_LINE)


def test_calendar_warning_and_admin_entry(service: RosterService) -> None:
    service.ensure_calendar(date(2026, 11, 23))
    [warning] = service.calendar_warnings(date(2026, 11, 23))
    assert "2027" in warning
    assert service.calendar_warnings(date(2026, 10, 31)) == []
    service.set_calendar_day(date(2027, 2, 6), DayKind.HOLIDAY, "春节", "周强")
    service.set_calendar_day(date(2026, 10, 10), DayKind.HOLIDAY, "改成放假", "周强")  # admin correction
    service.confirm_year(2027, "周强")
    assert service.calendar_warnings(date(2026, 11, 23)) == []
    service.seed_calendar([2026], "system")  # reseeding keeps what an administrator entered
    assert service.classify(at("2026-10-10 10:00")) is WindowKind.HOLIDAY
    assert service.classify(at("2027-02-06 10:00")) is WindowKind.HOLIDAY
    assert [c.actor for c in service.history()][:2] == ["system", "周强"]


def _workbook(path: Path, rows: Sequence[Sequence[object]], staff: Sequence[Sequence[object]] | None = None) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "值班表"
    for r in rows:
        ws.append(r)
    if staff is not None:
        people = wb.create_sheet("人员")
        for r in staff:
            people.append(r)
    wb.save(path)
    return path


def test_xlsx_round_trip(desk: RosterService, tmp_path: Path) -> None:
    d = datetime(2026, 12, 1)
    src = _workbook(tmp_path / "december.xlsx", [
        ["日期", "班次", "开始", "结束", "一线", "二线", "项目经理", "电话"],
        [d, "白班", time(8), time(20), "李娜", "赵敏", "周强", "13800138002"],
        [d, "夜班", time(20), time(8), "刘洋、王芳", None, None, None],
    ], staff=[["姓名", "手机", "专业"], ["孙悦", "13600136009", "network"]])
    desk.import_file(src, "周强")
    assert names(desk, "2026-12-01 10:00") == ["李娜"]
    assert names(desk, "2026-12-01 23:00") == ["刘洋", "王芳"]
    assert desk.people()["孙悦"].specialties == {"network"}
    before = snapshot(desk, date(2026, 12, 1), date(2026, 12, 3))
    first = tmp_path / "export1.xlsx"
    first.write_bytes(desk.export("xlsx", date(2026, 12, 1), date(2026, 12, 3)))
    desk.import_file(first, "周强")
    assert snapshot(desk, date(2026, 12, 1), date(2026, 12, 3)) == before
    second = desk.export("xlsx", date(2026, 12, 1), date(2026, 12, 3))
    from hotline.roster_files.spreadsheet import read_xlsx

    one, two = read_xlsx(first.read_bytes()), read_xlsx(second)
    assert [r[:-1] for r in two.roster] == [r[:-1] for r in one.roster] and two.staff == one.staff
    # the layer column: 12-02 came from the rotation, and is a table row once re-imported
    assert {r[-1] for r in one.roster[1:] if r[0] == "2026-12-02"} == {"轮班"}
    assert {r[-1] for r in two.roster[1:]} == {"值班表"}


def test_csv_round_trip_with_english_headers(desk: RosterService, tmp_path: Path) -> None:
    src = tmp_path / "week.csv"
    src.write_text("date,shift,start,end,first_line,second_line,manager,phone\n"
                   "2026-12-07,day,08:00,20:00,张伟,陈静,周强,13800138001\n"
                   "2026-12-07,night,20:00,08:00,李娜,,,\n", encoding="utf-8")
    desk.import_file(src, "周强")
    before = snapshot(desk, date(2026, 12, 7), date(2026, 12, 8))
    assert ("first_line", "李娜", at("2026-12-07 20:00"), at("2026-12-08 08:00")) in before
    exported = tmp_path / "export.csv"
    exported.write_bytes(desk.export("csv", date(2026, 12, 7), date(2026, 12, 8), english=True))
    desk.import_file(exported, "周强")
    assert snapshot(desk, date(2026, 12, 7), date(2026, 12, 8)) == before
    again = desk.export("csv", date(2026, 12, 7), date(2026, 12, 8), english=True).decode("utf-8-sig")
    assert again.replace(",rotation\r\n", ",dated\r\n") == exported.read_bytes().decode("utf-8-sig").replace(
        ",rotation\r\n", ",dated\r\n")


@pytest.mark.parametrize("broken", ["csv", "xlsx", "staff", "garbage"])
def test_broken_file_changes_nothing(desk: RosterService, tmp_path: Path, broken: str) -> None:
    header = ["日期", "班次", "开始", "结束", "一线", "电话"]
    good = ["2026-11-24", "白班", "08:00", "20:00", "李娜", "13800138002"]
    bad_rows = [header, good,
                ["2026-11-24", "加班", "19:00", "22:00", "张伟", ""],  # overlaps row 2
                ["2026-11-31", "白班", "08:00", "20:00", "无名氏", "call me"]]
    if broken == "csv":
        path = tmp_path / "bad.csv"
        path.write_text("\n".join(",".join(r) for r in bad_rows), encoding="utf-8")
    elif broken == "xlsx":
        path = _workbook(tmp_path / "bad.xlsx", list(bad_rows))
    elif broken == "staff":  # the roster sheet is fine, the staff sheet is not
        path = _workbook(tmp_path / "bad.xlsx", [header, good], [["姓名", "手机"], ["孙悦", "not-a-phone"]])
    else:
        path = tmp_path / "bad.xlsx"
        path.write_bytes(b"PK\x03\x04 not really a workbook")
    before = (snapshot(desk, date(2026, 11, 23), date(2026, 11, 30)), desk.people(), len(desk.history()))
    with pytest.raises(RosterFileError) as err:
        desk.import_file(path, "周强")
    after = (snapshot(desk, date(2026, 11, 23), date(2026, 11, 30)), desk.people(), len(desk.history()))
    assert after == before
    text = str(err.value)
    if broken in ("csv", "xlsx"):
        assert "第 3 行 E 列（一线）" in text and "第 4 行 A 列（日期）" in text
        assert "第 4 行 E 列（一线）" in text and "第 4 行 F 列（电话）" in text
    elif broken == "staff":
        assert "人员 第 2 行 B 列（手机）" in text


def test_override_swap_and_history(desk: RosterService) -> None:
    day_shift = desk.shift_of("王芳", at("2026-11-24 10:00"))
    night_shift = desk.shift_of("张伟", at("2026-11-24 22:00"))
    assert day_shift is not None and night_shift is not None
    desk.swap(Tier.FIRST_LINE, day_shift, night_shift, "家里有事 / family matter", "王芳")
    assert names(desk, "2026-11-24 10:00") == ["张伟"]
    assert names(desk, "2026-11-24 22:00") == ["王芳"]
    desk.add_override(Tier.MANAGER, at("2026-11-24 09:00"), at("2026-11-24 17:00"), "周强", "陈静", "出差", "周强")
    assert names(desk, "2026-11-24 12:00", Tier.MANAGER) == ["陈静"]
    history = desk.history()
    assert [(c.actor, c.action) for c in history[:3]] == [("周强", "override"), ("王芳", "override"),
                                                          ("王芳", "override")]
    assert history[0].at == at("2026-11-23 10:00")


def test_notices(desk: RosterService) -> None:
    clock = desk.clock
    assert isinstance(clock, ManualClock)
    clock.set(at("2026-11-23 19:40"))
    desk.add_handover_note(Tier.FIRST_LINE, "王芳", "3 楼打印机待厂商上门 / printer on 3F waits for the vendor")
    assert roster_notices.shift_reminders(desk, at("2026-11-23 19:40"), at("2026-11-23 19:44")) == []
    [page] = roster_notices.shift_reminders(desk, at("2026-11-23 19:44"), at("2026-11-23 19:45"))
    assert page.recipient.name == "张伟" and page.recipient.wecom_id == "zhangwei"
    assert "11-23 20:00" in page.text and "打印机" in page.text
    post = roster_notices.today_post(desk, date(2026, 11, 23))
    assert post.startswith("今日值班 2026-11-23（周一）") and "王芳 08:00–20:00" in post and "杨磊" in post
    [warn] = roster_notices.manager_warnings(desk, date(2026, 6, 15))
    assert warn.recipient.name == "周强" and warn.key == "roster-warning:2026-06-15:周强"
    # the 7 days from 06-15 end at 06-22 00:00; the hole going on past them is shown whole, to 08:00
    assert warn.text.splitlines()[1:] == [
        "2026-06-21 08:00 – 06-22 08:00 一线无人值班 / no First line（节假日 / holiday）"]
    assert roster_notices.manager_warnings(desk, date(2026, 7, 1)) == []
    [late] = roster_notices.manager_warnings(desk, date(2026, 11, 23))
    assert "2027" in late.text  # the missing next year is paged daily from 1 November


def test_ics_export_per_person(desk: RosterService) -> None:
    ics = desk.export("ics", date(2026, 11, 23), date(2026, 11, 29), person="王芳").decode()
    assert ics.count("BEGIN:VEVENT") == 7 and "王芳" in ics and "张伟" not in ics


def test_api_on_duty(desk: RosterService) -> None:
    from hotline.api.roster import router

    app = FastAPI()
    app.state.settings, app.state.factory, app.state.clock = desk.settings, desk.factory, desk.clock
    app.include_router(router)
    client = TestClient(app)
    body = client.get("/api/roster/on-duty", params={"at": "2026-11-23T20:00:00", "specialty": "network"}).json()
    assert body["window"] == "remote"
    assert body["tiers"]["first_line"][0]["name"] == "张伟"
    assert body["tiers"]["first_line"][0]["until"] == "2026-11-24T08:00:00+08:00"
    assert body["tiers"]["second_line"] == []
    assert len(body["warnings"]) == 1
    gaps = client.get("/api/roster/gaps", params={"from": "2026-06-15", "to": "2026-06-30"}).json()["gaps"]
    assert [g["start"] for g in gaps] == ["2026-06-21T08:00:00+08:00"]
    assert client.get("/api/roster/on-duty", params={"at": "not a time"}).status_code == 422
    assert client.get("/api/roster/calendar.ics").headers["content-type"].startswith("text/calendar")


def test_cli_gaps_on_the_example_reports_the_hole(db_url: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from hotline.cli import main

    config = tmp_path / "hotline.toml"
    config.write_text(f'[hotline]\ndata_dir = "{tmp_path}"\n[database]\nurl = "{db_url}"\n'
                      f'[roster]\nfile = "{ROOT / "config" / "roster.yaml"}"\n', encoding="utf-8")
    now = ["--now", "2026-11-23T10:00"]
    assert main(["--config", str(config), "roster", "load", *now]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "roster", "gaps", "--from", "2026-01-01", "--to", "2026-12-31", *now]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == ["2026-06-21 08:00 – 06-22 08:00 一线无人值班 / no First line（节假日 / holiday）"]
    assert "2027" in err
    before_november = ["--now", "2026-10-01T00:00"]
    assert main(["--config", str(config), "roster", "who", "--at", "2026-11-23T10:00", *before_november]) == 0
    out, err = capsys.readouterr()
    assert "王芳" in out and "2027" not in err  # before 1 November: no warning
    assert main(["--config", str(config), "roster", "export", "--format", "csv", "--from", "2026-11-23",
                 "--to", "2026-11-23", *now]) == 0
    assert capsys.readouterr().out.count("\n") >= 5
