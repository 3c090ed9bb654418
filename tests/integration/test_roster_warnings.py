"""Warnings a supervisor needs in June about next 元旦, the manager page when no manager is on the roster, and
the small things: gap lines with their year, the night hole of the 今日值班 post, desk time on the API, an
unknown person's calendar, names with a slash."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.domain.roster import Tier
from hotline.services.roster import notices as roster_notices
from hotline.services.roster.config import roster_config
from hotline.services.roster.service import RosterService
from hotline.store.base import make_engine, migrate, session_factory

TZ = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "roster.yaml"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def cli(config: Path, *args: str) -> int:
    from hotline.cli import main

    return main(["--config", str(config), "roster", *args])


@pytest.fixture
def june(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A desk whose today is in June 2026: 2027's schedule is not published (chinesecalendar stops at 2026)."""
    config = tmp_path / "hotline.toml"
    config.write_text(f'[hotline]\ndata_dir = "{tmp_path}"\n[database]\nurl = "{db_url}"\n'
                      f'[roster]\nfile = "{EXAMPLE}"\n', encoding="utf-8")
    assert cli(config, "load", "--now", "2026-06-15T10:00") == 0
    capsys.readouterr()
    return config


NOW = ("--now", "2026-06-15T10:00")


def test_dates_in_an_unconfirmed_year_warn_whatever_today_is(june: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(june, "who", "--at", "2027-01-01T10:00", *NOW) == 0
    out, err = capsys.readouterr()
    assert "2027-01-01 10:00 onsite" in out  # 元旦 taken as a working day ...
    assert "2027 年的法定节假日和调休安排尚未录入" in err  # ... and the supervisor is told
    assert cli(june, "who", "--at", "2026-11-23T10:00", *NOW) == 0
    assert "2027" not in capsys.readouterr().err  # a date in a confirmed year: no warning in June

    cli(june, "gaps", "--from", "2026-12-31", "--to", "2027-01-03", *NOW)
    assert "2027 年" in capsys.readouterr().err
    # a holiday roster for 2026-12-31 .. 2027-01-01 that leaves the 2027 second line empty
    table = tmp_path / "元旦.csv"
    table.write_bytes(("日期,班次,开始,结束,一线\r\n2027-01-01,节假日白班,08:00,20:00,李娜\r\n"
                       "2027-01-01,节假日夜班,20:00,08:00,张伟\r\n").encode("gbk"))
    assert cli(june, "import", str(table), "--dry-run", *NOW) == 0
    assert "warning: 2027 年" in capsys.readouterr().out
    assert cli(june, "export", "--format", "csv", "--from", "2027-01-01", "--to", "2027-01-01", *NOW) == 0
    assert "2027 年" in capsys.readouterr().err


def test_gaps_in_an_unconfirmed_year_are_marked(june: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    for day in ("2026-12-28", "2027-01-04"):  # nobody in the second line on two Mondays
        assert cli(june, "override", "--tier", "second_line", "--from", f"{day}T09:00", "--to", f"{day}T17:00",
                   "--reason", "培训 / training", *NOW) == 0
    capsys.readouterr()
    assert cli(june, "gaps", "--from", "2026-12-28", "--to", "2027-01-04", *NOW) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "2026-12-28 09:00 – 12-28 17:00 二线无人值班 / no Second line",
        "2027-01-04 09:00 – 01-04 17:00 二线无人值班 / no Second line"
        "（该年节假日未确认，可能有误 / holiday schedule of the year not confirmed: may be wrong）"]


def test_confirming_an_incomplete_year_warns(june: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for day, name in (("2027-01-01", "元旦"), ("2027-01-02", "元旦"), ("2027-01-03", "元旦")):
        assert cli(june, "holidays", "set", day, "holiday", "--name", name, *NOW) == 0
    capsys.readouterr()
    assert cli(june, "holidays", "confirm", "2027", *NOW) == 0
    out, err = capsys.readouterr()
    assert "2027: 已确认 / confirmed" in out
    assert "缺少：春节、清明、劳动、端午、中秋、国庆" in err
    assert cli(june, "holidays", "confirm", "2026", *NOW) == 0  # seeded from chinesecalendar: complete
    assert "缺少" not in capsys.readouterr().err


@pytest.fixture
def no_manager(db_url: str, settings: Settings, tmp_path: Path) -> tuple[str, Settings]:
    """The example desk without its manager rotation: managers are on the holiday rosters only."""
    raw: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text("utf-8"))
    raw["rotations"] = [r for r in raw["rotations"] if r["tier"] != "manager"]
    desk = tmp_path / "desk.yaml"
    desk.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    engine = make_engine(db_url)
    migrate(engine, "heads")
    service = RosterService(session_factory(engine), settings, ManualClock(at("2026-11-23 09:00"), TZ))
    service.load_example(desk, "周强")
    return db_url, settings


def test_the_manager_page_falls_back_to_the_configured_list(no_manager: tuple[str, Settings],
                                                            caplog: pytest.LogCaptureFixture) -> None:
    db_url, settings = no_manager
    factory = session_factory(make_engine(db_url))
    clock = ManualClock(at("2026-11-23 09:00"), TZ)
    bare = RosterService(factory, settings, clock)
    with caplog.at_level(logging.WARNING):
        assert roster_notices.manager_warnings(bare, date(2026, 11, 23)) == []
    assert "reaches nobody" in caplog.text and "manager_fallback" in caplog.text
    caplog.clear()
    config = roster_config(replace(settings, extra={**settings.extra, "roster": {"manager_fallback": ["陈静"]}}))
    service = RosterService(factory, settings, clock, config)
    with caplog.at_level(logging.WARNING):
        [page] = roster_notices.manager_warnings(service, date(2026, 11, 23))
    assert page.recipient.name == "陈静" and page.recipient.mobile == "13900139005"
    assert "2026-11-23 09:00 – 11-23 17:00 项目经理无人值班 / no Manager" in page.text
    assert "manager_fallback: 陈静" in caplog.text


@pytest.fixture
def desk(roster_desk: Callable[[str], RosterService]) -> RosterService:
    return roster_desk("2026-11-23 10:00")


def test_the_today_post_shows_a_night_hole_whole(desk: RosterService) -> None:
    desk.add_override(Tier.FIRST_LINE, at("2026-11-24 20:00"), at("2026-11-25 08:00"), "张伟", None, "病假", "周强")
    post = roster_notices.today_post(desk, date(2026, 11, 24))
    assert "⚠ 2026-11-24 20:00 – 11-25 08:00 一线无人值班 / no First line" in post.splitlines()


def test_api_answers_in_desk_time_and_refuses_an_unknown_calendar(desk: RosterService) -> None:
    from hotline.api.roster import router

    app = FastAPI()
    app.state.settings, app.state.factory, app.state.clock = desk.settings, desk.factory, desk.clock
    app.include_router(router)
    client = TestClient(app)
    body = client.get("/api/roster/on-duty", params={"at": "2026-11-23T12:00:00Z"}).json()
    assert body["at"] == "2026-11-23T20:00:00+08:00" and body["tiers"]["first_line"][0]["name"] == "张伟"
    missing = client.get("/api/roster/calendar.ics", params={"person": "张三"})
    assert missing.status_code == 404 and "张三" in missing.json()["detail"]
    assert client.get("/api/roster/calendar.ics", params={"person": "张伟"}).status_code == 200
    body = client.get("/api/roster/on-duty", params={"at": "2027-01-01T10:00"}).json()
    assert any("2027" in w for w in body["warnings"])


def test_a_name_with_a_slash_stays_one_person_in_cells(desk: RosterService, tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "值班表"
    ws.append(["日期", "班次", "开始", "结束", "一线", "厂商"])
    ws.append(["2026-12-07", "白班", "08:00", "20:00", "张伟/李娜", "华为/Huawei售后"])
    staff = wb.create_sheet("人员")
    staff.append(["姓名", "手机"])
    staff.append(["华为/Huawei售后", "400-822-9999"])
    wb.save(tmp_path / "vendor.xlsx")
    desk.import_file(tmp_path / "vendor.xlsx", "周强")
    duty = desk.on_duty(at("2026-12-07 10:00"))
    assert [p.name for p in duty.vendor] == ["华为/Huawei售后"]
    assert [p.name for p in duty.first_line] == ["张伟", "李娜"]
