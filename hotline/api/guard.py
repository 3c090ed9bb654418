"""The access guard: one ASGI middleware in front of every route, so that a route added later is
protected without declaring anything. Default-deny: a request needs a session or an API token unless
its path is public (Twilio's signed webhooks, the signed one-tap ack links, the login form, static files,
/healthz); the least role per (method, path) comes from `hotline.domain.access`. It also checks the
Host header, the CSRF token of cookie sessions, adds the security headers, masks caller numbers in the
JSON a viewer gets, and writes the audit log of state changes and personal-data exports."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from functools import partial
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, quote

from anyio import to_thread
from starlette._utils import get_route_path

from hotline.api.prefix import link_prefix
from hotline.clock import Clock
from hotline.domain.access import (
    Principal,
    Role,
    is_personal_export,
    is_state_change,
    needed_role,
    sees_numbers,
)
from hotline.domain.forwarded import client_of
from hotline.domain.numbers import try_parse_number
from hotline.services.access.audit import AuditLog
from hotline.services.access.config import AccessConfig
from hotline.services.access.sessions import SessionService, TokenService

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SESSION_COOKIE = "hotline_session"
CSRF_COOKIE = "hotline_csrf"
CSRF_HEADER = b"x-csrf-token"
CSRF_FIELD = "csrf_token"
# Keys whose values are phone numbers in the JSON of any route: masked for roles without sees_numbers.
NUMBER_KEYS = frozenset({"caller", "called", "mobile", "phone", "number", "caller_number", "from_number",
                         "to_number", "callback_number", "customer_number"})
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# The interactive API docs load their script from a CDN; they stay reachable to signed-in accounts only.
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https:; "
            "frame-ancestors 'none'")


@dataclass
class AccessParts:
    """What the guard asks: built once per app from its settings, session factory and clock."""

    config: AccessConfig
    sessions: SessionService
    tokens: TokenService
    audit: AuditLog
    clock: Clock


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return {k.lower(): v for k, v in scope.get("headers", [])}


def _cookies(headers: dict[bytes, bytes]) -> dict[str, str]:
    raw = headers.get(b"cookie", b"").decode("latin-1")
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # a malformed cookie header is no credential
        return {}
    return {k: m.value for k, m in jar.items()}


def host_of(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("["):
        return value.split("]")[0] + "]"
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def route_path(scope: Scope) -> str:
    """The path the router routes: without the `root_path` a proxy's prefix gave (hotline/api/prefix.py),
    e.g. '/twilio/voice' for '/desk/twilio/voice'. The guard decides on this path and nothing else, with
    Starlette's own function, so that what it lets through is the route that answers."""
    return get_route_path(scope)


def client_address(scope: Scope) -> str | None:
    """Where the request came from, as the guard resolved it (X-Forwarded-For from a trusted proxy only,
    see hotline/domain/forwarded.py); the connection's peer for a request the guard did not see."""
    state = scope.get("state") or {}
    if "client_address" in state:
        return state["client_address"]  # type: ignore[no-any-return]
    client = scope.get("client")
    return str(client[0]) if client else None


def _resolve_client(scope: Scope, headers: dict[bytes, bytes], config: AccessConfig) -> None:
    client = scope.get("client")
    peer = str(client[0]) if client else None
    forwarded = headers.get(b"x-forwarded-for", b"").decode("latin-1") or None
    scope.setdefault("state", {})["client_address"] = client_of(peer, forwarded, config.trusted_proxies)


def safe_target(method: str, path: str) -> str:
    """What the audit log records of a request: the one-tap link's token is a secret, so not its path."""
    return f"{method} /ack/…" if path.startswith("/ack/") else f"{method} {path}"


def _masked(value: str) -> str:
    """A phone number masked ('138****8000'); a value under a number key that is no phone number (a
    ticket number) is left alone."""
    parsed = try_parse_number(value)
    return parsed.masked() if parsed is not None else value


def mask_numbers(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: (_masked(v) if k in NUMBER_KEYS and isinstance(v, str) and v else mask_numbers(v))
                for k, v in data.items()}
    if isinstance(data, list):
        return [mask_numbers(v) for v in data]
    return data


class AccessGuard:
    def __init__(self, app: ASGIApp, parts: Callable[[], AccessParts]) -> None:
        self.app = app
        self.parts = parts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        parts = self.parts()
        method: str = scope["method"]
        path = route_path(scope)
        headers = _headers(scope)
        _resolve_client(scope, headers, parts.config)
        https = parts.config.https or scope.get("scheme") == "https"
        send = _with_security_headers(send, path, https)
        host = host_of(headers.get(b"host", b"").decode("latin-1"))
        if host not in parts.config.hosts:
            await _refuse(send, 421, f"主机名 {host!r} 不在允许列表中 / host {host!r} is not allowed "
                                     "(api.public_base_url, [access] hosts)")
            return
        needed = needed_role(method, path)
        if needed is None:
            await self._public(scope, receive, send, parts, method, path, headers)
            return
        principal = await to_thread.run_sync(self._principal, parts, headers, _feed_token(scope))
        if principal is None:
            if method == "GET" and b"text/html" in headers.get(b"accept", b""):
                # to the sign-in form and back to the page the browser asked for, both under the public prefix
                root = link_prefix(str(scope.get("root_path", "")), parts.config.base_path)
                await _redirect(send, root + "/login?next=" + quote(root + path))
            else:
                await _refuse(send, 401, "请先登录 / sign in first (session cookie or API token)")
            return
        if not principal.role.allows(needed):
            await self._audit(parts, principal, scope, method, path, "403", needed)
            await _refuse(send, 403, f"需要 {needed.value} 角色 / needs the {needed.value} role "
                                     f"(you are {principal.role.value})")
            return
        if is_state_change(method) and principal.via == "session":
            ok, receive = await _csrf_ok(principal, headers, receive)
            if not ok:
                await self._audit(parts, principal, scope, method, path, "403", needed, "csrf")
                await _refuse(send, 403, "缺少或错误的 CSRF 令牌 / missing or wrong CSRF token (X-CSRF-Token)")
                return
        scope.setdefault("state", {})["principal"] = principal
        status: dict[str, int] = {}
        send = _status_of(send, status)
        if not sees_numbers(principal.role):
            send = _masking(send, scope)
        await self.app(scope, receive, send)
        if is_state_change(method) or is_personal_export(method, path):
            await self._audit(parts, principal, scope, method, path, str(status.get("code", 0)), needed)

    async def _public(self, scope: Scope, receive: Receive, send: Send, parts: AccessParts, method: str,
                      path: str, headers: dict[bytes, bytes]) -> None:
        if path == "/login" and method == "POST":
            origin = headers.get(b"origin", b"").decode("latin-1")
            if origin and host_of(origin.split("://", 1)[-1]) not in parts.config.hosts:
                await _refuse(send, 403, "跨站登录被拒绝 / cross-site login refused")
                return
        if not is_state_change(method) or path == "/login":
            await self.app(scope, receive, send)  # the login route writes its own audit entries
            return
        status: dict[str, int] = {}
        await self.app(scope, receive, _status_of(send, status))
        actor = "link" if path.startswith("/ack/") else "twilio" if path.startswith("/twilio/") else "anonymous"
        person = scope.get("state", {}).get("audit_person")  # set by the route: e.g. whom a link was issued to
        await to_thread.run_sync(partial(parts.audit.add, parts.clock.now(), actor=actor, action="change",
                                         target=safe_target(method, path), outcome=str(status.get("code", 0)),
                                         address=client_address(scope), person=person))

    def _principal(self, parts: AccessParts, headers: dict[bytes, bytes], feed_token: str | None) -> Principal | None:
        auth = headers.get(b"authorization", b"").decode("latin-1")
        if auth.lower().startswith("bearer "):
            return parts.tokens.principal(auth[7:].strip())
        if feed_token:
            principal = parts.tokens.principal(feed_token)
            # a token in a URL ends up in logs and histories: only read-only (viewer) tokens are taken there
            return principal if principal is not None and principal.role is Role.VIEWER else None
        token = _cookies(headers).get(SESSION_COOKIE)
        return parts.sessions.principal(token) if token else None

    async def _audit(self, parts: AccessParts, principal: Principal, scope: Scope, method: str, path: str,
                     outcome: str, needed: Role, detail: str | None = None) -> None:
        action = "export" if is_personal_export(method, path) else "change" if is_state_change(method) else "read"
        if outcome == "403":
            action = "refused"
        query = scope.get("query_string", b"").decode("latin-1")
        extra = f"query={query}" if query else None
        note = " ".join(x for x in (detail, extra, f"via={principal.via}", f"role={principal.role.value}") if x)
        # database work off the event loop, like FastAPI's own sync routes
        await to_thread.run_sync(partial(parts.audit.add, parts.clock.now(), actor=principal.username,
                                         person=principal.person, address=client_address(scope), action=action,
                                         target=safe_target(method, path), outcome=outcome, detail=note))


# Read-only screens that cannot send a header: the desk's TV (the wallboard and its live stream).
TOKEN_IN_QUERY = ("/wall", "/api/wall/stream")


def _feed_token(scope: Scope) -> str | None:
    """`?token=` of a calendar feed (`….ics`) or the wallboard: phone calendars and a TV browser open a URL
    and send no header."""
    path = route_path(scope)
    if scope["method"] != "GET" or not (path.endswith(".ics") or path in TOKEN_IN_QUERY):
        return None
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    return values[0] if values else None


async def _csrf_ok(principal: Principal, headers: dict[bytes, bytes], receive: Receive) -> tuple[bool, Receive]:
    """The session's CSRF token in the X-CSRF-Token header, or in the `csrf_token` field of a form."""
    expected = principal.csrf or ""
    given = headers.get(CSRF_HEADER, b"").decode("latin-1")
    if given:
        return _same(given, expected), receive
    if not headers.get(b"content-type", b"").startswith(b"application/x-www-form-urlencoded"):
        return False, receive
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    field = parse_qs(body.decode("utf-8", "replace")).get(CSRF_FIELD, [""])[0]
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return _same(field, expected), replay


def _same(a: str, b: str) -> bool:
    import hmac

    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


def _with_security_headers(send: Send, path: str, https: bool) -> Send:
    docs = path in ("/docs", "/redoc") or path.startswith("/docs/")

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            extra = [(b"content-security-policy", (DOCS_CSP if docs else CSP).encode()),
                     (b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"),
                     (b"referrer-policy", b"same-origin"), (b"cross-origin-opener-policy", b"same-origin")]
            if https:
                extra.append((b"strict-transport-security", b"max-age=31536000"))
            if not path.startswith("/static/") and not any(k.lower() == b"cache-control"
                                                           for k, _ in message.get("headers", [])):
                extra.append((b"cache-control", b"no-store"))  # personal data; a signed-out page stays out
            message["headers"] = [*message.get("headers", []), *extra]
        await send(message)

    return wrapped


def _status_of(send: Send, status: dict[str, int]) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            status["code"] = int(message["status"])
        await send(message)

    return wrapped


def _masking(send: Send, scope: Scope) -> Send:
    """Buffers a JSON response and masks the numbers in it (viewers: the wallboard), unless the route says
    it served a masked body already (`request.state.numbers_masked`: the dashboard's shared summary)."""
    start: Message | None = None
    chunks: list[bytes] = []

    async def wrapped(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start" and scope.get("state", {}).get("numbers_masked"):
            await send(message)
            return
        if message["type"] == "http.response.start":
            ctype = dict((k.lower(), v) for k, v in message.get("headers", [])).get(b"content-type", b"")
            if ctype.startswith(b"application/json"):
                start = message
                return
            await send(message)
            return
        if start is None or message["type"] != "http.response.body":
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return
        body = b"".join(chunks)
        try:
            body = json.dumps(mask_numbers(json.loads(body)), ensure_ascii=False).encode("utf-8")
        except ValueError:
            pass
        start["headers"] = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        start["headers"].append((b"content-length", str(len(body)).encode()))
        await send(start)
        await send({"type": "http.response.body", "body": body, "more_body": False})

    return wrapped


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _redirect(send: Send, location: str) -> None:
    await send({"type": "http.response.start", "status": 303,
                "headers": [(b"location", location.encode("latin-1")), (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})
