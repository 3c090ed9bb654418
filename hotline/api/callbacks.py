"""Click-to-call from an alert: `POST /api/alerts/{alert_id}/callback` has Twilio ring the staff member's
mobile, then the caller. The call reaches the ledger through the status callbacks as an outbound call, and
clears the alert like an Asterisk callback when the customer answers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request

from hotline.api.alerts import monitor_of
from hotline.api.auth import principal_of
from hotline.api.twilio import service_of
from hotline.domain.alerts import AlertClosed
from hotline.providers.twilio.callback import CallNotPlaced
from hotline.services.calls.twilio_calls import CallbackUnavailable, StaffDirectory, callback_from_alert
from hotline.services.monitor.engine import AlertNotFound, MonitorService

router = APIRouter(tags=["alerts"])


def _directory(request: Request) -> StaffDirectory:
    """Everyone in the roster by name (the roster in the database, as the monitor's duty roster reads it)."""
    try:
        from hotline.services.roster.service import RosterService
    except ModuleNotFoundError:
        raise HTTPException(503, "值班表模块不可用 / the roster is not available (hotline.services.roster)") from None
    state = request.app.state
    directory: StaffDirectory = RosterService(state.factory, state.settings, state.clock)
    return directory


@router.post("/api/alerts/{alert_id}/callback")
def callback(request: Request, alert_id: str, monitor: MonitorService = Depends(monitor_of)) -> dict[str, Any]:
    """Ring the signed-in person's mobile, then the alert's caller; returns the Twilio CallSid."""
    by = principal_of(request).name
    try:
        sid = callback_from_alert(service_of(request.app), monitor, _directory(request), alert_id, by)
    except AlertNotFound as e:
        raise HTTPException(404, str(e)) from None
    except AlertClosed as e:
        raise HTTPException(409, str(e)) from None
    except CallbackUnavailable as e:
        raise HTTPException(503, str(e)) from None
    except CallNotPlaced as e:
        raise HTTPException(502, str(e)) from None
    except ValueError as e:  # StaffUnknown, a number Twilio cannot dial
        raise HTTPException(422, str(e)) from None
    return {"alert_id": alert_id, "call_sid": sid, "by": by}
