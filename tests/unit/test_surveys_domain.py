"""Survey rules without I/O: calling hours and the 24 h limit, tries and spacing, digits as answers, the
outcome of an answer, sampling, and the satisfaction figures."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from hotline.domain.surveys import (
    QUESTIONS,
    Figures,
    SurveyError,
    SurveyPolicy,
    answer,
    by_key,
    complete,
    first_try,
    next_try,
    outcome,
    sampled,
    sms_answers,
)

P = SurveyPolicy()  # 09:00-20:00, delay 30 min, 3 tries 2 h apart, 24 h
HOLIDAYS = {date(2026, 10, 1)}


def workday(d: date) -> bool:
    return d in HOLIDAYS


def at(text: str) -> datetime:
    return datetime.fromisoformat(text + "+08:00")


def test_resolved_at_1930_is_surveyed_before_20_or_the_next_morning() -> None:
    resolved = at("2026-12-03T19:30:00")
    assert first_try(resolved, SurveyPolicy(delay=timedelta(0)), workday) == resolved  # still inside hours
    first = first_try(resolved, P, workday)  # 20:00 is outside: the next morning
    assert first == at("2026-12-04T09:00:00") and first - resolved < timedelta(hours=24)
    second = next_try(first, 1, resolved, P, workday)
    third = next_try(second or first, 2, resolved, P, workday)
    assert (second, third) == (at("2026-12-04T11:00:00"), at("2026-12-04T13:00:00"))
    assert next_try(at("2026-12-04T13:00:00"), 3, resolved, P, workday) is None  # three tries: unreachable


def test_no_try_after_the_limit_and_none_on_holidays() -> None:
    resolved = at("2026-12-03T19:30:00")
    assert next_try(at("2026-12-04T18:00:00"), 1, resolved, P, workday) is None  # 20:00 is past 19:30 + 24 h
    eve = at("2026-09-30T19:50:00")
    assert first_try(eve, P, workday) is None  # 10-01 is a holiday: no calling hours within 24 h
    assert first_try(eve, SurveyPolicy(call_on_holidays=True), workday) == at("2026-10-01T09:00:00")


def test_digits_become_answers_and_bad_ones_say_why() -> None:
    solved, overall = QUESTIONS[0], QUESTIONS[1]
    assert answer(solved, "1", 5).value == 1 and answer(solved, "2", 5).value == 0
    assert answer(overall, 4, 5).value == 4
    with pytest.raises(SurveyError, match="1-5"):
        answer(overall, "7", 5)
    with pytest.raises(SurveyError, match="not a digit"):
        answer(overall, "#", 5)
    assert [a.value for a in sms_answers("1，5 谢谢", P.questions, 5)] == [1, 5]
    with pytest.raises(SurveyError, match="2 digits"):
        sms_answers("好", P.questions, 5)
    with pytest.raises(SurveyError, match="unknown question"):
        by_key({"speed": 3}, 5)


def test_outcome_reopens_when_not_solved_and_opens_a_complaint_at_the_low_score() -> None:
    o = outcome(by_key({"solved": 2, "overall": 2}, 5), P)
    assert (o.reopen, o.complaint, o.confirm) == (True, True, False)
    o = outcome(by_key({"solved": 1, "overall": 3}, 5), P)
    assert (o.reopen, o.complaint, o.confirm) == (False, False, True)


def test_sampling_is_stable_and_near_the_rate() -> None:
    ids = [f"GD20261203-{i:04d}" for i in range(2000)]
    chosen = [i for i in ids if sampled(i, 0.3)]
    assert chosen == [i for i in ids if sampled(i, 0.3)]
    assert 500 < len(chosen) < 700
    assert all(sampled(i, 1.0) for i in ids[:10]) and not any(sampled(i, 0.0) for i in ids[:10])


def test_figures_never_give_a_score_without_its_sample() -> None:
    f = Figures("all", resolved=4, answered=3, scores=(5, 4, 3), within_24h=2, unreachable=1)
    assert (f.sample, f.average, f.satisfaction, f.response_rate, f.within_24h_share) == (3, 4.0, 0.8, 0.75, 0.5)
    assert Figures("all").satisfaction is None and Figures("all").response_rate is None


def test_sub_scores_are_optional_in_an_sms_and_awaited_on_the_phone() -> None:
    asked = SurveyPolicy(questions=tuple(q for q in QUESTIONS if q.key in ("solved", "overall", "attitude")))
    three = sms_answers("1 4 5", asked.questions, 5)
    assert [(a.question.key, a.value) for a in three] == [("solved", 1), ("overall", 4), ("attitude", 5)]
    two = sms_answers("1 4", asked.questions, 5)  # the sub-score left out: still an answer
    assert [a.question.key for a in two] == ["solved", "overall"]
    assert complete(two, asked) and not complete(two, asked, every=True)  # a call waits for the sub-score
    assert complete(three, asked, every=True)
    with pytest.raises(SurveyError):
        sms_answers("1 4 9", asked.questions, 5)  # 9 is no score out of 5
