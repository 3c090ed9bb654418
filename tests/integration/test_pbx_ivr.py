"""The rendered IVR (`hotline ivr render --target asterisk` of ivr_scripts/default.yaml, with its queues
and voicemail files) loaded into the real Asterisk, driven by `ivr_check.py`'s caller (`ivr-caller`):
the service window from the clock and from the AstDB calendar (on-site hours end BEFORE their end
minute, as hotline's windows do), menu keys and invalid keys as the live listener records them, the
queues' `(+)` include and a voicemail message left in the rendered mailbox."""

from __future__ import annotations

import asyncio
import time
import wave
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from hotline.cli.ivr import ivr_context
from hotline.clock import SystemClock
from hotline.config import Settings
from hotline.ivr.dialplan import render_dialplan
from hotline.ivr.loader import load_script
from hotline.ivr.model import Script, Voicemail
from hotline.providers.asterisk.client import AmiClient
from hotline.runtime.assembly import AmiIngest, open_database, tracker_config
from hotline.runtime.listener import AmiListener
from hotline.services.calls.ledger import Ledger
from hotline.store.calls import CallRow
from tests.integration.pbx import ROOT, Pbx

pytestmark = pytest.mark.asterisk
TZ = ZoneInfo("Asia/Shanghai")
DUTY = "Local/8003@lab-duty-phones/n"
Install = Callable[..., None]


def default_script(voicemail_seconds: int | None = None) -> Script:
    script = load_script(ROOT / "ivr_scripts" / "default.yaml")
    if voicemail_seconds is None:
        return script
    nodes = {k: replace(n, max_length=voicemail_seconds) if isinstance(n, Voicemail) else n
             for k, n in script.nodes.items()}
    return replace(script, nodes=nodes)


@pytest.fixture
def install(pbx_installed: Pbx, settings: Settings) -> Iterator[Install]:
    """Render default.yaml (on-site hours and days given) into the PBX: extensions.d, queues.d, voicemail.conf."""
    pbx = pbx_installed
    ctx = ivr_context(settings)

    def put(onsite_hours: str = "09:00-17:00", onsite_days: str = "mon-sat", voicemail_seconds: int | None = None,
            ) -> None:
        rendering = render_dialplan(default_script(voicemail_seconds),
                                    replace(ctx, onsite_hours=onsite_hours, onsite_days=onsite_days))
        pbx.drop_in("extensions.d", "hotline-ivr.conf", rendering.extensions_conf)
        pbx.drop_in("queues.d", "hotline-queues.conf", rendering.queues_conf)
        (pbx.etc / "voicemail.conf").write_text("[general]\nformat = wav\n\n" + rendering.voicemail_conf,
                                                encoding="utf-8")
        pbx.cli("dialplan reload")
        pbx.cli("module reload app_queue.so")
        pbx.cli("module reload app_voicemail.so")

    pbx.db_put("hotline/onduty", "first_line", DUTY)
    yield put
    for path in (pbx.etc / "extensions.d" / "hotline-ivr.conf", pbx.etc / "queues.d" / "hotline-queues.conf",
                 pbx.etc / "voicemail.conf"):
        path.unlink(missing_ok=True)
    pbx.cli("dialplan reload")
    pbx.cli("module reload app_queue.so")
    pbx.cli("database deltree hotline")


Step = tuple[str, dict[str, Any], Callable[[], object] | None]


def run_calls(pbx: Pbx, steps: Sequence[Step], gap: float = 1.0) -> dict[str, dict[str, Any]]:
    """Place each ivr_check case (after running its set-up step), record AMI, analyse each call's path."""
    check, lab = pbx.ivr_check(), pbx.lab()
    rec = lab.RawConn()
    rec.login(events="on")
    ctl = lab.RawConn()
    ctl.login(events="off", actionid="ctl-login")
    for name, case, before in steps:
        if before is not None:
            before()
        check.originate(ctl, name, case)
        time.sleep(gap)
    lab.wait_idle(ctl, timeout=120, settle=1.0)
    ctl.logoff("ctl-logoff")
    rec.logoff("logoff")
    msgs = lab.parse_messages(bytes(rec.raw))
    return {name: check.analyse(msgs, name, case) for name, case, _ in steps}


def test_window_ends_before_the_end_minute_and_holidays_come_from_astdb(pbx_installed: Pbx, install: Install) -> None:
    pbx, check = pbx_installed, pbx_installed.ivr_check()
    now = datetime.now(TZ)
    if now.second > 50 or (now.hour, now.minute) == (0, 0):
        time.sleep(61 - now.second)  # all steps below run within this minute
    minute = datetime.now(TZ).replace(second=0, microsecond=0)
    start = max(minute - timedelta(hours=2), minute.replace(hour=0, minute=0))
    today = minute.strftime("%Y%m%d")

    def make_up_day() -> None:
        not_today = "tue-tue" if minute.weekday() == 0 else "mon-mon"
        install(f"{start:%H:%M}-{minute + timedelta(minutes=2):%H:%M}", not_today)
        pbx.db_put("hotline/calendar", today, "workday")

    steps: list[Step] = [
        # on-site hours ending at this very minute: hotline says remote now (17:00 is not on-site)
        ("ends_now", check.case("13910000021", [], 2, window=""),
         lambda: install(f"{start:%H:%M}-{minute:%H:%M}", "*")),
        ("ends_later", check.case("13910000022", [], 2, window=""),
         lambda: install(f"{start:%H:%M}-{minute + timedelta(minutes=2):%H:%M}", "*")),
        # the same on-site hours, but AstDB hotline/calendar/<today> says holiday (written by the PBX sync)
        ("holiday", check.case("13910000023", [], 2, window=""),
         lambda: pbx.db_put("hotline/calendar", today, "holiday")),
        # on-site days exclude today, but today is a make-up working day (调休上班) in the calendar
        ("workday", check.case("13910000024", [], 2, window=""), make_up_day),
    ]
    results = run_calls(pbx, steps, gap=0.5)
    assert datetime.now(TZ) - minute < timedelta(minutes=1, seconds=30)
    assert {name: r.get("window") for name, r in results.items()} == {
        "ends_now": "remote", "ends_later": "onsite", "holiday": "holiday", "workday": "onsite"}, results


async def test_menu_keys_and_invalid_keys_in_the_ledger(
        pbx_installed: Pbx, install: Install, settings: Settings, tmp_path: Path) -> None:
    pbx, check = pbx_installed, pbx_installed.ivr_check()
    install()
    cases = check.cases()
    steps: list[Step] = [(name, cases[name], None) for name in ("onsite_1_network", "onsite_invalid_then_1",
                                                     "onsite_invalid_x3_duty")]
    db = open_database(f"sqlite:///{tmp_path / 'h.db'}")
    client = AmiClient(pbx.host, pbx.port, pbx.user, pbx.secret, raw_only=tracker_config(settings).raw_only())
    listener = AmiListener(client, AmiIngest(settings, Ledger(db.factory), batch=10), SystemClock(settings.tz),
                           flush_interval=0.1)
    task = asyncio.create_task(listener.run())
    try:
        await client.wait_connected(10)
        results = await asyncio.to_thread(run_calls, pbx, steps)
        async with asyncio.timeout(10):
            while True:
                with db.factory() as s:
                    rows = {r.caller: r for r in s.scalars(select(CallRow).where(CallRow.ended_at.is_not(None)))}
                if len(rows) >= len(steps):
                    break
                await asyncio.sleep(0.1)
    finally:
        await client.close()
        await task
    assert all(not r.get("error") and not r["mismatch"] for r in results.values()), results
    got = {name: (rows[c["number"]].menu, rows[c["number"]].specialty, rows[c["number"]].queue,
                  rows[c["number"]].outcome) for name, c, _ in steps}
    assert got == {"onsite_1_network": ("1", "network", "network", "answered"),
                   "onsite_invalid_then_1": ("1", "network", "network", "answered"),
                   # three wrong keys (7) and on to the first-line duty phone: no menu choice was made
                   "onsite_invalid_x3_duty": (None, None, None, "answered")}


def test_queues_include_and_voicemail_mailbox(pbx_installed: Pbx, install: Install) -> None:
    pbx = pbx_installed
    seen = pbx.messages_log.stat().st_size
    install(voicemail_seconds=3)
    with pbx.messages_log.open("rb") as log:
        log.seek(seen)
        new = log.read().decode("utf-8", "replace")
    assert [line for line in new.splitlines() if "WARNING" in line or "ERROR" in line] == []
    for queue, members in (("network", ("agent1", "agent2")), ("servers", ("agent1", "agent2", "agent3"))):
        shown = pbx.cli(f"queue show {queue}")  # the lab's queue keeps its members: (+) adds, does not replace
        assert all(f"Local/{m}@agents/n" in shown for m in members), shown
    prompt = pbx.sounds / "hotline" / "default-voicemail.wav"
    with wave.open(str(prompt)) as w:
        prompt_seconds = w.getnframes() / w.getframerate()
    en = pbx.sounds / "hotline" / "default-voicemail-en.wav"
    with wave.open(str(en)) as w:
        prompt_seconds += w.getnframes() / w.getframerate()
    lab = pbx.lab()
    ctl = lab.RawConn()
    ctl.login(events="off", actionid="vm-login")
    ctl.send([("Action", "Originate"), ("Channel", "Local/s@hotline-default-voicemail"), ("Context", "ivr-caller"),
              ("Exten", "s"), ("Priority", "1"), ("CallerID", '"王芳" <13800138006>'), ("Timeout", "10000"),
              ("Async", "true"), ("Variable", f"HOLD={prompt_seconds + 3:.1f}"), ("ActionID", "vm-1")])
    lab.wait_idle(ctl, timeout=60, settle=0.5)
    ctl.logoff("vm-logoff")
    [info] = (pbx.run_dir / "var" / "spool" / "asterisk" / "voicemail" / "default" / "hotline" / "INBOX").glob(
        "msg*.txt")
    fields = dict(line.split("=", 1) for line in info.read_text(errors="replace").splitlines() if "=" in line)
    assert fields["callerid"] == '"王芳" <13800138006>' and fields["context"] == "hotline-default-voicemail"
    # the node's max_length is the mailbox's maxsecs (Local channels carry no audio: Asterisk records a
    # 0-second message here, so the limit itself cannot be heard on this PBX)
    assert "hotline => CHANGE-PIN,热线留言 Hotline voicemail,,,maxsecs=3" in (pbx.etc / "voicemail.conf").read_text()
