"""Serving under a path prefix behind a reverse proxy.

The public base URL may carry a path (`https://desk.example.com/hotline`). A proxy may pass requests on
with that prefix (`/hotline/twilio/voice`) or strip it (`/twilio/voice`); both are served: a request whose
path starts with the prefix is routed as if the prefix were the application's root (ASGI `root_path`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send


def base_path(public_base_url: str) -> str:
    """The path of the public base URL without a trailing slash: '/hotline', or '' at the root."""
    return urlsplit(public_base_url).path.rstrip("/")


def link_prefix(root_path: str, public_base: str) -> str:
    """What every link and asset of a page starts with: the prefix the request came under (its
    `root_path`), else the public base URL's path (a proxy that strips the prefix still needs links
    with it: the browser sees the public URL). '' at the root."""
    return root_path.rstrip("/") or base_path(public_base)


def without_prefix(path: str, prefix: str) -> str:
    """`path` as the application routes it: '/hotline/twilio/voice' -> '/twilio/voice' under '/hotline'."""
    if prefix and (path == prefix or path.startswith(prefix + "/")):
        return path[len(prefix):] or "/"
    return path


class PathPrefix:
    """ASGI middleware: requests under `prefix` get it as their `root_path` (unless the server set one)."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app, self.prefix = app, prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.prefix and not scope.get("root_path"):
            path = scope["path"]
            if path == self.prefix or path.startswith(self.prefix + "/"):
                scope = {**scope, "root_path": self.prefix}
        await self.app(scope, receive, send)
