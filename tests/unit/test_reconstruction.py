"""Every recorded fixture replays to the calls its .truth.json states (no database, no network)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from hotline.config import Settings
from hotline.domain.calls import Call
from hotline.runtime.assembly import AmiIngest, packets_of_file
from hotline.services.calls.ledger import Ledger
from tests.truth import FIXTURES, TRACES, expected_outcome, mismatches, truth_for


def replay(trace: str, settings: Settings) -> dict[str, Call]:
    ledger = Ledger(None)
    ingest = AmiIngest(settings, ledger)
    done: list[Call] = []
    for packet in packets_of_file(FIXTURES / trace, settings):
        done.extend(ingest.feed(packet))
    done.extend(ingest.finish())
    assert not ledger.open, f"calls left open: {list(ledger.open)}"
    return {c.call_id: c for c in done}


@pytest.mark.parametrize("trace", [t for t in TRACES if t != "reconnect_snapshot.ami"])
def test_fixture_agrees_with_truth(trace: str, settings: Settings) -> None:
    truth = truth_for(trace)
    calls = replay(trace, settings)
    assert len(calls) == len(truth["calls"])
    for want in truth["calls"]:
        got = calls[want["caller_uniqueid"]].as_dict()
        assert mismatches(got, want) == {}, want["id"]
        assert got["started_at"] == datetime.fromtimestamp(want["t_start"], settings.tz).isoformat()
        assert got["ended_at"] == datetime.fromtimestamp(want["t_end"], settings.tz).isoformat()
        if want.get("t_answer"):
            assert got["answered_at"] == datetime.fromtimestamp(want["t_answer"], settings.tz).isoformat()
        assert got["estimated"] is False
        assert_legs(got["legs"], want)


def assert_legs(got: list[dict[str, Any]], want: dict[str, Any]) -> None:
    """Transfers: the legs the truth file gives, by hand from the trace's events; one-leg calls list one leg."""
    if "legs" not in want:
        assert len(got) == (1 if want["answered"] else 0)
        return
    assert len(got) == len(want["legs"])
    for g, w in zip(got, want["legs"], strict=True):
        assert {k: g[k] for k in ("who", "queue", "answered", "ended", "transfer")} == {
            k: w[k] for k in ("who", "queue", "answered", "ended", "transfer")}
        assert (g["talk"] is None) == (w["talk"] is None)
        if w["talk"] is not None:
            assert abs(g["talk"] - w["talk"]) < 0.002


def test_snapshot_client_rebuilds_calls_up_before_it_connected(settings: Settings) -> None:
    """reconnect_snapshot.ami logs in while three calls are up: CoreShowChannels + QueueStatus fill in."""
    truth = truth_for("reconnect_snapshot.ami")
    calls = replay("reconnect_snapshot.ami", settings)
    assert len(calls) == 3
    for want in truth["calls"]:
        got = calls[want["caller_uniqueid"]].as_dict()
        # Times before the connection come from whole-second durations: one second of tolerance.
        assert mismatches(got, want, tolerance=1.0) == {}, want["id"]
        assert got["estimated"] is True
    by_outcome = sorted((c.outcome, c.answered_by) for c in calls.values())
    assert by_outcome == [("abandoned", None), ("answered", "agent1"), ("answered", "agent2")]


def test_gbk_caller_name_is_decoded(settings: Settings) -> None:
    calls = replay("gbk_caller_name.ami", settings)
    (call,) = calls.values()
    assert call.caller_name == "张伟"


def test_answered_means_agent_bridged_not_channel_up(settings: Settings) -> None:
    """The queue answers the caller before any agent does: the channel is Up and the Cdr says
    ANSWERED for the abandoned caller, and still the call is not answered."""
    calls = replay("abandoned_in_queue.ami", settings)
    (call,) = calls.values()
    assert call.outcome == "abandoned"
    assert call.answered_at is None


def test_queue_timeout_is_not_an_abandon(settings: Settings) -> None:
    calls = replay("queue_timeout.ami", settings)
    (call,) = calls.values()
    assert call.outcome == "timeout"
    assert call.hung_up_by == "system"
    assert call.wait_seconds == pytest.approx(15.0, abs=0.1)


def test_outbound_callback_is_recorded_as_outbound(settings: Settings) -> None:
    calls = replay("outbound_callback.ami", settings)
    out = [c for c in calls.values() if c.direction == "outbound"]
    assert len(out) == 1
    d: dict[str, Any] = out[0].as_dict()
    assert (d["caller"], d["called"], d["answered_by"], d["hung_up_by"]) == \
        ("8001", "13800138011", "13800138011", "staff")


def test_expected_outcome_covers_all_truth_calls() -> None:
    for trace in TRACES:
        for call in truth_for(trace)["calls"]:
            assert expected_outcome(call) in {"answered", "abandoned", "timeout", "busy", "ivr_abandoned"}
