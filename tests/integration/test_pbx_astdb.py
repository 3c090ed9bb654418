"""The AstDB sync (`hotline.services.calls.pbx_sync`) against the real Asterisk 22: on-duty dial strings
and the working-day calendar land in its AstDB, a roster override changes only the first-line key, and
deleting keys that are not there is not refused pass after pass (Asterisk 22 answers DBDel of a missing
key with "Database entry could not be deleted", not the "not found" of older versions)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.domain.roster import Tier
from hotline.providers.asterisk.client import AmiClient
from hotline.services.calls.pbx_sync import PbxSync
from hotline.services.roster.service import RosterService
from hotline.store.base import make_engine, migrate, session_factory
from tests.integration.pbx import Pbx

pytestmark = pytest.mark.asterisk
TZ = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[2]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.fixture
def roster(tmp_path: Path, settings: Settings) -> Iterator[RosterService]:
    engine = make_engine(f"sqlite:///{tmp_path / 'roster.db'}")
    migrate(engine, "heads")
    service = RosterService(session_factory(engine), settings, ManualClock(at("2026-11-23 10:00"), TZ))
    service.load_example(ROOT / "config" / "roster.yaml", actor="周强")
    yield service
    engine.dispose()


@pytest.fixture
async def client(pbx: Pbx) -> AsyncIterator[AmiClient]:
    async with AmiClient(pbx.host, pbx.port, pbx.user, pbx.secret) as ami:
        yield ami
    pbx.cli("database deltree hotline")


async def test_astdb_sync_on_the_real_pbx_after_a_roster_override(
        pbx: Pbx, roster: RosterService, client: AmiClient, caplog: pytest.LogCaptureFixture) -> None:
    sync = PbxSync(roster, client.send_action, roster.clock, session=lambda: client.stats.logins)
    with caplog.at_level(logging.WARNING, logger="hotline.services.calls.pbx_sync"):
        first = await sync.sync(at("2026-11-23 14:00"))
        assert first.ok and not first.failed, first.failed[:3]
        assert pbx.db_show("hotline/onduty") == {"/hotline/onduty/first_line": "PJSIP/8003",
                                                 "/hotline/onduty/second_line": "PJSIP/8102",
                                                 "/hotline/onduty/manager": "PJSIP/8200"}
        assert pbx.db_show("hotline/calendar") == {}  # no holiday in the next 14 days: nothing to keep
        # 王芳 (first line) sees the doctor 14:30-15:30, 张伟 covers: only that key changes
        roster.add_override(Tier.FIRST_LINE, at("2026-11-23 14:30"), at("2026-11-23 15:30"), "王芳", "张伟", "看病",
                            "周强")
        covered = await sync.sync(at("2026-11-23 14:45"))
        assert [str(c) for c in covered.written] == ["hotline/onduty/first_line = PJSIP/8001"]
        assert pbx.db_get("hotline/onduty", "first_line") == "PJSIP/8001"
        back = await sync.sync(at("2026-11-23 15:30"))
        assert [str(c) for c in back.written] == ["hotline/onduty/first_line = PJSIP/8003"]
        again = await sync.sync(at("2026-11-23 15:31"))
    assert again.ok and again.written == [] and again.failed == []  # nothing sent: no DBDel refused each pass
    assert pbx.db_get("hotline/onduty", "first_line") == "PJSIP/8003"
    assert "refused" not in caplog.text
