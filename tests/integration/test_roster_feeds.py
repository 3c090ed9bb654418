"""Per-person secret calendar feeds over real HTTP (uvicorn on a free loopback port), read back with
`icalendar` as a phone calendar would: created by the API or the CLI, following a virtual clock, revocable."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from icalendar import Calendar

from hotline.api.app import create_app
from hotline.clock import ManualClock
from hotline.domain.roster import Tier
from hotline.services.roster.service import RosterService
from tests.e2e.browser import serve
from tests.signin import PASSWORD, add_account

TZ = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[2]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.fixture
def desk(roster_desk: Callable[[str], RosterService]) -> RosterService:
    return roster_desk("2026-11-23 19:30")


@pytest.fixture
def base(desk: RosterService) -> Iterator[str]:
    with serve(create_app(desk.settings, desk.factory, desk.clock, live={})) as url:
        yield url


def events(body: bytes) -> list[tuple[datetime, str, str]]:
    cal = Calendar.from_ical(body)
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    return sorted((e.decoded("dtstart"), str(e["SUMMARY"]), str(e["DESCRIPTION"])) for e in cal.walk("VEVENT"))


def test_a_secret_feed_follows_the_roster_and_dies_when_revoked(desk: RosterService, base: str) -> None:
    desk.add_handover_note(Tier.FIRST_LINE, "王芳", "3 楼打印机待厂商上门 / printer on 3F waits for the vendor")
    add_account(desk.factory, "supervisor-周强", "supervisor", "周强")  # roster changes: a supervisor

    def sign_in(http: httpx.Client) -> None:
        http.cookies.clear()
        signed = http.post("/login", json={"username": "supervisor-周强", "password": PASSWORD})
        assert signed.status_code == 200, signed.text
        http.headers["X-CSRF-Token"] = signed.json()["csrf_token"]

    with httpx.Client(base_url=base, timeout=10) as http, httpx.Client(timeout=10) as phone:
        sign_in(http)
        made = http.post("/api/roster/feeds", params={"person": "张伟", "actor": "周强"}).json()
        assert made["webcal"].startswith("webcal://127.0.0.1:") and made["webcal"].endswith(".ics")
        token_url = made["url"]
        assert token_url.startswith(base + "/api/roster/feeds/") and len(token_url) > len(base) + 50
        got = phone.get(token_url)  # a phone calendar: no account, no header
        assert got.status_code == 200 and got.headers["content-type"].startswith("text/calendar")
        shown = events(got.content)
        assert all("张伟" in summary for _, summary, _ in shown)
        tonight = next(e for e in shown if e[0] == at("2026-11-23 20:00"))
        assert "13800138001" in tonight[2] and "打印机" in tonight[2] and "轮班 rotation" in tonight[2]
        assert not any(e[0] == at("2026-11-25 20:00") for e in shown)  # 刘洋 covers (the override)
        assert min(e[0] for e in shown) >= at("2026-10-24 00:00")  # 30 days back

        desk.add_override(Tier.FIRST_LINE, at("2026-11-25 20:00"), at("2026-11-26 08:00"), "刘洋", "张伟", "", "周强")
        assert any(e[0] == at("2026-11-25 20:00") for e in events(phone.get(token_url).content))
        clock = desk.clock
        assert isinstance(clock, ManualClock)
        clock.set(at("2027-01-20 09:00"))  # the window moves with the (virtual) clock
        later = events(phone.get(token_url).content)
        sign_in(http)  # two months on, the 12-hour session has ended: 周强 signs in again
        assert min(e[0] for e in later) >= at("2026-12-21 00:00") and max(e[0] for e in later) > at("2027-04-01")

        assert http.delete("/api/roster/feeds", params={"person": "张伟"}).json()["revoked"] == 1
        assert phone.get(token_url).status_code == 404
        assert phone.get(base + "/api/roster/feeds/not-a-token.ics").status_code == 404
        assert http.post("/api/roster/feeds", params={"person": "张三"}).status_code == 404
        again = http.post("/api/roster/feeds", params={"person": "张伟"}).json()["url"]
        assert again != token_url and phone.get(again).status_code == 200
    assert [c.action for c in desk.history(3)] == ["feed.create", "feed.revoke", "override"]
    assert all(token_url.rsplit("/", 1)[1][:-4] not in c.detail for c in desk.history(20))  # no secret logged


def test_cli_creates_a_webcal_url_phones_can_read(db_url: str, desk: RosterService, base: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from hotline.cli import main

    config = tmp_path / "hotline.toml"
    config.write_text(f'[hotline]\ndata_dir = "{tmp_path}"\n[database]\nurl = "{db_url}"\n'
                      f'[api]\npublic_base_url = "{base}"\n', encoding="utf-8")
    now = ["--now", "2026-11-23T19:30"]
    capsys.readouterr()
    assert main(["--config", str(config), "roster", "feed", "create", "李娜", *now]) == 0
    url = capsys.readouterr().out.strip()
    assert url.startswith("webcal://127.0.0.1:")
    body = httpx.get("http://" + url.removeprefix("webcal://"), timeout=10).content
    assert events(body) and all("李娜" in s for _, s, _ in events(body))
    assert main(["--config", str(config), "roster", "feed", "revoke", "李娜", *now]) == 0
    assert httpx.get("http://" + url.removeprefix("webcal://"), timeout=10).status_code == 404
