"""Writes the ledger's batches so that nothing acknowledged is lost to a database fault.

A batch (changed calls + raw event runs) is written in one transaction. When the database is away
(connection refused or dropped, SQLite locked past its busy timeout) the batch stays with the caller and
the next attempt waits with exponential backoff; memory is bounded by `WritePolicy`. When the database
refuses the data itself (a value it cannot take), the batch is split in halves until the bad rows stand
alone: they are logged and set aside, the rest is written. Writes are idempotent (calls upserted by
call_id, raw runs by digest), so a batch written twice is stored once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exc
from sqlalchemy.orm import Session, sessionmaker

from hotline.clock import Clock
from hotline.domain.calls import Call
from hotline.store.base import unit_of_work
from hotline.store.calls import insert_raw_events, upsert_calls

log = logging.getLogger(__name__)

AlarmListener = Callable[[float, int], None]  # (seconds away, rows waiting)


@dataclass(frozen=True)
class WritePolicy:
    """Backoff while the database is away, and how much may wait in memory meanwhile."""

    first_retry: float = 0.5  # seconds before the first retry; doubled after each failure ...
    max_retry: float = 30.0  # ... up to this
    max_calls: int = 100_000  # changed calls kept while away (about 1 KB each)
    max_raw: int = 200_000  # raw event runs kept while away (the oldest are dropped first)
    alarm_after: float = 120.0  # seconds away before the alarm listeners are told (once per outage)


def database_away(e: BaseException) -> bool:
    """The database cannot be reached or is busy (worth retrying), as opposed to refusing the data."""
    if isinstance(e, exc.DBAPIError) and e.connection_invalidated:
        return True
    return isinstance(e, exc.OperationalError | exc.InterfaceError | exc.DisconnectionError | exc.TimeoutError)


def _reason(e: BaseException) -> str:
    """One line for the log: the driver's error class and its first line (never the SQL or its values)."""
    orig = getattr(e, "orig", None) or e
    first = (str(orig).strip().splitlines() or [""])[0][:200]
    return f"{type(orig).__name__}: {first}"


class _Away(Exception):
    """The database went away while a batch was being split."""


class BatchWriter:
    def __init__(self, factory: sessionmaker[Session] | None, clock: Clock, policy: WritePolicy) -> None:
        self.factory = factory
        self.clock = clock
        self.policy = policy
        self.away_since: datetime | None = None
        self.retry_at: datetime | None = None
        self.failures = 0
        self.alarmed = False
        self.alarm_listeners: list[AlarmListener] = []
        self.stats = {"retries": 0, "rejected_calls": 0, "rejected_raw": 0, "dropped_calls": 0, "dropped_raw": 0}

    def write(self, dirty: dict[str, Call], raw: list[dict[str, Any]], *, force: bool = False) -> bool:
        """Write the batch; True once it is stored (bad rows set aside), False while the database is away
        (the batch is left in `dirty` / `raw`, trimmed to the policy's bounds)."""
        now = self.clock.now()
        if not force and self.retry_at is not None and now < self.retry_at:
            self._bound(dirty, raw)
            return False
        calls = list(dirty.values())
        try:
            try:
                self._write(calls, raw)
            except Exception as e:
                if database_away(e):
                    raise _Away(_reason(e)) from e
                log.warning("数据库拒绝了一批数据，逐行隔离 / the database refused a batch (%s): "
                            "isolating the bad rows of %d call(s) and %d raw run(s)", _reason(e), len(calls), len(raw))
                self._split(calls, [])
                self._split([], raw)
        except _Away as away:
            self._failed(now, str(away), len(dirty) + len(raw))
            self._bound(dirty, raw)
            return False
        if self.away_since is not None:
            log.warning("数据库已恢复 / database back after %.1f s: %d call(s) and %d raw run(s) written",
                        (now - self.away_since).total_seconds(), len(calls), len(raw))
        self.away_since = self.retry_at = None
        self.failures = 0
        self.alarmed = False
        return True

    def due(self) -> bool:
        """Whether the database may be tried now (no backoff pending)."""
        return self.retry_at is None or self.clock.now() >= self.retry_at

    def still_away(self, reason: str) -> None:
        """Something else found the database away: back off as after a failed write."""
        self._failed(self.clock.now(), reason, 0)

    def _write(self, calls: Sequence[Call], raw: Sequence[dict[str, Any]]) -> None:
        assert self.factory is not None
        with unit_of_work(self.factory) as s:
            upsert_calls(s, calls)
            insert_raw_events(s, raw)

    def _split(self, calls: list[Call], raw: list[dict[str, Any]]) -> None:
        """Write halves until the rows the database refuses stand alone; those are logged and set aside."""
        if not calls and not raw:
            return
        try:
            self._write(calls, raw)
            return
        except Exception as e:
            if database_away(e):
                raise _Away(_reason(e)) from e
            if len(calls) + len(raw) == 1:
                if calls:
                    self.stats["rejected_calls"] += 1
                    log.error("通话无法写入，已跳过 / call %s refused by the database, set aside: %s",
                              calls[0].call_id, _reason(e))
                else:
                    self.stats["rejected_raw"] += 1
                    log.error("原始事件无法写入，已跳过 / raw events of call %s refused by the database, set aside: %s",
                              raw[0].get("call_id"), _reason(e))
                return
        half_c, half_r = len(calls) // 2, len(raw) // 2
        self._split(calls[:half_c], raw[:half_r])
        self._split(calls[half_c:], raw[half_r:])

    def _failed(self, now: datetime, reason: str, waiting: int) -> None:
        self.failures += 1
        self.stats["retries"] += 1
        delay = min(self.policy.max_retry, self.policy.first_retry * 2 ** (self.failures - 1))
        self.retry_at = now + timedelta(seconds=delay)
        if self.away_since is None:
            self.away_since = now
            log.warning("数据库不可用，数据暂存内存 / database unavailable (%s): %d row(s) kept in memory, "
                        "retrying in %.1f s", reason, waiting, delay)
        else:
            away = (now - self.away_since).total_seconds()
            level = logging.WARNING if delay >= self.policy.max_retry else logging.INFO
            log.log(level, "数据库仍不可用 / database still unavailable after %.0f s (%s): %d row(s) waiting, "
                    "retrying in %.1f s", away, reason, waiting, delay)
            if away >= self.policy.alarm_after and not self.alarmed:
                self.alarmed = True
                log.error("数据库已中断 %.0f 秒，通话暂存内存 / database away for %.0f s: %d row(s) waiting in memory",
                          away, away, waiting)
                for listener in self.alarm_listeners:
                    try:
                        listener(away, waiting)
                    except Exception:
                        log.exception("database alarm listener failed")

    def _bound(self, dirty: dict[str, Call], raw: list[dict[str, Any]]) -> None:
        """Keep the waiting rows within the policy: the oldest raw runs go first, then the oldest calls."""
        extra = len(raw) - self.policy.max_raw
        if extra > 0:
            del raw[:extra]
            self.stats["dropped_raw"] += extra
            log.error("内存中等待的原始事件过多，丢弃最早的 %d 条 / %d raw event run(s) dropped: the database has "
                      "been away too long (limit %d)", extra, extra, self.policy.max_raw)
        extra = len(dirty) - self.policy.max_calls
        if extra > 0:
            for call_id in list(dirty)[:extra]:
                del dirty[call_id]
            self.stats["dropped_calls"] += extra
            log.error("内存中等待的通话过多，丢弃最早的 %d 条 / %d call(s) dropped unwritten: the database has "
                      "been away too long (limit %d)", extra, extra, self.policy.max_calls)

