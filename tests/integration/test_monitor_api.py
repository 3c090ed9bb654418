"""The alert API over HTTP (SQLite and PostgreSQL): list, acknowledge, resolve, the signed one-tap
link, incidents, the unreturned list, and acknowledgements by SMS reply and voice key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from hotline.api.app import create_app
from hotline.config import Settings
from hotline.domain.calls import Direction
from hotline.providers.twilio.signature import sign
from hotline.services.monitor.ack_links import AckLinks
from hotline.services.monitor.engine import MonitorService
from hotline.store.access import AuditRow
from tests.integration.monitor_fakes import CHEN, LI, MIN, T0, ZHANG, Rig, answered, missed, rig
from tests.signin import login

TOKEN = "test-twilio-token"
BASE = "https://hotline.example"
CALLER = "13800138002"


@dataclass
class Api:
    client: httpx.AsyncClient
    rig: Rig

    @property
    def monitor(self) -> MonitorService:
        return self.rig.monitor


@pytest.fixture
async def api(settings: Settings, db_url: str) -> AsyncIterator[Api]:
    r = rig(db_url)
    r.monitor.links = AckLinks(b"k" * 32, BASE)
    s = replace(settings, twilio=replace(settings.twilio, auth_token=TOKEN),
                api=replace(settings.api, public_base_url=BASE))
    app = create_app(s, r.monitor.factory, r.clock, live={"monitor": r.monitor})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        await login(client, r.monitor.factory, "supervisor", ZHANG.name)
        yield Api(client, r)
    r.dispose()


async def test_list_ack_resolve(api: Api) -> None:
    api.monitor.on_call(missed(CALLER, T0))
    alerts = (await api.client.get("/api/alerts", params={"state": "open"})).json()
    assert [(a["caller"], a["state"], a["deadline_at"]) for a in alerts] == [
        (CALLER, "open", (T0 + 15 * MIN).isoformat())]
    alert_id = alerts[0]["alert_id"]
    r = await api.client.post(f"/api/alerts/{alert_id}/ack", json={"by": "someone else"})
    assert r.status_code == 200 and r.json()["state"] == "acked" and r.json()["acked_by"] == ZHANG.name
    r = await api.client.post(f"/api/alerts/{alert_id}/resolve", json={"reason": ""})
    assert r.status_code == 422
    r = await api.client.post(f"/api/alerts/{alert_id}/resolve", json={"reason": "打错了"})
    assert r.json()["state"] == "resolved"
    assert (await api.client.post(f"/api/alerts/{alert_id}/ack", json={})).status_code == 409
    assert (await api.client.post("/api/alerts/nope/ack", json={})).status_code == 404
    assert (await api.client.get("/api/alerts", params={"state": "open"})).json() == []
    detail = (await api.client.get(f"/api/alerts/{alert_id}")).json()
    assert [e["type"] for e in detail["history"]] == ["alert", "page", "ack", "resolve"]


async def test_signed_link_acknowledges_by_post_not_by_preview(api: Api) -> None:
    api.monitor.on_call(missed(CALLER, T0))
    link = next(p for p in api.rig.outbox.claim()).page.ack_url
    assert link is not None and link.startswith(f"{BASE}/ack/")
    path = link.removeprefix(BASE)
    preview = await api.client.get(path)  # what a chat app's link preview does
    assert preview.status_code == 200 and "<form method=\"post\">" in preview.text
    assert api.monitor.alerts("open")[0].acked_by is None
    tap = await api.client.post(path)
    assert tap.status_code == 200 and "已确认" in tap.text
    assert api.monitor.alerts("open")[0].acked_by == ZHANG.name
    with api.monitor.factory() as s:
        (entry,) = s.scalars(select(AuditRow).where(AuditRow.actor == "link")).all()
    assert (entry.person, entry.target, entry.outcome) == (ZHANG.name, "POST /ack/…", "200")  # no token logged
    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert (await api.client.post(forged)).status_code == 403
    api.rig.clock.set(T0 + timedelta(hours=25))
    assert (await api.client.post(path)).status_code == 403  # expired


async def test_incident_pages_the_maintenance_lead_and_tracks_the_report(api: Api) -> None:
    await login(api.client, api.monitor.factory, "supervisor", LI.name)
    r = await api.client.post("/api/incidents", json={"title": "核心交换机宕机 core switch down",
                                                       "specialty": "network"})
    assert r.status_code == 201
    incident = r.json()
    assert incident["report_deadline_at"] == (T0 + 30 * MIN).isoformat()
    pages = [(e.type, e.tier, e.person) for e in api.monitor.events(incident["alert_id"]) if e.type == "page"]
    assert pages == [("page", "manager", CHEN.name)]
    api.rig.clock.set(T0 + 20 * MIN)
    await login(api.client, api.monitor.factory, "supervisor", CHEN.name)
    r = await api.client.post(f"/api/incidents/{incident['incident_id']}/reported")
    assert r.json()["reported_by"] == CHEN.name and r.json()["breached"] is False
    assert (await api.client.get("/api/incidents", params={"open": True})).json() == []


async def test_unreturned_and_returned_lists(api: Api) -> None:
    api.monitor.on_call(missed(CALLER, T0, "m1"))
    api.rig.clock.set(T0 + MIN)
    api.monitor.on_call(missed(CALLER, T0 + MIN, "m2"))
    api.monitor.on_call(missed("13900000009", T0 + MIN, "m3"))
    api.monitor.on_call(answered("8001", "13900000009", T0 + 4 * MIN, Direction.OUTBOUND))
    unreturned = (await api.client.get("/api/alerts/unreturned")).json()
    assert [(u["caller"], u["missed_calls"], u["paged"]) for u in unreturned] == [(CALLER, 2, [ZHANG.name])]
    returned = (await api.client.get("/api/reports/returned")).json()
    assert [(r["caller"], r["returned_within_minutes"], r["how"]) for r in returned] == [
        ("13900000009", 3.0, "callback")]


async def _twilio(api: Api, path: str, params: dict[str, str]) -> httpx.Response:
    headers = {"X-Twilio-Signature": sign(TOKEN, BASE + path, params)}
    return await api.client.post(path, data=params, headers=headers)


async def test_sms_reply_with_the_code_from_the_paged_number(api: Api) -> None:
    api.monitor.on_call(missed(CALLER, T0))
    code = api.monitor.alerts("open")[0].ack_code
    assert code is not None
    r = await _twilio(api, "/twilio/pages/sms-reply", {"From": "+86" + "13900000009", "Body": f"确认 {code}"})
    assert "未收到" in r.text and api.monitor.alerts("open")[0].acked_by is None
    r = await _twilio(api, "/twilio/pages/sms-reply", {"From": "+86" + str(ZHANG.mobile), "Body": f"确认 {code}"})
    assert "已确认" in r.text and api.monitor.alerts("open")[0].acked_by == ZHANG.name
    unsigned = await api.client.post("/twilio/pages/sms-reply", data={"From": "x", "Body": code})
    assert unsigned.status_code == 403


async def test_voice_page_key_1_acknowledges(api: Api) -> None:
    api.monitor.on_call(missed(CALLER, T0))
    page = api.rig.outbox.claim()[0].page
    query = httpx.QueryParams({"page": page.key, "code": page.ack_code or ""})
    path = f"/twilio/pages/voice-ack?{query}"
    r = await _twilio(api, path, {"Digits": "2"})
    assert "按 1" in r.text and api.monitor.alerts("open")[0].acked_by is None
    r = await _twilio(api, path, {"Digits": "1"})
    assert "<Say" in r.text and api.monitor.alerts("open")[0].acked_by == ZHANG.name
