"""Service windows and the working-day calendar: on-site 6x8, remote 7x24, holidays, 调休."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from hotline.domain.windows import (
    CalendarDay,
    DayKind,
    Requirement,
    ServiceWindows,
    WindowKind,
    WorkingCalendar,
    missing_year_warnings,
    parse_clock_time,
    parse_weekdays,
)
from hotline.services.roster.holidays import ScheduleUnknown, official_schedule

TZ = ZoneInfo("Asia/Shanghai")
WINDOWS = ServiceWindows(TZ)
CAL_2026 = WorkingCalendar.of(official_schedule(2026), [2026])


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.mark.parametrize(("moment", "kind"), [
    ("2026-11-23 09:00", WindowKind.ONSITE),  # Monday, first on-site minute
    ("2026-11-23 08:59", WindowKind.REMOTE),
    ("2026-11-23 16:59", WindowKind.ONSITE),
    ("2026-11-23 17:00", WindowKind.REMOTE),  # the end minute is no longer on-site
    ("2026-11-28 10:00", WindowKind.ONSITE),  # ordinary Saturday: 6x8 means Monday to Saturday
    ("2026-11-29 10:00", WindowKind.REMOTE),  # ordinary Sunday
    ("2026-10-01 10:00", WindowKind.HOLIDAY),  # National Day
    ("2026-10-03 23:00", WindowKind.HOLIDAY),  # a Saturday inside the National Day block
    ("2026-02-17 03:00", WindowKind.HOLIDAY),  # Spring Festival
    ("2026-10-10 10:00", WindowKind.ONSITE),  # adjusted working Saturday (调休上班)
    ("2026-09-20 10:00", WindowKind.ONSITE),  # adjusted working Sunday
    ("2026-09-20 18:00", WindowKind.REMOTE),
])
def test_classify(moment: str, kind: WindowKind) -> None:
    assert WINDOWS.classify(at(moment), CAL_2026) is kind


def test_classify_converts_from_utc() -> None:
    assert WINDOWS.classify(datetime.fromisoformat("2026-11-23T01:00+00:00"), CAL_2026) is WindowKind.ONSITE


def test_configurable_onsite_days_and_hours() -> None:
    five_by_ten = ServiceWindows(TZ, parse_weekdays(["mon", "tue", "wed", "thu", "fri"]), time(8), time(18))
    assert five_by_ten.classify(at("2026-11-28 10:00"), CAL_2026) is WindowKind.REMOTE
    assert five_by_ten.classify(at("2026-11-23 17:30"), CAL_2026) is WindowKind.ONSITE
    # an adjusted working Saturday is on-site whatever the weekdays say
    assert five_by_ten.classify(at("2026-10-10 08:00"), CAL_2026) is WindowKind.ONSITE


def test_required_spans_onsite_skip_holidays_and_include_adjusted_days() -> None:
    spans = WINDOWS.required_spans(Requirement.ONSITE, at("2026-09-19 00:00"), at("2026-09-28 00:00"), CAL_2026)
    days = [s.date() for s, _ in spans]
    # 09-19 Sat, 09-20 Sun (调休), 21-24 Mon-Thu; 25-27 Mid-autumn holiday
    assert days == [date(2026, 9, d) for d in (19, 20, 21, 22, 23, 24)]
    assert spans[0] == (at("2026-09-19 09:00"), at("2026-09-19 17:00"))


def test_required_spans_always_and_daytime() -> None:
    lo, hi = at("2026-10-01 00:00"), at("2026-10-03 00:00")
    assert WINDOWS.required_spans(Requirement.ALWAYS, lo, hi, CAL_2026) == [(lo, hi)]
    daytime = WINDOWS.required_spans(Requirement.DAYTIME, lo, hi, CAL_2026)
    assert [s.date() for s, _ in daytime] == [date(2026, 10, 1), date(2026, 10, 2)]
    assert WINDOWS.required_spans(Requirement.NONE, lo, hi, CAL_2026) == []


def test_missing_next_year_warns_from_first_november() -> None:
    assert missing_year_warnings(date(2026, 10, 31), CAL_2026) == []
    warnings = missing_year_warnings(date(2026, 11, 1), CAL_2026)
    assert len(warnings) == 1 and "2027" in warnings[0] and warnings[0].startswith("2027 年")
    both = WorkingCalendar.of([], [2026, 2027])
    assert missing_year_warnings(date(2026, 12, 31), both) == []


def test_missing_current_year_always_warns() -> None:
    assert "2026" in missing_year_warnings(date(2026, 3, 1), WorkingCalendar())[0]


def test_chinesecalendar_refuses_unknown_year() -> None:
    with pytest.raises(ScheduleUnknown, match="2099"):
        official_schedule(2099)


def test_official_2026_schedule_has_adjusted_working_days() -> None:
    workdays = {d.day for d in official_schedule(2026) if d.kind is DayKind.WORKDAY}
    assert workdays == {date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9),
                        date(2026, 9, 20), date(2026, 10, 10)}


def test_admin_entry_overrides_weekday() -> None:
    cal = WorkingCalendar.of([CalendarDay(date(2027, 2, 6), DayKind.WORKDAY, "春节调休")], [2027])
    assert WINDOWS.classify(at("2027-02-07 10:00"), cal) is WindowKind.REMOTE  # Sunday
    assert WINDOWS.classify(at("2027-02-06 10:00"), cal) is WindowKind.ONSITE


@pytest.mark.parametrize("bad", ["25:00", "8", "08:5", "ab:cd", "12:60"])
def test_parse_clock_time_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_clock_time(bad)


def test_parse_clock_time_midnight() -> None:
    assert parse_clock_time("24:00") == time(0) and parse_clock_time("8:30") == time(8, 30)
