"""`hotline ivr pbx --out DIR` writes everything a site installs on its Asterisk; installed as docs/asterisk.md
says (the AMI account with its secret and host filled in), the real PBX loads it without a warning."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hotline.providers.asterisk.client import AmiClient
from tests.integration.pbx import Pbx, hotline_cli

pytestmark = pytest.mark.asterisk
USER, SECRET = "hotline-installed", "Installed-Secret-9"


@pytest.fixture
def installed(pbx_installed: Pbx, tmp_path: Path) -> Iterator[Pbx]:
    pbx = pbx_installed
    out = tmp_path / "pbx"
    printed = hotline_cli("ivr", "pbx", "--out", str(out), env={"HOTLINE_AMI_USERNAME": USER})
    assert "5 files" in printed
    ack = pbx.etc / "extensions.d" / "hotline-page-ack.conf"
    ack_text = ack.read_text(encoding="utf-8")
    ack.unlink()  # extensions_hotline.conf has the ack context too
    manager = (out / "manager_hotline.conf").read_text(encoding="utf-8")
    pbx.drop_in("manager.d", "hotline.conf", manager.replace("change-me", SECRET).replace(
        "10.0.0.5/255.255.255.255", "127.0.0.1/255.255.255.255"))
    pbx.drop_in("extensions.d", "hotline.conf", (out / "extensions_hotline.conf").read_text(encoding="utf-8"))
    pbx.drop_in("queues.d", "hotline.conf", (out / "queues_hotline.conf").read_text(encoding="utf-8"))
    (pbx.etc / "voicemail.conf").write_text("[general]\nformat = wav\n\n" + (out / "voicemail_hotline.conf")
                                            .read_text(encoding="utf-8"), encoding="utf-8")
    try:
        yield pbx
    finally:
        for path in (pbx.etc / "manager.d" / "hotline.conf", pbx.etc / "extensions.d" / "hotline.conf",
                     pbx.etc / "queues.d" / "hotline.conf", pbx.etc / "voicemail.conf"):
            path.unlink(missing_ok=True)
        pbx.drop_in("extensions.d", "hotline-page-ack.conf", ack_text)
        for command in ("manager reload", "dialplan reload", "module reload app_queue.so"):
            pbx.cli(command)


async def test_everything_hotline_ivr_pbx_prints_loads_on_the_real_pbx(installed: Pbx) -> None:
    pbx = installed
    seen = pbx.messages_log.stat().st_size
    for command in ("manager reload", "dialplan reload", "module reload app_queue.so",
                    "module reload app_voicemail.so"):
        pbx.cli(command)
    with pbx.messages_log.open("rb") as log:
        log.seek(seen)
        new = log.read().decode("utf-8", "replace")
    assert [line for line in new.splitlines() if "WARNING" in line or "ERROR" in line] == []
    for context in ("hotline-page-ack", "hotline-default", "hotline-default-window", "hotline-survey"):
        assert f"'{context}'" in pbx.cli(f"dialplan show {context}")
    assert "hotline => " in (pbx.etc / "voicemail.conf").read_text(encoding="utf-8")
    assert "hotline" in pbx.cli("voicemail show users for default")
    async with AmiClient(pbx.host, pbx.port, USER, SECRET) as client:
        reply = await client.send_action("CoreShowChannels")
    assert reply.ok
