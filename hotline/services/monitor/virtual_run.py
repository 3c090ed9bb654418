"""Runs the monitor on a manual clock: jump to each due time, run the engine, drain the outbox.
Used by `hotline replay --run-for`, the tests and the benchmark's dry runs."""

from __future__ import annotations

from datetime import datetime

from hotline.clock import ManualClock
from hotline.services.monitor.engine import MonitorService
from hotline.services.monitor.outbox import Delivered, Outbox, PageSender


async def advance(monitor: MonitorService, clock: ManualClock, until: datetime,
                  outbox: Outbox | None = None, sender: PageSender | None = None) -> list[Delivered]:
    """Move `clock` to `until`, stopping at every due time on the way (late work fires at once)."""
    delivered: list[Delivered] = []
    while True:
        await _drain(outbox, sender, delivered)
        due = monitor.next_due()
        if due is None or due > until:
            break
        clock.set(due)
        monitor.tick()
    clock.set(until)
    await _drain(outbox, sender, delivered)
    return delivered


async def _drain(outbox: Outbox | None, sender: PageSender | None, into: list[Delivered]) -> None:
    if outbox is None or sender is None:
        return
    while batch := await outbox.drain(sender):
        into += batch
