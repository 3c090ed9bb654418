"""The live listener (`hotline.runtime.listener`) on the real Asterisk: the call driver places scripted
calls (answered, abandoned in the queue, queue timeout, busy and answered duty line, a GBK caller
name, a hang-up before the menu, staff callbacks answered and not) all at once, and the ledger the listener wrote must
agree with what the driver scripted and with the ground truth it derived from the PBX's own bytes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hotline.clock import SystemClock
from hotline.config import Settings
from hotline.providers.asterisk.client import AmiClient
from hotline.runtime.assembly import AmiIngest, open_database, tracker_config
from hotline.runtime.listener import AmiListener
from hotline.services.calls.ledger import Ledger
from hotline.store.calls import CallRow
from tests.integration.pbx import Pbx
from tests.truth import mismatches

pytestmark = pytest.mark.asterisk


def scripted_calls(lab: Any) -> list[dict[str, Any]]:
    """One call of each kind; queues and agents chosen so that no two calls compete for a member."""
    gbk = lab.direct("c6", 1, "13800138031", "张伟", "answer:2:600", 7, "direct_answered_caller_hangup",
                     {"answered": True, "answered_by": "duty", "hung_up_by": "caller"})
    gbk["caller_name_encoding"] = "gbk"
    return [
        lab.q_answer("c1", 0, "13800138000", "Zhang Wei", "1", "agent1", 3, 5, "caller"),
        lab.q_abandon("c2", 0, "13800138002", "Wang Fang", "3", 5),
        lab.q_timeout("c3", 0.5, "13800138003", "Liu Yang", "3", 8),
        lab.direct("c4", 0, "13800138007", "Huang Li", "busy", 600, "direct_busy",
                   {"answered": False, "hung_up_by": "caller"}),
        lab.direct("c5", 0.5, "01062345678", "Li Na", "answer:3:4", 600, "direct_answered_agent_hangup",
                   {"answered": True, "answered_by": "duty", "hung_up_by": "agent"}),
        gbk,
        lab.ivr_hangup("c7", 0, "13800138008", "Zhou Tao", 2),
        lab.callback("c8", 0, "8001", "Agent One", "13800138011", 3, 600, 8,
                     expect={"answered": True, "hung_up_by": "staff"}),
        # the customer never answers: Dial(...,30) in [from-internal] times out, the dialplan ends the call
        lab.callback("c9", 0, "8001", "Agent One", "13911112222", 40, 600, 60,
                     expect={"answered": False, "hung_up_by": "system"}, kind="outbound_callback_noanswer"),
    ]


def row_dict(row: CallRow) -> dict[str, Any]:
    return {"direction": row.direction, "outcome": row.outcome, "caller": row.caller, "called": row.called,
            "queue": row.queue, "answered_by": row.answered_by, "hung_up_by": row.hung_up_by,
            "caller_name": row.caller_name, "wait_seconds": row.wait_seconds, "talk_seconds": row.talk_seconds}


async def test_live_listener_ledger_matches_the_scripted_calls(
        pbx: Pbx, settings: Settings, tmp_path: Path) -> None:
    lab = pbx.lab()
    calls = scripted_calls(lab)
    db = open_database(f"sqlite:///{tmp_path / 'hotline.db'}")
    ledger = Ledger(db.factory)
    client = AmiClient(pbx.host, pbx.port, pbx.user, pbx.secret, ping_interval=5.0,
                       raw_only=tracker_config(settings).raw_only())
    listener = AmiListener(client, AmiIngest(settings, ledger, batch=20), SystemClock(settings.tz),
                           flush_interval=0.1)
    task = asyncio.create_task(listener.run())
    try:
        await client.wait_connected(10)
        out = tmp_path / "driver"
        out.mkdir()
        rec, _ = await asyncio.to_thread(lab.run_scenario, "live", str(out), calls, None, 2.0)
        truth = lab.write_truth(str(out), "live", calls, rec.raw)["calls"]
        async with asyncio.timeout(20):
            while True:
                with db.factory() as s:
                    rows = {r.call_id: r for r in s.scalars(select(CallRow).where(CallRow.ended_at.is_not(None)))}
                if len(rows) >= len(calls):
                    break
                await asyncio.sleep(0.2)
    finally:
        await client.close()
        await task
    assert all(t.get("matches_script") for t in truth), [(t["id"], t.get("error")) for t in truth]
    assert len(rows) == len(calls)
    for want in truth:
        got = row_dict(rows[want["caller_uniqueid"]])
        assert mismatches(got, want) == {}, want["id"]
        for key, value in want["expect"].items():  # what the driver scripted, not only what it saw
            assert (got["outcome"] == "answered" if key == "answered" else got[key]) == value, (want["id"], key)
    by_id = {t["id"]: row_dict(rows[t["caller_uniqueid"]]) for t in truth}
    assert by_id["c6"]["caller_name"] == "张伟"  # sent GBK-encoded by the driver
    assert [by_id[c]["outcome"] for c in ("c2", "c3", "c4", "c7")] == ["abandoned", "timeout", "busy",
                                                                      "ivr_abandoned"]
    assert by_id["c8"]["direction"] == "outbound" and by_id["c8"]["caller"] == "8001"
    assert (by_id["c9"]["outcome"], by_id["c9"]["hung_up_by"]) == ("timeout", "system")
    assert listener.status["connects"] == 1 and not ledger.open
