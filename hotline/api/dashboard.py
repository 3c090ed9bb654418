"""The supervisors' dashboard: pages (overview, calls, alerts, roster, reports), the wallboard, the
summary behind the tiles, and live updates over Server-Sent Events.

One computation per interval is shared by every open page (`LiveFeed`): 20 dashboards and the TV cost
the database one summary every `[api] live_interval` seconds, not twenty."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from hotline.api.guard import mask_numbers
from hotline.api.pages import render
from hotline.api.ranges import today
from hotline.domain.access import sees_numbers
from hotline.domain.day_range import day_span
from hotline.services.reports.dashboard import Dashboard, recent_calls

router = APIRouter(tags=["dashboard"])
# path -> (template in hotline/api/templates, the page's name for its script, its title). /roster (the roster
# editor) and /tickets have routers of their own.
PAGES = {"/": ("overview.html", "overview", "总览 Overview"), "/calls": ("calls.html", "calls", "呼叫 Calls"),
         "/alerts": ("alerts.html", "alerts", "告警 Alerts"), "/duty": ("duty.html", "duty", "值班 On duty"),
         "/reports": ("reports.html", "reports", "报表 Reports")}


def dashboard_of(state: Any) -> Dashboard:
    board: Dashboard | None = getattr(state, "dashboard", None)
    if board is None:
        board = state.dashboard = Dashboard(state.factory, state.settings)
    return board


def _open_calls(state: Any) -> list[Any]:
    ledger = state.live.get("ledger")
    return [] if ledger is None else list(ledger.open.values())


def summary_now(state: Any) -> dict[str, Any]:
    return dashboard_of(state).summary(state.clock.now(), _open_calls(state))


def calls_now(state: Any) -> dict[str, Any]:
    """Today's latest calls and the calls in progress (for the calls page)."""
    settings = state.settings
    day = state.clock.now().astimezone(settings.tz).date()
    lo, hi = day_span(day, day, settings.tz)
    assert lo is not None and hi is not None
    open_calls = sorted(_open_calls(state), key=lambda c: c.started_at)
    return {"day": day.isoformat(), "recent": recent_calls(state.factory, settings.tz, lo, hi),
            "open": [_local_call(c, settings.tz) for c in open_calls]}


def _local_call(call: Any, tz: Any) -> dict[str, Any]:
    d: dict[str, Any] = call.as_dict()
    for key in ("started_at", "answered_at", "ended_at"):
        value = getattr(call, key)
        d[key] = None if value is None else value.astimezone(tz).isoformat()
    return d


class LiveFeed:
    """The latest payloads, recomputed at most once per interval whoever asks (in a worker thread).
    Once there is a payload, askers get it at once; a stale one is refreshed in the background."""

    def __init__(self, state: Any) -> None:
        self.state = state
        self.interval = float(state.settings.api.live_interval)
        self._at = -1e9
        self._payload: dict[str, Any] | None = None
        self._lock = asyncio.Lock()
        self._refresh: asyncio.Task[None] | None = None
        self._encoded: dict[tuple[str, bool], str] = {}

    async def payload(self) -> dict[str, Any]:
        if self._payload is None:
            await self._update()
        elif time.monotonic() - self._at >= self.interval and (self._refresh is None or self._refresh.done()):
            self._refresh = asyncio.get_running_loop().create_task(self._update())
        assert self._payload is not None
        return self._payload

    async def _update(self) -> None:
        async with self._lock:
            if self._payload is not None and time.monotonic() - self._at < self.interval:
                return
            self._payload, self._encoded = await asyncio.to_thread(self._compute), {}
            self._at = time.monotonic()

    async def encoded(self, name: str, masked: bool) -> str:
        """A part of the latest payload as JSON (caller numbers masked or not), encoded once per payload:
        twenty clients asking every two seconds cost one encoding, not twenty."""
        payload = await self.payload()
        key = (name, masked)
        text = self._encoded.get(key) if payload is self._payload else None
        if text is None:
            part = mask_numbers(payload[name]) if masked else payload[name]
            text = json.dumps(part, ensure_ascii=False, default=str)
            if payload is self._payload:
                self._encoded[key] = text
        return text

    def _compute(self) -> dict[str, Any]:
        return {"summary": summary_now(self.state), "calls": calls_now(self.state)}


def feed_of(state: Any) -> LiveFeed:
    feed: LiveFeed | None = getattr(state, "live_feed", None)
    if feed is None:
        feed = state.live_feed = LiveFeed(state)
    return feed


async def _events(request: Request, names: tuple[str, ...]) -> AsyncIterator[str]:
    """SSE frames: each named part of the live payload whenever it changed, then a comment to keep alive."""
    feed = feed_of(request.app.state)
    principal = getattr(request.state, "principal", None)
    # the guard masks JSON responses for roles that do not see numbers; a stream is masked here
    masked = principal is None or not sees_numbers(principal.role)
    sent: dict[str, str] = {}
    yield f"retry: {int(feed.interval * 1000)}\n\n"
    while not await request.is_disconnected():
        for name in names:
            data = await feed.encoded(name, masked)
            if sent.get(name) != data:
                sent[name] = data
                yield f"event: {name}\ndata: {data}\n\n"
        yield ": alive\n\n"
        await asyncio.sleep(feed.interval)


def _stream(request: Request, names: tuple[str, ...]) -> StreamingResponse:
    return StreamingResponse(_events(request, names), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/api/dashboard/summary")
async def summary(request: Request) -> Response:
    """The tiles and charts: today's answer rate per specialty, waiting callers, alerts, duty (the shared
    payload's JSON as encoded once; masked here for roles that do not see numbers, so the guard need not
    parse it again)."""
    principal = getattr(request.state, "principal", None)
    masked = principal is None or not sees_numbers(principal.role)
    body = await feed_of(request.app.state).encoded("summary", masked)
    if masked:
        request.state.numbers_masked = True
    return Response(body, media_type="application/json")


@router.get("/api/dashboard/stream")
def stream(request: Request) -> StreamingResponse:
    """Live updates (Server-Sent Events): `summary` and `calls` events whenever they change."""
    return _stream(request, ("summary", "calls"))


@router.get("/api/wall/stream")
def wall_stream(request: Request) -> StreamingResponse:
    """The wallboard's live updates: the summary only (no caller numbers on a TV). A viewer's session, or a
    viewer API token in `?token=` (a TV sends no header; see hotline/api/guard.py)."""
    return _stream(request, ("summary",))


@router.get("/wall", response_class=HTMLResponse)
def wall(request: Request) -> Response:
    """The desk's TV: waiting callers, answer rate, open alerts, on duty; large type, read only. Opened with a
    viewer API token: `/wall?token=...` (`hotline users token NAME --scope viewer`)."""
    return render(request, "wall.html")


@router.get("/api/dashboard/today")
def today_date(request: Request) -> dict[str, str]:
    """The app's today (its clock, the desk's timezone): the pages' default range."""
    day: date = today(request)
    return {"day": day.isoformat()}


def _page(path: str) -> Any:
    template, name, title = PAGES[path]

    def page(request: Request) -> HTMLResponse:
        return render(request, template, page=name, title=title, here=path)

    return page


for _path in PAGES:
    router.add_api_route(_path, _page(_path), methods=["GET"], include_in_schema=False,
                         response_class=HTMLResponse)


MONTHLY_TYPES = {"json": "application/json", "html": "text/html; charset=utf-8", "pdf": "application/pdf",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@router.get("/api/reports/monthly/{month}.{fmt}")
def monthly_report(request: Request, month: str, fmt: str) -> Response:
    """The monthly quality report of `month` (YYYY-MM) as html, pdf, xlsx or json."""
    from hotline.services.reports.monthly import build_monthly, parse_month
    from hotline.services.reports.monthly_files import render

    if fmt not in MONTHLY_TYPES:
        raise HTTPException(404, f"格式 {fmt!r} 不支持 / format {fmt!r}: html, pdf, xlsx or json")
    try:
        first_day = parse_month(month)
    except ValueError as e:
        raise HTTPException(422, str(e)) from None
    state = request.app.state
    doc = build_monthly(state.factory, state.settings, first_day, state.clock.now())
    data = render(doc, fmt, state.settings.reports.answer_rate_target)
    headers = {} if fmt == "html" else {"Content-Disposition": f'attachment; filename="quality-report-{month}.{fmt}"'}
    return Response(data, media_type=MONTHLY_TYPES[fmt], headers=headers)
