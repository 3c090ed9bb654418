"""`hotline replay` takes a recorded Twilio webhook session as well as an AMI trace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hotline.cli import main
from hotline.runtime.assembly import open_database
from hotline.store.calls import CallRow

ROOT = Path(__file__).resolve().parent.parent.parent
SESSIONS = ROOT / "tests" / "fixtures" / "twilio"
CONFIG = str(ROOT / "config" / "hotline.toml")


@pytest.mark.parametrize(("session", "outcome"), [
    ("answered_by_staff.jsonl", "answered"), ("busy.jsonl", "busy"), ("ivr_hangup.jsonl", "ivr_abandoned"),
    ("no_answer_timeout.jsonl", "timeout"), ("caller_hangs_up_waiting.jsonl", "abandoned"),
])
def test_twilio_session_replays_through_the_cli(session: str, outcome: str, db_url: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    for _ in range(2):
        assert main(["replay", str(SESSIONS / session), "--json", "--db", db_url, "--config", CONFIG]) == 0
        lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
        inbound = [x for x in lines if x["direction"] == "inbound"]
        assert len(inbound) == 1 and inbound[0]["provider"] == "twilio"
        assert inbound[0]["outcome"] == outcome
    d = open_database(db_url)
    with d.factory() as s:
        assert s.scalar(select(func.count()).select_from(CallRow)) == len(lines)  # twice, stored once
    d.engine.dispose()


def test_a_broken_session_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    good = (SESSIONS / "busy.jsonl").read_text(encoding="utf-8").splitlines()
    bad.write_text("\n".join([good[0], "{not json", *good[1:]]) + "\n", encoding="utf-8")
    assert main(["replay", str(bad), "--config", CONFIG]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl" in err and ":2" in err
