"""`hotline replay SESSION.jsonl --run-for 20m` for recorded Twilio webhook sessions: the virtual clock follows the
requests' arrival times (`at`), and the monitor, the dry-run outbox and the tickets run as for an AMI trace
(test_replay_alerts.py, test_replay_tickets.py), into SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import pytest

from hotline.cli import main
from hotline.config import Settings
from tests.conftest import ROOT
from tests.integration.test_replay_alerts import KEYS, on_duty_names

SESSIONS = ROOT / "tests" / "fixtures" / "twilio"
CONFIG = str(ROOT / "config" / "hotline.toml")
CALLER = "13912345678"  # +8613912345678 in every recorded session
ZHANG_WEI_MOBILE = "+8613800138001"  # 张伟 in config/roster.yaml (13800138001)


def replay(capsys: pytest.CaptureFixture[str], session: Path, *extra: str) -> list[dict[str, object]]:
    assert main(["replay", str(session), "--json", "--config", CONFIG, *extra]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def at(line: dict[str, object], key: str = "at") -> datetime:
    value = datetime.fromisoformat(str(line[key]))
    assert value.utcoffset() == timedelta(hours=8)  # ISO 8601 with the desk's offset
    return value


def test_caller_hanging_up_in_the_queue_escalates_at_0_5_10_and_breaches_at_15(
        capsys: pytest.CaptureFixture[str], settings: Settings, db_url: str) -> None:
    session = SESSIONS / "caller_hangs_up_waiting.jsonl"  # Tuesday 2024-05-07 10:30, on-site duty, servers
    plain = replay(capsys, session)
    lines = replay(capsys, session, "--run-for", "20m", "--db", db_url)
    calls = [line for line in lines if line["type"] == "call"]
    assert calls == plain  # the call lines are those of a replay without --run-for
    monitor = [line for line in lines if line["type"] != "call"]
    for line in monitor:
        assert all(k in line for k in KEYS), line
    assert [line["type"] for line in monitor] == ["alert", "page", "page", "page", "breach"]
    alert = monitor[0]
    assert alert["caller"] == CALLER and calls[0]["outcome"] == "abandoned"
    opened = at(alert)
    assert opened == at(calls[0], "ended_at")  # the clock followed the session's requests
    pages = [line for line in monitor if line["type"] == "page"]
    assert [(at(p) - opened, p["tier"]) for p in pages] == [
        (timedelta(0), "first_line"), (timedelta(minutes=5), "second_line"), (timedelta(minutes=10), "manager")]
    for p in pages:
        assert p["alert_id"] == alert["alert_id"] and p["channel"]
        assert p["person"] in on_duty_names(settings, at(p), str(p["tier"]), "servers")
        assert p["detail"] == "演练，未发送 / dry run, not sent"  # no --send: nothing left the machine
    assert at(monitor[-1]) - opened == timedelta(minutes=15)


@pytest.mark.parametrize(("session", "outcome"), [("no_answer_timeout.jsonl", "timeout"), ("busy.jsonl", "busy")])
def test_missed_call_at_night_pages_the_first_line_on_duty(
        capsys: pytest.CaptureFixture[str], settings: Settings, session: str, outcome: str) -> None:
    lines = replay(capsys, SESSIONS / session, "--run-for", "20m")  # Monday 2024-05-06 22:15, remote duty
    (call,) = [line for line in lines if line["type"] == "call"]
    assert call["outcome"] == outcome and call["provider"] == "twilio"
    (alert,) = [line for line in lines if line["type"] == "alert"]
    assert alert["caller"] == CALLER and at(alert) == at(call, "ended_at")
    (page,) = [line for line in lines if line["type"] == "page"]
    assert (page["tier"], at(page)) == ("first_line", at(alert))
    assert page["person"] in on_duty_names(settings, at(page), "first_line", "applications")
    assert not [line for line in lines if line["type"] == "ticket"]  # nobody reached the caller


@pytest.mark.parametrize("session", ["answered_by_staff.jsonl", "retried_status_callback.jsonl"])
def test_answered_call_opens_a_ticket_and_no_alert(capsys: pytest.CaptureFixture[str], settings: Settings,
                                                   session: str) -> None:
    lines = replay(capsys, SESSIONS / session, "--run-for", "20m")
    assert [line["type"] for line in lines] == ["call", "ticket"]
    call, ticket = lines
    assert ticket["calls"] == [call["call_id"]] and ticket["caller"] == CALLER
    assert at(ticket, "first_contact_at") == at(call, "started_at")
    assert at(ticket, "opened_at") == at(call, "answered_at")
    # 李四, who answered, is not in the roster: the ticket goes to the first line on duty
    assert ticket["assignee"] in on_duty_names(settings, at(ticket, "opened_at"), "first_line", "network")


def _callback_by_zhang_wei(tmp_path: Path) -> Path:
    """caller_hangs_up_waiting.jsonl, then outbound_callback.jsonl moved 2 minutes later with 张伟's mobile as the
    staff phone: the callback reaches the caller after the missed call."""
    lines = (SESSIONS / "caller_hangs_up_waiting.jsonl").read_text(encoding="utf-8").splitlines()
    for text in (SESSIONS / "outbound_callback.jsonl").read_text(encoding="utf-8").splitlines():
        hook = json.loads(text)
        hook["at"] = (datetime.fromisoformat(hook["at"]) + timedelta(minutes=2)).isoformat()
        params = hook["params"]
        if "Timestamp" in params:  # status callbacks: their time is Twilio's Timestamp
            params["Timestamp"] = format_datetime(parsedate_to_datetime(params["Timestamp"]) + timedelta(minutes=2))
        for key in ("To", "Called"):
            if params.get(key) == "+8613800000001":
                params[key] = ZHANG_WEI_MOBILE
        if hook["query"]:
            hook["query"].update(staff="张伟", staff_phone=ZHANG_WEI_MOBILE)
        lines.append(json.dumps(hook, ensure_ascii=False))
    path = tmp_path / "missed_then_callback.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_callback_clears_the_alert_and_joins_the_ticket(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                          db_url: str) -> None:
    lines = replay(capsys, _callback_by_zhang_wei(tmp_path), "--run-for", "20m", "--db", db_url)
    missed, callback = [line for line in lines if line["type"] == "call"]
    assert (missed["outcome"], callback["direction"], callback["called"]) == ("abandoned", "outbound",
                                                                              "+8613912345678")
    monitor = [line for line in lines if line["type"] not in ("call", "ticket")]
    assert [line["type"] for line in monitor] == ["alert", "page", "clear"]
    alert, _, clear = monitor
    assert clear["alert_id"] == alert["alert_id"] and clear["person"] == ZHANG_WEI_MOBILE
    assert at(clear) == at(callback, "answered_at")
    (ticket,) = [line for line in lines if line["type"] == "ticket"]
    assert ticket["calls"] == [missed["call_id"], callback["call_id"]]


def test_the_text_output_names_the_staff_mobile_that_called_back(capsys: pytest.CaptureFixture[str],
                                                                 tmp_path: Path) -> None:
    assert main(["replay", str(_callback_by_zhang_wei(tmp_path)), "--run-for", "20m", "--config", CONFIG]) == 0
    out = capsys.readouterr().out
    (clear,) = [line for line in out.splitlines() if "已回复 clear" in line]
    assert f"张伟 ({ZHANG_WEI_MOBILE})" in clear, out
    assert "寻呼 page" in out and "工单 ticket" in out


def test_a_gbk_session_is_named_as_not_utf8_with_run_for_too(capsys: pytest.CaptureFixture[str],
                                                             tmp_path: Path) -> None:
    gbk = tmp_path / "gbk.jsonl"
    gbk.write_bytes((SESSIONS / "answered_by_staff.jsonl").read_text(encoding="utf-8").encode("gbk"))
    assert main(["replay", str(gbk), "--config", CONFIG]) == 2
    without = capsys.readouterr().err
    assert main(["replay", str(gbk), "--run-for", "20m", "--config", CONFIG]) == 2
    err = capsys.readouterr().err
    assert err == without and "UTF-8" in err and "gbk.jsonl" in err, err
    assert "Timestamp" not in err


def test_a_session_without_requests_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("# nothing recorded\n", encoding="utf-8")
    assert main(["replay", str(empty), "--run-for", "20m", "--config", CONFIG]) == 2
    err = capsys.readouterr().err
    assert "empty.jsonl" in err and "no webhook requests" in err and "Timestamp" not in err, err
