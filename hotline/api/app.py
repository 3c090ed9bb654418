"""The FastAPI application: ledger and report API, the supervisors' dashboard, other parts' routers."""

from __future__ import annotations

import importlib
import logging
from datetime import date
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.api.ranges import days_or_today
from hotline.clock import Clock, SystemClock
from hotline.config import Settings
from hotline.domain.calls import Call
from hotline.services.reports.answer_rate import answer_rate_report
from hotline.store.base import unit_of_work
from hotline.store.calls import CallRow, row_as_dict

log = logging.getLogger(__name__)

# Routers of other parts, mounted when present: (module, attribute).
OPTIONAL_ROUTERS = [
    ("hotline.api.roster", "router"),
    ("hotline.api.alerts", "router"),
    ("hotline.api.twilio", "router"),
    ("hotline.api.reports", "router"),
    ("hotline.api.callbacks", "router"),
    ("hotline.api.metrics", "router"),
    ("hotline.api.dashboard", "router"),
]


def create_app(settings: Settings, factory: sessionmaker[Session], clock: Clock | None = None,
               live: dict[str, Any] | None = None) -> FastAPI:
    """Build the app; `live` holds in-process state (open calls, listener status) when running."""
    app = FastAPI(title="hotline", description="IT-support hotline watcher / 热线监控")
    app.state.settings = settings
    app.state.factory = factory
    app.state.clock = clock or SystemClock(settings.tz)
    app.state.live = live if live is not None else {}

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        status = app.state.live.get("listener", {})
        return {"ok": True, "listener": status}

    @app.get("/api/calls")
    def calls(limit: int = Query(100, ge=1, le=5000), outcome: str | None = None,
              caller: str | None = None, start: date | None = Query(None, alias="from"),
              end: date | None = Query(None, alias="to")) -> list[dict[str, Any]]:
        stmt = select(CallRow).order_by(CallRow.started_at.desc()).limit(limit)
        if outcome:
            stmt = stmt.where(CallRow.outcome == outcome)
        if caller:
            stmt = stmt.where(CallRow.caller == caller)
        from hotline.services.reports.answer_rate import day_span

        lo, hi = day_span(start, end, settings.tz)
        if lo is not None:
            stmt = stmt.where(CallRow.started_at >= lo)
        if hi is not None:
            stmt = stmt.where(CallRow.started_at < hi)
        with unit_of_work(factory) as s:
            return [row_as_dict(r, settings.tz) for r in s.scalars(stmt)]

    @app.get("/api/calls/open")
    def open_calls() -> list[dict[str, Any]]:
        ledger = app.state.live.get("ledger")
        if ledger is None:
            return []
        return [_local(c, settings) for c in sorted(ledger.open.values(), key=lambda c: c.started_at)]

    @app.get("/api/reports/answer-rate")
    def answer_rate(request: Request, by: str = "specialty", start: date | None = Query(None, alias="from"),
                    end: date | None = Query(None, alias="to"),
                    short_abandon: float | None = None) -> dict[str, Any]:
        """Answer rate per group from `from` to `to` (local days); without dates, today."""
        if by not in ("specialty", "day", "hour", "agent"):
            raise HTTPException(422, f"unknown grouping {by!r}: specialty, day, hour or agent")
        short = settings.reports.short_abandon_seconds if short_abandon is None else short_abandon
        first, last = days_or_today(request, start, end)
        rows, total = answer_rate_report(factory, settings.tz, start=first, end=last, by=by,
                                         target=settings.reports.answer_rate_target,
                                         short_abandon_seconds=short)
        return {"by": by, "from": first.isoformat(), "to": last.isoformat(),
                "rows": [r.as_dict() for r in rows], "total": total.as_dict(),
                "formula": "answer_rate = answered / offered; offered = answered + abandoned + timeout + busy"}

    @app.exception_handler(ValueError)
    async def value_error(_request: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc)})

    for module_name, attr in OPTIONAL_ROUTERS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name == module_name:
                continue
            raise
        app.include_router(getattr(module, attr))
    return app


def _local(call: Call, settings: Settings) -> dict[str, Any]:
    for attr in ("started_at", "answered_at", "ended_at"):
        value = getattr(call, attr)
        if value is not None:
            setattr(call, attr, value.astimezone(settings.tz))
    return call.as_dict()
