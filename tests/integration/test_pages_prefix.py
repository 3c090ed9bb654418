"""The dashboard's pages and the sign-in form behind a reverse proxy at `http://hotline.example.cn/desk`:
whether the proxy keeps `/desk` in the path or strips it, every link, asset, form and redirect the browser
gets starts with `/desk` (a root-absolute `/static/...` would leave the proxy's path). The same pages at
the root keep plain paths."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from hotline.api.app import create_app
from hotline.api.dashboard import PAGES
from hotline.config import Settings
from hotline.runtime.assembly import open_database
from tests.signin import client, signed_in

LINKS = re.compile(r'(?:href|src|action)="([^"#]*)"')


@pytest.fixture
def desk(settings: Settings, tmp_path: Path) -> Iterator[FastAPI]:
    db = open_database(f"sqlite:///{tmp_path / 'desk.db'}")
    behind = replace(settings, api=replace(settings.api, public_base_url="http://hotline.example.cn/desk"))
    yield create_app(behind, db.factory)
    db.engine.dispose()


@pytest.mark.parametrize("kept", ["/desk", ""], ids=["proxy-keeps-prefix", "proxy-strips-prefix"])
def test_every_link_of_the_pages_starts_with_the_prefix(desk: FastAPI, kept: str) -> None:
    c = signed_in(desk, "supervisor", "冯婷")
    for path, (_template, name, title) in PAGES.items():
        r = c.get(kept + path)
        assert r.status_code == 200, (path, r.text)
        links = LINKS.findall(r.text)
        assert len(links) >= 11, links  # style, 8 navigation links, sign-out form, 2 scripts
        assert all(link.startswith("/desk/") for link in links), (path, links)
        assert f'data-page="{name}"' in r.text and 'data-root="/desk"' in r.text
        assert f"<title>{title} ·" in r.text
        here = re.findall(r'<a href="([^"]+)" class="here">', r.text)
        assert here == ["/desk" + path], (path, here)


@pytest.mark.parametrize("kept", ["/desk", ""], ids=["proxy-keeps-prefix", "proxy-strips-prefix"])
def test_sign_in_and_out_stay_under_the_prefix(desk: FastAPI, kept: str) -> None:
    anonymous = client(desk)
    r = anonymous.get(kept + "/alerts", headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/desk/login?next=/desk/alerts"
    form = anonymous.get(kept + "/login", params={"next": "/desk/alerts"})
    assert LINKS.findall(form.text) == ["/desk/static/login.css", "/desk/login"]
    assert 'name="next" value="/desk/alerts"' in form.text
    bad = anonymous.post(kept + "/login", data={"username": "nobody", "password": "x"})
    assert bad.status_code == 401 and 'id="error"' in bad.text and 'name="next" value="/desk/"' in bad.text
    c = signed_in(desk, "staff", "刘洋")
    out = c.post(kept + "/logout", headers={"Accept": "text/html"}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/desk/login"


def test_at_the_root_links_are_plain_paths(settings: Settings, tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'root.db'}")
    app = create_app(settings, db.factory)
    page = signed_in(app, "viewer", None).get("/duty").text
    links = LINKS.findall(page)
    assert links[0] == "/static/dashboard.css" and "/logout" in links and "/" in links
    assert not [link for link in links if link.startswith("//")]
    db.engine.dispose()


@pytest.mark.parametrize("kept", ["/desk", ""], ids=["proxy-keeps-prefix", "proxy-strips-prefix"])
def test_the_wallboard_and_the_one_tap_link_page_stay_under_the_prefix(settings: Settings, tmp_path: Path,
                                                                       kept: str) -> None:
    from hotline.services.monitor.ack_links import AckLinks
    from tests.integration.monitor_fakes import missed, rig

    base = "http://hotline.example.cn/desk"
    r = rig(f"sqlite:///{tmp_path / 'link.db'}")
    r.monitor.links = AckLinks(b"k" * 32, base)
    r.monitor.on_call(missed("13800138004", r.clock.now()))
    link = next(p for p in r.outbox.claim()).page.ack_url
    assert link is not None and link.startswith(base + "/ack/")
    app = create_app(replace(settings, api=replace(settings.api, public_base_url=base)), r.monitor.factory,
                     r.clock, live={"monitor": r.monitor})
    page = client(app).get(kept + link.removeprefix(base))
    assert page.status_code == 200, page.text
    assert LINKS.findall(page.text) == ["/desk/static/ack.css", "/desk/static/ack.js"]
    wall = signed_in(app, "viewer", None).get(kept + "/wall")
    assert LINKS.findall(wall.text) == ["/desk/static/wall.css", "/desk/static/wall.js"]
    assert 'data-root="/desk"' in wall.text
    r.dispose()


# A URL literal in a page's script that is not added to the page's prefix (`ROOT + "/api/..."`).
ROOT_ABSOLUTE = re.compile(r'(?<![\w)] \+ )["\'`]/(?:api|static|login|logout|roster|tickets|ack|wall)\b[^"\'`]*')


@pytest.mark.parametrize("kept", ["/desk", ""], ids=["proxy-keeps-prefix", "proxy-strips-prefix"])
@pytest.mark.parametrize("page", ["/roster", "/tickets"])
def test_the_roster_editor_and_the_tickets_page_stay_under_the_prefix(desk: FastAPI, kept: str, page: str) -> None:
    c = signed_in(desk, "supervisor", "冯婷")
    r = c.get(kept + page)
    assert r.status_code == 200, r.text
    links = LINKS.findall(r.text)
    assert len(links) >= 4, links  # style, dashboard link, session.js and the page's scripts
    assert all(link.startswith("/desk/") for link in links), (page, links)
    assert 'data-root="/desk"' in r.text
    scripts = [link for link in links if link.endswith(".js")]
    assert "/desk/static/session.js" in scripts and len(scripts) >= 2
    assert prefixed_urls(c, kept, scripts) >= 10  # the page's fetches and download links


def prefixed_urls(c: Any, kept: str, scripts: list[str]) -> int:
    """How many URLs the scripts add to the page's prefix; fails on a root-absolute one."""
    fetched = 0
    for script in scripts:
        js = c.get(kept + script.removeprefix("/desk"))
        assert js.status_code == 200, script
        assert ROOT_ABSOLUTE.findall(js.text) == [], script
        fetched += js.text.count("ROOT + ") + js.text.count("root + ")
    return fetched


@pytest.mark.parametrize("kept", ["/desk", ""], ids=["proxy-keeps-prefix", "proxy-strips-prefix"])
def test_the_scripts_of_the_dashboard_pages_fetch_under_the_prefix(desk: FastAPI, kept: str) -> None:
    c = signed_in(desk, "supervisor", "冯婷")
    scripts = sorted({link for path in [*PAGES, "/wall"] for link in LINKS.findall(c.get(kept + path).text)
                      if link.endswith(".js")})
    assert "/desk/static/dashboard.js" in scripts and "/desk/static/wall.js" in scripts
    assert prefixed_urls(c, kept, scripts) >= 10


def test_the_roster_editor_and_the_tickets_page_at_the_root(settings: Settings, tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'root.db'}")
    c = signed_in(create_app(settings, db.factory), "supervisor", "冯婷")
    for page, css in (("/roster", "/static/roster.css"), ("/tickets", "/static/tickets.css")):
        text = c.get(page).text
        assert LINKS.findall(text)[0] == css and 'data-root=""' in text and 'href="/"' in text
    db.engine.dispose()
