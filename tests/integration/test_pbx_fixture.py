"""The session PBX fixture itself: the real Asterisk 22 answers on its free port, and a missing
../shared/asterisk skips the PBX tests, or fails them when HOTLINE_REQUIRE_ASTERISK=1 (CI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.providers.asterisk.client import AmiClient
from tests.integration import pbx as pbx_module
from tests.integration.pbx import Pbx

pytestmark = pytest.mark.asterisk


async def test_the_session_pbx_is_asterisk_22_on_its_own_port(pbx: Pbx) -> None:
    assert pbx.port != 5038
    async with AmiClient(pbx.host, pbx.port, pbx.user, pbx.secret) as client:
        await client.wait_connected(10)
        settings = await client.send_action("CoreSettings")
    assert settings.ok and settings.response["AsteriskVersion"].startswith("22.")
    assert (pbx.run_dir / "asterisk.pid").is_file()
    assert "hotline-in" in pbx.cli("dialplan show hotline-in")


@pytest.mark.parametrize("required", [False, True])
def test_missing_shared_asterisk_skips_or_fails_when_required(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, required: bool) -> None:
    monkeypatch.setattr(pbx_module, "ASTERISK", tmp_path / "no-such-folder")
    monkeypatch.setattr(pbx_module, "REQUIRED", required)
    outcome = pytest.fail.Exception if required else pytest.skip.Exception
    with pytest.raises(outcome, match="no-such-folder"):
        pbx_module.start_pbx(tmp_path / "run")
