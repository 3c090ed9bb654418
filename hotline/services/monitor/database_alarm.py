"""A page to the managers on duty when the database has been away too long (the ledger keeps its calls
in memory meanwhile, see services/calls/batch_writer.py). The outbox lives in that database, so this page
goes straight to the pager; who the managers are is remembered from the last time the roster could be
read."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import datetime

from hotline.clock import Clock
from hotline.paging.base import Page, Recipient, SendResult
from hotline.services.monitor.outbox import PageSender

log = logging.getLogger(__name__)

Managers = Callable[[datetime], Sequence[Recipient]]


class DatabaseAlarm:
    """An alarm listener of the ledger's writer: `alarm(seconds_away, rows_waiting)`."""

    def __init__(self, sender: PageSender, managers: Managers, clock: Clock,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.sender = sender
        self.managers = managers
        self.clock = clock
        self.loop = loop
        self.known: list[Recipient] = []
        self.sent: list[Page] = []

    def refresh(self) -> None:
        """Remember who the managers on duty are (kept as they were when the roster cannot be read)."""
        try:
            found = list(self.managers(self.clock.now()))
        except Exception as e:
            log.info("managers for the database alarm not refreshed (%s); keeping %d known", type(e).__name__,
                     len(self.known))
            return
        if found:
            self.known = found

    def __call__(self, seconds_away: float, waiting: int) -> None:
        now = self.clock.now()
        if not self.known:
            log.error("数据库中断告警无人可发 / database alarm: no manager known to page")
            return
        minutes = max(1, round(seconds_away / 60))
        for person in self.known:
            page = Page(key=f"database-away:{now:%Y%m%d%H%M}:{person.name}", recipient=person,
                        subject="热线数据库不可用 / hotline database unavailable",
                        text=f"热线数据库已中断约 {minutes} 分钟，{waiting} 条通话记录暂存内存，恢复后自动写入；"
                             f"期间的未接来电告警会延迟。请检查数据库。\n\n"
                             f"The hotline database has been unavailable for about {minutes} min; {waiting} "
                             f"row(s) are waiting in memory and will be written when it is back. Missed-call "
                             f"alerts are delayed meanwhile. Please check the database.",
                        at=now, extra={"purpose": "database"})
            self.sent.append(page)
            future = asyncio.run_coroutine_threadsafe(self.sender.deliver(page), self.loop)
            future.add_done_callback(_logger(page))


def _logger(page: Page) -> Callable[[Future[list[SendResult]]], None]:
    return lambda future: _logged(future, page)


def _logged(future: Future[list[SendResult]], page: Page) -> None:
    try:
        results = future.result()
    except Exception:
        log.exception("database alarm page to %s failed", page.recipient.name)
        return
    ok = bool(results) and results[-1].ok
    (log.warning if ok else log.error)("数据库中断告警 / database alarm page to %s: %s", page.recipient.name,
                                       "sent" if ok else "failed")
