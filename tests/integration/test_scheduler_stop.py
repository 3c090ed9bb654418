"""A coroutine job cancelled by the process stopping ends quietly (apscheduler would log it as a crash with a
traceback, which `hotline serve` printed under load when SIGTERM came mid-cycle)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from hotline.runtime.scheduler import stops_quietly


async def _scheduled_and_cancelled(quiet: bool, caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    started = asyncio.Event()

    async def cycle() -> None:
        started.set()
        await asyncio.sleep(60)  # a cycle still running when the stop comes

    scheduler = AsyncIOScheduler()
    job = stops_quietly(cycle, "monitor tick") if quiet else cycle
    scheduler.add_job(job, "date")
    with caplog.at_level(logging.INFO):
        scheduler.start()
        await asyncio.wait_for(started.wait(), 10)
        scheduler.shutdown(wait=False)
        running = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in running:  # what asyncio.run does to the tasks left when the command's coroutine returns
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
    return caplog.records


async def test_a_cancelled_cycle_is_a_line_not_a_traceback(caplog: pytest.LogCaptureFixture) -> None:
    records = await _scheduled_and_cancelled(True, caplog)
    assert not [r for r in records if r.levelno >= logging.ERROR or r.exc_info]
    assert any("monitor tick interrupted by the stop" in r.getMessage() for r in records)


async def test_without_it_apscheduler_logs_the_cancellation_as_a_crash(caplog: pytest.LogCaptureFixture) -> None:
    """The control: the same cancellation of a plain coroutine job is logged with a traceback."""
    records = await _scheduled_and_cancelled(False, caplog)
    assert any(r.levelno >= logging.ERROR and r.exc_info for r in records)
