"""Plain fakes for the monitor tests: a roster of shifts, a recording page sender, calls."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hotline.clock import ManualClock
from hotline.domain.calls import Call, Direction
from hotline.paging.base import Page, Recipient, SendResult
from hotline.services.monitor.engine import MonitorOptions, MonitorService
from hotline.services.monitor.outbox import Outbox
from hotline.services.monitor.rule_files import load_rules
from hotline.store.base import make_engine, migrate, session_factory
from tests.conftest import ROOT

TZ = ZoneInfo("Asia/Shanghai")
MIN = timedelta(minutes=1)
# The fixtures' day: Monday 2026-11-23, on-site hours.
T0 = datetime(2026, 11, 23, 13, 48, 35, tzinfo=TZ)

ZHANG = Recipient("张伟", mobile="13900000001", channels=("sms",))
LI = Recipient("李娜", mobile="13900000002", channels=("sms", "voice"))
WANG = Recipient("王强", mobile="13900000003", channels=("wecom",))
CHEN = Recipient("陈静", mobile="13900000004")
ZHAO = Recipient("赵敏", mobile="13900000005", channels=("voice",))


@dataclass
class FakeRoster:
    """Shifts as (tier, person, start, end); on-site 08:30-17:30 on weekdays; holidays by date."""

    shifts: list[tuple[str, Recipient, datetime, datetime]] = field(default_factory=list)
    holidays: set[date] = field(default_factory=set)

    def add(self, tier: str, person: Recipient, start: datetime, end: datetime) -> FakeRoster:
        self.shifts.append((tier, person, start, end))
        return self

    def people(self, at: datetime, tier: str, specialty: str | None = None) -> Sequence[Recipient]:
        return [p for t, p, s, e in self.shifts if t == tier and s <= at < e]

    def classify(self, at: datetime) -> str:
        local = at.astimezone(TZ)
        if local.date() in self.holidays:
            return "holiday"
        if local.weekday() < 5 and time(8, 30) <= local.time() < time(17, 30):
            return "onsite"
        return "remote"


def day_roster() -> FakeRoster:
    """First line 张伟 all day; second line 李娜 until T0+7min then 王强 (shift change); manager 陈静."""
    far_past, far_future = T0 - timedelta(days=30), T0 + timedelta(days=30)
    return (FakeRoster()
            .add("first_line", ZHANG, far_past, far_future)
            .add("second_line", LI, far_past, T0 + 7 * MIN)
            .add("second_line", WANG, T0 + 7 * MIN, far_future)
            .add("manager", CHEN, far_past, far_future))


class RecordingSender:
    """Delivers nothing; remembers every page (and can fail a channel)."""

    def __init__(self, failing: frozenset[str] = frozenset()) -> None:
        self.sent: list[tuple[Page, tuple[str, ...]]] = []
        self.failing = failing

    async def deliver(self, page: Page, order: Sequence[str] | None = None) -> list[SendResult]:
        channels = tuple(order or ("default",))
        self.sent.append((page, channels))
        if channels[0] in self.failing:
            return [SendResult(ok=False, channel=channels[0], error="boom", retryable=True)]
        return [SendResult(ok=True, channel=channels[0], provider_id=f"id-{len(self.sent)}")]

    @property
    def keys(self) -> list[str]:
        return [p.key for p, _ in self.sent]


def missed(caller: str, at: datetime, call_id: str = "m1", specialty: str | None = "network") -> Call:
    """An inbound call abandoned in the queue, ending at `at`."""
    start = at - timedelta(seconds=10)
    return Call(call_id, "asterisk", Direction.INBOUND, start, caller=caller, called="4008001234", queue="network",
                specialty=specialty, staff_reached_at=start + timedelta(seconds=4), hangup_at=at, ended_at=at)


def answered(caller: str, called: str, at: datetime, direction: Direction, call_id: str = "a1") -> Call:
    """An answered call (callback when outbound), answered at `at`, ending a minute later."""
    return Call(call_id, "asterisk", direction, at - timedelta(seconds=5), caller=caller, called=called,
                staff_reached_at=at - timedelta(seconds=4), answered_at=at, answered_by="agent1",
                ended_at=at + MIN)


@dataclass
class Rig:
    monitor: MonitorService
    outbox: Outbox
    clock: ManualClock
    roster: FakeRoster

    def dispose(self) -> None:
        self.monitor.factory.kw["bind"].dispose()


def rig(db_url: str, roster: FakeRoster | None = None, start: datetime = T0, *,
        clock: ManualClock | None = None, upgrade: bool = True) -> Rig:
    engine = make_engine(db_url)
    if upgrade:
        migrate(engine)
    factory = session_factory(engine)
    clock = clock or ManualClock(start, TZ)
    roster = roster or day_roster()
    monitor = MonitorService(factory, load_rules(ROOT / "monitors"), roster, clock, options=MonitorOptions(tz=TZ))
    return Rig(monitor, Outbox(factory, clock), clock, roster)
