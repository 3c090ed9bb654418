"""Runs the monitor on a manual clock: jump to each due time, run the engine, drain the outbox.
Used by `hotline replay --run-for`, the tests and the benchmark's dry runs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from hotline.clock import ManualClock
from hotline.services.monitor.engine import MonitorService
from hotline.services.monitor.outbox import Delivered, Outbox, PageSender


class Engine(Protocol):
    """Anything that runs short cycles on the outbox like the monitor (e.g. the tickets' SLA engine)."""

    def next_due(self) -> datetime | None: ...

    def tick(self, now: datetime | None = None) -> int: ...


async def advance(monitor: MonitorService, clock: ManualClock, until: datetime,
                  outbox: Outbox | None = None, sender: PageSender | None = None,
                  engines: Sequence[Engine] = ()) -> list[Delivered]:
    """Move `clock` to `until`, stopping at every due time on the way (late work fires at once)."""
    delivered: list[Delivered] = []
    every: list[Engine] = [monitor, *engines]
    while True:
        await _drain(outbox, sender, delivered)
        due = min((d for d in (e.next_due() for e in every) if d is not None), default=None)
        if due is None or due > until:
            break
        clock.set(due)
        for engine in every:
            engine.tick()
    clock.set(until)
    await _drain(outbox, sender, delivered)
    return delivered


async def _drain(outbox: Outbox | None, sender: PageSender | None, into: list[Delivered]) -> None:
    if outbox is None or sender is None:
        return
    while batch := await outbox.drain(sender):
        into += batch
