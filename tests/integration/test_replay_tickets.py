"""The replay contract: `hotline replay TRACE --run-for 20m --json` prints one ticket line per reached
caller after the call and alert lines. The expected tickets below are written by hand from the truth files
(tests/fixtures/ami/*.truth.json): caller, call ids (caller_uniqueid), t_start, t_answer."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from hotline.cli import main
from tests.conftest import FIXTURES, ROOT

CONFIG = str(ROOT / "config" / "hotline.toml")

# Monday 2026-11-23, 13:47-15:09: the shipped roster's first line day shift is 王芳's week (anchor
# 2026-01-05, 46 weeks later, rotation 张伟 李娜 王芳 刘洋). Lab queue members (agent1, agent2, duty) are not
# in the roster, so tickets go to the on-duty first line; the callback from extension 8001 goes to 张伟.
EXPECTED: dict[str, list[dict[str, object]]] = {
    "answered_caller_hangup.ami": [
        {"number": "+8613800138000", "caller": "13800138000", "calls": ["1795412859.1"],
         "first_contact_at": "2026-11-23T13:47:39.082962+08:00", "opened_at": "2026-11-23T13:47:46.317338+08:00",
         "specialty": "network", "assignee": "王芳"}],
    "answered_agent_hangup.ami": [
        {"number": "+8613800138001", "caller": "13800138001", "calls": ["1795412882.1"],
         "first_contact_at": "2026-11-23T13:48:02.054664+08:00", "opened_at": "2026-11-23T13:48:09.302280+08:00",
         "specialty": "network", "assignee": "王芳"}],
    "direct_dial_answered.ami": [
        {"number": "+8613800138005", "caller": "13800138005", "calls": ["1795412995.1"],
         "first_contact_at": "2026-11-23T13:49:55.062704+08:00", "opened_at": "2026-11-23T13:49:59.068217+08:00",
         "specialty": None, "assignee": "王芳"}],
    "gbk_caller_name.ami": [
        {"number": "+8613800138031", "caller": "13800138031", "calls": ["1795417753.1"],
         "first_contact_at": "2026-11-23T15:09:13.024066+08:00", "opened_at": "2026-11-23T15:09:20.233748+08:00",
         "specialty": "network", "assignee": "王芳"}],
    # c1 abandoned in the queue, c2 the callback from 8001 that cleared its alert: one ticket, both calls,
    # the clock from c1's first ring.
    "outbound_callback.ami": [
        {"number": "+8613800138011", "caller": "13800138011", "calls": ["1795413068.1", "1795413082.6"],
         "first_contact_at": "2026-11-23T13:51:08.629817+08:00", "opened_at": "2026-11-23T13:51:26.633003+08:00",
         "specialty": "network", "assignee": "张伟"}],
    # c3 (13800138023) abandoned and was never reached: no ticket.
    "reconnect_snapshot.monitor.ami": [
        {"number": "+8613800138021", "caller": "13800138021", "calls": ["1795413105.1"],
         "first_contact_at": "2026-11-23T13:51:45.231139+08:00", "opened_at": "2026-11-23T13:51:51.446923+08:00",
         "specialty": "network", "assignee": "王芳"},
        {"number": "+8613800138022", "caller": "13800138022", "calls": ["1795413108.3"],
         "first_contact_at": "2026-11-23T13:51:48.247534+08:00", "opened_at": "2026-11-23T13:51:55.464143+08:00",
         "specialty": "servers", "assignee": "王芳"}],
    # the same calls recovered from a reconnect snapshot: times are estimates (whole seconds)
    "reconnect_snapshot.ami": [
        {"number": "+8613800138021", "caller": "13800138021", "calls": ["1795413105.1"],
         "first_contact_at": "2026-11-23T13:51:45.231139+08:00", "opened_at": "2026-11-23T13:51:51.446923+08:00",
         "specialty": "network", "assignee": "王芳"},
        {"number": "+8613800138022", "caller": "13800138022", "calls": ["1795413108.3"],
         "first_contact_at": "2026-11-23T13:51:48.247534+08:00", "opened_at": "2026-11-23T13:51:55.464143+08:00",
         "specialty": "servers", "assignee": "王芳"}],
    # nobody reached: the alert covers these callers, no ticket
    "abandoned_in_queue.ami": [],
    "busy.ami": [],
    "queue_timeout.ami": [],
    "ivr_hangup_before_menu.ami": [],
    # Transfers (Thursday 2026-12-03 22:20, the night shift: 一线 is 李娜): the lab members agent1/3/4 are not
    # in the roster, so each ticket stays with the on-duty first line; one ticket per call all the same.
    "transfer_blind.ami": [
        {"number": "+8613800138004", "caller": "13800138004", "calls": ["1796307624.33"],
         "first_contact_at": "2026-12-03T22:20:24.407285+08:00", "opened_at": "2026-12-03T22:20:30.620359+08:00",
         "specialty": "network", "assignee": "李娜"}],
    "transfer_attended.ami": [
        {"number": "+861012345678", "caller": "01012345678", "calls": ["1796307646.41"],
         "first_contact_at": "2026-12-03T22:20:46.236447+08:00", "opened_at": "2026-12-03T22:20:52.446052+08:00",
         "specialty": "network", "assignee": "李娜"}],
    "transfer_blind_queue_unanswered.ami": [
        {"number": "+8613800138005", "caller": "13800138005", "calls": ["1796307670.51"],
         "first_contact_at": "2026-12-03T22:21:10.341432+08:00", "opened_at": "2026-12-03T22:21:16.553151+08:00",
         "specialty": "network", "assignee": "李娜"}],
}
TIME_KEYS = ("first_contact_at", "opened_at")


def replay(capsys: pytest.CaptureFixture[str], trace: str, *extra: str) -> list[dict[str, object]]:
    assert main(["replay", str(FIXTURES / trace), "--json", "--config", CONFIG, "--run-for", "20m", *extra]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_every_shared_trace_is_covered() -> None:
    traces = {p.name for p in FIXTURES.glob("*.ami")} - {"login_failed.ami"}  # no timestamps: no --run-for
    assert traces == set(EXPECTED)


@pytest.mark.parametrize("trace", sorted(EXPECTED))
def test_one_ticket_per_reached_caller(capsys: pytest.CaptureFixture[str], trace: str) -> None:
    lines = replay(capsys, trace)
    types = [line["type"] for line in lines]
    tickets = [line for line in lines if line["type"] == "ticket"]
    assert types[len(types) - len(tickets):] == ["ticket"] * len(tickets)  # after the call and alert lines
    call_ids = {line["call_id"] for line in lines if line["type"] == "call"}
    expected = EXPECTED[trace]
    assert len(tickets) == len(expected)
    tolerance = timedelta(seconds=1) if trace == "reconnect_snapshot.ami" else timedelta(0)
    for got, want in zip(tickets, expected, strict=True):
        assert set(got) == {"type", "ticket_id", "number", "caller", "calls", "opened_at", "first_contact_at",
                            "status", "specialty", "tier", "assignee", "ticket_type", "priority"}
        day = datetime.fromisoformat(str(want["opened_at"])).strftime("%Y%m%d")
        assert str(got["ticket_id"]).startswith(f"GD{day}-")
        assert isinstance(got["calls"], list) and set(got["calls"]) <= call_ids
        for key, value in want.items():
            if key in TIME_KEYS:
                delta = datetime.fromisoformat(str(got[key])) - datetime.fromisoformat(str(value))
                assert abs(delta) <= tolerance, (key, got[key], value)
            else:
                assert got[key] == value, (key, got)
        assert (got["status"], got["tier"], got["ticket_type"], got["priority"]) == (
            "new", "first_line", "incident", "normal")


def test_stored_tickets_survive_a_second_replay_into_the_same_database(
        capsys: pytest.CaptureFixture[str], db_url: str) -> None:
    first = [t for t in replay(capsys, "outbound_callback.ami", "--db", db_url) if t["type"] == "ticket"]
    second = [t for t in replay(capsys, "outbound_callback.ami", "--db", db_url) if t["type"] == "ticket"]
    assert len(first) == 1 and second == first  # the same calls link to the same ticket: no duplicate
