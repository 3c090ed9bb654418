"""Under the access guard, a person with a staff account asks for roster changes (requests) and acknowledges
taking over their own shift; editing the roster and deciding requests stay with supervisors (managers).
Over HTTP on the real app, SQLite and PostgreSQL, with the example desk on a manual clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from hotline.api.app import create_app
from hotline.clock import ManualClock
from hotline.services.roster.service import RosterService
from tests.signin import signed_in

OVERRIDE = {"tier": "first_line", "from": "2026-11-27T20:00", "to": "2026-11-28T08:00", "replace": "张伟",
            "by": "王芳", "reason": "家中有事", "actor": "张伟"}


def test_staff_ask_and_acknowledge_supervisors_decide(roster_desk: Callable[[str], RosterService]) -> None:
    desk = roster_desk("2026-11-23 10:00")
    clock = desk.clock
    assert isinstance(clock, ManualClock)
    app = create_app(desk.settings, desk.factory, clock, live={})
    wang = signed_in(app, "staff", "王芳")
    zhou = signed_in(app, "supervisor", "周强")

    assert wang.post("/api/roster/overrides", json=OVERRIDE).status_code == 403  # staff do not edit the roster
    preview = wang.post("/api/roster/overrides/preview", json=OVERRIDE)  # but see what a request would do
    assert preview.status_code == 200 and [s["person"] for s in preview.json()["makes"]] == ["王芳"]
    filed = wang.post("/api/roster/requests", json=OVERRIDE)
    assert filed.status_code == 200, filed.text
    [pending] = desk.requests()
    assert pending.id == filed.json()["request"] and pending.requested_by == "王芳"  # not the body's "张伟"
    assert wang.post(f"/api/roster/requests/{pending.id}/approve", params={"actor": "周强"}).status_code == 403
    decided = zhou.post(f"/api/roster/requests/{pending.id}/approve", params={"actor": "王芳"})
    assert decided.status_code == 200 and decided.json()["state"] == "approved"
    assert [p.name for p in desk.on_duty(datetime.fromisoformat("2026-11-27T21:00+08:00")).first_line] == ["王芳"]
    assert desk.history(1)[0].actor == "周强"

    clock.set(datetime.fromisoformat("2026-11-24T07:50+08:00"))  # 王芳's day shift starts at 08:00
    wang = signed_in(app, "staff", "王芳", username="staff-王芳-next-morning")  # yesterday's session is over
    refused = wang.post("/api/roster/handover/ack", params={"person": "张伟"})
    assert refused.status_code == 403 and "只能确认自己的接班" in refused.json()["detail"]
    acked = wang.post("/api/roster/handover/ack")  # the signed-in person
    assert acked.status_code == 200 and acked.json()["acknowledged"]["person"] == "王芳"
    assert desk.acked(datetime.fromisoformat("2026-11-24T08:00+08:00"), datetime.fromisoformat(
        "2026-11-24T08:01+08:00")) == {("first_line", "王芳", datetime.fromisoformat("2026-11-24T08:00+08:00"))}
    nobody = signed_in(app, "staff", None)
    assert nobody.post("/api/roster/handover/ack").status_code == 403  # an account of nobody on the roster
