"""The reports' hourly roll-up against the calls: every figure of every grouping equal to the raw
GROUP BY and to `domain/kpi.py`, on SQLite and PostgreSQL; kept by the ledger's flushes (a call that
ends after midnight, a late fix-up, a batch told twice); rebuilt by `hotline report rollup --rebuild`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select

from hotline.cli import main
from hotline.config import load_settings
from hotline.domain.calls import AttemptResult, CallEvent, Direction, EventKind
from hotline.domain.kpi import RateParams
from hotline.runtime.assembly import keep_rollup, open_database
from hotline.services.calls.ledger import Ledger
from hotline.services.reports import rollup
from hotline.services.reports.answer_rate import GROUPS, answer_rate_report, reference_answer_rate_report
from hotline.services.reports.monthly import build_monthly
from hotline.store.base import unit_of_work
from hotline.store.call_rollup import CallHourRow, covers, rollup_state
from hotline.store.call_stats import Span, answer_rate_rows, offered_answered
from hotline.store.calls import CallRow
from tests.integration.test_report_sql import LINES, make_calls

TZ = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "config" / "hotline.toml")
PARAMS = RateParams(short_abandon_seconds=5.0, service_level_seconds=10.0, lines=LINES)


def local_span(first: date, last: date) -> Span:
    return Span(datetime(first.year, first.month, first.day, tzinfo=TZ),
                datetime(last.year, last.month, last.day, tzinfo=TZ) + timedelta(days=1))


@pytest.mark.parametrize("by", [*GROUPS, "month"])
def test_rollup_figures_equal_the_raw_sql_and_the_reference(db_url: str, by: str) -> None:
    db = open_database(db_url)
    with unit_of_work(db.factory) as s:
        s.add_all(make_calls(1500))
    rollup.rebuild(db.factory, PARAMS, datetime(2026, 12, 3, tzinfo=UTC))
    spans = [local_span(date(2026, 11, 28), date(2026, 12, 3)), local_span(date(2026, 11, 30), date(2026, 12, 1)),
             local_span(date(2026, 12, 5), date(2026, 12, 6))]
    with unit_of_work(db.factory) as s:
        assert (s.scalar(select(func.count()).select_from(CallHourRow)) or 0) > 100
        for span in spans:
            assert covers(span)
            raw_rows, raw_total = answer_rate_rows(s, span, by, str(TZ), PARAMS)
            up_rows, up_total = rollup.rates(s, span, by, str(TZ), PARAMS)
            assert [r.as_dict() for r in up_rows] == [r.as_dict() for r in raw_rows], span
            assert up_total.as_dict() == raw_total.as_dict(), span
            assert rollup.offered_answered(s, span, by, str(TZ)) == offered_answered(s, span, by, str(TZ))
    if by != "month":  # the reference through the service (days of the desk's timezone)
        sql_rows, sql_total = answer_rate_report(db.factory, TZ, start=date(2026, 11, 28), end=date(2026, 12, 3),
                                                 by=by, params=PARAMS)
        ref_rows, ref_total = reference_answer_rate_report(db.factory, TZ, start=date(2026, 11, 28),
                                                           end=date(2026, 12, 3), by=by, params=PARAMS)
        assert [r.as_dict() for r in sql_rows] == [r.as_dict() for r in ref_rows]
        assert sql_total.as_dict() == ref_total.as_dict() and sql_total.offered > 900
    db.engine.dispose()


def test_the_rollup_is_what_answers_once_built(db_url: str) -> None:
    """With the calls gone, the counts still come (from the roll-up); other thresholds than the roll-up's,
    or a span not on whole hours, read the calls."""
    db = open_database(db_url)
    with unit_of_work(db.factory) as s:
        s.add_all(make_calls(400))
    span = local_span(date(2026, 11, 28), date(2026, 12, 3))
    with unit_of_work(db.factory) as s:
        before = rollup.rates(s, span, "specialty", str(TZ), PARAMS, with_p90=False)[1].as_dict()
        assert rollup_state(s) is None
    rollup.rebuild(db.factory, PARAMS, datetime(2026, 12, 3, tzinfo=UTC))
    with unit_of_work(db.factory) as s:
        s.execute(delete(CallRow))
    with unit_of_work(db.factory) as s:
        after = rollup.rates(s, span, "specialty", str(TZ), PARAMS, with_p90=False)[1].as_dict()
        assert before.pop("p90_wait_seconds") is not None  # the calls' path has the percentile ...
        assert after.pop("p90_wait_seconds") is None  # ... the roll-up has none without the calls
        assert after == before and after["offered"] > 200
        other = RateParams(short_abandon_seconds=0.0, service_level_seconds=10.0, lines=LINES)
        assert rollup.rates(s, span, "specialty", str(TZ), other)[1].offered == 0  # the calls: none left
        half = Span(span.start + timedelta(minutes=30) if span.start else None, span.end)
        assert not covers(half)
        assert rollup.rates(s, half, "specialty", str(TZ), PARAMS)[1].offered == 0
    db.engine.dispose()


def event(call_id: str, kind: EventKind, at: datetime, **kw: object) -> CallEvent:
    return CallEvent(call_id, kind, at, **kw)  # type: ignore[arg-type]


def test_the_ledger_keeps_the_rollup_across_midnight_late_fixes_and_repeats(db_url: str) -> None:
    settings = load_settings(CONFIG, env={})
    db = open_database(db_url)
    ledger = Ledger(db.factory)
    keeper = keep_rollup(settings, db.factory, ledger, build=False)
    assert keeper.ensure(datetime(2026, 12, 1, tzinfo=UTC)) == 0  # built, empty
    told: list[list[object]] = []
    ledger.on_written(lambda calls: told.append(list(calls)))
    t0 = datetime(2026, 11, 30, 23, 59, 30, tzinfo=TZ)  # starts before local midnight, ends after
    ledger.apply([
        event("m1", EventKind.STARTED, t0, direction=Direction.INBOUND, caller="13800138004", called="4008005678"),
        event("m1", EventKind.STAFF_REACHED, t0 + timedelta(seconds=5), queue="network", specialty="network"),
        event("m1", EventKind.ANSWERED, t0 + timedelta(seconds=12), answered_by="刘洋"),
        event("m1", EventKind.ENDED, t0 + timedelta(minutes=3)),
        event("a1", EventKind.STARTED, t0 + timedelta(minutes=1), direction=Direction.INBOUND,
              caller="010-12345678", called="4008001234"),
        event("a1", EventKind.STAFF_REACHED, t0 + timedelta(minutes=1, seconds=2), queue="servers",
              specialty="servers"),
        event("a1", EventKind.ATTEMPT_ENDED, t0 + timedelta(minutes=1, seconds=40), result=AttemptResult.ABANDONED),
        event("a1", EventKind.ENDED, t0 + timedelta(minutes=1, seconds=41)),
    ])
    ledger.flush()
    assert {c.call_id for c in told[-1]} == {"m1", "a1"}  # type: ignore[attr-defined]
    span = local_span(date(2026, 11, 30), date(2026, 12, 1))

    def both(by: str) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
        with unit_of_work(db.factory) as s:
            raw = answer_rate_rows(s, span, by, str(TZ), rate_params_of(settings))
            up = rollup.rates(s, span, by, str(TZ), rate_params_of(settings))
        return [r.as_dict() for r in [*up[0], up[1]]], [r.as_dict() for r in [*raw[0], raw[1]]]

    up, raw = both("day")
    assert up == raw and [r["group"] for r in up] == ["2026-11-30", "2026-12-01", "total"]
    assert (up[0]["answered"], up[1]["abandoned"]) == (1, 1)
    # a late event fixes the completed call up: it is written again and recounted
    ledger.apply([event("m1", EventKind.TALK_ENDED, t0 + timedelta(minutes=2))])
    ledger.flush()
    assert [c.call_id for c in told[-1]] == ["m1"]  # type: ignore[attr-defined]
    for by in ("day", "hour", "line", "agent"):
        up, raw = both(by)
        assert up == raw, by
    line = {r["group"]: r for r in both("line")[0]}
    assert line["值班线 Duty line"]["answered"] == 1 and line["热线 Hotline"]["abandoned"] == 1
    # the same batch told twice counts once
    keeper.on_written(told[0])  # type: ignore[arg-type]
    keeper.on_written(told[0])  # type: ignore[arg-type]
    up, raw = both("specialty")
    assert up == raw and up[-1]["offered"] == 2
    db.engine.dispose()


def rate_params_of(settings: object) -> RateParams:
    from hotline.services.reports.answer_rate import rate_params

    return rate_params(settings)  # type: ignore[arg-type]


def test_monthly_report_reads_the_same_from_the_rollup(db_url: str) -> None:
    settings = load_settings(CONFIG, env={})
    db = open_database(db_url)
    with unit_of_work(db.factory) as s:
        s.add_all(make_calls(800))
    now = datetime(2026, 12, 10, 9, tzinfo=TZ)
    raw = build_monthly(db.factory, settings, date(2026, 11, 1), now)
    rollup.rebuild(db.factory, rate_params_of(settings), now)
    built = build_monthly(db.factory, settings, date(2026, 11, 1), now)
    assert built["answer_rate"] == raw["answer_rate"] and built["trend"] == raw["trend"]
    assert built["indicators"] == raw["indicators"]
    assert raw["answer_rate"]["by_specialty"][-1]["offered"] > 50
    db.engine.dispose()


def test_cli_rebuilds_and_reports_the_same(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    db = open_database(url)
    with unit_of_work(db.factory) as s:
        s.add_all(make_calls(600))
    db.engine.dispose()
    args = ["report", "answer-rate", "--from", "2026-11-29", "--to", "2026-12-02", "--by", "week", "--json",
            "--db", url, "--config", CONFIG]
    assert main(args) == 0
    before = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert main(["report", "rollup", "--db", url, "--config", CONFIG]) == 0
    assert "未建立 / not built" in capsys.readouterr().out
    assert main(["report", "rollup", "--rebuild", "--db", url, "--config", CONFIG]) == 0
    out = capsys.readouterr().out
    assert "已重建 rebuilt" in out and "可用 in use: 是 yes" in out
    assert main(args) == 0
    after = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert after == before and [r["group"] for r in after] == ["2026-W48", "2026-W49", "total"]
    assert {"service_level", "asa_seconds", "abandon_rate", "short_abandon_rate"} <= set(after[-1])
