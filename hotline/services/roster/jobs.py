"""The roster's scheduled notices: shift-start reminders, the daily 今日值班 post to the desk's group robot
and the daily page to the managers (coverage gaps, missing holiday year).

`RosterJobs.run_due()` decides what is due at the clock's now into the paging outbox, each page under a stable
key (`roster-reminder:<tier>:<person>:<shift start>`, `roster-today:<day>`, `roster-warning:<day>:<person>`),
then drains the outbox. The key makes every notice exactly-once across restarts and processes.

Catch-up: at the first run of a process, a reminder whose time passed is still sent while its shift has
not started, and a daily notice whose time passed today is sent; days further back are never sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from hotline.config import ConfigError
from hotline.paging.base import Page, Recipient
from hotline.services.monitor.outbox import Delivered, Outbox, PageSender, PlannedPage, add_pages
from hotline.services.roster import notices as roster_notices
from hotline.services.roster.notices import OpenTickets
from hotline.services.roster.service import RosterService
from hotline.services.roster.view import RosterView
from hotline.store.base import unit_of_work

log = logging.getLogger(__name__)

PURPOSE = "roster"
DESK_GROUP = Recipient(name="值班群 / desk group")
MAX_REMINDER_WINDOW = timedelta(days=1)  # a clock jump never sends reminders of days long gone


@dataclass(frozen=True)
class RosterRun:
    """What one run decided (the keys new to the outbox) and what the outbox delivered meanwhile."""

    queued: tuple[str, ...]
    delivered: tuple[Delivered, ...]


def post_channel(name: str, configured: Collection[str], enabled: Collection[str], source: str) -> str | None:
    """The channel of the 今日值班 post, or None (logged once) when the post is off or cannot be sent.
    A name with no `[paging.<name>]` section is a ConfigError."""
    if not name:
        log.info("今日值班群消息未启用：[roster] today_post_channel 未设置 / daily 今日值班 post disabled: "
                 "[roster] today_post_channel is not set")
        return None
    if name not in configured:
        raise ConfigError(source, "roster.today_post_channel",
                          f"{name!r} has no [paging.{name}] section; name a configured group robot "
                          "(e.g. \"wecom\") or remove the key / 没有该寻呼通道")
    if name not in enabled:
        log.warning("今日值班群消息未启用：寻呼通道 %s 未启用 / daily 今日值班 post disabled: paging channel %s "
                    "is not enabled (see the warning above)", name, name)
        return None
    return name


def planned(page: Page, step: str, channel: str | None = None) -> PlannedPage:
    """An outbox row for a roster notice: on `channel`, else on the person's own channels in order (as the
    monitor pages), else on the dispatcher's default order."""
    preferred = (channel,) if channel else page.recipient.channels
    first, fallback = (preferred[0], tuple(preferred[1:])) if preferred else ("default", ())
    return PlannedPage(key=page.key[:255], alert_id=None, purpose=PURPOSE, step=step, tier=None,
                       recipient=page.recipient, channel=first, fallback=fallback, subject=page.subject,
                       text=page.text)


class RosterJobs:
    """The three roster notices, run every minute (and once at start) by the scheduler."""

    def __init__(self, service: RosterService, outbox: Outbox, sender: PageSender, *,
                 post_channel: str | None = None,
                 open_items: Callable[[], Sequence[str]] = lambda: (),
                 open_tickets: OpenTickets | None = None) -> None:
        self.service = service
        self.outbox = outbox
        self.sender = sender
        self.post_channel = post_channel
        self.open_items = open_items  # the desk's open alerts, one line each, for the shift-end reminder
        self.open_tickets = open_tickets  # (tier, person) -> the open tickets they hand over, one line each
        self._last_run: datetime | None = None
        self._done: set[tuple[str, date]] = set()  # daily notices decided by this process

    # deciding ---------------------------------------------------------------------------------------
    def _since(self, now: datetime) -> datetime:
        lead = timedelta(minutes=self.service.config.reminder_lead_minutes)
        since = self._last_run if self._last_run is not None else now - lead
        return min(max(since, now - MAX_REMINDER_WINDOW), now)

    def view(self, now: datetime) -> RosterView:
        """The roster read once for everything a run at `now` may ask: the reminders since the last run (and
        the shifts around them), today's post, the managers' days ahead."""
        config = self.service.config
        wait = timedelta(minutes=config.handover_ack_minutes)
        lead = timedelta(minutes=config.reminder_lead_minutes)
        ahead = timedelta(days=config.gap_warning_days)
        return self.service.view(self._since(now) - wait - ahead - timedelta(days=7),
                                 now + lead + 2 * ahead + timedelta(days=4))

    def reminders(self, now: datetime, view: RosterView | None = None) -> list[PlannedPage]:
        """Reminders due since the last run; at the first run, those of shifts not started yet."""
        since = self._since(now)
        view = view or self.view(now)
        pages = [planned(p, "reminder") for p in roster_notices.shift_reminders(self.service, since, now, view)]
        ends = roster_notices.shift_end_reminders(self.service, since, now, self._open_items(), self.open_tickets,
                                                  view)
        holes = roster_notices.hole_pages(self.service, since, now, view)
        unacked = roster_notices.unacknowledged_pages(self.service, since, now, view)
        return (pages + [planned(p, "handover") for p in ends] + [planned(p, "hole") for p in holes]
                + [planned(p, "noack") for p in unacked])

    def _open_items(self) -> Sequence[str]:
        try:
            return self.open_items()
        except Exception:
            log.exception("未能读取未结告警 / could not list the open alerts for the handover reminder")
            return ()

    def today_post(self, day: date, now: datetime, view: RosterView | None = None) -> list[PlannedPage]:
        """The 今日值班 post of `day` to the group robot (none when the post is off)."""
        if self.post_channel is None:
            return []
        text = roster_notices.today_post(self.service, day, view)
        page = Page(key=f"roster-today:{day.isoformat()}", recipient=DESK_GROUP,
                    subject="今日值班 / On duty today", text=text, at=now)
        return [planned(page, "today", self.post_channel)]

    def manager_pages(self, day: date, view: RosterView | None = None) -> list[PlannedPage]:
        """The managers' page of `day` (none when there is nothing to warn about)."""
        return [planned(p, "warning") for p in roster_notices.manager_warnings(self.service, day, view)]

    def due_daily(self, now: datetime) -> set[str]:
        """The daily notices ("today", "warning") whose time of today has come and that this process has
        not decided yet; earlier days are never caught up."""
        today = now.astimezone(self.service.tz).date()
        times = {"today": self.service.config.today_post_time, "warning": self.service.config.manager_page_time}
        return {job for job, at in times.items()
                if (job, today) not in self._done and now >= datetime.combine(today, at, self.service.tz)}

    def queue_due(self, now: datetime) -> list[PlannedPage]:
        """Decide every notice due at `now` into the outbox; returns those new to it (the others were
        decided before, by this process before a restart or by another one)."""
        today = now.astimezone(self.service.tz).date()
        daily = self.due_daily(now)
        view = self.view(now)  # the roster read once for the whole run
        pages = self.reminders(now, view)
        if "today" in daily:
            pages += self.today_post(today, now, view)
        if "warning" in daily:
            pages += self.manager_pages(today, view)
        fresh: list[PlannedPage] = []
        if pages:
            with unit_of_work(self.outbox.factory) as s:
                fresh = add_pages(s, pages, now)
        self._done = {(job, day) for job, day in self._done if day >= today} | {(job, today) for job in daily}
        self._last_run = now
        return fresh

    # running ----------------------------------------------------------------------------------------
    async def run_due(self) -> RosterRun:
        """Decide what is due now (the service's clock; the outbox's should be the same) and deliver."""
        now = self.service.clock.now()
        fresh = await asyncio.to_thread(self.queue_due, now)
        delivered: list[Delivered] = []
        while batch := await self.outbox.drain(self.sender):
            delivered += batch
        return RosterRun(tuple(p.key for p in fresh), tuple(delivered))

    async def tick(self) -> RosterRun | None:
        """`run_due` for the scheduler: a failure is logged and the next minute tries again."""
        try:
            return await self.run_due()
        except Exception:
            log.exception("值班通知失败，下一分钟重试 / roster notices failed; retried at the next minute")
            return None
