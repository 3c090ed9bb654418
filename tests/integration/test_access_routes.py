"""Every route of the app, read from /openapi.json: a state-changing route refuses an anonymous request
and a viewer; staff and supervisors get exactly the rights of the table below. A route added later
without an entry here must be refused to staff (the guard's default), else this test fails."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hotline.api.app import create_app
from hotline.config import Settings
from hotline.domain.access import DEFAULT_WRITE, READ_METHODS, Role, needed_role
from hotline.runtime.assembly import open_database
from tests.signin import client, signed_in

ROLES = ("viewer", "staff", "supervisor", "admin")
# The least role of every state-changing route we have; None: public, with a check of its own (Twilio's
# signature, the signed one-tap link, the password).
WRITES: dict[tuple[str, str], str | None] = {
    ("POST", "/api/alerts/{alert_id}/ack"): "staff",
    ("POST", "/api/alerts/{alert_id}/callback"): "staff",
    ("POST", "/api/alerts/{alert_id}/resolve"): "supervisor",
    ("POST", "/api/incidents"): "supervisor",
    ("POST", "/api/incidents/{incident_id}/reported"): "supervisor",
    ("POST", "/ack/{token}"): None,
    ("POST", "/twilio/pages/sms-reply"): None,
    ("POST", "/twilio/pages/voice-ack"): None,
    ("POST", "/twilio/status"): None,
    ("POST", "/twilio/ivr/{script}"): None,
    ("POST", "/twilio/survey/{survey_id}/{token}/{script}"): None,
    ("POST", "/twilio/survey-sms"): None,
    ("POST", "/aliyun/survey-sms/{token}"): None,  # the shared token in the path (Aliyun signs no push)
    **{("POST", f"/twilio/{step}"): None for step in ("voice", "gather", "dial", "queue", "wait", "recorded",
                                                       "connect", "agent", "bridged")},
    ("POST", "/login"): None,
    ("POST", "/logout"): "viewer",  # ends one's own session
    ("POST", "/api/access/accounts"): "admin",
    ("POST", "/api/access/accounts/{username}/disable"): "admin",
    ("POST", "/api/access/accounts/{username}/password"): "admin",
    ("POST", "/api/access/tokens"): "admin",
    ("POST", "/api/access/tokens/{token_id}/revoke"): "admin",
    # staff ask for roster changes and acknowledge their own handover; managers (supervisors) decide
    ("POST", "/api/roster/requests"): "staff",
    ("POST", "/api/roster/handover/ack"): "staff",
    ("POST", "/api/roster/overrides/preview"): "staff",
    ("POST", "/api/roster/requests/{request_id}/{decision}"): "supervisor",
    ("POST", "/api/roster/overrides"): "supervisor",
    ("POST", "/api/roster/swaps"): "supervisor",
    # staff work their tickets (and draft a knowledge article from one); publishing it is a supervisor's
    ("PATCH", "/api/tickets/{ticket_id}"): "staff",
    **{("POST", f"/api/tickets/{{ticket_id}}/{action}"): "staff"
       for action in ("assign", "start", "escalate", "resolve", "close", "reopen", "report", "kb-draft")},
    # complaints (投诉): staff open, mark, reply, agree the deadline, fill in the feedback form
    ("POST", "/api/complaints"): "staff",
    ("POST", "/api/complaints/from-call/{call_id}"): "staff",
    ("POST", "/api/tickets/{ticket_id}/complaint"): "staff",
    ("POST", "/api/tickets/{ticket_id}/complaint/reply"): "staff",
    ("POST", "/api/tickets/{ticket_id}/complaint/deadline"): "staff",
    ("PUT", "/api/tickets/{ticket_id}/complaint/form"): "staff",
    # staff record the answers of a survey they asked on the phone; cancelling one and running the engine by
    # hand are a supervisor's
    ("POST", "/api/surveys/{ref}/record"): "staff",
    ("POST", "/api/surveys/{ref}/cancel"): "supervisor",
    ("POST", "/api/surveys/run"): "supervisor",
}
# Reads that are not for every viewer: the audit log (supervisors), accounts (admins), and the public ones.
READS: dict[tuple[str, str], str | None] = {
    ("GET", "/api/audit"): "supervisor", ("GET", "/api/audit.csv"): "supervisor",
    ("GET", "/api/access/accounts"): "admin", ("GET", "/api/access/tokens"): "admin",
    ("GET", "/healthz"): None, ("GET", "/ack/{token}"): None,
    ("GET", "/api/roster/feeds/{token}"): None,  # a phone calendar's secret URL
    # a complaint's feedback form and its files: the complainant's words and number
    ("GET", "/api/tickets/{ticket_id}/complaint/form"): "staff",
    ("GET", "/api/tickets/{ticket_id}/complaint/form.{kind}"): "staff",
}
REFUSED = (401, 403)
# Live streams (Server-Sent Events) never end for a client that stays: an allowed request is not sent (the
# guard's rule for them is still asserted, and every refused role is still sent and must be refused).
STREAMS = frozenset({"/api/dashboard/stream", "/api/wall/stream"})


@pytest.fixture
def app(settings: Settings, tmp_path: Path) -> Iterator[FastAPI]:
    db = open_database(f"sqlite:///{tmp_path / 'routes.db'}")
    configured = replace(settings, twilio=replace(settings.twilio, auth_token="route-walk-token"),
                         api=replace(settings.api, link_key="k" * 32))
    yield create_app(configured, db.factory)
    db.engine.dispose()


def routes(app: FastAPI) -> list[tuple[str, str]]:
    schema = client(app).get("/openapi.json")
    assert schema.status_code == 401  # the schema itself is for signed-in accounts
    spec = signed_in(app, "viewer").get("/openapi.json").json()
    found = [(m.upper(), p) for p, ops in spec["paths"].items() for m in ops]
    assert len(found) >= 25
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", path)


def send(c: TestClient, method: str, path: str) -> int:
    if method in READ_METHODS:
        return int(c.request(method, concrete(path)).status_code)
    return int(c.request(method, concrete(path), json={}).status_code)


def test_every_state_changing_route_refuses_anonymous_and_viewers(app: FastAPI) -> None:
    anonymous = client(app)
    viewer = signed_in(app, "viewer")
    writes = [(m, p) for m, p in routes(app) if m not in READ_METHODS]
    assert len(writes) >= len(WRITES) - 2  # /login and /logout are not in the schema's count below
    for method, path in writes:
        assert send(anonymous, method, path) in REFUSED, f"{method} {path} answers an anonymous request"
        if (method, path) == ("POST", "/logout"):
            continue
        assert send(viewer, method, path) in REFUSED, f"{method} {path} answers a viewer"


def test_staff_and_supervisors_get_exactly_their_rights(app: FastAPI) -> None:
    clients = {role: signed_in(app, role) for role in ROLES}
    for method, path in routes(app):
        if (method, path) == ("POST", "/logout"):
            continue
        if method in READ_METHODS:
            least = READS.get((method, path), "viewer")
        elif (method, path) in WRITES:
            least = WRITES[(method, path)]
        else:  # a route added without an entry here: the guard's default must refuse staff
            assert needed_role(method, concrete(path)) is not None
            least = DEFAULT_WRITE.value
        rule = needed_role(method, concrete(path))
        assert (rule.value if rule else None) == least, f"{method} {path}: guard says {rule}, table says {least}"
        if least is None:
            continue  # public: its own check (tested with the route)
        for role in ROLES:
            allowed = Role(role).allows(Role(least))
            if allowed and path in STREAMS:
                continue
            status = send(clients[role], method, path)
            assert (status not in REFUSED) == allowed, f"{role} {method} {path}: {status}"


def test_a_cookie_session_without_the_csrf_token_is_refused(app: FastAPI) -> None:
    supervisor = signed_in(app, "supervisor")
    assert supervisor.post("/api/incidents", json={}).status_code == 422  # allowed: the body is incomplete
    token = supervisor.headers.pop("X-CSRF-Token")
    r = supervisor.post("/api/incidents", json={})
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    assert supervisor.post("/api/incidents", json={}, headers={"X-CSRF-Token": token[:-1]}).status_code == 403
    # a form post carries it as a field
    form = supervisor.post("/api/alerts/x1/resolve", data={"csrf_token": token, "reason": "x"})
    assert form.status_code not in REFUSED


def test_host_allow_list_and_security_headers(app: FastAPI) -> None:
    c = client(app)
    r = c.get("/healthz")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"
    rebound = TestClient(app, base_url="http://attacker.example")  # DNS rebinding: a foreign Host header
    assert rebound.get("/healthz").status_code == 421
    assert rebound.post("/login", json={"username": "a", "password": "b"}).status_code == 421
    page = c.get("/login")
    assert page.status_code == 200 and "<script" not in page.text and "<style" not in page.text


def test_anonymous_dashboard_is_sent_to_the_login_form(app: FastAPI) -> None:
    r = client(app).get("/", headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/"
    assert client(app).get("/api/calls").status_code == 401


def test_a_route_added_later_without_a_rule_is_denied_by_default(app: FastAPI) -> None:
    calls: list[str] = []

    @app.post("/api/wall/pin")  # e.g. another branch's route, merged without touching the rights table
    def pin() -> dict[str, bool]:
        calls.append("pinned")
        return {"ok": True}

    @app.get("/api/wall/numbers")
    def numbers() -> dict[str, object]:
        return {"caller": "13800138000", "rows": [{"mobile": "010-12345678", "number": "T-2026-0001"}],
                "called": "+8613900139005", "calls": 3}

    assert client(app).post("/api/wall/pin").status_code == 401
    assert signed_in(app, "viewer").post("/api/wall/pin").status_code == 403
    assert signed_in(app, "staff").post("/api/wall/pin").status_code == 403
    assert calls == []
    assert signed_in(app, "supervisor").post("/api/wall/pin").status_code == 200 and calls == ["pinned"]
    # a read added later is open to viewers, with the numbers in its JSON masked
    assert signed_in(app, "viewer").get("/api/wall/numbers").json() == {
        "caller": "138****8000", "rows": [{"mobile": "010****5678", "number": "T-2026-0001"}],
        "called": "139****9005", "calls": 3}
    assert signed_in(app, "staff").get("/api/wall/numbers").json()["caller"] == "13800138000"
