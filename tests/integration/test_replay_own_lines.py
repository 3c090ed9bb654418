"""Replays into one database (`--db`): each `replay --run-for` prints its own alert and ticket lines, not those
every earlier replay left in the database."""

from __future__ import annotations

import json

import pytest

from hotline.cli import main
from tests.conftest import FIXTURES, ROOT

CONFIG = str(ROOT / "config" / "hotline.toml")


def replay(capsys: pytest.CaptureFixture[str], trace: str, db_url: str) -> list[dict[str, object]]:
    assert main(["replay", str(FIXTURES / trace), "--json", "--run-for", "20m", "--db", db_url,
                 "--config", CONFIG]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def of_type(lines: list[dict[str, object]], *types: str) -> list[dict[str, object]]:
    return [line for line in lines if line["type"] in types]


def test_a_later_replay_prints_only_its_own_alerts_and_tickets(capsys: pytest.CaptureFixture[str],
                                                               db_url: str) -> None:
    abandoned = replay(capsys, "abandoned_in_queue.ami", db_url)  # an alert (13800138002), left open
    answered = replay(capsys, "answered_caller_hangup.ami", db_url)  # a ticket (13800138000)
    (earlier_alert,) = of_type(abandoned, "alert")
    (earlier_ticket,) = of_type(answered, "ticket")
    assert of_type(answered, "alert", "page", "breach") == []  # the open alert of the first is not this one's

    lines = replay(capsys, "outbound_callback.ami", db_url)  # a missed call, the callback, one ticket
    calls = {str(line["call_id"]) for line in of_type(lines, "call")}
    monitor = [line for line in lines if line["type"] not in ("call", "ticket")]
    assert [line["type"] for line in monitor] == ["alert", "page", "clear"]
    assert {line["caller"] for line in monitor} == {"13800138011"}
    assert earlier_alert["alert_id"] not in {line["alert_id"] for line in monitor}
    tickets = of_type(lines, "ticket")
    assert [t["caller"] for t in tickets] == ["13800138011"]
    linked = tickets[0]["calls"]
    assert isinstance(linked, list) and set(linked) <= calls
    assert earlier_ticket["ticket_id"] not in {t["ticket_id"] for t in tickets}

    again = replay(capsys, "outbound_callback.ami", db_url)  # the same calls: the same alert and ticket
    assert of_type(again, "alert", "page", "clear", "ticket") == of_type(lines, "alert", "page", "clear", "ticket")
