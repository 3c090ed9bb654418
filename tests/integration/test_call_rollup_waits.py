"""The roll-up's wait histogram (call_hour_waits, migration 0018): the 90th percentile it gives equals
`domain/kpi.py`'s on the same calls, at its resolution (tenths of a second, rounded up), for every
grouping, on SQLite and PostgreSQL; the migration goes up and down, and a rebuild fills the histogram
of a roll-up made before it."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, delete, func, inspect, select

from hotline.domain.kpi import CallFigures, answer_rates, percentile, step_seconds, wait_step
from hotline.runtime.assembly import open_database
from hotline.services.reports import rollup
from hotline.store.base import MIGRATIONS, unit_of_work
from hotline.store.call_rollup import CallHourRow, CallHourWaitRow, rollup_state
from hotline.store.call_stats import Span, answer_rate_rows
from hotline.store.calls import CallRow
from tests.integration.test_report_rollup import PARAMS, local_span
from tests.integration.test_report_sql import LINES, make_calls

TZ = ZoneInfo("Asia/Shanghai")
# waits on and next to the steps' edges: 12.3 (12.3 * 10 = 123.00000000000001), 0.1 + 0.2, 0, a
# microsecond above an edge, ties
EDGES = [12.3, 12.3, 12.300001, 0.1 + 0.2, 0.0, 0.05, 59.95, 60.0, 7.0, 7.0, 7.0, 99.99]


def edge_calls() -> list[CallRow]:
    at = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    return [CallRow(call_id=f"edge{i}", provider="asterisk", direction="inbound", specialty="edges",
                    outcome="answered" if i % 2 else "timeout", answered_by="王芳" if i % 2 else None,
                    called="4008001234", started_at=at + timedelta(minutes=i), wait_seconds=w, estimated=False)
            for i, w in enumerate(EDGES)]


def figures(rows: list[CallRow]) -> list[CallFigures]:
    return [CallFigures(r.outcome, r.specialty, r.answered_by, r.started_at.astimezone(TZ), r.wait_seconds,
                        r.talk_seconds, r.called) for r in rows]


@pytest.mark.parametrize("by", ["specialty", "day", "week", "hour", "agent", "line"])
def test_the_histograms_p90_equals_the_reference(db_url: str, by: str) -> None:
    db = open_database(db_url)
    calls = make_calls(1200) + edge_calls()
    with unit_of_work(db.factory) as s:
        s.add_all(calls)
    rollup.rebuild(db.factory, PARAMS, datetime(2026, 12, 3, tzinfo=UTC))
    span = local_span(date(2026, 11, 28), date(2026, 12, 3))
    assert span.start is not None and span.end is not None
    inside = [c for c in calls if c.direction == "inbound" and span.start <= c.started_at < span.end]
    ref_rows, ref_total = answer_rates(figures(inside), by=by, short_abandon_seconds=PARAMS.short_abandon_seconds,
                                       service_level_seconds=PARAMS.service_level_seconds, lines=LINES)
    with unit_of_work(db.factory) as s:
        # every offered call with a wait is in the histogram once
        assert s.scalar(select(func.sum(CallHourWaitRow.calls))) == s.scalar(select(func.sum(CallHourRow.wait_count)))
        rows, total = rollup.rates(s, span, by, str(TZ), PARAMS)
        raw_rows, raw_total = answer_rate_rows(s, span, by, str(TZ), PARAMS)
    got = {r.group: r.p90_wait for r in rows}
    assert got == {r.group: r.p90_wait for r in ref_rows} == {r.group: r.p90_wait for r in raw_rows}
    assert total.p90_wait == ref_total.p90_wait == raw_total.p90_wait is not None
    # and the reference is the exact nearest rank of the waits, rounded up to the tenth
    short = PARAMS.short_abandon_seconds
    offered = [c.wait_seconds for c in inside if c.wait_seconds is not None and (
        c.outcome in ("answered", "timeout", "busy") or (c.outcome == "abandoned" and c.wait_seconds > short))]
    exact = percentile(offered, 0.9)
    assert exact is not None and total.p90_wait == step_seconds(wait_step(exact))
    if by == "specialty":
        assert got["edges"] == step_seconds(wait_step(sorted(EDGES)[10])) == 60.0  # rank ceil(0.9 * 12) = 11
    db.engine.dispose()


def _alembic(engine: Engine, action: str, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, revision)


def test_the_migration_goes_up_and_down_and_a_rebuild_fills_the_histogram(db_url: str) -> None:
    db = open_database(db_url)
    with unit_of_work(db.factory) as s:
        s.add_all(make_calls(300))
    span = local_span(date(2026, 11, 28), date(2026, 12, 3))
    rollup.rebuild(db.factory, PARAMS, datetime(2026, 12, 3, tzinfo=UTC))
    with unit_of_work(db.factory) as s:
        expected = rollup.rates(s, span, "specialty", str(TZ), PARAMS)[1].as_dict()
    _alembic(db.engine, "downgrade", "0017_privacy_sign_on")
    assert "call_hour_waits" not in inspect(db.engine).get_table_names()
    assert "call_hours" in inspect(db.engine).get_table_names()
    _alembic(db.engine, "upgrade", "head")
    with unit_of_work(db.factory) as s:
        assert s.scalar(select(func.count()).select_from(CallHourWaitRow)) == 0
        # the roll-up is forgotten, so that the next start rebuilds it; the reports read the calls meanwhile
        assert rollup_state(s) is None and (s.scalar(select(func.count()).select_from(CallHourRow)) or 0) > 0
        assert rollup.rates(s, span, "specialty", str(TZ), PARAMS)[1].as_dict() == expected
    rollup.rebuild(db.factory, PARAMS, datetime(2026, 12, 3, tzinfo=UTC))
    with unit_of_work(db.factory) as s:
        assert (s.scalar(select(func.count()).select_from(CallHourWaitRow)) or 0) > 100
        s.execute(delete(CallRow))  # from here on only the roll-up can answer
    with unit_of_work(db.factory) as s:
        assert rollup.rates(s, span, "specialty", str(TZ), PARAMS)[1].as_dict() == expected
        assert expected["p90_wait_seconds"] is not None and expected["offered"] > 100
    db.engine.dispose()


def test_a_recounted_hour_keeps_its_histogram_right(db_url: str) -> None:
    """The ledger's recount of one hour replaces that hour's histogram, leaving the others."""
    from hotline.store.call_rollup import refresh_hours

    db = open_database(db_url)
    calls = edge_calls()
    with unit_of_work(db.factory) as s:
        s.add_all(calls)
    rollup.rebuild(db.factory, PARAMS, datetime(2026, 12, 3, tzinfo=UTC))
    span = Span(datetime(2026, 11, 30, 2, tzinfo=UTC), datetime(2026, 11, 30, 3, tzinfo=UTC))
    with unit_of_work(db.factory) as s:  # the database's steps are Python's, edges included (12.3 -> 123)
        stored = Counter[int]()
        for step, n in s.execute(select(CallHourWaitRow.wait_step, CallHourWaitRow.calls)):
            stored[step] += n
        assert stored == Counter(wait_step(w) for w in EDGES) and stored[123] == 2 and stored[3] == 1
        s.add(CallRow(call_id="late", provider="asterisk", direction="inbound", specialty="edges", outcome="busy",
                      called="4008001234", started_at=datetime(2026, 11, 30, 2, 59, tzinfo=UTC),
                      wait_seconds=500.0, estimated=False))
        s.flush()
        refresh_hours(s, [datetime(2026, 11, 30, 2, 59, tzinfo=UTC)], PARAMS)
        refresh_hours(s, [datetime(2026, 11, 30, 2, 30, tzinfo=UTC)], PARAMS)  # told twice: counted once
    with unit_of_work(db.factory) as s:
        assert s.scalar(select(func.sum(CallHourWaitRow.calls))) == len(EDGES) + 1
        total = rollup.rates(s, span, "all", str(TZ), PARAMS)[1]
    ref = percentile([*EDGES, 500.0], 0.9)  # every edge call is offered (answered, timeout, busy)
    assert ref == 99.99 and total.p90_wait == step_seconds(wait_step(ref)) == 100.0
    db.engine.dispose()
