"""Transfers on the real Asterisk (issue 18): a blind transfer to a colleague and an attended one, sent over
AMI at the same time while the live listener watches. Each stays one call in the ledger: the first queue and
answerer, the talk of both legs, who ended the whole call, and the legs stored with it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

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
from tests.integration.pbx_transfers import LIVE, install, run_transfers_together, uninstall

pytestmark = pytest.mark.asterisk


async def test_blind_and_attended_transfers_stay_one_call_each(pbx: Pbx, settings: Settings, tmp_path: Path) -> None:
    lab = pbx.lab()
    features_before = install(pbx.cli, pbx.etc)
    db = open_database(f"sqlite:///{tmp_path / 'hotline.db'}")
    ledger = Ledger(db.factory)
    client = AmiClient(pbx.host, pbx.port, pbx.user, pbx.secret, ping_interval=5.0,
                       raw_only=tracker_config(settings).raw_only())
    listener = AmiListener(client, AmiIngest(settings, ledger, batch=20), SystemClock(settings.tz),
                           flush_interval=0.1)
    task = asyncio.create_task(listener.run())
    try:
        await client.wait_connected(10)
        plans = [(LIVE["blind"].call(lab, "c1"), LIVE["blind"].transfer),
                 (LIVE["attended"].call(lab, "c2"), LIVE["attended"].transfer)]
        connects = await asyncio.to_thread(run_transfers_together, lab, tmp_path, "transfers", plans)
        async with asyncio.timeout(20):
            while True:
                with db.factory() as s:
                    rows = list(s.scalars(select(CallRow).where(CallRow.ended_at.is_not(None))))
                if len(rows) >= 2:
                    break
                await asyncio.sleep(0.2)
    finally:
        await client.close()
        await task
        uninstall(pbx.cli, pbx.etc, features_before)
    assert len(rows) == 2  # one ledger row per caller, not one per leg
    by_caller = {r.caller: r for r in rows}
    blind, attended = by_caller["13800138004"], by_caller["01012345678"]
    first = connects["01012345678"]["MemberName"]  # apps rings agent3 or agent4 first: either answers
    assert first in ("agent3", "agent4")
    assert (blind.queue, blind.specialty, blind.outcome, blind.answered_by) == ("network", "network", "answered",
                                                                                "agent1")
    assert (attended.queue, attended.specialty, attended.outcome, attended.answered_by) == (
        "apps", "applications", "answered", first)
    assert blind.caller_name == "刘洋" and attended.caller_name == "冯婷"
    blind_legs, attended_legs = json.loads(blind.legs or "[]"), json.loads(attended.legs or "[]")
    assert [(leg["who"], leg["queue"], leg["transfer"]) for leg in blind_legs] == [
        ("agent1", "network", None), ("agent3", None, "blind")]
    assert [(leg["who"], leg["queue"], leg["transfer"]) for leg in attended_legs] == [
        (first, "apps", None), ("agent2", None, "attended")]
    # scripted: agent1 talks 4 s, then the blind transfer; agent3 rings 2 s and talks until the caller leaves
    assert blind_legs[0]["talk"] == pytest.approx(4.0, abs=0.5)
    assert blind.hung_up_by == "caller"
    # scripted: the member answers, consults after 4 s and hangs up 12 s after answering (the transfer
    # completes); agent2 had answered 2 s into the consultation and hangs up 8 s after answering: about 2 s
    # with the caller
    assert attended_legs[0]["talk"] == pytest.approx(12.0, abs=0.6)
    assert attended_legs[1]["talk"] == pytest.approx(2.0, abs=0.8)
    assert attended.hung_up_by == "agent"
    for row, legs in ((blind, blind_legs), (attended, attended_legs)):
        assert row.talk_seconds == pytest.approx(sum(leg["talk"] for leg in legs), abs=0.01)
    assert not ledger.open
