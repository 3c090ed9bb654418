"""Fairness: hours, nights and holiday shifts per person per month on the example desk (a 国庆 holiday roster,
day and night rotations), and the warnings for a double booking and too little rest, in the service, the
CLI and the CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hotline.domain.roster import Tier
from hotline.services.roster.service import RosterService

TZ = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[2]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.fixture
def desk(roster_desk: Callable[[str], RosterService]) -> RosterService:
    return roster_desk("2026-11-23 10:00")


def test_the_month_per_person_and_the_rest_rules(desk: RosterService) -> None:
    october, problems = desk.fairness(date(2026, 10, 1), date(2026, 10, 31))
    assert problems == []
    load = {x.person: x for x in october}
    assert load["周强"].holiday_shifts == 7  # every day of 国庆 on the holiday roster
    assert (load["王芳"].shifts, load["王芳"].hours, load["王芳"].nights) == (16, 192.0, 9)
    assert "新华三售后" not in load  # the vendor's hotline is not staff
    before = {x.person: x for x in desk.fairness(date(2026, 11, 1), date(2026, 11, 30))[0]}

    # 王芳 works her day shift, then the middle of 张伟's night, then her next day shift
    desk.add_override(Tier.FIRST_LINE, at("2026-11-26 22:00"), at("2026-11-27 04:00"), "张伟", "王芳", "", "周强")
    # and stands in for the whole second line in the morning while on the first line
    desk.add_override(Tier.SECOND_LINE, at("2026-11-27 10:00"), at("2026-11-27 12:00"), None, "王芳", "", "周强")
    november, problems = desk.fairness(date(2026, 11, 1), date(2026, 11, 30))
    after = {x.person: x for x in november}
    assert after["王芳"].hours == before["王芳"].hours + 8 and after["王芳"].nights == before["王芳"].nights + 1
    assert after["张伟"].hours == before["张伟"].hours - 6  # his night cut in two: a break, not two shifts
    assert [c.text(TZ) for c in problems] == [
        "王芳 两班之间只休息 2 小时：11-26 08:00–11-26 20:00 一线 后接 11-26 22:00–11-27 04:00 一线 / only 2 h of rest",
        "王芳 两班之间只休息 4 小时：11-26 22:00–11-27 04:00 一线 后接 11-27 08:00–11-27 20:00 一线 / only 4 h of rest",
        "王芳 同时排了两个班：11-27 08:00–11-27 20:00 一线 与 11-27 10:00–11-27 12:00 二线 / double booked"]


def test_the_table_over_http_and_the_cli(desk: RosterService, db_url: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from hotline.api.roster import router
    from hotline.cli import main

    app = FastAPI()
    app.state.settings, app.state.factory, app.state.clock = desk.settings, desk.factory, desk.clock
    app.include_router(router)
    client = TestClient(app)
    body = client.get("/api/roster/fairness", params={"month": "2026-10"}).json()
    assert body["month"] == "2026-10" and body["warnings"] == []
    assert {p["person"]: p["holiday_shifts"] for p in body["people"]}["周强"] == 7
    got = client.get("/api/roster/fairness", params={"month": "2026-10", "format": "csv"})
    assert got.headers["content-disposition"] == 'attachment; filename="fairness_2026-10.csv"'
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["姓名 name", "班次 shifts", "小时 hours", "夜班 nights"]
    assert ["周强", "28", "224", "0", "7", "5"] in rows  # 21 on-site days + 7 of 国庆; 10-10 is a workday
    assert client.get("/api/roster/fairness", params={"month": "2026-13"}).status_code == 422

    config = tmp_path / "hotline.toml"
    config.write_text(f'[hotline]\ndata_dir = "{tmp_path}"\n[database]\nurl = "{db_url}"\n', encoding="utf-8")
    desk.add_override(Tier.FIRST_LINE, at("2026-11-26 22:00"), at("2026-11-27 04:00"), "张伟", "王芳", "", "周强")
    capsys.readouterr()
    assert main(["--config", str(config), "roster", "fairness", "--month", "2026-11",
                 "--now", "2026-11-23T10:00"]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines()[0].startswith("姓名 name\t班次 shifts") and "王芳\t" in out
    assert "王芳 两班之间只休息 2 小时" in err


def test_a_night_cut_in_two_is_still_one_night_shift(desk: RosterService) -> None:
    before = {x.person: x for x in desk.fairness(date(2026, 11, 1), date(2026, 11, 30))[0]}
    # 王芳 covers the middle of 张伟's Saturday night: he works 20:00-00:00 and 04:00-08:00, 4 of them night hours
    desk.add_override(Tier.FIRST_LINE, at("2026-11-29 00:00"), at("2026-11-29 04:00"), "张伟", "王芳", "", "周强")
    after = {x.person: x for x in desk.fairness(date(2026, 11, 1), date(2026, 11, 30))[0]}
    zhang, was = after["张伟"], before["张伟"]
    assert (zhang.shifts, zhang.hours) == (was.shifts, was.hours - 4)
    assert zhang.nights == was.nights  # was one night fewer: each piece alone has only 2 night hours
    assert (zhang.weekend_shifts, zhang.holiday_shifts) == (was.weekend_shifts, was.holiday_shifts)  # was +1 weekend
    wang, had = after["王芳"], before["王芳"]
    assert (wang.shifts, wang.hours, wang.nights, wang.weekend_shifts) == (
        had.shifts + 1, had.hours + 4, had.nights + 1, had.weekend_shifts + 1)
