"""Prometheus metrics at /metrics (prometheus_client): read when scraped, from the database and the
running process (`app.state.live`), in a registry of the app's own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from hotline.domain.day_range import day_span
from hotline.runtime.timings import LagHistogram, SchedulerLateness
from hotline.services.reports.live_figures import callers_waiting, snapshot

router = APIRouter(tags=["metrics"])


class HotlineCollector(Collector):
    """One scrape: one database snapshot plus the live ledger and listener status."""

    def __init__(self, state: Any) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        state = self.state
        settings = state.settings
        now = state.clock.now().astimezone(settings.tz)
        lo, hi = day_span(now.date(), now.date(), settings.tz)
        assert lo is not None and hi is not None
        snap = snapshot(state.factory, lo, hi)

        calls = GaugeMetricFamily("hotline_calls_today", "Inbound calls started today (local day) by outcome "
                                  "and specialty; outcome in_progress while the call lasts",
                                  labels=["specialty", "outcome"])
        for specialty, outcome, n in snap.calls_today:
            calls.add_metric([specialty, outcome or "in_progress"], n)
        yield calls

        ledger = state.live.get("ledger")
        waiting = callers_waiting(ledger.open.values() if ledger is not None else [], now)
        yield GaugeMetricFamily("hotline_callers_waiting", "Inbound callers in a queue, not yet answered",
                                value=waiting.count)
        yield GaugeMetricFamily("hotline_longest_wait_seconds", "How long the longest-waiting caller has waited",
                                value=waiting.longest_seconds or 0.0)

        alerts = GaugeMetricFamily("hotline_open_alerts", "Alerts not yet closed, by kind", labels=["kind"])
        for kind, n in sorted(snap.alerts.by_kind.items()):
            alerts.add_metric([kind], n)
        yield alerts
        oldest = snap.alerts.oldest_opened_at
        yield GaugeMetricFamily("hotline_oldest_open_alert_seconds", "Age of the oldest open alert (0: none)",
                                value=0.0 if oldest is None else max(0.0, (now - oldest).total_seconds()))
        yield GaugeMetricFamily("hotline_breaches_today", "Missed calls not returned within 15 minutes, today",
                                value=snap.breaches_today)

        pages = CounterMetricFamily("hotline_pages", "Page send attempts by channel and result",
                                    labels=["channel", "result"])
        for channel, result, n in sorted(snap.pages):  # result: sent, failed, dry_run (printed, never sent)
            pages.add_metric([channel, result], n)
        yield pages

        depth = GaugeMetricFamily("hotline_outbox_depth", "Pages waiting in the outbox, by status", labels=["status"])
        for status, n in sorted(snap.outbox.items()):
            depth.add_metric([status], n)
        yield depth

        yield from self._listener(state.live.get("listener"))
        yield from self._lateness(state.live)

    def _lateness(self, live: dict[str, Any]) -> Iterator[Metric]:
        listener = live.get("ami_listener")
        if listener is not None:
            yield _histogram("hotline_ami_event_lag_seconds", "AMI events: from the PBX's event time "
                             "(Timestamp header) to its receipt by the listener", listener.event_lag)
            yield _histogram("hotline_ami_store_lag_seconds", "AMI events: from receipt to the ledger's "
                             "commit of the batch holding them", listener.store_lag)
        lateness: SchedulerLateness | None = live.get("scheduler_lateness")
        if lateness is not None:
            yield _histogram("hotline_scheduler_lateness_seconds", "Scheduler jobs: from the due time to the "
                             "start (submission to the executor)", lateness.lateness)
            yield CounterMetricFamily("hotline_scheduler_missed", "Scheduler runs missed (past their grace time)",
                                      value=lateness.missed)

    def _listener(self, status: dict[str, Any] | None) -> Iterator[Metric]:
        listening = status is not None
        yield GaugeMetricFamily("hotline_ami_connected", "1 when the listener is logged in to the PBX's AMI, "
                                "0 when not (or no listener runs in this process)",
                                value=1 if listening and status and status.get("connected") else 0)
        if status is not None:
            yield CounterMetricFamily("hotline_ami_events", "AMI events received", value=status.get("events", 0))
            yield CounterMetricFamily("hotline_ami_connects", "AMI logins (reconnects included)",
                                      value=status.get("connects", 0))


def _histogram(name: str, documentation: str, histogram: LagHistogram) -> Metric:
    buckets, _, total = histogram.snapshot()
    return HistogramMetricFamily(name, documentation, buckets=buckets, sum_value=total)


def registry_of(request: Request) -> CollectorRegistry:
    state = request.app.state
    registry: CollectorRegistry | None = getattr(state, "metrics_registry", None)
    if registry is None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(HotlineCollector(state))
        state.metrics_registry = registry
    return registry


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    return Response(generate_latest(registry_of(request)), media_type=CONTENT_TYPE_LATEST)
