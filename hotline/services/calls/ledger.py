"""The call ledger use case: call events in, calls stored; completed calls announced to listeners."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.clock import Clock, SystemClock
from hotline.domain.calls import Call, CallEvent, EventKind, apply, start
from hotline.services.calls.batch_writer import BatchWriter, WritePolicy, database_away
from hotline.store.base import unit_of_work
from hotline.store.calls import CALL_TEXT_LIMITS, CallRow, row_to_call
from hotline.store.text_values import clean_text

log = logging.getLogger(__name__)

CallListener = Callable[[Call], None]
BatchListener = Callable[[list[Call]], None]
_RECENT = 4096  # completed calls kept in memory for late events (e.g. AgentComplete after Hangup)
_CLEANED = ("caller", "caller_name", "called", "queue", "specialty", "menu", "answered_by")


class Ledger:
    """Folds call events into calls, keeps open calls in memory and writes changes in batches."""

    def __init__(self, factory: sessionmaker[Session] | None, *, clock: Clock | None = None,
                 policy: WritePolicy | None = None) -> None:
        self.factory = factory
        self.writer = BatchWriter(factory, clock or SystemClock(), policy or WritePolicy())
        self.open: dict[str, Call] = {}
        self.recent: OrderedDict[str, Call] = OrderedDict()
        self.dirty: dict[str, Call] = {}
        self.raw_rows: list[dict[str, object]] = []
        self.listeners: list[CallListener] = []
        self.completed: list[Call] = []  # completed since the last flush, in completion order
        # Told when a call is answered, while it is still in progress (a callback reaches the caller then,
        # not when it ends).
        self.answer_listeners: list[CallListener] = []
        self.answered: list[Call] = []  # answered since the last flush, still open
        # Told once per flush with every call answered (still open) or completed in it, after the per-call
        # listeners: for listeners that write one transaction per batch (tickets).
        self.batch_listeners: list[BatchListener] = []
        # Told once per flush, after its commit, with every call written in it (started, changed, ended,
        # fixed up by a late event): for derived data kept from the calls (the reports' roll-up).
        self.written_listeners: list[BatchListener] = []
        # (listener, call or batch) whose listener failed because the database was away: told again later
        self.retell: list[tuple[Callable[[Any], None], Call | list[Call]]] = []
        self.stats = {"events": 0, "calls": 0, "flushes": 0}

    def on_completed(self, listener: CallListener) -> None:
        self.listeners.append(listener)

    def on_answered(self, listener: CallListener) -> None:
        self.answer_listeners.append(listener)

    def on_calls(self, listener: BatchListener) -> None:
        self.batch_listeners.append(listener)

    def on_written(self, listener: BatchListener) -> None:
        self.written_listeners.append(listener)

    def load_open(self, provider: str | None = None) -> int:
        """After a restart: take the calls still open in the database (of `provider`) back into memory."""
        if self.factory is None:
            return 0
        with unit_of_work(self.factory) as s:
            stmt = select(CallRow).where(CallRow.ended_at.is_(None))
            if provider is not None:
                stmt = stmt.where(CallRow.provider == provider)
            rows = s.scalars(stmt).all()
            for row in rows:
                call = row_to_call(row)
                self.open[call.call_id] = call
        return len(rows)

    def apply(self, events: Iterable[CallEvent]) -> None:
        for event in events:
            self.stats["events"] += 1
            call = self.open.get(event.call_id)
            if call is None:
                late = self.recent.get(event.call_id)
                if late is not None:
                    apply(late, event)  # a late event for a completed call: fix it up
                    _clean(late)
                    self.dirty[late.call_id] = late
                    continue
                if event.kind is not EventKind.STARTED:
                    continue  # an event for a call we never saw start (e.g. before a restart)
                call = self.open[event.call_id] = start(event)
                self.stats["calls"] += 1
            first_answer = event.kind is EventKind.ANSWERED and call.answered_at is None
            apply(call, event)
            _clean(call)
            if first_answer and call.answered_at is not None:
                self.answered.append(call)
            self.dirty[call.call_id] = call
            if event.kind is EventKind.ENDED:
                self._complete(call)

    def _complete(self, call: Call) -> None:
        del self.open[call.call_id]
        self.recent[call.call_id] = call
        while len(self.recent) > _RECENT:
            self.recent.popitem(last=False)
        self.completed.append(call)

    def end_missing(self, provider: str, alive: set[str], at: datetime) -> list[Call]:
        """Open calls of `provider` not among `alive`: they ended while we were not listening."""
        gone = [c for c in self.open.values() if c.provider == provider and c.call_id not in alive]
        for call in gone:
            self.apply([CallEvent(call.call_id, EventKind.ENDED, at, provider=provider, estimated=True)])
        return gone

    def open_started(self, provider: str) -> dict[str, datetime]:
        """The open calls of `provider` and when each started."""
        return {c.call_id: c.started_at for c in self.open.values() if c.provider == provider}

    def add_raw(self, rows: Iterable[dict[str, object]]) -> None:
        self.raw_rows.extend(rows)

    def flush(self, force: bool = False) -> list[Call]:
        """Write changed calls and raw events in one transaction; then tell listeners what completed.

        The batch stays in memory until its commit succeeds: while the database is away, writes are
        retried with backoff (`force` tries at once, e.g. at shutdown) and nothing is told; a row the
        database refuses is set aside alone (see BatchWriter). Returns the calls told as completed."""
        written: list[Call] = []
        if self.factory is not None and (self.dirty or self.raw_rows):
            if not self.writer.write(self.dirty, self.raw_rows, force=force):
                return []
            self.stats["flushes"] += 1
            written = list(self.dirty.values())
        self.dirty = {}
        self.raw_rows = []
        completed = self.completed
        answered = [c for c in self.answered if c.ended_at is None]  # the ended ones are in `completed`
        self.completed = []
        self.answered = []
        retell: list[tuple[Callable[[Any], None], Call | list[Call]]] = []
        if self.retell and self.writer.due():  # listeners that failed on the database wait for its backoff
            retell, self.retell = self.retell, []
        for listener, told in retell:
            self._tell_one(listener, told)
        if retell and self.retell:
            self.writer.still_away("call listeners failed again")
        for call in answered:
            for listener in self.answer_listeners:
                self._tell_one(listener, call)
        for call in completed:
            for listener in self.listeners:
                self._tell_one(listener, call)
        if answered or completed:
            for batch_listener in self.batch_listeners:
                self._tell_one(batch_listener, answered + completed)
        if written:
            for written_listener in self.written_listeners:
                self._tell_one(written_listener, written)
        return completed

    @property
    def pending(self) -> int:
        """Changed calls and raw events not yet written."""
        return len(self.dirty) + len(self.raw_rows)

    def _tell_one(self, listener: Callable[[Any], None], told: Call | list[Call]) -> None:
        """A failing listener is logged and does not stop the others; one that failed because the
        database was away is told again at the next flush (a batch listener, the same batch)."""
        what = f"call {told.call_id}" if isinstance(told, Call) else f"{len(told)} calls"
        try:
            listener(told)
        except Exception as e:
            if database_away(e) and self.factory is not None:
                log.warning("数据库不可用，稍后重试 / database away: call listener %r retried later for %s",
                            listener, what)
                self.retell.append((listener, told))
                return
            log.exception("call listener %r failed for %s", listener, what)


def _clean(call: Call) -> None:
    """Text the database, alerts and pages can take (the raw record keeps the original)."""
    for name in _CLEANED:
        value = getattr(call, name)
        if value is not None:
            setattr(call, name, clean_text(value, CALL_TEXT_LIMITS.get(name)))

