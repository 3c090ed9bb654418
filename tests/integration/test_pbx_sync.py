"""The AstDB sync against the fake AMI server over real TCP, with a real AmiClient and the example roster
in a real database: on-duty dial strings, the working-day calendar, only changes sent, refusals retried,
a reconnect re-sends everything; the generated dialplan then takes the holiday branch from those keys."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hotline.clock import ManualClock
from hotline.config import ConfigError, Settings, settings_from_dict
from hotline.domain.roster import OnDuty, Person, Tier
from hotline.domain.windows import DayKind, WindowKind, WorkingCalendar
from hotline.providers.asterisk.client import AmiClient
from hotline.providers.asterisk.protocol import Packet
from hotline.providers.asterisk.sim.server import FakeAmiServer, Reply
from hotline.runtime.pbx_wiring import start_pbx_sync
from hotline.services.calls.pbx_sync import PbxSync, pbx_sync_config
from hotline.services.roster.service import RosterService
from hotline.store.base import make_engine, migrate, session_factory
from tests.integration.test_ivr_dialplan import Channel, dialplan, run

TZ = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[2]
SECRET = "Pbx-Sync-Secret-7"
FAST = {"ping_interval": 5.0, "ping_timeout": 2.0, "action_timeout": 2.0,
        "reconnect_initial": 0.02, "reconnect_max": 0.1}
ONDUTY = "hotline/onduty/"
CALENDAR = "hotline/calendar/"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@dataclass
class AstDb:
    """The PBX side: AstDB as Asterisk's DBPut / DBDel answer it, and keys whose writes it refuses."""

    keys: dict[str, str] = field(default_factory=dict)
    refuse: set[str] = field(default_factory=set)

    def put(self, action: Packet) -> Reply:
        path = f"{action['Family']}/{action['Key']}"
        if path in self.refuse:
            return [[("Response", "Error"), ("Message", "Failed to update entry")]]
        self.keys[path] = action.get("Val", "")
        return [[("Response", "Success"), ("Message", "Updated database successfully")]]

    def delete(self, action: Packet) -> Reply:
        path = f"{action['Family']}/{action['Key']}"
        if self.keys.pop(path, None) is None:
            return [[("Response", "Error"), ("Message", "Database entry not found")]]
        return [[("Response", "Success"), ("Message", "Key deleted successfully")]]

    def under(self, prefix: str) -> dict[str, str]:
        return {k.removeprefix(prefix): v for k, v in self.keys.items() if k.startswith(prefix)}


@dataclass
class Pbx:
    server: FakeAmiServer
    client: AmiClient
    db: AstDb

    def db_actions(self) -> list[tuple[str, str, str | None]]:
        """Every DBPut / DBDel the server received, on every connection: (action, family/key, value)."""
        return [(a["Action"], f"{a['Family']}/{a['Key']}", a.get("Val"))
                for conn in self.server.connections for a in conn.actions if a.get("Action") in ("DBPut", "DBDel")]


@pytest.fixture
def roster(db_url: str, settings: Settings) -> Iterator[RosterService]:
    engine = make_engine(db_url)
    migrate(engine, "heads")
    service = RosterService(session_factory(engine), settings, ManualClock(at("2026-11-23 10:00"), TZ))
    service.load_example(ROOT / "config" / "roster.yaml", actor="周强")  # seeds the 2026 calendar too
    yield service
    engine.dispose()


@pytest.fixture
async def pbx() -> AsyncIterator[Pbx]:
    db = AstDb()
    server = FakeAmiServer(secret=SECRET, actions={"DBPut": db.put, "DBDel": db.delete})
    await server.start()
    client = AmiClient("127.0.0.1", server.port, "hotline", SECRET, **FAST)  # type: ignore[arg-type]
    await client.connect(timeout=5)
    yield Pbx(server, client, db)
    await client.close()
    await server.stop()


def make_sync(roster: RosterService, pbx: Pbx, **kwargs: object) -> PbxSync:
    return PbxSync(roster, pbx.client.send_action, roster.clock, session=lambda: pbx.client.stats.logins,
                   **kwargs)  # type: ignore[arg-type]


def expected_onduty(roster: RosterService, moment: datetime) -> dict[str, str]:
    duty = roster.on_duty(moment)
    out = {t.value: "&".join(f"PJSIP/{p.extension}" for p in duty.tier(t) if p.extension) for t in Tier}
    return {k: v for k, v in out.items() if v}


async def test_on_duty_keys_match_the_roster(roster: RosterService, pbx: Pbx) -> None:
    report = await make_sync(roster, pbx).sync(at("2026-11-23 14:00"))
    assert report.ok and report.error is None and not report.failed
    # 王芳 first line, 杨磊 second line, 周强 manager; the vendor has no extension, so no key (the dialplan
    # goes straight on to its `next`), and the report says why.
    assert pbx.db.under(ONDUTY) == {"first_line": "PJSIP/8003", "second_line": "PJSIP/8102", "manager": "PJSIP/8200"}
    assert pbx.db.under(ONDUTY) == expected_onduty(roster, at("2026-11-23 14:00"))
    assert report.warnings == ["vendor: 新华三售后 has no field for PJSIP/{extension}; not dialled"]
    # No holiday or make-up day from 11-23 to 12-07: the 15 calendar keys are deleted (none existed).
    assert pbx.db.under(CALENDAR) == {}
    sent = pbx.db_actions()
    assert sorted(p for a, p, _ in sent if a == "DBDel" and p.startswith(CALENDAR)) == [
        f"{CALENDAR}{d:%Y%m%d}" for d in (date(2026, 11, 23) + timedelta(days=i) for i in range(15))]
    assert ("DBDel", f"{ONDUTY}vendor", None) in sent


async def test_national_day_and_make_up_working_day(roster: RosterService, pbx: Pbx) -> None:
    await make_sync(roster, pbx).sync(at("2026-09-26 10:00"))
    # 09-25..27 中秋节 (the 25th is before the window), 10-01..07 国庆节, 10-10 (a Saturday) 调休上班.
    holidays = ["20260926", "20260927", *(f"202610{d:02d}" for d in range(1, 8))]
    assert pbx.db.under(CALENDAR) == {**dict.fromkeys(holidays, "holiday"), "20261010": "workday"}
    cal = roster.calendar()  # the same as the calendar table says
    assert cal.is_holiday(date(2026, 10, 1)) and cal.is_adjusted_workday(date(2026, 10, 10))
    assert not cal.entry(date(2026, 10, 9)) and not cal.entry(date(2026, 9, 28))


async def test_new_year_entered_by_an_administrator(roster: RosterService, pbx: Pbx) -> None:
    sync = make_sync(roster, pbx)
    await sync.sync(at("2026-12-28 10:00"))
    assert pbx.db.under(CALENDAR) == {}  # 2027 is not published (chinesecalendar does not know it yet)
    roster.set_calendar_day(date(2027, 1, 1), DayKind.HOLIDAY, "元旦", "周强")
    before = len(pbx.db_actions())
    report = await sync.sync(at("2026-12-28 10:01"))
    assert [str(c) for c in report.written] == [f"{CALENDAR}20270101 = holiday"]
    assert pbx.db_actions()[before:] == [("DBPut", f"{CALENDAR}20270101", "holiday")]
    assert "20261231" not in pbx.db.under(CALENDAR)


async def test_second_sync_sends_nothing(roster: RosterService, pbx: Pbx) -> None:
    sync = make_sync(roster, pbx)
    await sync.sync(at("2026-11-23 14:00"))
    before = len(pbx.db_actions())
    report = await sync.sync(at("2026-11-23 14:01"))
    assert report.ok and report.written == []
    assert len(pbx.db_actions()) == before


async def test_shift_change_sends_only_the_changed_tier(roster: RosterService, pbx: Pbx) -> None:
    sync = make_sync(roster, pbx)
    await sync.sync(at("2026-11-23 14:00"))
    roster.add_override(Tier.FIRST_LINE, at("2026-11-23 14:30"), at("2026-11-23 15:30"), "王芳", "张伟", "看病", "周强")
    before = len(pbx.db_actions())
    await sync.sync(at("2026-11-23 14:30"))
    assert pbx.db_actions()[before:] == [("DBPut", f"{ONDUTY}first_line", "PJSIP/8001")]
    # 15:30 the override ends: first line back to 王芳, nothing else changes.
    before = len(pbx.db_actions())
    await sync.sync(at("2026-11-23 15:30"))
    assert pbx.db_actions()[before:] == [("DBPut", f"{ONDUTY}first_line", "PJSIP/8003")]
    # 17:00: the on-site shifts end; second line and manager have nobody, so their keys go.
    before = len(pbx.db_actions())
    await sync.sync(at("2026-11-23 17:00"))
    assert sorted(pbx.db_actions()[before:]) == [("DBDel", f"{ONDUTY}manager", None),
                                                 ("DBDel", f"{ONDUTY}second_line", None)]
    assert pbx.db.under(ONDUTY) == expected_onduty(roster, at("2026-11-23 17:00")) == {"first_line": "PJSIP/8003"}
    # 20:00 the night shift (张伟) takes over; after midnight one more day enters the calendar window.
    before = len(pbx.db_actions())
    await sync.sync(at("2026-11-24 00:01"))
    assert pbx.db_actions()[before:] == [("DBPut", f"{ONDUTY}first_line", "PJSIP/8001"),
                                         ("DBDel", f"{CALENDAR}20261208", None)]


async def test_refused_write_is_reported_and_retried(roster: RosterService, pbx: Pbx,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sync = make_sync(roster, pbx)
    pbx.db.refuse.add(f"{ONDUTY}first_line")
    report = await sync.sync(at("2026-11-23 14:00"))
    assert not report.ok
    assert [(c.path, why) for c, why in report.failed] == [(f"{ONDUTY}first_line", "Failed to update entry")]
    assert pbx.db.under(ONDUTY) == {"second_line": "PJSIP/8102", "manager": "PJSIP/8200"}
    assert "hotline/onduty/first_line" in caplog.text and "Failed to update entry" in caplog.text
    pbx.db.refuse.clear()
    before = len(pbx.db_actions())
    report = await sync.sync(at("2026-11-23 14:01"))
    assert report.ok
    assert pbx.db_actions()[before:] == [("DBPut", f"{ONDUTY}first_line", "PJSIP/8003")]
    assert SECRET not in caplog.text


async def test_reconnect_sends_everything_again(roster: RosterService, pbx: Pbx) -> None:
    sync = make_sync(roster, pbx)
    first = await sync.sync(at("2026-11-23 14:00"))
    pbx.server.connections[0].close()  # the PBX drops the connection; the client logs in again
    await pbx.server.wait_for_logins(2)
    await pbx.client.wait_connected(5)
    report = await sync.sync(at("2026-11-23 14:01"))
    assert report.resent and report.ok
    assert [str(c) for c in report.written] == [str(c) for c in first.written]
    assert [a.get("Action") for a in pbx.server.connections[1].actions].count("DBPut") == 3


async def test_not_connected_is_reported_not_raised(roster: RosterService, caplog: pytest.LogCaptureFixture) -> None:
    client = AmiClient("127.0.0.1", 9, "hotline", SECRET)  # never started
    sync = PbxSync(roster, client.send_action, roster.clock)
    report = await sync.sync(at("2026-11-23 14:00"))
    assert report.error is not None and "AmiNotConnected" in report.error and "DBPut" in report.error
    assert len(report.unsent) == 4 + 15 and not report.written
    assert "retried at the next sync" in caplog.text and SECRET not in caplog.text


async def test_run_loop_syncs_until_stopped(roster: RosterService, pbx: Pbx) -> None:
    sync = make_sync(roster, pbx)
    stop = asyncio.Event()
    task = asyncio.create_task(sync.run(0.05, stop))
    await pbx.server.wait_until(lambda: len(pbx.db_actions()) >= 3 + 1 + 15)
    roster.add_override(Tier.MANAGER, at("2026-11-23 09:00"), at("2026-11-23 17:00"), "周强", "陈静", "出差", "周强")
    await pbx.server.wait_until(lambda: pbx.db.keys.get(f"{ONDUTY}manager") == "PJSIP/8101")
    stop.set()
    await asyncio.wait_for(task, 2)


async def test_start_pbx_sync_as_serve_calls_it(roster: RosterService, pbx: Pbx) -> None:
    clock = ManualClock(at("2026-11-23 14:00"), TZ)
    task = start_pbx_sync(roster.settings, roster.factory, pbx.client, clock, interval=0.05)
    await pbx.server.wait_until(lambda: pbx.db.under(ONDUTY) == expected_onduty(roster, clock.now()))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_holiday_branch_of_the_generated_dialplan(roster: RosterService, pbx: Pbx) -> None:
    """The walker's STRFTIME is 20261001: after a sync on National Day the caller hears the holiday
    greeting and, pressing 1, is put through to the holiday roster's first-line engineer (刘洋, 8004)."""
    await make_sync(roster, pbx).sync(at("2026-10-01 10:00"))
    assert roster.classify(at("2026-10-01 10:00")) is WindowKind.HOLIDAY
    ch = run(dialplan(), "hotline-default", Channel(digits=["1"], db=dict(pbx.db.keys), dial_status="ANSWER"))
    assert ch.variables["HOTLINE_WINDOW"] == "holiday"
    assert ch.heard[0] == "hotline/default-holiday"
    assert pbx.db.keys[f"{ONDUTY}first_line"] == "PJSIP/8004"
    assert ch.variables["HOTLINE_DAY"] == "holiday"  # read from hotline/calendar/20261001
    assert ch.ended == "Dial(PJSIP/8004,40)" and ch.variables["HOTLINE_SPECIALTY"] == "network"


# --- without the PBX: dial strings and configuration ------------------------------------------------------


@dataclass
class TwoOnDuty:
    """A roster where two first-line engineers share the shift."""

    tz: ZoneInfo = TZ

    def on_duty(self, at: datetime, specialty: str | None = None) -> OnDuty:
        two = (Person("张伟", extension="8001"), Person("李娜", extension="8002"))
        return OnDuty(at, WindowKind.ONSITE, first_line=two, vendor=(Person("新华三售后", mobile="4008100000"),))

    def calendar(self) -> WorkingCalendar:
        return WorkingCalendar()


async def test_several_people_ring_together_and_templates_fall_back() -> None:
    sent: list[tuple[str, list[tuple[str, str]]]] = []

    @dataclass
    class Ok:
        ok: bool = True
        message: str | None = None

    async def send(action: str, headers: list[tuple[str, str]]) -> Ok:
        sent.append((action, headers))
        return Ok()

    sync = PbxSync(TwoOnDuty(), send, ManualClock(at("2026-11-23 10:00"), TZ),
                   dial_template=["PJSIP/{extension}", "Local/{mobile}@pstn/n"], days_ahead=0)
    report = await sync.sync(at("2026-11-23 10:00"))
    assert report.ok and report.warnings == []
    puts = {dict(h)["Key"]: dict(h)["Val"] for a, h in sent if a == "DBPut"}
    assert puts == {"first_line": "PJSIP/8001&PJSIP/8002", "vendor": "Local/4008100000@pstn/n"}
    assert sorted(dict(h)["Key"] for a, h in sent if a == "DBDel") == ["20261123", "manager", "second_line"]


def test_config_defaults_and_values() -> None:
    assert pbx_sync_config(settings_from_dict({})).dial_templates == ("PJSIP/{extension}",)
    assert pbx_sync_config(settings_from_dict({})).days_ahead == 14
    config = pbx_sync_config(settings_from_dict(
        {"ivr": {"pbx_dial_template": "Local/{extension}@staff-phones", "sync_days_ahead": 30}}))
    assert (config.dial_templates, config.days_ahead) == (("Local/{extension}@staff-phones",), 30)


@pytest.mark.parametrize(("ivr", "key", "words"), [
    ({"pbx_dial_template": "PJSIP/{ext}"}, "ivr.pbx_dial_template", "person fields"),
    ({"pbx_dial_template": "PJSIP/8001"}, "ivr.pbx_dial_template", "person fields"),
    ({"pbx_dial_template": "PJSIP/{extension},30"}, "ivr.pbx_dial_template", "must not contain"),
    ({"pbx_dial_template": "PJSIP/{extension"}, "ivr.pbx_dial_template", "not a valid template"),
    ({"sync_days_ahead": -1}, "ivr.sync_days_ahead", "0 to 366"),
    ({"sync_days_ahead": "14"}, "ivr.sync_days_ahead", "whole number"),
])
def test_config_errors_name_the_key(ivr: dict[str, object], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as e:
        pbx_sync_config(settings_from_dict({"ivr": ivr}, source="config/hotline.toml"))
    assert f"[{key}]" in str(e.value) and words in str(e.value) and "config/hotline.toml" in str(e.value)
