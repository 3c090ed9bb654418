"""`hotline replay TRACE --run-for 20m --json` with the shipped config, rules and roster: the whole
pipeline on a virtual clock following the trace, into SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from hotline.cli import main
from hotline.cli.table import width
from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.runtime.assembly import open_database
from hotline.services.roster.duty import RosterDuty
from hotline.services.roster.service import RosterService
from tests.conftest import FIXTURES, ROOT

CONFIG = str(ROOT / "config" / "hotline.toml")
KEYS = ("type", "alert_id", "caller", "tier", "person", "channel", "at")


def replay(capsys: pytest.CaptureFixture[str], trace: str, *extra: str) -> list[dict[str, object]]:
    assert main(["replay", str(FIXTURES / trace), "--json", "--config", CONFIG, *extra]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def at(line: dict[str, object]) -> datetime:
    value = datetime.fromisoformat(str(line["at"]))
    assert value.utcoffset() == timedelta(hours=8)  # ISO 8601 with the desk's offset
    return value


def on_duty_names(settings: Settings, when: datetime, tier: str, specialty: str | None) -> set[str]:
    """Who the shipped roster has on duty in `tier` at `when` (asked independently of the monitor)."""
    db = open_database("sqlite://")
    roster = RosterService(db.factory, settings, ManualClock(when))
    roster.load_example(ROOT / "config" / "roster.yaml")
    return {p.name for p in RosterDuty(roster).people(when, tier, specialty)}


def test_abandoned_call_escalates_at_0_5_10_and_breaches_at_15(
        capsys: pytest.CaptureFixture[str], settings: Settings, db_url: str) -> None:
    plain = replay(capsys, "abandoned_in_queue.ami")
    lines = replay(capsys, "abandoned_in_queue.ami", "--run-for", "20m", "--db", db_url)
    calls = [line for line in lines if line["type"] == "call"]
    assert calls == plain  # the call lines are those of a replay without --run-for
    monitor = [line for line in lines if line["type"] != "call"]
    for line in monitor:
        assert all(k in line for k in KEYS), line
    (alert,) = [line for line in monitor if line["type"] == "alert"]
    assert alert["caller"] == "13800138002" == calls[0]["caller"]
    opened = at(alert)
    assert opened == datetime.fromisoformat(str(calls[0]["ended_at"]))
    pages = [line for line in monitor if line["type"] == "page"]
    assert [(at(p) - opened, p["tier"]) for p in pages] == [
        (timedelta(0), "first_line"), (timedelta(minutes=5), "second_line"), (timedelta(minutes=10), "manager")]
    for p in pages:
        assert p["alert_id"] == alert["alert_id"] and p["caller"] == "13800138002" and p["channel"]
        assert p["person"] in on_duty_names(settings, at(p), str(p["tier"]), "network")
    breaches = [line for line in monitor if line["type"] == "breach"]
    assert [at(b) - opened for b in breaches] == [timedelta(minutes=15)]
    assert not [line for line in monitor if line["type"] in ("clear", "skip")]


def test_callback_clears_the_alert_and_nothing_breaches(capsys: pytest.CaptureFixture[str], db_url: str) -> None:
    lines = replay(capsys, "outbound_callback.ami", "--run-for", "20m", "--db", db_url)
    callback = next(line for line in lines if line["type"] == "call" and line["direction"] == "outbound")
    monitor = [line for line in lines if line["type"] not in ("call", "ticket")]  # tickets: test_replay_tickets
    assert [line["type"] for line in monitor] == ["alert", "page", "clear"]
    alert, _, clear = monitor
    assert alert["caller"] == clear["caller"] == "13800138011" == callback["called"]
    assert clear["alert_id"] == alert["alert_id"]
    assert at(clear) == datetime.fromisoformat(str(callback["answered_at"]))
    assert clear["person"] == "8001"  # the staff phone that called back


def test_the_text_output_names_the_staff_extension_that_called_back(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(FIXTURES / "outbound_callback.ami"), "--run-for", "20m", "--config", CONFIG]) == 0
    out = capsys.readouterr().out
    (clear,) = [line for line in out.splitlines() if "已回复 clear" in line]
    assert "张伟 (8001)" in clear, out  # extension 8001 is 张伟's in config/roster.yaml


def test_answered_calls_open_no_alert(capsys: pytest.CaptureFixture[str]) -> None:
    lines = replay(capsys, "answered_caller_hangup.ami", "--run-for", "20m")
    assert [line["type"] for line in lines] == ["call", "ticket"]  # a ticket (test_replay_tickets), no alert


def test_short_ivr_hang_up_opens_no_alert(capsys: pytest.CaptureFixture[str]) -> None:
    lines = replay(capsys, "ivr_hangup_before_menu.ami", "--run-for", "5m")  # 2 s in the IVR
    assert [line["type"] for line in lines] == ["call"]


def test_bad_duration_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["replay", str(FIXTURES / "busy.ami"), "--run-for", "soon", "--config", CONFIG])
    assert "duration" in capsys.readouterr().err


def test_the_text_output_names_tiers_events_and_states_in_both_languages(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(FIXTURES / "abandoned_in_queue.ami"), "--run-for", "20m", "--config", CONFIG]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("时间 at"))
    pages = [line for line in out.splitlines() if "寻呼 page" in line]
    assert len(pages) == 3, out  # first line at once, second line at 5 min, the manager at 10 min
    for line, tier in zip(pages, ("一线 first_line", "二线 second_line", "项目经理 manager"), strict=True):
        assert width(line[:line.index(tier)]) == width(header[:header.index("层级 tier")]), out
    assert "呼入 inbound" in out and "放弃 abandoned" in out
