"""The reports' roll-up kept from the ledger, and the choice between it and the calls.

`RollupKeeper.on_written` is the ledger's listener (`Ledger.on_written`): after each flush it recounts
the UTC hours of the inbound calls written (idempotent: a call told twice, ended after midnight or fixed
up by a late event is counted once, in the hour it started). `rates` and `offered_answered` read the
roll-up when it serves the request (built, same thresholds, a span of whole hours) and the calls
otherwise; `call_stats` (raw GROUP BY) and `domain.kpi` stay the references the tests compare it with."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from hotline.config import Settings
from hotline.domain.calls import Call, Direction
from hotline.domain.kpi import AnswerRate, RateParams
from hotline.store import call_rollup
from hotline.store.base import unit_of_work
from hotline.store.call_stats import Span, answer_rate_rows
from hotline.store.call_stats import offered_answered as raw_offered_answered

log = logging.getLogger(__name__)


def _serving(session: Session, span: Span, params: RateParams | None) -> bool:
    if not call_rollup.covers(span):
        return False
    state = call_rollup.rollup_state(session)
    return state is not None and (params is None or state.serves(params))


def rates(session: Session, span: Span, by: str, tz: str, params: RateParams,
          with_p90: bool = True) -> tuple[list[AnswerRate], AnswerRate]:
    """Answer-rate rows and the total: from the roll-up when it serves (the P90 waits from its wait
    histograms unless `with_p90` is False), else from the calls."""
    if _serving(session, span, params):
        return call_rollup.rollup_rate_rows(session, span, by, tz, params, with_p90)
    return answer_rate_rows(session, span, by, tz, params)


def offered_answered(session: Session, span: Span, by: str, tz: str) -> list[tuple[str, int, int]]:
    """(group, offered, answered) per group (trend charts): from the roll-up when built, else the calls."""
    if _serving(session, span, None):
        return call_rollup.rollup_offered_answered(session, span, by, tz)
    return raw_offered_answered(session, span, by, tz)


class RollupKeeper:
    """Keeps the roll-up current from the ledger's flushes, with the thresholds it was built for.

    A rebuild (`ensure`, possibly in another thread) and the flushes' recounts never write at once:
    hours written during a rebuild are recounted after it."""

    def __init__(self, factory: sessionmaker[Session], params: RateParams) -> None:
        self.factory = factory
        self.params = params
        self._lock = threading.Lock()
        self._building = False
        self._pending: set[datetime] = set()

    def on_written(self, calls: Sequence[Call]) -> None:
        hours = {call_rollup.hour_of(c.started_at) for c in calls
                 if c.direction == Direction.INBOUND and c.ended_at is not None}
        if not hours:
            return
        with self._lock:
            if self._building:
                self._pending |= hours
                return
            self._refresh(hours)

    def _refresh(self, hours: set[datetime]) -> None:
        with unit_of_work(self.factory) as s:
            state = call_rollup.rollup_state(s)
            params = self.params if state is None else RateParams(
                short_abandon_seconds=state.short_abandon_seconds, service_level_seconds=state.service_level_seconds)
            call_rollup.refresh_hours(s, hours, params)

    def ensure(self, now: datetime) -> int | None:
        """Build the roll-up when it was never built or for other thresholds; the rows written, or None
        when it was already right."""
        with self._lock:
            with unit_of_work(self.factory) as s:
                state = call_rollup.rollup_state(s)
                if state is not None and state.serves(self.params):
                    return None
            self._building = True
        try:
            return rebuild(self.factory, self.params, now)
        finally:
            with self._lock:
                self._building = False
                pending, self._pending = self._pending, set()
                if pending:
                    self._refresh(pending)

    def ensure_quietly(self, now: datetime) -> None:
        """`ensure` for a background thread: a failure is logged (the reports read the calls meanwhile)."""
        try:
            self.ensure(now)
        except Exception:
            log.exception("报表汇总未能建立 / the reports' roll-up could not be built; the reports read the calls")


def rebuild(factory: sessionmaker[Session], params: RateParams, now: datetime) -> int:
    """Recount the whole roll-up from the calls (one transaction); the rows written."""
    with unit_of_work(factory) as s:
        written = call_rollup.rebuild(s, params, now)
    log.info("报表汇总已重建 / reports' roll-up rebuilt: %d rows", written)
    return written


def keeper_for(factory: sessionmaker[Session], settings: Settings) -> RollupKeeper:
    from hotline.services.reports.answer_rate import rate_params

    return RollupKeeper(factory, rate_params(settings))


def rollup_status(factory: sessionmaker[Session]) -> tuple[call_rollup.RollupState, int] | None:
    """The roll-up's state and its row count; None when it was never built."""
    with unit_of_work(factory) as s:
        state = call_rollup.rollup_state(s)
        return None if state is None else (state, call_rollup.row_count(s))
