"""Compare reconstructed calls with a fixture's `.truth.json` (shared by unit and integration tests)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ami"
TRACES = sorted(p.name for p in FIXTURES.glob("*.ami") if p.name != "login_failed.ami")


def truth_for(trace: str) -> dict[str, Any]:
    name = trace.replace(".monitor.ami", ".ami").replace(".ami", ".truth.json")
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def expected_outcome(call: dict[str, Any]) -> str:
    if call["answered"]:
        return "answered"
    qo = call.get("queue_outcome")
    if qo == "abandon":
        return "abandoned"
    if qo == "timeout":
        return "timeout"
    if qo == "no_menu_choice":
        return "ivr_abandoned"
    status = call.get("dial_status")
    if status == "BUSY":
        return "busy"
    if status == "NOANSWER":
        return "timeout"
    raise AssertionError(f"truth call {call['id']} has no outcome this test knows")


def mismatches(got: dict[str, Any], want: dict[str, Any], tolerance: float = 0.5) -> dict[str, Any]:
    """Fields where the reconstructed call `got` (as_dict) disagrees with truth call `want`."""
    checks = {
        "direction": want["direction"],
        "outcome": expected_outcome(want),
        "caller": want["caller_number"],
        "called": want.get("did") or want.get("called_number"),
        "queue": want.get("queue"),
        "answered_by": want.get("answered_by"),
        "hung_up_by": want.get("hung_up_by"),
        "caller_name": want.get("caller_name"),
    }
    bad = {k: (got.get(k), v) for k, v in checks.items() if got.get(k) != v}
    for ours, theirs in (("wait_seconds", "ring_seconds"), ("talk_seconds", "talk_seconds")):
        t = want.get(theirs)
        if t is None:
            continue
        g = got.get(ours)
        if g is None or abs(g - t) > tolerance:
            bad[ours] = (g, t)
    return bad
