"""Date ranges of list and summary endpoints: absent dates mean today by the app's clock, so that no
request reads the whole ledger by default; list sizes are capped."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import HTTPException, Query, Request

from hotline.clock import today as desk_today
from hotline.domain.day_range import day_span, is_reversed

MAX_LIMIT = 5000
LIMIT = Query(1000, ge=1, le=MAX_LIMIT, description="最多条数 at most this many rows (1..5000)")


def today(request: Request) -> date:
    """Today by the app's clock, in the desk's timezone."""
    return desk_today(request.app.state.clock, request.app.state.settings.tz)


def days_or_today(request: Request, first: date | None, last: date | None) -> tuple[date, date]:
    """The given days; a missing end is the other end (or today), both missing is today."""
    now = today(request)
    end = last or max(first or now, now)
    start = first or end
    if is_reversed(start, end):
        raise reversed_error(start, end)
    return start, end


def reversed_error(first: date | None, last: date | None) -> HTTPException:
    """The 422 for a `to` before `from`."""
    return HTTPException(422, f"参数 to ({last}) 早于 from ({first}) / query parameter `to` ({last}) "
                              f"is before `from` ({first})")


def span_or_today(request: Request, first: date | None, last: date | None) -> tuple[date, date, datetime, datetime]:
    start, end = days_or_today(request, first, last)
    lo, hi = day_span(start, end, request.app.state.settings.tz)
    assert lo is not None and hi is not None
    return start, end, lo, hi
