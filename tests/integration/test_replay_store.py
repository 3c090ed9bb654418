"""`hotline replay` stores into SQLite and PostgreSQL; replaying twice stores nothing new;
`hotline report answer-rate` reads the same ledger and its counts are exact against the fixtures."""

from __future__ import annotations

import json
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from hotline.cli import main
from hotline.runtime.assembly import open_database
from hotline.store.calls import CallRow, RawEventRow
from tests.truth import FIXTURES, TRACES, expected_outcome, mismatches, truth_for

CONFIG = str(FIXTURES.parent.parent.parent / "config" / "hotline.toml")


def replay_json(trace: str, db: str, capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    assert main(["replay", str(FIXTURES / trace), "--json", "--db", db, "--config", CONFIG]) == 0
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def counts(db: str) -> tuple[int, int]:
    d = open_database(db)
    with d.factory() as s:
        calls = s.scalar(select(func.count()).select_from(CallRow)) or 0
        raw = s.scalar(select(func.count()).select_from(RawEventRow)) or 0
    d.engine.dispose()
    return calls, raw


def test_replay_all_fixtures_into_one_ledger_twice(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    traces = [t for t in TRACES if t != "reconnect_snapshot.ami"]
    for trace in traces:
        lines = replay_json(trace, db_url, capsys)
        truth = {c["caller_uniqueid"]: c for c in truth_for(trace)["calls"]}
        assert {line["call_id"] for line in lines} == set(truth)
        for line in lines:
            assert line["type"] == "call"
            assert mismatches(line, truth[str(line["call_id"])]) == {}
            for key in ("call_id", "direction", "caller", "called", "queue", "specialty", "outcome",
                        "answered_by", "hung_up_by", "wait_seconds", "talk_seconds", "started_at",
                        "answered_at", "ended_at"):
                assert key in line
    calls_once, raw_once = counts(db_url)
    # Uniqueids restart in every recorded scenario, so traces share call ids; the monitor trace adds 3.
    assert calls_once >= 3 and raw_once >= calls_once
    for trace in traces:
        replay_json(trace, db_url, capsys)
    assert counts(db_url) == (calls_once, raw_once)


def test_answer_rate_counts_are_exact_against_truth(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Traces whose Uniqueids do not collide: one ledger with every kind of outcome.
    traces = ["answered_caller_hangup.ami", "busy.ami", "ivr_hangup_before_menu.ami"]
    expected: Counter[str] = Counter()
    for trace in traces:
        replay_json(trace, db_url, capsys)
        for c in truth_for(trace)["calls"]:
            expected[expected_outcome(c)] += 1
    assert main(["report", "answer-rate", "--json", "--db", db_url, "--config", CONFIG]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    total = rows[-1]
    assert total["group"] == "total"
    offered = sum(expected[o] for o in ("answered", "abandoned", "timeout", "busy"))
    assert (total["offered"], total["answered"], total["ivr_abandoned"]) == \
        (offered, expected["answered"], expected["ivr_abandoned"])
    assert total["answer_rate"] == pytest.approx(expected["answered"] / offered, abs=1e-4)
    assert total["met"] is (expected["answered"] / offered >= 0.75)
    groups = {r["group"]: r for r in rows[:-1]}
    assert groups["network"]["offered"] == 1 and groups["network"]["answered"] == 1
    assert groups["network"]["answer_rate"] == 1.0


def test_stored_call_reads_back_with_offset_times(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    replay_json("answered_caller_hangup.ami", db_url, capsys)
    d = open_database(db_url)
    with d.factory() as s:
        row = s.scalars(select(CallRow)).one()
        assert row.outcome == "answered" and row.answered_by == "agent1"
        assert row.started_at.utcoffset() is not None
        raw = s.scalars(select(RawEventRow).where(RawEventRow.call_id == row.call_id)).all()
        names = {n for r in raw for n in r.names.split(",")}
        assert {"Newchannel", "AgentConnect", "AgentComplete", "Hangup", "Cdr"} <= names
        blob = b"".join(r.raw for r in raw)
        assert blob.count(b"\r\n\r\n") == sum(r.events for r in raw)
        # The raw bytes are kept exactly: every stored packet is in the recorded trace.
        trace = (FIXTURES / "answered_caller_hangup.ami").read_bytes()
        assert all(p + b"\r\n\r\n" in trace for p in blob.split(b"\r\n\r\n")[:-1])
    d.engine.dispose()


def test_replay_of_a_missing_file_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "/nonexistent/x.ami", "--config", CONFIG]) == 2
    assert "trace file not found" in capsys.readouterr().err


def test_a_transferred_call_is_stored_with_its_legs_and_transfer_event(
        db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from hotline.api.reports import legs_text
    from hotline.store.calls import row_as_dict, row_legs

    (printed,) = [c for c in replay_json("transfer_attended.ami", db_url, capsys) if c["type"] == "call"]
    want = truth_for("transfer_attended.ami")["calls"][0]
    d = open_database(db_url)
    with d.factory() as s:
        row = s.scalars(select(CallRow)).one()
        assert row.call_id == want["caller_uniqueid"]
        stored = row_as_dict(row, ZoneInfo("Asia/Shanghai"))
        assert stored["legs"] == printed["legs"] == row_legs(row)
        assert [leg["who"] for leg in stored["legs"]] == ["agent1", "agent4"]
        assert stored["talk_seconds"] == printed["talk_seconds"]
        assert legs_text(row_legs(row)) == "agent1 (network) 12.5s → agent4 2.5s"
        raw = s.scalars(select(RawEventRow).where(RawEventRow.call_id == row.call_id)).all()
        assert "AttendedTransfer" in {n for r in raw for n in r.names.split(",")}
    d.engine.dispose()
