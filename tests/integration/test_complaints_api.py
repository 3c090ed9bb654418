"""/api/complaints and the complaint routes of a ticket, signed in through the guard, on SQLite and
PostgreSQL: open by hand, the feedback form saved with versions and downloaded as XLSX and PDF, reply and
agreed deadline, the month's figures; staff rights for the form, clear errors for bad input."""

from __future__ import annotations

import io
from datetime import datetime

import httpx
from openpyxl import load_workbook

from hotline.api.app import create_app
from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.runtime.assembly import open_database
from hotline.services.roster.service import RosterService
from tests.conftest import ROOT
from tests.signin import BASE_URL, login

T0 = datetime.fromisoformat("2026-12-03T10:00:00+08:00")


async def test_complaint_routes_open_fill_export_and_report(settings: Settings, db_url: str) -> None:
    db = open_database(db_url)
    clock = ManualClock(T0, settings.tz)
    RosterService(db.factory, settings, clock).load_example(ROOT / "config" / "roster.yaml")
    app = create_app(settings, db.factory, clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as c:
        await login(c, db.factory, "staff", "王芳")
        r = await c.post("/api/complaints", json={"number": "13800138000", "summary": "工程师未按约定到场",
                                                  "by": "冒名者"})
        assert r.status_code == 200, r.text
        t = r.json()
        tid = t["ticket_id"]
        assert (t["ticket_type"], t["complaint"]["source"], t["assignee"]) == ("complaint", "hand", "王芳")
        assert t["timeline"][0]["actor"] == "王芳"  # the signed-in person, not the body's "by"
        assert {c["clock"] for c in t["clocks"]} >= {"complaint", "complaint_solved"}
        bad = await c.post("/api/complaints", json={"number": "abc", "summary": "x", "by": "x"})
        assert bad.status_code == 409 and "号码无效" in bad.json()["detail"]
        missing = await c.post("/api/complaints/from-call/no-such-call", json={"by": "x"})
        assert missing.status_code == 404 and "no call 'no-such-call' in the ledger" in missing.json()["detail"]

        empty = (await c.get(f"/api/tickets/{tid}/complaint/form")).json()
        assert (empty["form"], empty["history"]) == (None, [])
        r = await c.put(f"/api/tickets/{tid}/complaint/form", json={
            "by": "x", "complaint": "客户冯婷投诉工程师未按约定时间到场", "investigation": "排班冲突，未通知客户"})
        assert r.status_code == 200, r.text
        clock.set(datetime.fromisoformat("2026-12-03T11:00:00+08:00"))
        r = await c.put(f"/api/tickets/{tid}/complaint/form", json={"by": "x", "feedback": "已致电致歉并改约"})
        form = r.json()
        assert form["form"]["version"] == 2 and form["form"]["complaint"] == "客户冯婷投诉工程师未按约定时间到场"
        assert [(h["version"], h["saved_by"]) for h in form["history"]] == [(1, "王芳"), (2, "王芳")]
        too_long = await c.put(f"/api/tickets/{tid}/complaint/form", json={"by": "x", "cause": "长" * 4001})
        assert too_long.status_code == 422

        xlsx = await c.get(f"/api/tickets/{tid}/complaint/form.xlsx")
        assert xlsx.status_code == 200 and "spreadsheetml" in xlsx.headers["content-type"]
        ws = load_workbook(io.BytesIO(xlsx.content)).active
        assert ws is not None
        values = {r[0]: r[1] for r in ws.iter_rows(values_only=True) if r[0]}
        assert values["反馈客户 / Feedback to the customer"] == "已致电致歉并改约"
        pdf = await c.get(f"/api/tickets/{tid}/complaint/form.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert (await c.get(f"/api/tickets/{tid}/complaint/form.doc")).status_code == 404

        r = await c.post(f"/api/tickets/{tid}/complaint/reply", json={"by": "x", "text": "已答复客户"})
        assert r.json()["complaint"]["replied_at"] == "2026-12-03T11:00:00+08:00"
        for day_only in ("2026-12-04", "2026-12-04T12", "明天中午"):  # a day alone is not a deadline: its midnight?
            r = await c.post(f"/api/tickets/{tid}/complaint/deadline", json={"due": day_only})
            assert r.status_code == 422 and "YYYY-MM-DDTHH:MM" in r.json()["detail"], r.text
        r = await c.post(f"/api/tickets/{tid}/complaint/deadline", json={"by": "x", "due": "2026-12-04 12:00"})
        solved = next(k for k in r.json()["clocks"] if k["clock"] == "complaint_solved")
        assert solved["due_at"] == "2026-12-04T12:00:00+08:00"
        early = await c.post(f"/api/tickets/{tid}/complaint/deadline",
                             json={"by": "x", "due": "2026-12-03T09:00:00+08:00"})
        assert early.status_code == 409 and "晚于" in early.json()["detail"]

        await login(c, db.factory, "viewer", None)
        assert (await c.get(f"/api/tickets/{tid}/complaint/form")).status_code == 403
        assert (await c.get(f"/api/tickets/{tid}/complaint/form.pdf")).status_code == 403
        report = (await c.get("/api/reports/complaints", params={"month": "2026-12"})).json()
        assert (report["count"], report["replied_in_time"]) == (
            1, {"count": 1, "of": 1, "share": 1.0, "late": 0, "pending": 0})
        assert report["resolved_in_time"]["pending"] == 1  # the agreed deadline is ahead on the app's clock
        assert report["complaints"][0]["caller"] == "138****8000"
        assert (await c.get("/api/reports/complaints", params={"month": "12/2026"})).status_code == 400
    db.engine.dispose()
