"""Alerts, acknowledgements and incidents over HTTP: the API, the signed one-tap link in a page, and
the replies that come back through Twilio (SMS code, key pressed in a voice page)."""

from __future__ import annotations

import html
import logging
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from hotline.api.auth import principal_of
from hotline.api.pages import root_of
from hotline.api.ranges import LIMIT, MAX_LIMIT, span_or_today
from hotline.config import ConfigError
from hotline.domain.alerts import AlertClosed
from hotline.services.monitor import alert_reports
from hotline.services.monitor.ack_links import BadLink
from hotline.services.monitor.alert_reports import alert_view
from hotline.services.monitor.config import build_monitor
from hotline.services.monitor.engine import AlertNotFound, MonitorService
from hotline.services.monitor.incidents import IncidentService
from hotline.services.monitor.page_replies import acknowledge_sms, acknowledge_voice

log = logging.getLogger(__name__)
router = APIRouter(tags=["alerts"])
STATES = ("open", "acked", "cleared", "resolved", "breached", "all")


# Who acknowledges, resolves or declares is the signed-in account's roster person (hotline.api.auth),
# never a name sent in the body.
class ResolveBody(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class IncidentBody(BaseModel):
    title: str = Field(min_length=1, max_length=500)
    description: str | None = None
    specialty: str | None = None


def monitor_of(request: Request) -> MonitorService:
    """The running monitor (`live['monitor']`), or one built from the app's settings on first use."""
    state = request.app.state
    monitor: MonitorService | None = state.live.get("monitor") or getattr(state, "monitor", None)
    if monitor is None:
        try:
            monitor, _ = build_monitor(state.settings, state.factory, state.clock, link_mode="optional")
        except ConfigError as e:
            raise HTTPException(503, str(e)) from None
        state.monitor = monitor
    return monitor


def _tz(request: Request) -> Any:
    return request.app.state.settings.tz


def _fail(e: Exception) -> HTTPException:
    if isinstance(e, AlertNotFound):
        return HTTPException(404, str(e))
    if isinstance(e, AlertClosed):
        return HTTPException(409, str(e))
    return HTTPException(422, str(e))


@router.get("/api/alerts")
def list_alerts(request: Request, state: str = "open", limit: int = Query(500, ge=1, le=MAX_LIMIT),
                monitor: MonitorService = Depends(monitor_of)) -> list[dict[str, object]]:
    if state not in STATES:
        raise HTTPException(422, f"unknown state {state!r}: {', '.join(STATES)}")
    return [alert_view(a, _tz(request)) for a in monitor.alerts(state, limit=limit)]


@router.get("/api/alerts/unreturned")
def unreturned(request: Request, limit: int = LIMIT,
               monitor: MonitorService = Depends(monitor_of)) -> list[dict[str, object]]:
    """The missed calls not yet returned: who called, when, how often, who was paged, who acknowledged."""
    return [r.as_dict(_tz(request)) for r in alert_reports.unreturned(monitor.factory, limit=limit)]


@router.get("/api/reports/returned")
def returned(request: Request, start: date | None = Query(None, alias="from"),
             end: date | None = Query(None, alias="to"), limit: int = LIMIT,
             monitor: MonitorService = Depends(monitor_of)) -> list[dict[str, object]]:
    """Per cleared alert missed from `from` to `to` (local days; without them today): how long until the
    caller was reached; at most `limit` rows."""
    _, _, lo, hi = span_or_today(request, start, end)
    rows = alert_reports.returned(monitor.factory, lo, hi, limit=limit)
    return [r.as_dict(_tz(request)) for r in rows]


@router.get("/api/alerts/{alert_id}")
def get_alert(request: Request, alert_id: str, monitor: MonitorService = Depends(monitor_of)) -> dict[str, object]:
    try:
        alert = monitor.alert(alert_id)
    except AlertNotFound as e:
        raise _fail(e) from None
    view = alert_view(alert, _tz(request))
    view["history"] = [e.as_dict(_tz(request)) for e in monitor.events(alert_id)]
    return view


@router.post("/api/alerts/{alert_id}/ack")
def ack(request: Request, alert_id: str, monitor: MonitorService = Depends(monitor_of)) -> dict[str, object]:
    by = principal_of(request).name
    try:
        return alert_view(monitor.acknowledge(alert_id, by, via="api"), _tz(request))
    except (AlertNotFound, AlertClosed) as e:
        raise _fail(e) from None


@router.post("/api/alerts/{alert_id}/resolve")
def resolve(request: Request, alert_id: str, body: ResolveBody,
            monitor: MonitorService = Depends(monitor_of)) -> dict[str, object]:
    try:
        return alert_view(monitor.resolve(alert_id, principal_of(request).name, body.reason), _tz(request))
    except (AlertNotFound, AlertClosed, ValueError) as e:
        raise _fail(e) from None


@router.post("/api/incidents", status_code=201)
def declare_incident(request: Request, body: IncidentBody,
                     monitor: MonitorService = Depends(monitor_of)) -> dict[str, object]:
    """Declare a major incident: the maintenance lead is paged at once; the report is due in 30 min."""
    try:
        incident = IncidentService(monitor).declare(body.title, principal_of(request).name, body.description,
                                                    body.specialty)
    except ValueError as e:
        raise _fail(e) from None
    monitor.tell_due(monitor.clock.now())  # the scheduler sends the pages now
    return incident.as_dict(_tz(request))


@router.get("/api/incidents")
def list_incidents(request: Request, open: bool = False, limit: int = LIMIT,
                   monitor: MonitorService = Depends(monitor_of)) -> list[dict[str, object]]:
    """Incidents, newest first, at most `limit`."""
    return [i.as_dict(_tz(request)) for i in IncidentService(monitor).list(open_only=open, limit=limit)]


@router.post("/api/incidents/{incident_id}/reported")
def incident_reported(request: Request, incident_id: str,
                      monitor: MonitorService = Depends(monitor_of)) -> dict[str, object]:
    try:
        return IncidentService(monitor).reported(incident_id, principal_of(request).name).as_dict(_tz(request))
    except AlertNotFound as e:
        raise _fail(e) from None


# ---- the one-tap link -------------------------------------------------------------------------------

_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>{title}</title>
<link rel="stylesheet" href="{root}/static/ack.css"></head><body><h1>{title}</h1>{body}</body></html>"""


def _html(request: Request, title: str, body: str, status: int = 200) -> HTMLResponse:
    """The link's page; its style and script under the public URL's path prefix (behind a proxy)."""
    root = html.escape(root_of(request))
    return HTMLResponse(_PAGE.format(root=root, title=html.escape(title), body=body.replace("{root}", root)),
                        status_code=status)


def _link(request: Request, token: str) -> tuple[MonitorService, str, str]:
    monitor = monitor_of(request)
    if monitor.links is None:
        raise HTTPException(503, "确认链接未启用 / acknowledgement links are not configured (HOTLINE_API_LINK_KEY)")
    try:
        alert_id, person = monitor.links.verify(token, monitor.clock.now())
    except BadLink as e:
        raise HTTPException(403, str(e)) from None
    return monitor, alert_id, person


@router.get("/ack/{token}", response_class=HTMLResponse)
def ack_link(request: Request, token: str) -> HTMLResponse:
    """The link in a page. Link previews (chat apps) fetch it without running scripts, so the page
    acknowledges by POST, submitted at once by the browser: one tap for the person, none for a bot."""
    monitor, alert_id, person = _link(request, token)
    try:
        alert = monitor.alert(alert_id)
    except AlertNotFound as e:
        raise _fail(e) from None
    who = html.escape(alert.caller or alert.title or alert_id)
    form = (f'<p>来电 / caller: <b>{who}</b><br>寻呼对象 / paged: {html.escape(person)}</p>'
            f'<form method="post"><button type="submit">确认处理 / Acknowledge</button></form>'
            '<script src="{root}/static/ack.js"></script>')
    return _html(request, "确认告警 / Acknowledge alert", form)


@router.post("/ack/{token}", response_class=HTMLResponse)
def ack_link_post(request: Request, token: str) -> HTMLResponse:
    monitor, alert_id, person = _link(request, token)
    request.state.audit_person = person  # the audit log names whom the link was issued to
    try:
        alert = monitor.acknowledge(alert_id, person, via="link")
    except AlertClosed as e:
        return _html(request, "告警已关闭 / Alert already closed", f"<p>{html.escape(str(e))}</p>", 409)
    except AlertNotFound as e:
        raise _fail(e) from None
    until = alert.ack_until.astimezone(_tz(request)).strftime("%H:%M") if alert.ack_until else "-"
    return _html(request, "已确认 / Acknowledged",
                 f"<p>{html.escape(person)} 已确认，{until} 前不再升级；"
                 f"请尽快回电 {html.escape(alert.caller or '')}。</p>"
                 f"<p>{html.escape(person)} acknowledged: no escalation before {until}; "
                 f"please call {html.escape(alert.caller or 'the caller')} back.</p>")


# ---- replies through Twilio -------------------------------------------------------------------------

def _twiml(verb: str, text: str, request: Request) -> Response:
    attrs = ""
    if verb == "Say":
        twilio = request.app.state.settings.twilio
        attrs = f' voice="{escape(twilio.voice)}" language="{escape(twilio.language)}"'
    return Response(f'<?xml version="1.0" encoding="UTF-8"?><Response><{verb}{attrs}>{escape(text)}</{verb}>'
                    "</Response>", media_type="application/xml")


async def _signed(request: Request) -> dict[str, str]:
    from hotline.api.twilio import signed_params

    return await signed_params(request)


@router.post("/twilio/pages/sms-reply")
async def sms_reply(request: Request, params: dict[str, str] = Depends(_signed)) -> Response:
    """Inbound SMS (Twilio Messaging webhook): a reply with the alert's code acknowledges it."""
    monitor = monitor_of(request)
    try:
        alert = acknowledge_sms(monitor, params.get("From", ""), params.get("Body", ""))
    except (AlertNotFound, AlertClosed) as e:
        return _twiml("Message", str(e), request)
    return _twiml("Message", f"已确认 / acknowledged: {alert.caller or alert.title or alert.alert_id}", request)


@router.post("/twilio/pages/voice-ack")
async def voice_ack(request: Request, page: str = "", code: str | None = None,
                    params: dict[str, str] = Depends(_signed)) -> Response:
    """The Gather action of a voice page (`ack_action_url`): pressing 1 acknowledges."""
    monitor = monitor_of(request)
    try:
        acknowledge_voice(monitor, page, code, params.get("Digits", ""))
    except (AlertNotFound, AlertClosed, ValueError) as e:
        return _twiml("Say", str(e).split(" / ")[0], request)
    return _twiml("Say", "已确认，谢谢。请尽快回电。", request)
