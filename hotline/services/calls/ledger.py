"""The call ledger use case: call events in, calls stored; completed calls announced to listeners."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.domain.calls import Call, CallEvent, EventKind, apply, start
from hotline.store.base import unit_of_work
from hotline.store.calls import CallRow, insert_raw_events, row_to_call, upsert_calls

log = logging.getLogger(__name__)

CallListener = Callable[[Call], None]
BatchListener = Callable[[list[Call]], None]
_RECENT = 4096  # completed calls kept in memory for late events (e.g. AgentComplete after Hangup)


class Ledger:
    """Folds call events into calls, keeps open calls in memory and writes changes in batches."""

    def __init__(self, factory: sessionmaker[Session] | None) -> None:
        self.factory = factory
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
        self.stats = {"events": 0, "calls": 0, "flushes": 0}

    def on_completed(self, listener: CallListener) -> None:
        self.listeners.append(listener)

    def on_answered(self, listener: CallListener) -> None:
        self.answer_listeners.append(listener)

    def on_calls(self, listener: BatchListener) -> None:
        self.batch_listeners.append(listener)

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
                    self.dirty[late.call_id] = late
                    continue
                if event.kind is not EventKind.STARTED:
                    continue  # an event for a call we never saw start (e.g. before a restart)
                call = self.open[event.call_id] = start(event)
                self.stats["calls"] += 1
            first_answer = event.kind is EventKind.ANSWERED and call.answered_at is None
            apply(call, event)
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

    def add_raw(self, rows: Iterable[dict[str, object]]) -> None:
        self.raw_rows.extend(rows)

    def flush(self) -> list[Call]:
        """Write changed calls and raw events in one transaction; then tell listeners what completed."""
        dirty = list(self.dirty.values())
        raw = self.raw_rows
        completed = self.completed
        answered = [c for c in self.answered if c.ended_at is None]  # the ended ones are in `completed`
        self.dirty = {}
        self.raw_rows = []
        self.completed = []
        self.answered = []
        if self.factory is not None and (dirty or raw):
            with unit_of_work(self.factory) as s:
                upsert_calls(s, dirty)
                insert_raw_events(s, raw)  # type: ignore[arg-type]
            self.stats["flushes"] += 1
        _tell(self.answer_listeners, answered)
        _tell(self.listeners, completed)
        if answered or completed:
            for batch_listener in self.batch_listeners:
                try:
                    batch_listener(answered + completed)
                except Exception:
                    log.exception("batch listener %r failed for %d calls", batch_listener, len(answered + completed))
        return completed


def _tell(listeners: list[CallListener], calls: list[Call]) -> None:
    """Each call to each listener; a failing listener is logged and does not stop the others."""
    for call in calls:
        for listener in listeners:
            try:
                listener(call)
            except Exception:
                log.exception("call listener %r failed for call %s", listener, call.call_id)
