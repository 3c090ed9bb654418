"""Twilio voice webhooks: `/twilio/voice`, `/gather`, `/dial`, `/queue`, `/wait`, `/recorded`, `/connect`,
`/agent`, `/bridged`, `/status` (and `/twilio/ivr/<script>`, the IVR's own action URLs). Every request must
carry a valid `X-Twilio-Signature` for the public URL; the answer comes from memory, the ledger is
written in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, NoReturn

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from hotline.api.prefix import base_path, without_prefix
from hotline.config import Settings
from hotline.providers.twilio.params import clean_params, clean_query
from hotline.providers.twilio.signature import SETTINGS_HEADER, SIGNATURE_HEADER, SignatureCheck, public_url
from hotline.providers.twilio.verbs import EVENT_ROUTES
from hotline.services.calls.instance_lease import SingleInstance
from hotline.services.calls.ledger import Ledger
from hotline.services.calls.twilio_calls import DutyBoard, DutyRoster, IvrStep, TwilioCalls, VoiceConfig
from hotline.services.calls.twilio_journal import Journal
from hotline.store.base import sqlite_file

log = logging.getLogger(__name__)
XML = "application/xml"
VOICE_ROUTES = ("voice", "gather", "dial", "queue", "wait", "recorded", "connect", "agent", "bridged")


class ScriptIvr:
    """The IVR script loaded at startup, rendered by hotline.ivr.twiml."""

    def __init__(self, script: Any, ctx: Any) -> None:
        self.script, self.ctx = script, ctx
        self.path = str(ctx.twilio_path)

    def step(self, node_id: str | None, params: Mapping[str, str], window_kind: str,
             on_duty: Mapping[str, str]) -> IvrStep:
        from hotline.ivr.twiml import step

        result: IvrStep = step(self.script, node_id, params, window_kind, self.ctx, on_duty)
        return result


def load_ivr(settings: Any, script_name: str) -> ScriptIvr | None:
    """Load and lint the IVR script once; None (calls get the fallback TwiML) when it cannot be served."""
    try:
        from hotline.ivr.installed import installed_script
    except ModuleNotFoundError:
        log.error("hotline.ivr is not available: Twilio calls get the fallback TwiML")
        return None
    try:
        script, ctx, _ = installed_script(settings, script_name)
        return ScriptIvr(script, ctx)
    except Exception as e:
        log.error("IVR script %s cannot be served, Twilio calls get the fallback TwiML: %s", script_name, e)
        return None


def _roster(app: FastAPI) -> DutyRoster | None:
    try:
        from hotline.services.roster.duty import RosterDuty
        from hotline.services.roster.service import RosterService  # type: ignore[import-not-found,unused-ignore]
    except ModuleNotFoundError:
        return None
    state = app.state
    duty: DutyRoster = RosterDuty(RosterService(state.factory, state.settings, state.clock))
    return duty


def build_service(app: FastAPI) -> TwilioCalls:
    """The service from the app's settings: its own ledger (written from a worker thread, so never the
    listener's), sharing the running ledger's completed-call listeners (the monitor); IVR; roster."""
    settings = app.state.settings
    config = VoiceConfig.from_section(settings.api.public_base_url, settings.section("twilio_voice"),
                                      voice=settings.twilio.voice, language=settings.twilio.language)
    ledger = Ledger(app.state.factory)
    shared = app.state.live.get("ledger")
    if shared is not None:
        ledger.listeners = shared.listeners
        ledger.answer_listeners = shared.answer_listeners
        ledger.writer.alarm_listeners = shared.writer.alarm_listeners  # the managers' page when the database is away
        ledger.batch_listeners = shared.batch_listeners
        ledger.written_listeners = shared.written_listeners  # the reports' roll-up
    duty = DutyBoard(_roster(app), settings.specialties, config.tiers, config.fallback_phones,
                     country_code=config.country_code)
    placer = None
    if settings.twilio.account_sid and settings.twilio.auth_token:
        from hotline.providers.twilio.callback import RestCallPlacer

        placer = RestCallPlacer(settings.twilio.account_sid, settings.twilio.auth_token,
                                api_base_url=config.api_base_url)
    return TwilioCalls(config, ledger, load_ivr(settings, config.script), duty, app.state.clock, placer,
                       status_source=placer, journal=_journal(config, _database_of(app.state.factory, settings)))


def _database_of(factory: sessionmaker[Session], settings: Settings) -> URL:
    """The URL of the database the app writes to (`serve --db` may name another than the config's)."""
    bind = factory.kw.get("bind")
    return bind.url if isinstance(bind, Engine) else make_url(settings.database_url)


def _journal(config: VoiceConfig, url: URL) -> Journal | None:
    """The journal of answered requests (see twilio_journal): `[twilio_voice] journal`; by default next to
    the SQLite database file the app writes to (with PostgreSQL, set a path); "off" turns it off."""
    if config.journal == "off":
        return None
    if config.journal:
        return Journal(Path(config.journal))
    db = sqlite_file(url)
    return None if db is None else Journal(db.parent / "twilio-journal.jsonl")


def service_of(app: FastAPI) -> TwilioCalls:
    service: TwilioCalls | None = getattr(app.state, "twilio_calls", None)
    if service is None:
        service = app.state.twilio_calls = build_service(app)
    return service


async def _background(app: FastAPI) -> None:
    """Write queued requests to the ledger and refresh the duty board, off the event loop."""
    service = service_of(app)
    await asyncio.to_thread(service.refresh_duty)
    try:  # calls still open when hotline stopped: their final status is looked for by the sweep
        loaded = await asyncio.to_thread(service.ledger.load_open, "twilio")
        if loaded:
            log.info("%d Twilio call(s) still open from before the restart", loaded)
    except Exception:
        log.exception("reading open Twilio calls failed")
    try:  # requests answered before a crash, maybe not stored: fed again (stored once)
        await asyncio.to_thread(service.recover_journal)
    except Exception:
        log.exception("reading the Twilio journal failed")
    loop = asyncio.get_running_loop()
    refreshed = swept = renewed = loop.time()
    lease: SingleInstance | None = getattr(app.state, "twilio_lease", None)
    while True:
        await asyncio.sleep(service.config.flush_seconds)
        if lease is not None and loop.time() - renewed >= service.config.lease_seconds / 3:
            try:
                await asyncio.to_thread(lease.renew)
                renewed = loop.time()
            except Exception:
                log.exception("renewing the Twilio webhooks lease failed; retrying")
        try:
            await asyncio.to_thread(service.drain)
        except Exception:
            log.exception("writing Twilio calls to the ledger failed; retrying")
        if loop.time() - refreshed >= service.config.roster_refresh_seconds:
            await asyncio.to_thread(service.refresh_duty)
            refreshed = loop.time()
        if loop.time() - swept >= service.config.sweep_seconds:
            try:
                await asyncio.to_thread(service.sweep_stale)
            except Exception:
                log.exception("looking for stale Twilio calls failed")
            swept = loop.time()


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Take the single-instance lease (LeaseHeld stops the start), then run the background writer."""
    service = service_of(app)
    lease = app.state.twilio_lease = SingleInstance(app.state.factory, app.state.clock, service.config.lease_seconds)
    await asyncio.to_thread(lease.acquire)
    task = asyncio.create_task(_background(app))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        # the last requests, tried now even while the ledger is backing off
        await asyncio.to_thread(service.drain, True)
        if service.ledger.pending:
            log.error("停止时数据库不可用 / stopping with the database away: %d Twilio row(s) not written",
                      service.ledger.pending)
        await asyncio.to_thread(lease.release)


router = APIRouter(prefix="/twilio", tags=["twilio"], lifespan=lifespan)


async def signed_params(request: Request) -> dict[str, str]:
    """Twilio's parameters of a request whose signature is valid; 403 otherwise (nothing is recorded)."""
    lease: SingleInstance | None = getattr(request.app.state, "twilio_lease", None)
    if lease is not None and not lease.active:
        raise HTTPException(503, "另一个实例正在处理 Twilio 请求 / another hotline instance serves the Twilio webhooks")
    settings = request.app.state.settings
    check = SignatureCheck(settings.twilio.auth_token, settings.twilio.webhook_shared_key)
    base = settings.api.public_base_url
    url = public_url(base, without_prefix(request.url.path, base_path(base)), request.url.query)
    signature = request.headers.get(SIGNATURE_HEADER)
    algorithm = request.headers.get(SETTINGS_HEADER)
    if not signature or check.unusable(algorithm):
        _refuse(request, url, signature, check, algorithm)  # before the body is read: unsigned requests are cheap
    if request.headers.get("content-type", "").startswith("application/json"):
        body = (await request.body()).decode("utf-8", "replace")
        ok = check.json(url, body, signature, algorithm)
        params = _flat(json.loads(body)) if ok else {}
    else:
        form = await request.form()
        items = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
        ok = check.form(url, items, signature, algorithm)
        params = dict(items)
    if not ok:
        _refuse(request, url, signature, check, algorithm)
    clean, changed = clean_params(params, request.app.state.clock.now())
    if changed:  # names only: the values may be personal data
        log.warning("Twilio webhook %s for call %s: parameters clipped or dropped: %s", request.url.path,
                    clean.get("CallSid", "?"), ", ".join(sorted(set(changed))[:20]))
    return clean


def _refuse(request: Request, url: str, signature: str | None, check: SignatureCheck,
            settings_header: str | None) -> NoReturn:
    why = "missing" if not signature else "invalid"
    why = check.unusable(settings_header) or why
    log.warning("Twilio webhook %s refused: signature %s (checked against %s)", request.url.path, why, url)
    raise HTTPException(403, f"签名无效 / X-Twilio-Signature {why} for {url}")


def _flat(data: Any) -> dict[str, str]:
    if not isinstance(data, dict):
        return {}
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}


def _query(request: Request) -> dict[str, str]:
    return clean_query(request.query_params)


async def _answer(request: Request, route: str) -> Response:
    params = await signed_params(request)
    twiml = service_of(request.app).answer(route, _query(request), params)
    return Response(twiml, media_type=XML)


@router.post("/status", status_code=204)
async def status(request: Request) -> Response:
    params = await signed_params(request)
    service_of(request.app).record("status", _query(request), params)
    return Response(status_code=204)


@router.post("/ivr/{script}")
async def ivr_action(request: Request, script: str) -> Response:
    """The IVR's own action URLs (`<twilio_path>/<script>?node=..&event=..`), dispatched by event."""
    route = EVENT_ROUTES.get(request.query_params.get("event", ""), "voice")
    return await _answer(request, route)


def _voice_route(route: str) -> None:
    async def endpoint(request: Request) -> Response:
        return await _answer(request, route)

    endpoint.__name__ = f"twilio_{route}"
    router.add_api_route(f"/{route}", endpoint, methods=["POST"], response_class=Response,
                         summary=f"Twilio {route} webhook")


for _route in VOICE_ROUTES:
    _voice_route(_route)
