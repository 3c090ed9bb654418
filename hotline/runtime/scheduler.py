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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from hotline.clock import Clock, SystemClock
from hotline.config import Settings
from hotline.paging.asterisk_call import Originate
from hotline.paging.dispatcher import Dispatcher
from hotline.providers.asterisk.queue_members import QueueMembers
from hotline.services.calls.ledger import Ledger
from hotline.services.monitor.engine import MonitorService
from hotline.services.monitor.outbox import Delivered, Outbox, PageSender
from hotline.services.monitor.page_replies import VoiceAck
from hotline.services.monitor.silence import SilenceWatch
from hotline.services.roster.jobs import RosterJobs

log = logging.getLogger(__name__)

TICK_JOB = "monitor-tick"
DUE_JOB = "monitor-due"
ROSTER_JOB = "roster-notices"


class AmiHooks(Protocol):
    """What the AMI listener (`live["ami_listener"]`) offers the monitor: queue-member availability
    for the silence watch, and the slot for voice page acknowledgements."""

    queue_members: QueueMembers
    on_page_ack: Callable[[VoiceAck], object] | None


@dataclass(frozen=True)
class RunReport:
    actions: int
    delivered: tuple[Delivered, ...]
    next_due: datetime | None


class MonitorJobs:
    """The monitor's jobs on an APScheduler 3 `AsyncIOScheduler` (any BaseScheduler running coroutines)."""

    def __init__(self, scheduler: Any, monitor: MonitorService, outbox: Outbox, sender: PageSender, *,
                 tick_seconds: float = 15.0, silence: SilenceWatch | None = None) -> None:
        self.scheduler = scheduler
        self.monitor = monitor
        self.outbox = outbox
        self.sender = sender
        self.tick_seconds = tick_seconds
        self.silence = silence
        self._lock = asyncio.Lock()
        self._scheduled: datetime | None = None

    def start(self) -> None:
        """Add the jobs; the first run happens at once (catch-up after a restart)."""
        now = self.monitor.clock.now()
        self.scheduler.add_job(self.tick, "interval", seconds=self.tick_seconds, id=TICK_JOB, next_run_time=now,
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
            due = await asyncio.to_thread(self.monitor.next_due)
            self._scheduled = None
            if due is not None:
                self.wake(due)
            return RunReport(engine.result(), tuple(delivered), due)

    def _engine(self, now: datetime) -> int:
        try:
            return self.monitor.tick(now)
        except Exception:
            log.exception("monitor engine cycle failed; retried at the next tick")
            return 0

    async def _drain_once(self) -> list[Delivered]:
        try:
            return await self.outbox.drain(self.sender)
        except Exception:
            log.exception("outbox drain failed; retried at the next tick")
            return []

    def wake(self, due: datetime) -> None:
        """Make sure the engine runs at `due` (keeps the earlier of this and the planned run)."""
        if self._scheduled is not None and self._scheduled <= due:
            return
        self._scheduled = due
        # a run date in the past runs at once; misfire_grace_time=None: never dropped
        # max_instances: a run may still be going when the next due time comes; `run` serialises itself
        self.scheduler.add_job(self.run, "date", run_date=due, id=DUE_JOB, replace_existing=True,
                               misfire_grace_time=None, max_instances=100)


def start_monitor(settings: Settings, factory: sessionmaker[Session], ledger: Ledger, live: dict[str, Any],
                  env: Mapping[str, str], *, originate: Originate | None = None,
                  clock: Clock | None = None) -> MonitorJobs:
    """Everything `hotline serve` needs for the monitor, started on the running event loop: the
    monitor listening to the ledger, the paging channels of `[paging]`, silence checks, the jobs.
    Raises ConfigError (e.g. HOTLINE_API_LINK_KEY missing) before anything starts."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from hotline.paging.registry import build_channels, build_dispatcher
    from hotline.services.monitor.config import build_monitor, monitor_config
    from hotline.services.monitor.page_replies import acknowledge_voice_event
    from hotline.services.monitor.silence import SilenceWatch, store_status

    clock = clock or SystemClock(settings.tz)
    paging = settings.section("paging")
    dispatcher = build_dispatcher(paging, build_channels(paging, env, originate))
    monitor, outbox = build_monitor(settings, factory, clock, default_order=dispatcher.default_order)
    config = monitor_config(settings)
    ami: AmiHooks | None = live.get("ami_listener")
    silence = SilenceWatch(monitor, store_status(factory, config.watch_twilio,
                                                 ami.queue_members.empty_queues if ami is not None else None))
    scheduler = AsyncIOScheduler(timezone=settings.tz)
    roster_jobs = start_roster_jobs(scheduler, settings, factory, clock, outbox, dispatcher)
    if settings.reports.monthly_recipients:
        live["monthly_mail"] = start_monthly_mail(scheduler, settings, factory, clock, dispatcher.channels)
    ledger.on_completed(monitor.on_call)
    ledger.on_answered(monitor.on_answered)
    jobs = MonitorJobs(scheduler, monitor, outbox, dispatcher, tick_seconds=config.tick_seconds, silence=silence)
    # A completed call may have opened an alert whose first page is due now: run the engine at once.
    ledger.on_completed(lambda _call: jobs.wake(clock.now()))
    scheduler.start()
    jobs.start()
    if ami is not None:
        ami.on_page_ack = lambda ack: acknowledge_voice_event(monitor, ack)  # runs on the listener's loop
    live["monitor"] = monitor
    live["monitor_jobs"] = jobs
    live["roster_jobs"] = roster_jobs
    return jobs


def start_roster_jobs(scheduler: Any, settings: Settings, factory: sessionmaker[Session], clock: Clock,
                      outbox: Outbox, dispatcher: Dispatcher) -> RosterJobs:
    """Add the roster notices to `scheduler`: a run as soon as it starts (catch-up after a restart),
    then one at every minute. Raises ConfigError for a bad `[roster]` section before adding anything."""
    from hotline.paging.registry import channel_sections
    from hotline.services.roster.jobs import post_channel
    from hotline.services.roster.service import RosterService

    service = RosterService(factory, settings, clock)
    configured = {s.name for s in channel_sections(settings.section("paging"))}
    channel = post_channel(service.config.today_post_channel, configured, dispatcher.channels, settings.source)
    jobs = RosterJobs(service, outbox, dispatcher, post_channel=channel)
    # coalesce, no misfire limit: a late minute runs once; what it missed is decided by the next run
    scheduler.add_job(jobs.tick, "cron", second=0, id=ROSTER_JOB, next_run_time=clock.now(),
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
    scheduler.add_job(job.run_if_due, "cron", day=1, hour=SEND_AT.hour, minute=SEND_AT.minute, id="monthly-report",
                      next_run_time=clock.now(), replace_existing=True, max_instances=1, coalesce=True,
                      misfire_grace_time=None)
    return job
