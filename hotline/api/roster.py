"""Roster routes: who is on duty at T, coverage gaps, calendar warnings for the dashboard, and an .ics
feed staff can subscribe to from their phone calendar."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from hotline.api.pages import render
from hotline.clock import today as desk_today
from hotline.domain.access import Role
from hotline.domain.roster import Override, Shift, Tier
from hotline.roster_files.problems import RosterFileError
from hotline.services.roster.files import fairness_csv
from hotline.services.roster.notices import fill_line, gap_line
from hotline.services.roster.service import RosterError, RosterRequest, RosterService, on_duty_dict, override_text

router = APIRouter(prefix="/api/roster", tags=["roster"])
pages = APIRouter(tags=["roster"])
STATIC = Path(__file__).resolve().parent / "static"


@pages.get("/roster")
def roster_page(request: Request) -> HTMLResponse:
    """The roster editor: the week or month as a grid, overrides with a preview and undo (its links under
    the public path prefix, hotline/api/pages.py)."""
    return render(request, "roster.html")


class OverrideIn(BaseModel):
    tier: Tier
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    replace: str | None = None
    by: str | None = None
    reason: str = ""
    actor: str = "web"  # free text until there are accounts (the security issue): then the logged-in user


def _shift_dict(service: RosterService, s: Shift) -> dict[str, Any]:
    return {"tier": s.tier.value, "person": s.person, "start": s.start.astimezone(service.tz).isoformat(),
            "end": s.end.astimezone(service.tz).isoformat(), "label": s.label, "layer": s.source}


def _override(service: RosterService, body: OverrideIn, actor: str) -> Override:
    def aware(at: datetime) -> datetime:
        return at.replace(tzinfo=service.tz) if at.tzinfo is None else at

    return Override(body.tier, aware(body.start), aware(body.end), body.replace or None, body.by or None,
                    body.reason, actor)


def _who(request: Request, given: str) -> str:
    """Who acts: the signed-in person (never free text from the request when there is a sign-in)."""
    principal = getattr(request.state, "principal", None)
    return principal.name if principal is not None else given


@router.get("/shifts")
def shifts(request: Request, start: date = Query(alias="from"), end: date = Query(alias="to")) -> dict[str, Any]:
    """The effective shifts starting from `from` to `to` (at most 62 days) with their layer, and the people."""
    service = roster_service(request)
    if end < start or (end - start).days > 62:
        raise HTTPException(422, "from..to 须为 1–62 天 / from..to must span 1 to 62 days")
    return {"shifts": [_shift_dict(service, s) for s in service.shifts(start, end)],
            "people": sorted(service.people()),
            "overrides": [{"id": o.id, "tier": o.tier.value, "from": o.start.astimezone(service.tz).isoformat(),
                           "to": o.end.astimezone(service.tz).isoformat(), "replace": o.replaced, "by": o.replacement,
                           "reason": o.reason, "created_by": o.created_by} for o in service.overrides(start, end)],
            "approval": service.config.approval,
            "warnings": _warnings(service, start, end)}


@router.post("/overrides/preview")
def preview_override(request: Request, body: OverrideIn) -> dict[str, Any]:
    """What an override would end and make, nothing stored; 422 with the reason for nonsense."""
    service = roster_service(request)
    try:
        ended, made = service.preview_override(_override(service, body, _who(request, body.actor)))
    except RosterError as e:
        raise HTTPException(422, str(e)) from None
    return {"ends": [_shift_dict(service, s) for s in ended], "makes": [_shift_dict(service, s) for s in made]}


@router.post("/overrides")
def add_override(request: Request, body: OverrideIn) -> dict[str, Any]:
    """Make an override now; with `[roster] approval`, only a manager may (the others file a request)."""
    service = roster_service(request)
    o = _override(service, body, _who(request, body.actor))
    actor = _who(request, body.actor)
    if service.config.approval and actor not in service.managers():
        raise HTTPException(403, f"需经理审批，请提交申请 / {actor!r} is not a manager: file a request "
                                 "(POST /api/roster/requests)")
    try:
        stored = service.add_override(o.tier, o.start, o.end, o.replaced, o.replacement, o.reason, o.created_by)
    except RosterError as e:
        raise HTTPException(422, str(e)) from None
    return {"id": stored.id, "text": override_text(stored, service.tz)}


class SwapIn(BaseModel):
    tier: Tier
    first: str  # NAME@TIME inside the first shift, e.g. 王芳@2026-11-24T10:00
    second: str
    reason: str = ""
    actor: str = "web"


def _request_dict(service: RosterService, r: RosterRequest) -> dict[str, Any]:
    return {"id": r.id, "kind": r.kind, "reason": r.reason, "requested_by": r.requested_by, "state": r.state,
            "requested_at": r.requested_at.astimezone(service.tz).isoformat(),
            "overrides": [override_text(o, service.tz) for o in r.overrides]}


@router.post("/swaps")
def swap(request: Request, body: SwapIn) -> dict[str, Any]:
    """Two people trade shifts: made at once, or a request when `[roster] approval` is on and the actor is
    not a manager."""
    service = roster_service(request)
    shifts = []
    for spec in (body.first, body.second):
        name, _, when = spec.partition("@")
        try:
            moment = datetime.fromisoformat(when)
        except ValueError:
            raise HTTPException(422, f"写成 NAME@TIME / write NAME@2026-11-24T10:00, got {spec!r}") from None
        shift = service.shift_of(name, moment.replace(tzinfo=service.tz) if moment.tzinfo is None else moment)
        if shift is None or shift.tier is not body.tier:
            raise HTTPException(422, f"找不到 {name} 在 {when} 的班次 / no {body.tier.value} shift of {name!r} "
                                     f"at {when}")
        shifts.append(shift)
    try:
        overrides = service.swap_overrides(body.tier, shifts[0], shifts[1], body.reason)
        if service.config.approval and _who(request, body.actor) not in service.managers():
            return {"request": service.request(overrides, body.reason, _who(request, body.actor), kind="swap")}
        made = service.swap(body.tier, shifts[0], shifts[1], body.reason, _who(request, body.actor))
    except RosterError as e:
        raise HTTPException(422, str(e)) from None
    return {"ids": [o.id for o in made]}


@router.get("/requests")
def requests(request: Request, state: str = "pending") -> dict[str, Any]:
    service = roster_service(request)
    return {"approval": service.config.approval, "managers": sorted(service.managers()),
            "requests": [_request_dict(service, r) for r in service.requests(None if state == "all" else state)]}


@router.post("/requests")
def file_request(request: Request, body: OverrideIn) -> dict[str, Any]:
    """Ask for an override; a manager approves or rejects it."""
    service = roster_service(request)
    try:
        actor = _who(request, body.actor)
        return {"request": service.request([_override(service, body, actor)], body.reason, actor)}
    except RosterError as e:
        raise HTTPException(422, str(e)) from None


@router.post("/requests/{request_id}/{decision}")
def decide(request: Request, request_id: int, decision: str, actor: str) -> dict[str, Any]:
    if decision not in ("approve", "reject"):
        raise HTTPException(404, "approve or reject")
    service = roster_service(request)
    try:
        made = service.decide(request_id, decision == "approve", _who(request, actor))
    except RosterError as e:
        raise HTTPException(403 if "not a manager" in str(e) else 409, str(e)) from None
    return {"state": "approved" if decision == "approve" else "rejected", "overrides": [o.id for o in made]}


@router.delete("/overrides/{override_id}")
def remove_override(request: Request, override_id: int, actor: str = "web") -> dict[str, Any]:
    """Undo: take back the override (and the other half of a swap)."""
    service = roster_service(request)
    try:
        removed = service.remove_override(override_id, _who(request, actor))
    except RosterError as e:
        raise HTTPException(404 if "no override" in str(e) else 422, str(e)) from None
    return {"removed": [o.id for o in removed]}


def roster_service(request: Request) -> RosterService:
    """One RosterService per app, built from the app's settings, session factory and clock."""
    state = request.app.state
    service: RosterService | None = getattr(state, "roster", None)
    if service is None:
        service = RosterService(state.factory, state.settings, state.clock)
        state.roster = service
    return service


def _aware(service: RosterService, at: datetime | None) -> datetime:
    if at is None:
        return service.clock.now()
    return at.replace(tzinfo=service.tz) if at.tzinfo is None else at


@router.get("/on-duty")
def on_duty(request: Request, at: datetime | None = None, specialty: str | None = None) -> dict[str, Any]:
    """The people per tier on duty at `at` (default now; a time without offset is local time)."""
    service = roster_service(request)
    moment = _aware(service, at).astimezone(service.tz)  # answered in desk time whatever the offset asked in
    data = on_duty_dict(service.on_duty(moment, specialty))
    data["warnings"] = _warnings(service, moment.date(), moment.date())
    return data


def _warnings(service: RosterService, first: date, last: date) -> list[str]:
    """Today's calendar warnings, then those of the dates asked about."""
    today = service.calendar_warnings()
    return today + [w for w in service.date_warnings(first, last) if w not in today]


@router.get("/gaps")
def gaps(request: Request, start: date | None = Query(None, alias="from"),
         end: date | None = Query(None, alias="to")) -> dict[str, Any]:
    service = roster_service(request)
    first = start or desk_today(service.clock, service.tz)
    last = end or first + timedelta(days=service.config.gap_warning_days - 1)
    if last < first:
        raise HTTPException(422, "to 早于 from / `to` is before `from`")
    found = service.gaps(first, last)
    return {"from": first.isoformat(), "to": last.isoformat(),
            "gaps": [{"tier": g.tier.value, "start": g.start.isoformat(), "end": g.end.isoformat(),
                      "holiday": g.holiday, "unconfirmed": g.unconfirmed, "text": gap_line(service, g)}
                     for g in found],
            "filled_by_rotation": [{"tier": s.tier.value, "person": s.person, "start": s.start.isoformat(),
                                    "end": s.end.isoformat(), "text": fill_line(service, s)}
                                   for s in service.rotation_fills(first, last)],
            "warnings": _warnings(service, first, last)}


@router.get("/warnings")
def warnings(request: Request) -> dict[str, list[str]]:
    """Calendar warnings for the dashboard banner (missing holiday schedule of this or next year)."""
    return {"warnings": roster_service(request).calendar_warnings()}


@router.get("/fairness", response_model=None)
def fairness(request: Request, month: str | None = None, format: str = "json") -> dict[str, Any] | Response:
    """Hours, nights and holiday shifts per person in `month` (YYYY-MM, default this month), with double
    bookings and short rests; `format=csv` downloads the table."""
    service = roster_service(request)
    try:
        first = date.fromisoformat(f"{month}-01") if month else desk_today(service.clock, service.tz)
    except ValueError:
        raise HTTPException(422, f"不是月份 / not a month: {month!r} (2026-11)") from None
    first = first.replace(day=1)
    last = (first + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    table, found = service.fairness(first, last)
    if format == "csv":
        return Response(fairness_csv(table), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="fairness_{first:%Y-%m}.csv"'})
    return {"month": f"{first:%Y-%m}",
            "people": [{"person": x.person, "shifts": x.shifts, "hours": x.hours, "nights": x.nights,
                        "holiday_shifts": x.holiday_shifts, "weekend_shifts": x.weekend_shifts} for x in table],
            "warnings": [{"kind": c.kind, "person": c.person, "text": c.text(service.tz)} for c in found]}


@router.post("/import")
async def import_file(request: Request, file: UploadFile, dry_run: bool = True, actor: str = "web") -> dict[str, Any]:
    """Upload a roster table (.xlsx / .csv) or desk file; `dry_run` (the default) shows what it would add,
    change and remove; `dry_run=false` applies it. A bad file is 422 with every problem (the first 50)."""
    service = roster_service(request)
    name = Path(file.filename or "upload.csv").name
    data = await file.read()
    with tempfile.TemporaryDirectory(prefix="hotline-import-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            report = await asyncio.to_thread(service.import_file, path, _who(request, actor), dry_run)
        except RosterFileError as e:
            raise HTTPException(422, str(e)) from None
    return {"applied": report.applied, "summary": report.summary, "lines": list(report.lines),
            "warnings": list(report.warnings)}


@router.post("/handover/ack")
def ack_handover(request: Request, person: str | None = None) -> dict[str, Any]:
    """The incoming person confirms taking over the shift on duty now (or starting within the lead). Staff
    acknowledge their own shift (`person` is the signed-in person); a supervisor may record anyone's."""
    service = roster_service(request)
    principal = getattr(request.state, "principal", None)
    if principal is not None and not principal.role.allows(Role.SUPERVISOR):
        if principal.person is None:
            raise HTTPException(403, "账号未关联值班人员 / your account is not linked to a person on the roster")
        if person not in (None, principal.person):
            raise HTTPException(403, f"只能确认自己的接班 / you acknowledge your own shift ({principal.person}), "
                                     f"not {person}'s")
    person = person or (principal.person if principal is not None else None)
    if not person:
        raise HTTPException(422, "请给出接班人 / give the person taking over: ?person=NAME")
    try:
        shift = service.ack_handover(person, via="api")
    except RosterError as e:
        raise HTTPException(409, str(e)) from None
    return {"acknowledged": _shift_dict(service, shift)}


@router.post("/feeds")
def create_feed(request: Request, person: str, actor: str = "admin") -> dict[str, str]:
    """A new secret calendar URL for `person` (webcal:// for phones, https:// for the rest); shown once."""
    service = roster_service(request)
    try:
        token = service.create_feed(person, _who(request, actor))
    except RosterError as e:
        raise HTTPException(404, str(e)) from None
    url = str(request.url_for("feed", token=f"{token}.ics"))
    return {"person": person, "url": url, "webcal": "webcal://" + url.split("://", 1)[1]}


@router.delete("/feeds")
def revoke_feeds(request: Request, person: str, actor: str = "admin") -> dict[str, Any]:
    try:
        return {"person": person, "revoked": roster_service(request).revoke_feeds(person, _who(request, actor))}
    except RosterError as e:
        raise HTTPException(404, str(e)) from None


@router.get("/feeds/{token}", name="feed")
def feed(request: Request, token: str) -> Response:
    """The calendar of the person whose secret URL this is; 404 for an unknown or revoked one."""
    service = roster_service(request)
    person = service.feed_person(token.removesuffix(".ics"))
    if person is None:
        raise HTTPException(404, "未知或已撤销的日历订阅 / unknown or revoked calendar feed")
    return Response(service.feed_ics(person), media_type="text/calendar; charset=utf-8",
                    headers={"Cache-Control": "private, max-age=300"})


@router.get("/calendar.ics")
def calendar_ics(request: Request, person: str | None = None) -> Response:
    """Shifts from 30 days ago to 90 days ahead, for `person` or the whole desk."""
    service = roster_service(request)
    if person is not None and person not in service.people():
        raise HTTPException(404, f"未知人员 / unknown person {person!r}")
    today = desk_today(service.clock, service.tz)
    data = service.export("ics", today - timedelta(days=30), today + timedelta(days=90), person)
    return Response(data, media_type="text/calendar; charset=utf-8")
