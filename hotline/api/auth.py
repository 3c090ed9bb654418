"""Signing in and out, who am I, and the audit log over HTTP; `install_access(app)` puts the guard in
front of every route (see hotline/api/guard.py) and mounts these routes."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from hotline.api.guard import CSRF_COOKIE, SESSION_COOKIE, AccessGuard, AccessParts, client_address
from hotline.api.pages import render, root_of
from hotline.config import Settings
from hotline.domain.access import Principal
from hotline.domain.day_range import day_span
from hotline.services.access.accounts import Account, AccountService, LoginRefused
from hotline.services.access.audit import AUDIT_COLUMNS, AuditLog
from hotline.services.access.config import access_config
from hotline.services.access.oidc import OidcClient, SignOn, SignOnFailed
from hotline.services.access.sessions import SessionService, TokenService
from hotline.services.access.sign_on_state import PendingInDatabase

STATIC = Path(__file__).resolve().parent / "static"
router = APIRouter(tags=["access"])


def install_access(app: FastAPI) -> None:
    """The guard in front of every route, the sign-in routes, and /static (scripts and styles: the CSP
    allows no inline ones)."""
    from hotline.api.accounts import router as accounts_router

    app.include_router(router)
    app.include_router(accounts_router)
    if not any(getattr(r, "path", None) == "/static" for r in app.routes):
        app.mount("/static", StaticFiles(directory=STATIC), name="static")

    def parts() -> AccessParts:
        built: AccessParts | None = getattr(app.state, "access", None)
        if built is None:
            state = app.state
            config = access_config(state.settings)
            built = AccessParts(config, SessionService(state.factory, state.clock, config.session),
                                TokenService(state.factory, state.clock), AuditLog(state.factory), state.clock)
            app.state.access = built
        return built

    app.add_middleware(AccessGuard, parts=parts)


def _parts(request: Request) -> AccessParts:
    parts: AccessParts = request.app.state.access
    return parts


def principal_of(request: Request) -> Principal:
    """The signed-in account of a request that passed the guard."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:  # only reachable when a public route asks for it: a programming error
        raise HTTPException(401, "请先登录 / sign in first")
    return principal


def _safe_next(request: Request, target: str | None) -> str:
    """Only a path of this site: never an absolute URL (an open redirect). The default is the overview,
    under the public URL's path prefix."""
    if not target or not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        return root_of(request) + "/"
    return target


def _login_page(request: Request, next_path: str, error: str = "", status: int = 200) -> HTMLResponse:
    oidc = _oidc(request)
    label = request.app.state.settings.oidc.label if oidc.enabled else ""
    return render(request, "login.html", status, next=next_path, error=error, sso_label=label)


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return _login_page(request, _safe_next(request, next))


@router.post("/login")
async def login(request: Request) -> Response:
    """A form post (browser: sets the cookies, redirects to `next`) or JSON {username, password}."""
    is_json = request.headers.get("content-type", "").startswith("application/json")
    data: dict[str, Any] = await request.json() if is_json else dict(await request.form())
    username, password = str(data.get("username", "")), str(data.get("password", ""))
    next_path = _safe_next(request, str(data.get("next") or ""))
    parts = _parts(request)
    state = request.app.state
    accounts = AccountService(state.factory, state.clock)
    try:
        account = accounts.authenticate(username, password, client_address(request.scope), parts.config.throttle)
    except LoginRefused as e:
        status = 429 if e.throttled else 401
        if is_json:
            return JSONResponse({"detail": str(e)}, status_code=status)
        return _login_page(request, next_path, str(e), status)
    return _signed_in(request, account, next_path, is_json)


def _signed_in(request: Request, account: Account, next_path: str, is_json: bool) -> Response:
    """A new session for `account`: its cookies on a JSON answer or on a redirect to `next_path`."""
    parts = _parts(request)
    new = parts.sessions.start(account)
    response: Response = (JSONResponse({"username": account.username, "role": account.role.value,
                                        "person": account.person, "csrf_token": new.csrf}) if is_json
                          else RedirectResponse(next_path, status_code=303))
    secure = parts.config.https or request.url.scheme == "https"
    max_age = int(parts.config.session.total_seconds())
    response.set_cookie(SESSION_COOKIE, new.token, max_age=max_age, httponly=True, samesite="lax", secure=secure,
                        path="/")
    response.set_cookie(CSRF_COOKIE, new.csrf, max_age=max_age, httponly=False, samesite="strict", secure=secure,
                        path="/")
    return response


# ---- single sign-on -----------------------------------------------------------------------------------

def _oidc(request: Request) -> SignOn:
    """The app's single sign-on (`app.state.sign_on`), OpenID Connect from `[oidc]` unless set."""
    state = request.app.state
    client: SignOn | None = getattr(state, "sign_on", None)
    if client is None:
        client = state.sign_on = OidcClient(state.settings.oidc, state.clock, PendingInDatabase(state.factory))
    return client


def _callback_url(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return settings.api.public_base_url.rstrip("/") + "/login/oidc/callback"


@router.get("/login/oidc", include_in_schema=False)
async def login_oidc(request: Request, next: str | None = None) -> Response:
    """Off to the identity provider (authorization code with PKCE, state and nonce)."""
    oidc = _oidc(request)
    if not oidc.enabled:
        raise HTTPException(404, "未配置单点登录 / single sign-on is not configured ([oidc] issuer, client_id)")
    try:
        url = await oidc.start(_callback_url(request), _safe_next(request, next))
    except SignOnFailed as e:
        return _login_page(request, _safe_next(request, next), str(e), 502)
    return RedirectResponse(url, status_code=303)


@router.get("/login/oidc/callback", include_in_schema=False)
async def login_oidc_callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    oidc = _oidc(request)
    if not oidc.enabled:
        raise HTTPException(404, "未配置单点登录 / single sign-on is not configured")
    if error or not code or not state:
        refused = f"单点登录被拒绝 / single sign-on refused: {error or 'no code'}"
        return _login_page(request, _safe_next(request, None), refused, 401)
    try:
        username, next_path = await oidc.finish(code, state, _callback_url(request))
        state_ = request.app.state
        account = AccountService(state_.factory, state_.clock).single_sign_on(
            username, client_address(request.scope), "oidc")
    except (SignOnFailed, LoginRefused) as e:
        return _login_page(request, _safe_next(request, None), str(e), 401)
    return _signed_in(request, account, next_path, is_json=False)


@router.post("/logout")
def logout(request: Request) -> Response:
    principal = principal_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    parts = _parts(request)
    if token:
        parts.sessions.end(token)
    parts.audit.add(parts.clock.now(), actor=principal.username, person=principal.person, action="logout",
                    target="logout", outcome="ok", address=client_address(request.scope))
    wants_html = "text/html" in request.headers.get("accept", "")
    response: Response = (RedirectResponse(root_of(request) + "/login", status_code=303) if wants_html
                          else JSONResponse({"ok": True}))
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/api/me")
def me(request: Request) -> dict[str, Any]:
    p = principal_of(request)
    return {"username": p.username, "person": p.person, "role": p.role.value, "via": p.via}


# ---- the audit log ----------------------------------------------------------------------------------------

def _entries(request: Request, start: date | None, end: date | None, action: str | None,
             limit: int) -> list[dict[str, Any]]:
    tz = request.app.state.settings.tz
    lo, hi = day_span(start, end, tz)
    return [e.as_dict(tz) for e in _parts(request).audit.entries(lo, hi, action, limit)]


@router.get("/api/audit")
def audit(request: Request, start: date | None = Query(None, alias="from"), end: date | None = Query(None, alias="to"),
          action: str | None = None, limit: int = Query(500, ge=1, le=10000)) -> list[dict[str, Any]]:
    """Who did what, when, from where: state changes, logins, failed logins, exports. Newest first."""
    return _entries(request, start, end, action, limit)


@router.get("/api/audit.csv")
def audit_csv(request: Request, start: date | None = Query(None, alias="from"),
              end: date | None = Query(None, alias="to"), action: str | None = None) -> Response:
    from hotline.api.reports import CSV_TYPE, csv_text

    rows = [[e[c] for c in AUDIT_COLUMNS] for e in _entries(request, start, end, action, 100_000)]
    body = csv_text(list(AUDIT_COLUMNS), rows)
    return Response(body.encode("utf-8"), media_type=CSV_TYPE,
                    headers={"Content-Disposition": 'attachment; filename="audit.csv"'})
