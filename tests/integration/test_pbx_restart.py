"""A PBX restart mid-call (`core restart now` on the real Asterisk): the listener reconnects, and the calls
the PBX cut are recorded as the PBX's doing (`hung_up_by: pbx`; a caller still waiting in the queue is
`dropped`, not `abandoned`), so they stay out of the abandon figures."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from hotline.clock import SystemClock
from hotline.config import Settings
from hotline.domain.kpi import CallFigures, answer_rates
from hotline.providers.asterisk.client import AmiClient
from hotline.runtime.assembly import AmiIngest, open_database, tracker_config
from hotline.runtime.listener import AmiListener
from hotline.services.calls.ledger import Ledger
from hotline.store.calls import CallRow
from tests.integration.pbx import Pbx

pytestmark = pytest.mark.asterisk


def wait_for_channels(pbx: Pbx, count: int, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while pbx.channels() < count:
        assert time.monotonic() < end, pbx.cli("core show channels")
        time.sleep(0.3)


async def test_restart_mid_call_is_the_pbx_not_callers_abandoning(
        pbx: Pbx, settings: Settings, tmp_path: Path) -> None:
    lab = pbx.lab()
    calls = [
        # 13800138021 talks to agent1 (both would stay 10 minutes); 13800138023 waits in `apps`, nobody answers
        lab.q_answer("c1", 0, "13800138021", "Xu Qiang", "1", "agent1", 1, 600, "caller"),
        lab.q_abandon("c2", 0, "13800138023", "Ma Jun", "3", 600),
    ]
    db = open_database(f"sqlite:///{tmp_path / 'h.db'}")
    client = AmiClient(pbx.host, pbx.port, pbx.user, pbx.secret, ping_interval=2.0, ping_timeout=2.0,
                       reconnect_initial=0.2, reconnect_max=1.0, raw_only=tracker_config(settings).raw_only())
    listener = AmiListener(client, AmiIngest(settings, Ledger(db.factory), batch=10), SystemClock(settings.tz),
                           flush_interval=0.1)
    task = asyncio.create_task(listener.run())
    try:
        await client.wait_connected(10)
        ctl = lab.RawConn()
        ctl.login(events="off", actionid="restart-login")
        for c in calls:
            lab.originate(ctl, "restart", c)
        ctl.close()
        # c1: Local caller pair + agent pair = 4 channels once answered; c2: caller pair + 2 ringing members
        await asyncio.to_thread(wait_for_channels, pbx, 8)
        await asyncio.sleep(1.0)
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            pbx.cli("core restart now")  # the control connection may go down with it
        await asyncio.to_thread(pbx.wait_booted)
        async with asyncio.timeout(30):
            while True:
                with db.factory() as s:
                    rows = {r.caller: r for r in s.scalars(select(CallRow).where(CallRow.ended_at.is_not(None)))}
                if len(rows) == 2 and listener.status["connects"] >= 2:
                    break
                await asyncio.sleep(0.2)
    finally:
        await client.close()
        await task
    talking, waiting = rows["13800138021"], rows["13800138023"]
    assert (talking.outcome, talking.answered_by, talking.hung_up_by) == ("answered", "agent1", "pbx")
    assert (waiting.outcome, waiting.queue, waiting.hung_up_by) == ("dropped", "apps", "pbx")
    figures = [CallFigures(r.outcome, r.specialty, r.answered_by, r.started_at, r.wait_seconds, r.talk_seconds)
               for r in rows.values()]
    _, total = answer_rates(figures)
    assert (total.abandoned, total.offered, total.answered) == (0, 1, 1)
