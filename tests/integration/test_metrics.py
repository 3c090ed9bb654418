"""/metrics scraped over HTTP and parsed with prometheus_client's own parser: today's calls by outcome
and specialty, callers waiting, open alerts, pages sent / failed per channel, outbox depth, AMI state."""

from __future__ import annotations

from datetime import timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families

from hotline.api.app import create_app
from hotline.config import Settings
from hotline.domain.calls import Call, Direction
from hotline.services.access.sessions import TokenService
from hotline.services.calls.ledger import Ledger
from hotline.store.alerts import OutboxRow, PageAttemptRow
from hotline.store.base import unit_of_work
from hotline.store.calls import upsert_calls
from tests.integration.monitor_fakes import MIN, T0, RecordingSender, answered, missed, rig
from tests.signin import BASE_URL, add_account


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def test_metrics_are_scraped_and_parse(settings: Settings, db_url: str) -> None:
    r = rig(db_url)
    # two inbound calls today: one answered (network), one abandoned (network) -> an open alert, paged
    calls = [missed("13800138004", T0, "m1"),
             answered("010-12345678", "4008001234", T0 - 5 * MIN, Direction.INBOUND, "a1")]
    calls[1].specialty = "servers"
    with unit_of_work(r.monitor.factory) as s:
        upsert_calls(s, calls)
    r.monitor.on_call(calls[0])
    await r.outbox.drain(RecordingSender(failing=frozenset({"sms"})))  # first attempt fails
    with unit_of_work(r.monitor.factory) as s:  # a page a dry run printed earlier: counted apart, never as sent
        box = OutboxRow(key="dry", alert_id=None, purpose="page", person="张伟", channel="wecom", fallback="",
                        recipient="{}", subject="未接来电", text="未接来电", created_at=T0 - MIN, status="sent",
                        attempts=1, next_attempt_at=T0 - MIN)
        s.add(box)
        s.flush()
        s.add(PageAttemptRow(outbox_id=box.id, at=T0 - MIN, channel="wecom", ok=True, provider_id="dry-run:dry"))
    # a caller in the queue for 95 s right now, in the live ledger
    ledger = Ledger(r.monitor.factory)
    r.clock.set(T0 + 2 * MIN)
    waiting = Call("w1", "asterisk", Direction.INBOUND, T0, caller="13912345678", queue="network",
                   specialty="network", staff_reached_at=T0 + 2 * MIN - timedelta(seconds=95))
    ledger.open["w1"] = waiting
    live = {"ledger": ledger, "monitor": r.monitor, "listener": {"connected": True, "connects": 2, "events": 417}}
    app = create_app(settings, r.monitor.factory, r.clock, live=live)
    # scraped as a Prometheus server does: a read-only (viewer) API token in the Authorization header
    add_account(r.monitor.factory, "prometheus", "viewer")
    token, _ = TokenService(r.monitor.factory, r.clock).issue("prometheus", "scrape", "viewer")
    bearer = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL,
                                 headers=bearer) as client:
        resp = await client.get("/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    m = samples(resp.text)
    assert m[("hotline_calls_today", (("outcome", "abandoned"), ("specialty", "network")))] == 1
    assert m[("hotline_calls_today", (("outcome", "answered"), ("specialty", "servers")))] == 1
    assert m[("hotline_callers_waiting", ())] == 1
    assert m[("hotline_longest_wait_seconds", ())] == 95
    assert m[("hotline_open_alerts", (("kind", "missed_call"),))] == 1
    assert m[("hotline_open_alerts", (("kind", "incident"),))] == 0
    assert m[("hotline_oldest_open_alert_seconds", ())] == 120
    assert m[("hotline_pages_total", (("channel", "sms"), ("result", "failed")))] == 1
    assert m[("hotline_pages_total", (("channel", "wecom"), ("result", "dry_run")))] == 1
    assert ("hotline_pages_total", (("channel", "wecom"), ("result", "sent"))) not in m
    assert m[("hotline_outbox_depth", (("status", "pending"),))] == 1  # the failed page waits for its retry
    assert m[("hotline_ami_connected", ())] == 1
    assert m[("hotline_ami_events_total", ())] == 417
    assert m[("hotline_breaches_today", ())] == 0

    # without a listener in the process the AMI state is 0, and the scrape still works
    app2 = create_app(settings, r.monitor.factory, r.clock, live={})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app2), base_url=BASE_URL,
                                 headers=bearer) as client:
        m2 = samples((await client.get("/metrics")).text)
    assert m2[("hotline_ami_connected", ())] == 0 and m2[("hotline_callers_waiting", ())] == 0
    r.dispose()


def test_the_grafana_dashboard_only_asks_for_metrics_we_export() -> None:
    import json
    import re
    from pathlib import Path

    doc = json.loads((Path(__file__).resolve().parents[2] / "docs" / "grafana-hotline.json").read_text("utf-8"))
    exported = {"hotline_calls_today", "hotline_callers_waiting", "hotline_longest_wait_seconds",
                "hotline_open_alerts", "hotline_oldest_open_alert_seconds", "hotline_breaches_today",
                "hotline_pages_total", "hotline_outbox_depth", "hotline_ami_connected", "hotline_ami_events_total",
                "hotline_ami_connects_total", "hotline_ami_event_lag_seconds_bucket",
                "hotline_ami_event_lag_seconds_sum", "hotline_ami_event_lag_seconds_count",
                "hotline_ami_store_lag_seconds_bucket",
                "hotline_scheduler_lateness_seconds_bucket", "hotline_scheduler_missed_total"}
    asked = {name for p in doc["panels"] for t in p["targets"] for name in re.findall(r"hotline_\w+", t["expr"])}
    assert asked and asked <= exported
