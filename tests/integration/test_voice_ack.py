"""Acknowledging an Asterisk voice page by keypad: the `hotline-page-ack` dialplan (checked with
asterisklint) raises `UserEvent: HotlineAck`; the real listener, over TCP to a fake AMI server, hands
it to the voice acknowledgement. The right code acknowledges the alert; a wrong one is ignored and logged."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from hotline.config import Settings
from hotline.domain.alerts import Alert, AlertState
from hotline.paging.ack_dialplan import ack_dialplan
from hotline.paging.asterisk_call import AsteriskCallChannel
from hotline.providers.asterisk.client import AmiClient
from hotline.providers.asterisk.sim.server import FakeAmiServer, event
from hotline.runtime.assembly import AmiIngest, open_database, tracker_config
from hotline.runtime.listener import AmiListener
from hotline.services.calls.ledger import Ledger
from hotline.services.monitor.page_replies import acknowledge_voice_event
from hotline.store.alerts import OutboxRow
from hotline.store.base import unit_of_work
from tests.integration.monitor_fakes import T0, ZHANG, Rig, missed, rig

HEADER = "[general]\nstatic=yes\nwriteprotect=no\n\n[globals]\n\n"
CALLER = "13812345678"


def lint(conf: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "extensions.conf"
    path.write_text(HEADER + conf, encoding="utf-8")
    tool = Path(sys.executable).parent / "asterisklint"
    return subprocess.run([str(tool), "dialplan-check", str(path)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "ALINT_IGNORE": ""}, cwd=tmp_path)


def test_ack_dialplan_passes_asterisklint(tmp_path: Path) -> None:
    result = lint(ack_dialplan(), tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == "" and result.stderr.strip() == "", \
        result.stdout + result.stderr


def test_ack_dialplan_lint_is_not_vacuous(tmp_path: Path) -> None:
    result = lint(ack_dialplan().replace("?acked)", "?ackd)"), tmp_path)  # a GotoIf to a missing label
    assert result.returncode != 0


def test_ack_dialplan_is_the_context_the_page_calls_into() -> None:
    conf = ack_dialplan()
    channel = AsteriskCallChannel(lambda _h: asyncio.sleep(0, {}))  # type: ignore[arg-type,return-value]
    assert f"[{channel.context}]" in conf and f"exten => {channel.exten},{channel.priority}," in conf
    for variable in ("HOTLINE_ALERT_ID", "HOTLINE_ACK_CODE", "HOTLINE_PAGE_KEY"):
        assert "${" + variable + "}" in conf
    assert ("UserEvent(HotlineAck,AlertId: ${HOTLINE_ALERT_ID},Code: ${HOTLINE_ACK_CODE},Digit: 1,"
            in conf)
    with pytest.raises(ValueError):
        ack_dialplan("bad context]")


@dataclass
class Desk:
    rig: Rig
    server: FakeAmiServer
    listener: AmiListener
    alert: Alert
    page_key: str


@pytest.fixture
def monitor_rig(db_url: str) -> Iterator[Rig]:
    r = rig(db_url)
    yield r
    r.dispose()


@pytest.fixture
async def desk(settings: Settings, db_url: str, monitor_rig: Rig) -> AsyncIterator[Desk]:
    """A missed call has paged 张伟; the listener runs with the voice acknowledgement as its callback."""
    r = monitor_rig
    r.monitor.on_call(missed(CALLER, T0))
    [alert] = r.monitor.alerts("open")
    with unit_of_work(r.monitor.factory) as s:
        page_key = s.scalars(select(OutboxRow.key).where(OutboxRow.alert_id == alert.alert_id)).one()
    server = FakeAmiServer(secret="pw")
    await server.start()
    db = open_database(db_url)
    client = AmiClient("127.0.0.1", server.port, "hotline", "pw", ping_interval=5.0,
                       raw_only=tracker_config(settings).raw_only())
    listener = AmiListener(client, AmiIngest(settings, Ledger(db.factory), batch=50), r.clock, flush_interval=0.05,
                           on_page_ack=lambda ack: acknowledge_voice_event(r.monitor, ack))
    task = asyncio.create_task(listener.run())
    try:
        await server.wait_for_logins(1)
        await wait_for(lambda: listener.status.get("last_snapshot") is not None)
        yield Desk(r, server, listener, alert, page_key)
    finally:
        await client.close()
        await task
        await server.stop()
        db.engine.dispose()


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


def user_event(alert_id: str, code: str, page_key: str, digit: str = "1") -> list[tuple[str, str]]:
    """What `UserEvent(HotlineAck,...)` in the page call's channel sends (Asterisk 22 field order)."""
    return event("UserEvent", ("Channel", "PJSIP/8001-00000042"), ("Uniqueid", "1795412999.42"),
                 ("Context", "hotline-page-ack"), ("Exten", "s"), ("UserEvent", "HotlineAck"),
                 ("AlertId", alert_id), ("Code", code), ("Digit", digit), ("PageKey", page_key))


async def send_and_settle(desk: Desk, packets: list[list[tuple[str, str]]]) -> None:
    seen = desk.listener.status["events"]
    await desk.server.feed(packets)
    await wait_for(lambda: desk.listener.status["events"] >= seen + len(packets))


async def test_voice_page_key_1_acknowledges_the_alert(desk: Desk) -> None:
    assert desk.alert.ack_code
    await send_and_settle(desk, [user_event(desk.alert.alert_id, desk.alert.ack_code, desk.page_key)])
    acked = desk.rig.monitor.alert(desk.alert.alert_id)
    assert acked.state is AlertState.ACKED and acked.acked_by == ZHANG.name
    assert [e.type for e in desk.rig.monitor.events(desk.alert.alert_id)][-1] == "ack"


async def test_wrong_code_or_key_is_ignored_and_logged(desk: Desk, caplog: pytest.LogCaptureFixture) -> None:
    assert desk.alert.ack_code
    wrong = "0000" if desk.alert.ack_code != "0000" else "1111"
    other_event = event("UserEvent", ("UserEvent", "SomethingElse"), ("AlertId", desk.alert.alert_id))
    with caplog.at_level(logging.WARNING, logger="hotline.runtime.listener"):
        await send_and_settle(desk, [user_event(desk.alert.alert_id, wrong, desk.page_key),
                                     user_event(desk.alert.alert_id, desk.alert.ack_code, desk.page_key, digit="2"),
                                     other_event])
    assert desk.rig.monitor.alert(desk.alert.alert_id).state is AlertState.OPEN
    ignored = [r.getMessage() for r in caplog.records if "voice page ack ignored" in r.getMessage()]
    assert len(ignored) == 2, caplog.text
    assert "the code does not match" in ignored[0] and desk.alert.alert_id in ignored[0]
    assert "press 1" in ignored[1]
    assert desk.alert.ack_code not in caplog.text  # the right code is never logged
