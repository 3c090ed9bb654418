"""Voice pages through the real Asterisk: a missed call opens an alert, the monitor decides the page, the
outbox delivers it with the `asterisk_call` channel as `hotline serve` wires it (an AMI Originate on the
listener's connection) to a `lab-page-phones` handset running the ack dialplan of `hotline ivr page-ack`
with the prompts of `hotline ivr sounds`. The handset's behaviour is set in AstDB `lab/page/<ext>`."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.domain.alerts import Alert, AlertState
from hotline.paging.registry import build_channels, build_dispatcher
from hotline.providers.asterisk.client import AmiClient
from hotline.runtime.assembly import AmiIngest, open_database, tracker_config
from hotline.runtime.listener import AmiListener
from hotline.runtime.page_calls import ami_originate
from hotline.services.calls.ledger import Ledger
from hotline.services.monitor.outbox import Delivered
from hotline.services.monitor.page_replies import acknowledge_voice_event
from hotline.services.monitor.voice_rounds import UntilReachedSender
from hotline.store.alerts import AlertEventRow, OutboxRow, PageAttemptRow
from hotline.store.base import unit_of_work
from tests.integration.monitor_fakes import LI, T0, FakeRoster, Rig, missed, rig
from tests.integration.pbx import Pbx

pytestmark = pytest.mark.asterisk
CALLER = "13812345678"


def paging_config(rounds: int) -> dict[str, Any]:
    return {
        "default_order": ["asterisk_call", "desk_dry"],
        "retry": {"attempts": 2, "initial": 0.2, "maximum": 0.5},
        "call_until_reached": {"rounds": rounds, "interval": 1},
        "asterisk_call": {"channel": "Local/{extension}@lab-page-phones/n", "context": "hotline-page-ack",
                          "caller_id": '"热线告警" <4008001234>', "ring_seconds": 4},
        "desk_dry": {"kind": "dry_run"},
    }


@dataclass
class PageDesk:
    rig: Rig
    alert: Alert
    sender: UntilReachedSender
    listener: AmiListener
    pbx: Pbx

    async def deliver(self) -> list[Delivered]:
        return await self.rig.outbox.drain(self.sender)

    def rows(self) -> tuple[OutboxRow, list[PageAttemptRow], list[AlertEventRow]]:
        with unit_of_work(self.rig.monitor.factory) as s:
            [row] = s.scalars(select(OutboxRow).where(OutboxRow.alert_id == self.alert.alert_id)).all()
            attempts = list(s.scalars(select(PageAttemptRow).where(PageAttemptRow.outbox_id == row.id)
                                      .order_by(PageAttemptRow.id)))
            events = list(s.scalars(select(AlertEventRow).where(AlertEventRow.alert_id == self.alert.alert_id)
                                    .order_by(AlertEventRow.id)))
            s.expunge_all()
        return row, attempts, events


@asynccontextmanager
async def page_desk(pbx: Pbx, settings: Settings, tmp_path: Path, extension: str, behaviour: str,
                    rounds: int = 1, account: tuple[str, str] | None = None) -> AsyncIterator[PageDesk]:
    """First line is 李娜 on `extension` (voice first, then the dry-run channel); a missed call has
    opened an alert and put her page into the outbox; the listener runs on the real PBX (logged in as
    `account`, the lab's all-rights user by default)."""
    pbx.db_put("lab/page", extension, behaviour)
    person = replace(LI, extension=extension, channels=("asterisk_call", "desk_dry"))
    far = timedelta(days=30)
    r = rig(f"sqlite:///{tmp_path / 'hotline.db'}", FakeRoster().add("first_line", person, T0 - far, T0 + far),
            clock=ManualClock(T0))
    r.monitor.on_call(missed(CALLER, T0))
    [alert] = r.monitor.alerts("open")
    db = open_database(f"sqlite:///{tmp_path / 'hotline.db'}")
    user, secret = account or (pbx.user, pbx.secret)
    client = AmiClient(pbx.host, pbx.port, user, secret, ping_interval=5.0,
                       raw_only=tracker_config(settings).raw_only())
    listener = AmiListener(client, AmiIngest(settings, Ledger(db.factory), batch=50), r.clock, flush_interval=0.1,
                           on_page_ack=lambda ack: acknowledge_voice_event(r.monitor, ack))
    paging = paging_config(rounds)
    dispatcher = build_dispatcher(paging, build_channels(paging, {}, ami_originate(client), out=io.StringIO()))
    sender = UntilReachedSender(dispatcher, frozenset({"asterisk_call"}),
                                lambda alert_id: r.monitor.alert(alert_id).state)
    task = asyncio.create_task(listener.run())
    try:
        await client.wait_connected(10)
        yield PageDesk(r, alert, sender, listener, pbx)
    finally:
        pbx.cli("channel request hangup all")  # the handsets' scripts would talk on for seconds
        await asyncio.to_thread(pbx.wait_idle)
        await client.close()
        await task
        pbx.cli(f"database del lab/page {extension}")
        db.engine.dispose()
        r.dispose()


async def wait_for_state(desk: PageDesk, state: AlertState, timeout: float = 20.0) -> Alert:
    async with asyncio.timeout(timeout):
        while (alert := desk.rig.monitor.alert(desk.alert.alert_id)).state is not state:
            await asyncio.sleep(0.2)
    return alert


async def test_voice_page_answered_and_acknowledged_by_key_1(
        pbx_installed: Pbx, settings: Settings, tmp_path: Path) -> None:
    async with page_desk(pbx_installed, settings, tmp_path, "8101", "ack") as desk:
        [delivered] = await desk.deliver()
        assert delivered.ok and delivered.status == "sent", delivered
        acked = await wait_for_state(desk, AlertState.ACKED)  # the handset pressed 1 in the ack dialplan
        row, attempts, events = desk.rows()
    assert acked.acked_by == "李娜"
    assert [(a.channel, a.ok) for a in attempts] == [("asterisk_call", True)]
    assert attempts[0].provider_id and attempts[0].provider_id.count(".") == 1  # the page call's Uniqueid
    assert row.delivered_via == "asterisk_call" and row.status == "sent"
    assert [(e.type, e.channel, e.detail) for e in events if e.type in ("page", "ack")] == [
        ("page", "asterisk_call", "已送达 / delivered"), ("ack", "voice", None)]


async def test_unanswered_voice_page_is_not_delivered_retried_then_next_channel(
        pbx_installed: Pbx, settings: Settings, tmp_path: Path) -> None:
    async with page_desk(pbx_installed, settings, tmp_path, "8102", "noanswer") as desk:
        [delivered] = await desk.deliver()
        row, attempts, events = desk.rows()
        state = desk.rig.monitor.alert(desk.alert.alert_id).state
    assert [(a.channel, a.ok) for a in attempts] == [("asterisk_call", False), ("asterisk_call", False),
                                                     ("desk_dry", True)]
    assert all("无人接听 / no answer" in (a.error or "") and a.retryable for a in attempts[:2])
    assert delivered.ok and row.delivered_via == "desk_dry" and row.channel == "asterisk_call"
    # the alert's history names the channel that took the page, not the first preferred one (a dry run channel
    # here: it printed the page, nothing was sent)
    assert [(e.type, e.channel, e.detail) for e in events if e.type == "page"] == [
        ("page", "desk_dry", "演练，未发送 / dry run, not sent (计划 / planned: asterisk_call)")]
    assert state is AlertState.OPEN


async def test_wrong_key_does_not_acknowledge_and_the_call_is_repeated_until_reached(
        pbx_installed: Pbx, settings: Settings, tmp_path: Path) -> None:
    async with page_desk(pbx_installed, settings, tmp_path, "8103", "wrongkey", rounds=2) as desk:
        [delivered] = await desk.deliver()
        _row, attempts, events = desk.rows()
        state = desk.rig.monitor.alert(desk.alert.alert_id).state
    assert delivered.ok
    # [paging.call_until_reached] rounds = 2: answered (delivered) but not acknowledged, so called again
    assert [(a.channel, a.ok) for a in attempts] == [("asterisk_call", True), ("asterisk_call", True)]
    assert state is AlertState.OPEN and not [e for e in events if e.type == "ack"]
