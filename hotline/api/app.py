"""The FastAPI application: ledger and report API, the supervisors' dashboard, other parts' routers."""

from __future__ import annotations

import copy
import importlib
import logging
from datetime import date
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session, sessionmaker

from hotline.api.auth import install_access
from hotline.api.prefix import PathPrefix, base_path
from hotline.api.ranges import days_or_today
from hotline.clock import Clock, SystemClock
from hotline.config import Settings
from hotline.domain.calls import Call
from hotline.domain.day_range import day_span
from hotline.services.reports.answer_rate import GROUPS, RateParamError, answer_rate_report, rate_params
from hotline.store.base import unit_of_work
from hotline.store.call_stats import calls_started
from hotline.store.calls import CallRow, row_as_dict

log = logging.getLogger(__name__)
FORMULA = ("answer_rate = answered / offered; offered = answered + abandoned + timeout + busy; "
           "service_level = answered within service_level_seconds / offered; asa = mean wait of answered calls; "
           "abandon_rate = abandoned / offered (short abandons apart)")
OUT_OF_RANGE = ("日期超出可处理的范围 / a date in the query is out of the range hotline can handle "
                "(use years 1970-2999)")

# Routers of other parts, mounted when present: (module, attribute).
OPTIONAL_ROUTERS = [
    ("hotline.api.roster", "router"),
    ("hotline.api.roster", "pages"),
    ("hotline.api.alerts", "router"),
    ("hotline.api.twilio", "router"),
    ("hotline.api.reports", "router"),
    ("hotline.api.callbacks", "router"),
    ("hotline.api.tickets", "router"),
    ("hotline.api.complaints", "router"),
    ("hotline.api.surveys", "router"),
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
        # the desk's clock (the demo's simulated day): the dashboard's status line shows it
        return {"ok": True, "now": app.state.clock.now().astimezone(settings.tz).isoformat(), "listener": status}

    @app.get("/api/calls")
    def calls(limit: int = Query(100, ge=1, le=5000), outcome: str | None = None,
              caller: str | None = None, start: date | None = Query(None, alias="from"),
              end: date | None = Query(None, alias="to")) -> list[dict[str, Any]]:
        lo, hi = day_span(start, end, settings.tz)
        stmt = calls_started(lo, hi, newest_first=True, limit=limit)
        if outcome:
            stmt = stmt.where(CallRow.outcome == outcome)
        if caller:
            stmt = stmt.where(CallRow.caller == caller)
        with unit_of_work(factory) as s:
            return [row_as_dict(r, settings.tz) for r in s.scalars(stmt)]

    @app.get("/api/calls/open")
    def open_calls() -> list[dict[str, Any]]:
        """Calls in progress: the PBX listener's ledger and the Twilio webhooks' ledger (which holds the
        Twilio calls, written from its own worker)."""
        ledgers = [app.state.live.get("ledger"), getattr(getattr(app.state, "twilio_calls", None), "ledger", None)]
        calls: dict[str, Call] = {}
        for ledger in ledgers:
            if ledger is not None:
                calls.update((c.call_id, c) for c in list(ledger.open.values()))  # list(): one step under the GIL
        return [_local(c, settings) for c in sorted(calls.values(), key=lambda c: c.started_at)]

    @app.get("/api/reports/answer-rate")
    def answer_rate(request: Request, by: str = "specialty", start: date | None = Query(None, alias="from"),
                    end: date | None = Query(None, alias="to"), short_abandon: float | None = None,
                    service_level: float | None = None) -> dict[str, Any]:
        """Answer rate per group from `from` to `to` (local days); without dates, today."""
        if by not in GROUPS:
            raise HTTPException(422, f"unknown grouping {by!r}: {', '.join(GROUPS)}")
        try:
            params = rate_params(settings, short_abandon, service_level)
        except RateParamError as e:
            raise HTTPException(422, str(e)) from None
        first, last = days_or_today(request, start, end)
        rows, total = answer_rate_report(factory, settings.tz, start=first, end=last, by=by, params=params)
        return {"by": by, "from": first.isoformat(), "to": last.isoformat(),
                "rows": [r.as_dict() for r in rows], "total": total.as_dict(),
                "short_abandon_seconds": params.short_abandon_seconds,
                "service_level_seconds": params.service_level_seconds, "formula": FORMULA}

    @app.exception_handler(OverflowError)
    async def out_of_range(_request: Request, exc: OverflowError) -> JSONResponse:
        # a date like 0001-01-01 or 9999-12-31 cannot be turned into UTC or moved by a day
        return JSONResponse(status_code=422, content={"detail": OUT_OF_RANGE})

    @app.exception_handler(StatementError)
    async def bad_statement(_request: Request, exc: StatementError) -> JSONResponse:
        if isinstance(exc.orig, OverflowError):  # the same, found while binding a query's parameters
            return JSONResponse(status_code=422, content={"detail": OUT_OF_RANGE})
        raise exc

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
    install_access(app)  # default-deny guard in front of every route, sign-in routes (hotline/api/auth.py)
    prefix = base_path(settings.api.public_base_url)
    if prefix:  # behind a proxy that keeps the public URL's path prefix (one that strips it works too); added
        app.add_middleware(PathPrefix, prefix=prefix)  # last, so it runs first: the guard sees plain paths
    return app


def _local(call: Call, settings: Settings) -> dict[str, Any]:
    """The call as JSON with local times (a copy: the ledger's live call is not touched)."""
    local = copy.copy(call)
    for attr in ("started_at", "answered_at", "ended_at"):
        value = getattr(local, attr)
        if value is not None:
            setattr(local, attr, value.astimezone(settings.tz))
    return local.as_dict()
