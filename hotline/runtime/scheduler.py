"""APScheduler wiring for the monitor and the roster notices: jobs only call services.

The truth lives in the database: at start the engine runs at once (late steps fire then, once), and
one date job is kept at the earliest due time of any stored alert, recomputed after every run. A
periodic tick catches whatever another process or a clock jump changed, and checks for silence.
The roster notices (shift reminders, 今日值班 post, managers' page) run at start and then every minute,
through the same outbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from hotline.clock import Clock, SystemClock
from hotline.config import Settings
from hotline.domain.alerts import Alert
from hotline.domain.numbers import mask
from hotline.paging.dispatcher import Dispatcher
from hotline.paging.originate import Originate
from hotline.providers.asterisk.queue_members import QueueMembers
from hotline.runtime.timings import SchedulerLateness
from hotline.services.calls.ledger import Ledger
from hotline.services.monitor.database_alarm import DatabaseAlarm
from hotline.services.monitor.engine import MonitorService
from hotline.services.monitor.outbox import Delivered, Outbox, PageSender
from hotline.services.monitor.page_replies import VoiceAck
from hotline.services.monitor.silence import SilenceWatch
from hotline.services.monitor.virtual_run import Engine
from hotline.services.roster.jobs import RosterJobs
from hotline.services.roster.notices import OpenTickets
from hotline.services.surveys.keypress import SurveyKeypress
from hotline.services.tickets.desk import handover_line

log = logging.getLogger(__name__)

TICK_JOB = "monitor-tick"
DUE_JOB = "monitor-due"
ROSTER_JOB = "roster-notices"


class AmiHooks(Protocol):
    """What the AMI listener (`live["ami_listener"]`) offers the monitor: queue-member availability
    for the silence watch, and the slot for voice page acknowledgements."""

    queue_members: QueueMembers
    on_page_ack: Callable[[VoiceAck], object] | None
    on_survey_key: Callable[[SurveyKeypress], object] | None


@dataclass(frozen=True)
class RunReport:
    actions: int
    delivered: tuple[Delivered, ...]
    next_due: datetime | None


class MonitorJobs:
    """The monitor's jobs on an APScheduler 3 `AsyncIOScheduler` (any BaseScheduler running coroutines)."""

    def __init__(self, scheduler: Any, monitor: MonitorService, outbox: Outbox, sender: PageSender, *,
                 tick_seconds: float = 15.0, silence: SilenceWatch | None = None,
                 drain_wait: float = 5.0, engines: Sequence[Engine] = ()) -> None:
        self.scheduler = scheduler
        self.drain_wait = drain_wait  # a slower drain (a ringing voice page) goes on in the background
        self._background: set[asyncio.Future[list[Delivered]]] = set()
        self.monitor = monitor
        self.engines = tuple(engines)  # further engines on the same outbox (the tickets' SLA clocks)
        self.outbox = outbox
        self.sender = sender
        self.tick_seconds = tick_seconds
        self.silence = silence
        self._lock = asyncio.Lock()
        self._scheduled: datetime | None = None

    def start(self) -> None:
        """Add the jobs; the first run happens at once (catch-up after a restart)."""
        now = self.monitor.clock.now()
        self.scheduler.add_job(stops_quietly(self.tick, "monitor tick"), "interval", seconds=self.tick_seconds,
                               id=TICK_JOB, next_run_time=now,
                               replace_existing=True, max_instances=1, coalesce=True, misfire_grace_time=None)
        self.monitor.due_listeners.append(self.wake)

    async def tick(self) -> RunReport:
        if self.silence is not None:
            try:
                await asyncio.to_thread(self.silence.check)
            except Exception:
                log.exception("silence check failed")
        return await self.run()

    async def run(self) -> RunReport:
        """One engine cycle, with the outbox drained while it runs (pages of the first batches leave
        while later ones are decided); then the date job moves to the next due time."""
        async with self._lock:
            now = self.monitor.clock.now()
            engine = asyncio.ensure_future(asyncio.to_thread(self._engine, now))
            delivered: list[Delivered] = []
            while not engine.done():
                batch = await self._drain_once()
                delivered += batch
                if not batch:
                    await asyncio.wait({engine}, timeout=0.02)
            while batch := await self._drain_once():
                delivered += batch
            due = await asyncio.to_thread(self._next_due)
            self._scheduled = None
            if due is not None:
                self.wake(due)
            return RunReport(engine.result(), tuple(delivered), due)

    def _engine(self, now: datetime) -> int:
        actions = 0
        for engine in (self.monitor, *self.engines):
            try:
                actions += engine.tick(now)
            except Exception:
                log.exception("engine cycle of %r failed; retried at the next tick", engine)
        return actions

    def _next_due(self) -> datetime | None:
        return min((d for d in (e.next_due() for e in (self.monitor, *self.engines)) if d is not None), default=None)

    async def _drain_once(self) -> list[Delivered]:
        """Claim and deliver due pages. Pages still going after `drain_wait` seconds (a voice page
        rings for up to its ring time, call-until-reached rounds for minutes) finish in the background:
        their rows are leased, and the engine is not held up meanwhile."""
        drain = asyncio.ensure_future(self.outbox.drain(self.sender))
        done, _ = await asyncio.wait({drain}, timeout=self.drain_wait)
        if not done:
            self._background.add(drain)
            drain.add_done_callback(self._background_done)
            return []
        try:
            return drain.result()
        except Exception:
            log.exception("outbox drain failed; retried at the next tick")
            return []

    def _background_done(self, drain: asyncio.Future[list[Delivered]]) -> None:
        self._background.discard(drain)
        if not drain.cancelled() and drain.exception() is not None:
            log.error("outbox drain failed in the background: %r", drain.exception())
        else:
            self.wake(self.monitor.clock.now())  # the engine sees what was delivered at once

    def wake(self, due: datetime) -> None:
        """Make sure the engine runs at `due` (keeps the earlier of this and the planned run)."""
        if self._scheduled is not None and self._scheduled <= due:
            return
        self._scheduled = due
        # a run date in the past runs at once; misfire_grace_time=None: never dropped
        # max_instances: a run may still be going when the next due time comes; `run` serialises itself
        self.scheduler.add_job(stops_quietly(self.run, "monitor run"), "date", run_date=due, id=DUE_JOB,
                               replace_existing=True, misfire_grace_time=None, max_instances=100)


def stops_quietly(job: Callable[[], Awaitable[object]], name: str) -> Callable[[], Coroutine[Any, Any, None]]:
    """A coroutine job whose cancellation when the process stops ends it quietly, where apscheduler would log it
    as a crash with a traceback. What the job did not finish is still due and runs at the next start."""

    async def scheduled() -> None:
        try:
            await job()
        except asyncio.CancelledError:
            log.info("定时任务因停止而中断 / %s interrupted by the stop: it runs again at the next start", name)

    return scheduled


def start_monitor(settings: Settings, factory: sessionmaker[Session], ledger: Ledger, live: dict[str, Any],
                  env: Mapping[str, str], *, originate: Originate | None = None,
                  clock: Clock | None = None, link_mode: str = "required") -> MonitorJobs:
    """Everything `hotline serve` needs for the monitor, started on the running event loop: the
    monitor listening to the ledger, the paging channels of `[paging]`, silence checks, the jobs.
    Raises ConfigError (e.g. HOTLINE_API_LINK_KEY missing with link_mode 'required') before anything starts."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from hotline.paging.registry import build_channels, build_dispatcher, channel_sections
    from hotline.services.monitor.config import build_monitor, monitor_config
    from hotline.services.monitor.incidents import IncidentService
    from hotline.services.monitor.page_replies import acknowledge_voice_event
    from hotline.services.monitor.silence import SilenceWatch, store_status
    from hotline.services.monitor.voice_rounds import VOICE_KINDS, UntilReachedSender
    from hotline.services.surveys.build import build_surveys, survey_channels
    from hotline.services.surveys.keypad import record_keypress
    from hotline.services.tickets.build import build_push, build_tickets

    clock = clock or SystemClock(settings.tz)
    paging = settings.section("paging")
    dispatcher = build_dispatcher(paging, build_channels(paging, env, originate))
    monitor, outbox = build_monitor(settings, factory, clock, default_order=dispatcher.default_order,
                                    link_mode=link_mode)
    config = monitor_config(settings)
    ami: AmiHooks | None = live.get("ami_listener")
    silence = SilenceWatch(monitor, store_status(factory, config.watch_twilio,
                                                 ami.queue_members.empty_queues if ami is not None else None))
    scheduler = AsyncIOScheduler(timezone=settings.tz)
    live["scheduler_lateness"] = SchedulerLateness().watch(scheduler)  # /metrics
    if settings.reports.monthly_recipients:
        live["monthly_mail"] = start_monthly_mail(scheduler, settings, factory, clock, dispatcher.channels)
    ledger.on_completed(monitor.on_call)
    ledger.on_answered(monitor.on_answered)
    # after the monitor's listeners: a reaching call has cleared its alert when the tickets hear of it
    tickets = build_tickets(settings, factory, clock, cleared_calls=monitor.calls_cleared_by,
                            dial_prefixes=config.dial_prefixes, incidents=IncidentService(monitor))
    ledger.on_calls(tickets.opener.on_calls)
    # the shift-end reminder hands over the desk's open alerts and the open tickets of the one going off
    roster_jobs = start_roster_jobs(
        scheduler, settings, factory, clock, outbox, dispatcher,
        open_items=lambda: [alert_line(a, settings.tz) for a in monitor.alerts("open")],
        open_tickets=lambda tier, person: [handover_line(v, settings.tz) for v in tickets.desk.held(tier, person)])
    push = build_push(settings, tickets, env)  # the optional outside helpdesk ([tickets.push])
    # satisfaction surveys: their tries are outbox rows delivered by the survey channels (AMI, Twilio)
    surveys = build_surveys(settings, factory, clock, tickets.desk, env=env)
    dispatcher.channels.update(survey_channels(settings, surveys.engine.ctx.config, originate=originate, env=env))
    # the managers on duty are paged directly when the database is away too long (the outbox is in it)
    alarm = DatabaseAlarm(dispatcher, lambda at: monitor.roster.people(at, "manager"), clock,
                          asyncio.get_running_loop())
    alarm.refresh()
    ledger.writer.alarm_listeners.append(alarm)
    live["database_alarm"] = alarm
    voice = frozenset(c.name for c in channel_sections(paging) if c.text("kind", c.name) in VOICE_KINDS)
    sender = UntilReachedSender(dispatcher, voice, lambda alert_id: monitor.alert(alert_id).state)
    # call-until-reached keeps a page for its rounds: the delivery deadline must fit them, and the claim
    # outlast the deadline (no second sender)
    rounds = timedelta(seconds=dispatcher.rounds * (dispatcher.interval + 120))
    if rounds > outbox.deadline:
        outbox.deadline = rounds
        outbox.lease = max(outbox.lease, 2 * rounds)
    jobs = MonitorJobs(scheduler, monitor, outbox, sender, tick_seconds=config.tick_seconds, silence=silence,
                       engines=[tickets.engine, surveys.engine, *([push] if push is not None else [])])
    scheduler.add_job(alarm.refresh, "interval", minutes=5, id="database-alarm-managers", replace_existing=True,
                      max_instances=1, coalesce=True)
    scheduler.start()
    # start() subscribes the jobs to the monitor's due times: a missed call that opens an alert wakes the
    # engine for that alert's first step; other completed calls wake nothing.
    jobs.start()
    if ami is not None:
        ami.on_page_ack = lambda ack: acknowledge_voice_event(monitor, ack)  # runs on the listener's loop
        ami.on_survey_key = lambda key: record_keypress(surveys.desk, key)
    live["monitor"] = monitor
    live["monitor_jobs"] = jobs
    live["tickets"] = tickets
    live["surveys"] = surveys
    live["roster_jobs"] = roster_jobs
    return jobs


def alert_line(alert: Alert, tz: ZoneInfo) -> str:
    """An open alert for the shift-end handover reminder; the caller's number masked (personal data)."""
    who = mask(alert.caller) if alert.caller else "-"
    return f"{alert.kind.value} {who} {alert.opened_at.astimezone(tz):%m-%d %H:%M} {alert.state.value}"


def start_roster_jobs(scheduler: Any, settings: Settings, factory: sessionmaker[Session], clock: Clock,
                      outbox: Outbox, dispatcher: Dispatcher,
                      open_items: Callable[[], Sequence[str]] = lambda: (),
                      open_tickets: OpenTickets | None = None) -> RosterJobs:
    """Add the roster notices to `scheduler`: a run as soon as it starts (catch-up after a restart),
    then one at every minute. Raises ConfigError for a bad `[roster]` section before adding anything."""
    from hotline.paging.registry import channel_sections
    from hotline.services.roster.jobs import post_channel
    from hotline.services.roster.service import RosterService

    service = RosterService(factory, settings, clock)
    configured = {s.name for s in channel_sections(settings.section("paging"))}
    channel = post_channel(service.config.today_post_channel, configured, dispatcher.channels, settings.source)
    jobs = RosterJobs(service, outbox, dispatcher, post_channel=channel, open_items=open_items,
                      open_tickets=open_tickets)
    # coalesce, no misfire limit: a late minute runs once; what it missed is decided by the next run
    scheduler.add_job(stops_quietly(jobs.tick, "roster notices"), "cron", second=0, id=ROSTER_JOB,
                      next_run_time=clock.now(),
                      replace_existing=True, max_instances=1, coalesce=True, misfire_grace_time=None)
    return jobs


def start_monthly_mail(scheduler: Any, settings: Settings, factory: sessionmaker[Session], clock: Clock,
                       channels: Mapping[str, Any]) -> Any:
    """The monthly quality report on the 1st at 08:00 (and once at start, to catch up), archived and
    e-mailed to `[reports] monthly_recipients` through the first e-mail channel of `[paging]`."""
    from pathlib import Path

    from hotline.paging.email_smtp import EmailChannel
    from hotline.services.reports.monthly_mail import SEND_AT, MonthlyMail

    mailer = next((c for c in channels.values() if isinstance(c, EmailChannel)), None)
    job = MonthlyMail(factory, settings, clock, mailer, Path(settings.hotline.data_dir) / "reports")
    scheduler.add_job(stops_quietly(job.run_if_due, "monthly report"), "cron", day=1, hour=SEND_AT.hour,
                      minute=SEND_AT.minute, id="monthly-report",
                      next_run_time=clock.now(), replace_existing=True, max_instances=1, coalesce=True,
                      misfire_grace_time=None)
    return job
