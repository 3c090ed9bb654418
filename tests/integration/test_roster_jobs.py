"""The roster notices as scheduled jobs, on a real database (SQLite, and PostgreSQL when configured), the
example desk file and a manual clock: the 今日值班 post, shift-start reminders, the managers' page, all
exactly once through the paging outbox, also across a restart (a fresh `RosterJobs` on the same database)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.clock import ManualClock
from hotline.config import ConfigError, Settings
from hotline.domain.roster import Tier
from hotline.paging.base import Page, SendResult
from hotline.paging.dispatcher import Dispatcher
from hotline.paging.registry import build_channels, build_dispatcher
from hotline.runtime.scheduler import ROSTER_JOB, start_roster_jobs
from hotline.services.monitor.outbox import Outbox
from hotline.services.roster.config import roster_config
from hotline.services.roster.jobs import DESK_GROUP, RosterJobs, RosterRun, post_channel
from hotline.services.roster.service import RosterError, RosterService
from hotline.store.alerts import OutboxRow
from hotline.store.base import make_engine, migrate, session_factory

TZ = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[2]
CHANNELS = ("wecom", "dingtalk", "feishu", "aliyun_sms", "asterisk_call", "sms", "voice")
HOLE = "2026-06-21 08:00 – 06-22 08:00 一线无人值班 / no First line（节假日 / holiday）"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@dataclass
class RecordingChannel:
    """A paging channel that keeps what it was given and always succeeds."""

    name: str
    sent: list[tuple[str, Page]]

    async def send(self, page: Page) -> SendResult:
        self.sent.append((self.name, page))
        return SendResult(ok=True, channel=self.name, provider_id=f"fake:{page.key}")


async def no_sleep(seconds: float) -> None:
    return None


@dataclass
class Desk:
    """The example roster in a database, a manual clock and every page the fake channels got."""

    factory: sessionmaker[Session]
    settings: Settings
    clock: ManualClock
    sent: list[tuple[str, Page]] = field(default_factory=list)

    def service(self) -> RosterService:
        return RosterService(self.factory, self.settings, self.clock)

    def jobs(self, channel: str | None = "wecom") -> RosterJobs:
        """A freshly started process: it remembers nothing, the database remembers everything."""
        dispatcher = Dispatcher({n: RecordingChannel(n, self.sent) for n in CHANNELS}, ("sms",), sleep=no_sleep)
        return RosterJobs(self.service(), Outbox(self.factory, self.clock), dispatcher, post_channel=channel)

    async def run(self, jobs: RosterJobs, moment: str) -> RosterRun:
        self.clock.set(at(moment))
        assert self.clock.now() == at(moment)
        return await jobs.run_due()

    def got(self, prefix: str) -> list[tuple[str, Page]]:
        return [(channel, page) for channel, page in self.sent if page.key.startswith(prefix)]

    def outbox_keys(self, prefix: str) -> list[str]:
        with self.factory() as s:
            return sorted(k for k in s.scalars(select(OutboxRow.key)) if k.startswith(prefix))


def queued(run: RosterRun, prefix: str) -> list[str]:
    """The keys a run newly decided into the outbox, of one kind."""
    return [k for k in run.queued if k.startswith(prefix)]


@pytest.fixture
def open_desk(db_url: str, settings: Settings) -> Iterator[Callable[[str], Desk]]:
    """`open_desk("2026-11-23 08:00")`: a fresh database with config/roster.yaml loaded at that time."""
    engine = make_engine(db_url)
    migrate(engine, "heads")

    def start(moment: str) -> Desk:
        desk = Desk(session_factory(engine), settings, ManualClock(at(moment), TZ))
        desk.service().load_example(ROOT / "config" / "roster.yaml", actor="周强")
        return desk

    yield start
    engine.dispose()


async def test_today_post_at_0830_per_tier_once_and_caught_up_only_for_today(open_desk: Callable[[str], Desk]) -> None:
    desk = open_desk("2026-11-23 08:00")
    jobs = desk.jobs()
    await desk.run(jobs, "2026-11-23 08:29")
    assert desk.got("roster-today") == []
    run = await desk.run(jobs, "2026-11-23 08:30")
    assert queued(run, "roster-today") == ["roster-today:2026-11-23"]
    [(channel, post)] = desk.got("roster-today")
    assert channel == "wecom" and post.recipient == DESK_GROUP and post.subject == "今日值班 / On duty today"
    # week 47 of the rotations (anchor 2026-01-05): 王芳 days, 张伟 nights, 杨磊 second line, 周强 manager
    lines = post.text.splitlines()
    assert lines[:5] == [
        "今日值班 2026-11-23（周一） / On duty today",
        "一线 First line: 王芳 08:00–20:00 13800138003；张伟 20:00–08:00 13800138001",
        "二线 Second line: 杨磊 09:00–17:00 13900139006",
        "项目经理 Manager: 周强 09:00–17:00 13700137008",
        "厂商 Vendor: 新华三售后 00:00–00:00 4008100000",
    ]
    assert len(lines) == 6 and lines[5].startswith("⚠ 2027 年的法定节假日")  # next year not entered yet

    await desk.run(jobs, "2026-11-23 08:31")
    assert queued(await desk.run(desk.jobs(), "2026-11-23 10:00"), "roster-today") == []  # restarted: not posted again
    # down over 08:30 of the next day: posted once at start, not again after one more restart
    assert queued(await desk.run(desk.jobs(), "2026-11-24 10:00"), "roster-today") == ["roster-today:2026-11-24"]
    await desk.run(desk.jobs(), "2026-11-24 10:05")
    # down from 11-24 10:05 to 11-27 08:00: the missed 11-25 and 11-26 posts are not sent
    jobs = desk.jobs()
    await desk.run(jobs, "2026-11-27 08:00")
    await desk.run(jobs, "2026-11-27 08:30")
    assert [p.key for _, p in desk.got("roster-today")] == [
        "roster-today:2026-11-23", "roster-today:2026-11-24", "roster-today:2026-11-27"]
    assert "今日值班 2026-11-24（周二）" in desk.got("roster-today")[1][1].text


async def test_no_post_without_a_channel(open_desk: Callable[[str], Desk]) -> None:
    desk = open_desk("2026-11-23 08:00")
    await desk.run(desk.jobs(channel=None), "2026-11-23 08:30")
    assert desk.outbox_keys("roster-today") == []


async def test_shift_reminder_at_lead_time_with_handover_once_across_restart(open_desk: Callable[[str], Desk]) -> None:
    desk = open_desk("2026-11-23 19:00")
    desk.service().add_handover_note(Tier.FIRST_LINE, "王芳", "3 楼打印机待厂商上门 / printer on 3F waits")
    jobs = desk.jobs()
    await desk.run(jobs, "2026-11-23 19:44")
    assert desk.got("roster-reminder") == []
    run = await desk.run(jobs, "2026-11-23 19:45")  # 15 minutes before the 20:00 night shift
    [(channel, page)] = desk.got("roster-reminder")
    assert queued(run, "roster-reminder") == [page.key]
    assert page.recipient.name == "张伟" and channel == "wecom"  # his own first channel
    assert "11-23 20:00" in page.text and "交接 / handover (王芳" in page.text and "打印机" in page.text

    assert queued(await desk.run(desk.jobs(), "2026-11-23 19:46"), "roster-reminder") == []  # restarted
    await desk.run(jobs, "2026-11-23 19:50")
    assert len(desk.got("roster-reminder")) == 1
    assert desk.outbox_keys("roster-reminder") == [page.key]


async def test_reminder_caught_up_while_the_shift_has_not_started(open_desk: Callable[[str], Desk]) -> None:
    desk = open_desk("2026-11-25 12:00")
    # down from before 19:45 to 19:52: the reminder of the 20:00 shift (刘洋 covers 张伟) goes at start
    run = await desk.run(desk.jobs(), "2026-11-25 19:52")
    [(channel, page)] = desk.got("roster-reminder")
    assert queued(run, "roster-reminder") == [page.key] and page.recipient.name == "刘洋" and channel == "dingtalk"
    # down over the next evening's reminder until after its shift started: not sent any more
    await desk.run(desk.jobs(), "2026-11-26 20:05")
    assert len(desk.got("roster-reminder")) == 1


async def test_manager_page_lists_the_gap_within_seven_days(open_desk: Callable[[str], Desk]) -> None:
    desk = open_desk("2026-06-16 08:00")
    jobs = desk.jobs()
    await desk.run(jobs, "2026-06-16 08:59")
    assert desk.got("roster-warning") == []
    run = await desk.run(jobs, "2026-06-16 09:00")
    assert queued(run, "roster-warning") == ["roster-warning:2026-06-16:周强"]
    [(channel, page)] = desk.got("roster-warning")
    assert page.recipient.name == "周强" and channel == "wecom"
    assert page.subject == "值班表空档 / Roster gaps"
    assert page.text.splitlines() == ["值班表提醒 2026-06-16 / Roster warnings", HOLE]
    await desk.run(desk.jobs(), "2026-06-16 09:30")  # restarted: not again
    # down from 06-16 09:30 to 06-18 09:00: one page for 06-18, none for the missed 06-17
    await desk.run(desk.jobs(), "2026-06-18 09:00")
    assert desk.outbox_keys("roster-warning") == ["roster-warning:2026-06-16:周强", "roster-warning:2026-06-18:周强"]
    # from 07-01 the next 7 days have no gap and the calendar is complete: nothing is sent
    await desk.run(jobs, "2026-07-01 09:00")
    await desk.run(jobs, "2026-07-01 12:00")
    assert len(desk.got("roster-warning")) == 2


async def test_missing_next_year_paged_from_november(open_desk: Callable[[str], Desk]) -> None:
    desk = open_desk("2026-10-15 08:00")  # loading seeds 2026; chinesecalendar does not know 2027 yet
    jobs = desk.jobs()
    await desk.run(jobs, "2026-10-15 09:00")
    assert desk.outbox_keys("roster-warning") == []
    await desk.run(jobs, "2026-11-23 09:00")
    [(channel, page)] = desk.got("roster-warning")
    assert page.key == "roster-warning:2026-11-23:周强" and channel == "wecom"
    assert page.subject == "节假日安排缺失 / Holiday schedule missing"
    assert "2027 年的法定节假日" in page.text and "official 2027 holiday" in page.text


def _with_post(settings: Settings, channel: str) -> Settings:
    return replace(settings, extra={**settings.extra, "roster": {**settings.section("roster"),
                                                                 "today_post_channel": channel}})


def test_post_channel_choice(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="hotline.services.roster.jobs"):
        assert post_channel("", {"wecom"}, {"wecom"}, "hotline.toml") is None
        assert post_channel("wecom", {"wecom"}, set(), "hotline.toml") is None
        assert post_channel("wecom", {"wecom"}, {"wecom"}, "hotline.toml") == "wecom"
    assert [r.levelname for r in caplog.records] == ["INFO", "WARNING"]
    assert "today_post_channel is not set" in caplog.records[0].getMessage()
    with pytest.raises(ConfigError, match=r"roster.today_post_channel.*\[paging.slack\]"):
        post_channel("slack", {"wecom"}, {"wecom"}, "hotline.toml")


def test_notice_times_are_configured(settings: Settings) -> None:
    config = roster_config(settings)  # the shipped file does not name them: the defaults
    assert (config.today_post_channel, config.today_post_time, config.manager_page_time) == ("", time(8, 30), time(9))
    raw = {**settings.section("roster"), "today_post_time": "7:45", "manager_page_time": "10:00"}
    config = roster_config(replace(settings, extra={**settings.extra, "roster": raw}))
    assert (config.today_post_time, config.manager_page_time) == (time(7, 45), time(10))
    bad = replace(settings, extra={**settings.extra, "roster": {**raw, "today_post_time": "8.30"}})
    with pytest.raises(ConfigError, match=r"\[roster.today_post_time\] not a time of day"):
        roster_config(bad)


def test_start_roster_jobs_registers_the_minute_job(db_url: str, settings: Settings) -> None:
    engine = make_engine(db_url)
    migrate(engine, "heads")
    factory = session_factory(engine)
    clock = ManualClock(at("2026-11-23 08:00"), TZ)
    keyed = _with_post(settings, "wecom")
    paging = keyed.section("paging")  # the shipped file pages in dry-run mode: every channel is there
    dispatcher = build_dispatcher(paging, build_channels(paging, {}))
    scheduler = AsyncIOScheduler(timezone=TZ)
    try:
        jobs = start_roster_jobs(scheduler, keyed, factory, clock, Outbox(factory, clock), dispatcher)
        assert jobs.post_channel == "wecom"
        job = scheduler.get_job(ROSTER_JOB)
        assert job is not None and job.next_run_time == clock.now()  # the start-up run (catch-up)
        with pytest.raises(ConfigError, match="today_post_channel"):
            start_roster_jobs(scheduler, _with_post(settings, "slack"), factory, clock, Outbox(factory, clock),
                              dispatcher)
    finally:
        engine.dispose()


def handover_jobs(desk: Desk, items: list[str]) -> RosterJobs:
    dispatcher = Dispatcher({n: RecordingChannel(n, desk.sent) for n in CHANNELS}, ("sms",), sleep=no_sleep)
    return RosterJobs(desk.service(), Outbox(desk.factory, desk.clock), dispatcher, post_channel=None,
                      open_items=lambda: list(items))


async def test_a_shift_starting_with_nobody_pages_the_manager_and_the_one_going_off(
        open_desk: Callable[[str], Desk]) -> None:
    desk = open_desk("2026-11-24 09:00")
    # 王芳 goes home at noon and nobody covers: the first line is empty from 12:00 to 20:00
    desk.service().add_override(Tier.FIRST_LINE, at("2026-11-24 12:00"), at("2026-11-24 20:00"), "王芳", None,
                                "急诊 / emergency", "周强")
    jobs = handover_jobs(desk, [])
    await desk.run(jobs, "2026-11-24 11:59")
    assert desk.got("roster-hole") == []
    run = await desk.run(jobs, "2026-11-24 12:00")
    got = {page.recipient.name: (channel, page) for channel, page in desk.got("roster-hole")}
    assert sorted(queued(run, "roster-hole")) == sorted(p.key for _, p in got.values())
    assert set(got) == {"周强", "王芳"}
    channel, page = got["周强"]
    assert channel == "wecom" and page.subject == "值班空档 / Nobody on duty"
    assert page.text.startswith("11-24 12:00 起一线无人值班（至 11-24 20:00），请立即安排人员")
    assert got["王芳"][1].text.startswith("请留守至有人接班")
    assert queued(await desk.run(handover_jobs(desk, []), "2026-11-24 12:01"), "roster-hole") == []  # restarted
    await desk.run(jobs, "2026-11-24 13:00")
    assert len(desk.got("roster-hole")) == 2


async def test_shift_end_reminder_hands_over_the_open_alerts(open_desk: Callable[[str], Desk]) -> None:
    desk = open_desk("2026-11-23 19:00")
    items = ["missed_call 138****8002 11-23 13:48 open"]
    jobs = handover_jobs(desk, items)
    await desk.run(jobs, "2026-11-23 19:44")
    assert desk.got("roster-handover") == []
    run = await desk.run(jobs, "2026-11-23 19:45")  # 15 minutes before 王芳's day shift ends
    [(channel, page)] = desk.got("roster-handover")
    assert queued(run, "roster-handover") == [page.key] == ["roster-handover:first_line:王芳:2026-11-23T20:00:00+08:00"]
    assert page.recipient.name == "王芳" and channel == "wecom"
    assert "将于 11-23 20:00 结束；接班：张伟。" in page.text and "1 项" in page.text
    assert page.text.endswith("\n- missed_call 138****8002 11-23 13:48 open")
    assert queued(await desk.run(handover_jobs(desk, items), "2026-11-23 19:50"), "roster-handover") == []
    await desk.run(jobs, "2026-11-24 07:45")  # 张伟's night ends at 08:00, 王芳 takes over
    assert [p.recipient.name for _, p in desk.got("roster-handover")] == ["王芳", "张伟"]
    assert "接班：王芳" in desk.got("roster-handover")[1][1].text


async def test_an_unacknowledged_handover_pages_the_manager(open_desk: Callable[[str], Desk],
                                                            settings: Settings) -> None:
    desk = open_desk("2026-11-23 19:00")
    raw = {"handover_ack_minutes": 15, "manager_fallback": ["周强"]}
    config = roster_config(replace(settings, extra={**settings.extra, "roster": raw}))
    service = RosterService(desk.factory, settings, desk.clock, config)
    dispatcher = Dispatcher({n: RecordingChannel(n, desk.sent) for n in CHANNELS}, ("sms",), sleep=no_sleep)
    jobs = RosterJobs(service, Outbox(desk.factory, desk.clock), dispatcher)
    await desk.run(jobs, "2026-11-23 19:45")
    [(_, reminder)] = desk.got("roster-reminder")
    assert "接班请确认 / acknowledge: hotline roster ack" in reminder.text
    await desk.run(jobs, "2026-11-23 20:14")
    assert desk.got("roster-noack") == []
    run = await desk.run(jobs, "2026-11-23 20:15")  # 张伟 said nothing; no manager on duty at night: the fallback
    [(channel, page)] = desk.got("roster-noack")
    assert queued(run, "roster-noack") == [page.key] and page.recipient.name == "周强" and channel == "wecom"
    assert page.text.startswith("张伟（13800138001）的一线值班 11-23 20:00 开始，15 分钟内未确认接班")

    desk.clock.set(at("2026-11-24 07:50"))  # 王芳 confirms ten minutes before her day shift
    assert service.ack_handover("王芳", via="api").start == at("2026-11-24 08:00")
    assert service.ack_handover("王芳").start == at("2026-11-24 08:00")  # twice is once
    with pytest.raises(RosterError, match="has no shift now"):
        service.ack_handover("李娜")
    await desk.run(jobs, "2026-11-24 08:20")
    assert len(desk.got("roster-noack")) == 1
    assert [c.action for c in service.history(5)].count("handover.ack") == 1
