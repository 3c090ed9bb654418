"""The HTML pages rendered from Jinja2 templates (hotline/api/templates): the dashboard's five pages share
one layout (`page.html`: head, header, navigation, sign-out form) and the sign-in form. Every link and asset
in them starts with the public URL's path prefix, so that they work behind a reverse proxy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from hotline.api.prefix import link_prefix

TEMPLATES = Path(__file__).resolve().parent / "templates"
ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                  trim_blocks=True, lstrip_blocks=True)

# The navigation bar: (path, label). The roster editor, tickets and the wallboard have pages of their own.
NAV = (("/", "总览 Overview"), ("/calls", "呼叫 Calls"), ("/alerts", "告警 Alerts"), ("/duty", "值班 On duty"),
       ("/roster", "排班 Roster"), ("/tickets", "工单 Tickets"), ("/reports", "报表 Reports"), ("/wall", "大屏 Wall"))


def root_of(request: Request) -> str:
    """The path prefix of this request's links ('' at the root, '/hotline' behind a proxy)."""
    return link_prefix(str(request.scope.get("root_path", "")), request.app.state.settings.api.public_base_url)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    body = ENV.get_template(template).render(root=root_of(request), nav=NAV, **context)
    return HTMLResponse(body, status_code=status_code)
