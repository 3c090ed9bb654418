"""The AMI account of docs/asterisk.md (`manager_account.manager_conf`), dropped into the real PBX's
manager.d with exactly those rights, is enough for everything hotline does: the listener's snapshot and
call events, the AstDB sync, a voice page (Originate) and its keypad acknowledgement (UserEvent). The
rights the README used to give (read call,agent,cdr,dialplan; write system,call,reporting) are not."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from hotline.clock import SystemClock
from hotline.config import Settings
from hotline.domain.alerts import AlertState
from hotline.providers.asterisk.client import AmiClient
from hotline.providers.asterisk.manager_account import READ, WRITE, manager_conf
from hotline.runtime.assembly import AmiIngest, open_database, tracker_config
from hotline.runtime.listener import AmiListener
from hotline.services.calls.ledger import Ledger
from hotline.store.calls import CallRow
from tests.integration.pbx import ASTERISK, Pbx
from tests.integration.test_pbx_pages import page_desk, wait_for_state

pytestmark = pytest.mark.asterisk
SITE = ("hotline-site", "Site-Secret-42")


@pytest.fixture
def site_account(pbx_installed: Pbx) -> Iterator[tuple[str, str]]:
    """hotline's documented account, as a site would add it, plus the README's old one for comparison."""
    pbx = pbx_installed
    pbx.drop_in("manager.d", "hotline-site.conf",
                manager_conf(SITE[0], permit="127.0.0.1/255.255.255.255", secret=SITE[1]))
    pbx.drop_in("manager.d", "hotline-doc.conf", (ASTERISK / "conf" / "manager_extra.conf").read_text())
    pbx.cli("manager reload")
    yield SITE
    for name in ("hotline-site.conf", "hotline-doc.conf"):
        (pbx.etc / "manager.d" / name).unlink()
    pbx.cli("manager reload")


def test_the_documented_rights_are_the_ones_the_pbx_shows(pbx: Pbx, site_account: tuple[str, str]) -> None:
    shown = dict(line.strip().split(": ", 1) for line in pbx.cli(f"manager show user {site_account[0]}").splitlines()
                 if ": " in line and "perm" in line)
    assert set(shown["read perm"].split(",")) == set(READ)
    assert set(shown["write perm"].split(",")) == set(WRITE) == {"system", "originate"}


async def test_snapshot_astdb_and_call_events_with_the_documented_account(
        pbx: Pbx, site_account: tuple[str, str], settings: Settings, tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'h.db'}")
    client = AmiClient(pbx.host, pbx.port, *site_account, ping_interval=5.0,
                       raw_only=tracker_config(settings).raw_only())
    listener = AmiListener(client, AmiIngest(settings, Ledger(db.factory), batch=10), SystemClock(settings.tz),
                           flush_interval=0.1)
    task = asyncio.create_task(listener.run())
    lab = pbx.lab()
    try:
        await client.wait_connected(10)
        async with asyncio.timeout(10):
            while listener.status.get("last_snapshot") is None:  # CoreShowChannels + QueueStatus answered
                await asyncio.sleep(0.05)
        for action, headers in (("DBPut", [("Family", "hotline-perm"), ("Key", "k"), ("Val", "v")]),
                                ("DBGet", [("Family", "hotline-perm"), ("Key", "k")]),
                                ("DBDel", [("Family", "hotline-perm"), ("Key", "k")])):
            reply = await client.send_action(action, headers)
            assert reply.ok, (action, reply.message)
        call = lab.q_answer("c1", 0, "13800138004", "Chen Jing", "1", "agent1", 1, 2, "caller")
        await asyncio.to_thread(lab.run_scenario, "perm", str(tmp_path), [call], None, 1.0)
        async with asyncio.timeout(10):
            while True:
                with db.factory() as s:
                    rows = s.scalars(select(CallRow).where(CallRow.ended_at.is_not(None))).all()
                if rows:
                    break
                await asyncio.sleep(0.1)
    finally:
        await client.close()
        await task
    [row] = rows
    assert (row.caller, row.outcome, row.answered_by, row.queue) == ("13800138004", "answered", "agent1", "network")


async def test_voice_page_and_key_1_with_the_documented_account(
        pbx_installed: Pbx, site_account: tuple[str, str], settings: Settings, tmp_path: Path) -> None:
    async with page_desk(pbx_installed, settings, tmp_path, "8104", "ack", account=site_account) as desk:
        [delivered] = await desk.deliver()
        assert delivered.ok, delivered
        acked = await wait_for_state(desk, AlertState.ACKED)  # the UserEvent reached the listener
    assert acked.acked_by == "李娜"


async def test_the_old_readme_rights_cannot_originate(pbx: Pbx, site_account: tuple[str, str]) -> None:
    async with AmiClient(pbx.host, pbx.port, "hotline-doc", "hotline-doc-secret") as client:
        result, outcome = await client.originate(
            [("Channel", "Local/8105@lab-page-phones/n"), ("Context", "hotline-page-ack"), ("Exten", "s"),
             ("Priority", "1"), ("Timeout", "3000"), ("Async", "true")], tag="page-perm")
    assert not result.ok and outcome is None and result.message == "Permission denied"
