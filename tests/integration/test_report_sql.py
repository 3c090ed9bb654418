"""The answer rate counted by the database (GROUP BY, percentile) against the reference in
`domain/kpi.py`, on the same calls, on SQLite and PostgreSQL: every figure of every row must agree."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from hotline.domain.kpi import RateParams
from hotline.runtime.assembly import open_database
from hotline.services.reports.answer_rate import answer_rate_report, reference_answer_rate_report
from hotline.store.base import unit_of_work
from hotline.store.call_stats import Span, outcome_counts
from hotline.store.calls import CallRow

TZ = ZoneInfo("Asia/Shanghai")
PEOPLE = ["张伟", "李娜", "王芳", "8001", ""]
SPECIALTIES = ["network", "servers", "applications", None, ""]
OUTCOMES = ["answered"] * 6 + ["abandoned", "abandoned", "timeout", "busy", "ivr_abandoned", "failed", None]
LINES = {"4008001234": "热线 Hotline", "4008005678": "值班线 Duty line"}
CALLED = ["4008001234", "4008001234", "4008005678", "01087654321", None]
CALLERS = ["13800138004", "010-12345678", "+8613912345678", "02161234567"]


def make_calls(n: int, seed: int = 19) -> list[CallRow]:
    """Calls from 2026-11-29 to 2026-12-02 local, across local midnights (16:00 UTC) and hours."""
    rnd = random.Random(seed)
    start = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)  # 23:00 local
    rows = []
    for i in range(n):
        at = start + timedelta(seconds=rnd.randrange(0, 4 * 86400))
        outcome = rnd.choice(OUTCOMES)
        wait = None if outcome in ("ivr_abandoned", "failed") or rnd.random() < 0.05 else round(
            rnd.expovariate(1 / 25), 3)
        answered = outcome == "answered"
        talk = round(rnd.uniform(5, 900), 3) if answered and rnd.random() > 0.05 else None
        rows.append(CallRow(
            call_id=f"c{i:05d}", provider="asterisk", direction="inbound" if rnd.random() > 0.1 else "outbound",
            caller=rnd.choice(CALLERS), called=rnd.choice(CALLED), queue=None, specialty=rnd.choice(SPECIALTIES),
            outcome=outcome, answered_by=rnd.choice(PEOPLE) if answered else None, started_at=at,
            ended_at=at + timedelta(seconds=60), wait_seconds=wait, talk_seconds=talk, estimated=False))
    # ties and a one-call group: the percentile must pick the same value
    for j, w in enumerate([7.0, 7.0, 7.0, 3.0]):
        rows.append(CallRow(call_id=f"tie{j}", provider="asterisk", direction="inbound", specialty="desktop",
                            outcome="abandoned", started_at=start + timedelta(hours=30), wait_seconds=w,
                            estimated=False))
    return rows


@pytest.mark.parametrize("by", ["specialty", "day", "week", "hour", "agent", "line"])
def test_sql_answer_rates_equal_the_reference_formulas(db_url: str, by: str) -> None:
    db = open_database(db_url)
    with unit_of_work(db.factory) as s:
        s.add_all(make_calls(1500))
    ranges: list[tuple[date | None, date | None]] = [(None, None), (date(2026, 11, 30), date(2026, 12, 1)),
                                                     (date(2026, 12, 5), date(2026, 12, 6))]
    for start, end in ranges:
        for short, within in ((0.0, 20.0), (5.0, 10.0)):
            params = RateParams(short_abandon_seconds=short, service_level_seconds=within, lines=LINES)
            sql_rows, sql_total = answer_rate_report(db.factory, TZ, start=start, end=end, by=by, params=params)
            ref_rows, ref_total = reference_answer_rate_report(db.factory, TZ, start=start, end=end, by=by,
                                                               params=params)
            assert [r.as_dict() for r in sql_rows] == [r.as_dict() for r in ref_rows], (start, end, short)
            assert sql_total.as_dict() == ref_total.as_dict(), (start, end, short)
            if start is None:
                assert len(sql_rows) >= (2 if by == "week" else 3) and sql_total.offered > 900
                assert sql_total.p90_wait is not None
    db.engine.dispose()


def test_local_day_and_hour_follow_the_desk_timezone(db_url: str) -> None:
    """A call at 16:30 UTC on 11-30 is 00:30 on 12-01 in Shanghai: it counts on 12-01, hour 00:00."""
    db = open_database(db_url)
    at = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)
    with unit_of_work(db.factory) as s:
        s.add(CallRow(call_id="late", provider="asterisk", direction="inbound", specialty="network",
                      outcome="answered", answered_by="张伟", started_at=at, wait_seconds=4.0, talk_seconds=60.0,
                      estimated=False))
    days, _ = answer_rate_report(db.factory, TZ, by="day")
    hours, _ = answer_rate_report(db.factory, TZ, by="hour")
    assert [(r.group, r.offered, r.answered) for r in days] == [("2026-12-01", 1, 1)]
    assert [r.group for r in hours] == ["00:00"]
    only_dec1, _ = answer_rate_report(db.factory, TZ, start=date(2026, 12, 1), end=date(2026, 12, 1))
    assert [(r.group, r.answered) for r in only_dec1] == [("network", 1)]
    with unit_of_work(db.factory) as s:
        assert s.scalar(select(CallRow.call_id)) == "late"
        counts = outcome_counts(s, Span(direction=None))
    assert counts == [("network", "answered", 1)]
    db.engine.dispose()


@pytest.mark.parametrize("by", ["day", "hour"])
def test_local_days_and_hours_across_a_daylight_saving_change(db_url: str, by: str) -> None:
    """Berlin leaves summer time on 2026-10-25: a span across it uses the per-row conversion, a span
    after it the fixed offset; both equal the reference."""
    from hotline.store.call_stats import fixed_offset_minutes

    berlin = ZoneInfo("Europe/Berlin")
    db = open_database(db_url)
    with unit_of_work(db.factory) as s:
        for i in range(96):  # every 30 minutes from 10-24 00:00 UTC, two days across the change
            at = datetime(2026, 10, 24, tzinfo=UTC) + timedelta(minutes=30 * i)
            s.add(CallRow(call_id=f"b{i}", provider="asterisk", direction="inbound", specialty="network",
                          outcome="answered" if i % 3 else "abandoned", started_at=at, wait_seconds=float(i % 7),
                          estimated=False))
    assert fixed_offset_minutes("Europe/Berlin", Span(datetime(2026, 10, 24, tzinfo=berlin),
                                                     datetime(2026, 10, 26, tzinfo=berlin))) is None
    assert fixed_offset_minutes("Europe/Berlin", Span(datetime(2026, 10, 25, 12, tzinfo=berlin),
                                                     datetime(2026, 10, 27, tzinfo=berlin))) == 60
    for start, end in ((date(2026, 10, 24), date(2026, 10, 25)), (date(2026, 10, 26), date(2026, 10, 26)),
                       (date(2026, 10, 25), date(2026, 10, 25))):
        sql_rows, _ = answer_rate_report(db.factory, berlin, start=start, end=end, by=by)
        ref_rows, _ = reference_answer_rate_report(db.factory, berlin, start=start, end=end, by=by)
        assert [r.as_dict() for r in sql_rows] == [r.as_dict() for r in ref_rows], (start, end)
    db.engine.dispose()
