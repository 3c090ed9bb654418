"""Answer rate and the other formulas, with the raw counts behind every rate."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from hotline.domain.kpi import CallFigures, answer_rates, percentile, satisfaction, step_seconds, wait_step

T = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def fig(outcome: str, specialty: str = "network", wait: float | None = 5.0, talk: float | None = None,
        by: str | None = None) -> CallFigures:
    return CallFigures(outcome, specialty, by, T, wait, talk)


def test_answer_rate_counts_only_calls_put_through_to_staff() -> None:
    calls = [fig("answered", talk=60, by="agent1"), fig("answered", talk=30, by="agent2"), fig("abandoned"),
             fig("timeout", wait=15), fig("busy", wait=0.1), fig("ivr_abandoned", wait=None),
             fig("answered", "servers", talk=10)]
    rows, total = answer_rates(calls, target=0.75)
    network = rows[0]
    assert (network.group, network.offered, network.answered) == ("network", 5, 2)
    assert network.answer_rate == pytest.approx(0.4)
    assert network.met is False
    assert network.ivr_abandoned == 1
    assert (total.offered, total.answered) == (6, 3)
    assert rows[1].as_dict()["met"] is True
    assert network.as_dict()["answer_rate"] == 0.4


def test_short_abandons_are_shown_apart_when_a_threshold_is_set() -> None:
    calls = [fig("answered", talk=1), fig("abandoned", wait=2), fig("abandoned", wait=30)]
    _, plain = answer_rates(calls)
    assert (plain.offered, plain.short_abandoned) == (3, 0)
    _, short = answer_rates(calls, short_abandon_seconds=5)
    assert (short.offered, short.short_abandoned, short.abandoned) == (2, 1, 1)


def test_no_offered_calls_means_no_rate() -> None:
    _rows, total = answer_rates([fig("ivr_abandoned", wait=None)])
    assert total.answer_rate is None and total.met is None


def test_percentile_nearest_rank() -> None:
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9) == 9
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([], 0.9) is None


def test_wait_steps_are_tenths_of_a_second_rounded_up() -> None:
    assert [wait_step(w) for w in (0.0, 0.01, 0.1, 0.10001, 12.3, 0.1 + 0.2, 59.95, 60.0)] == \
        [0, 1, 1, 2, 123, 3, 600, 600]
    assert [step_seconds(wait_step(w)) for w in (12.3, 12.31, 0.0)] == [12.3, 12.4, 0.0]
    assert all(wait_step(step_seconds(k)) == k for k in range(0, 100_000, 7))  # a step is its own step


def test_the_rows_p90_is_given_in_steps() -> None:
    rows, total = answer_rates([fig("answered", wait=w, by="a") for w in (1.0, 2.0, 12.31)] +
                               [fig("abandoned", wait=w) for w in (3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0)])
    assert total.p90_wait == 9.0 and rows[0].p90_wait == 9.0
    rows, total = answer_rates([fig("answered", wait=12.31, by="a")])
    assert total.p90_wait == 12.4 and total.as_dict()["p90_wait_seconds"] == 12.4


def test_satisfaction_is_average_over_full_score() -> None:
    assert satisfaction([5, 4, 5, 4], full_score=5) == pytest.approx(0.9)
    assert satisfaction([]) is None


def test_unknown_grouping_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown grouping 'queue'"):
        answer_rates([], by="queue")
