"""Who is on duty at T, shifts across midnight, overrides, holiday rosters and gaps, on a manual clock."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hotline.clock import ManualClock
from hotline.domain.roster import (
    DEFAULT_REQUIREMENTS,
    Gap,
    Override,
    Period,
    Person,
    Roster,
    Rotation,
    Shift,
    ShiftTemplate,
    Tier,
    find_gaps,
    on_duty,
    shifts_between,
)
from hotline.domain.windows import ServiceWindows, WindowKind, WorkingCalendar, local_span
from hotline.services.roster.holidays import official_schedule

TZ = ZoneInfo("Asia/Shanghai")
WINDOWS = ServiceWindows(TZ)
CAL = WorkingCalendar.of(official_schedule(2026), [2026])
MONDAY = date(2026, 11, 23)

PEOPLE = {n: Person(n, mobile=f"1380013800{i}") for i, n in enumerate(["A", "B", "C", "D", "E", "F", "M"])}
PEOPLE["E"] = Person("E", specialties=frozenset({"network"}))
PEOPLE["F"] = Person("F", specialties=frozenset({"servers"}))

DAY = ShiftTemplate("白班", time(8), time(20))
NIGHT = ShiftTemplate("夜班", time(20), time(8))
ONSITE = ShiftTemplate("现场", time(9), time(17), onsite_days_only=True)
ROTATIONS = (
    Rotation("day", Tier.FIRST_LINE, Period.WEEK, MONDAY, ("A", "B"), (DAY,)),
    Rotation("night", Tier.FIRST_LINE, Period.WEEK, MONDAY, ("C", "D"), (NIGHT,)),
    Rotation("second", Tier.SECOND_LINE, Period.DAY, MONDAY, ("E", "F"), (ONSITE,)),
    Rotation("manager", Tier.MANAGER, Period.WEEK, MONDAY, ("M",), (ONSITE,)),
)
ROSTER = Roster(PEOPLE, ROTATIONS)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def names(roster: Roster, moment: datetime, tier: Tier = Tier.FIRST_LINE, specialty: str | None = None) -> list[str]:
    return [p.name for p in on_duty(roster, moment, WINDOWS, CAL, specialty).tier(tier)]


def holiday_roster(first: date, last: date, day_crew: list[str], night_crew: list[str]) -> tuple[Shift, ...]:
    out: list[Shift] = []
    d, i = first, 0
    while d <= last:
        for tmpl, crew in ((DAY, day_crew), (NIGHT, night_crew)):
            s, e = local_span(d, tmpl.start, tmpl.end, TZ)
            out.append(Shift(Tier.FIRST_LINE, crew[i % len(crew)], s, e, "节假日" + tmpl.label, "dated"))
        d, i = d + timedelta(days=1), i + 1
    return tuple(out)


def test_shift_boundary_minute_belongs_to_the_next_shift() -> None:
    clock = ManualClock(at("2026-11-23 19:59"), TZ)
    assert names(ROSTER, clock.now()) == ["A"]
    clock.advance(timedelta(minutes=1))  # 20:00: A's shift ends, C's begins
    assert names(ROSTER, clock.now()) == ["C"]
    clock.set(at("2026-11-24 07:59"))
    assert names(ROSTER, clock.now()) == ["C"]
    clock.advance(timedelta(minutes=1))
    assert names(ROSTER, clock.now()) == ["A"]


def test_shift_across_midnight_and_week_boundary() -> None:
    # Sunday 2026-11-29 20:00 -> Monday 08:00 belongs to week 1 (C), though Monday starts week 2 (D)
    assert names(ROSTER, at("2026-11-30 03:00")) == ["C"]
    assert names(ROSTER, at("2026-11-30 20:00")) == ["D"]
    duty = on_duty(ROSTER, at("2026-11-30 03:00"), WINDOWS, CAL)
    assert duty.until(Tier.FIRST_LINE, "C") == at("2026-11-30 08:00")


def test_daily_rotation_and_specialty_filter() -> None:
    assert names(ROSTER, at("2026-11-23 10:00"), Tier.SECOND_LINE) == ["E"]
    assert names(ROSTER, at("2026-11-24 10:00"), Tier.SECOND_LINE) == ["F"]
    assert names(ROSTER, at("2026-11-24 10:00"), Tier.SECOND_LINE, "network") == []
    assert names(ROSTER, at("2026-11-24 10:00"), Tier.SECOND_LINE, "servers") == ["F"]
    # first-line people cover every specialty
    assert names(ROSTER, at("2026-11-24 10:00"), Tier.FIRST_LINE, "network") == ["A"]
    assert names(ROSTER, at("2026-11-29 10:00"), Tier.SECOND_LINE) == []  # ordinary Sunday


def test_override_replaces_a_person_for_part_of_a_shift() -> None:
    sick = Override(Tier.FIRST_LINE, at("2026-11-25 20:00"), at("2026-11-26 02:00"), "C", "D", "C 病假")
    roster = Roster(PEOPLE, ROTATIONS, overrides=(sick,))
    assert names(roster, at("2026-11-25 19:59")) == ["A"]
    assert names(roster, at("2026-11-25 20:00")) == ["D"]
    assert names(roster, at("2026-11-26 01:59")) == ["D"]
    assert names(roster, at("2026-11-26 02:00")) == ["C"]  # back to the rotation
    assert names(roster, at("2026-11-26 20:00")) == ["C"]


def test_swap_is_two_overrides() -> None:
    a_day = (at("2026-11-24 08:00"), at("2026-11-24 20:00"))
    c_night = (at("2026-11-24 20:00"), at("2026-11-25 08:00"))
    roster = Roster(PEOPLE, ROTATIONS, overrides=(
        Override(Tier.FIRST_LINE, *a_day, "A", "C"), Override(Tier.FIRST_LINE, *c_night, "C", "A")))
    assert names(roster, at("2026-11-24 12:00")) == ["C"]
    assert names(roster, at("2026-11-24 23:00")) == ["A"]


def test_override_of_whole_tier_fills_and_leave_empties() -> None:
    fill = Override(Tier.SECOND_LINE, at("2026-11-29 09:00"), at("2026-11-29 17:00"), None, "F")
    leave = Override(Tier.FIRST_LINE, at("2026-11-23 08:00"), at("2026-11-23 12:00"), "A", None)
    roster = Roster(PEOPLE, ROTATIONS, overrides=(fill, leave))
    assert names(roster, at("2026-11-29 10:00"), Tier.SECOND_LINE) == ["F"]
    gaps = find_gaps(roster, at("2026-11-23 00:00"), at("2026-11-24 00:00"), WINDOWS, CAL, DEFAULT_REQUIREMENTS)
    assert gaps == [Gap(Tier.FIRST_LINE, at("2026-11-23 08:00"), at("2026-11-23 12:00"))]


def test_later_override_wins() -> None:
    first = Override(Tier.FIRST_LINE, at("2026-11-23 08:00"), at("2026-11-23 20:00"), "A", "B")
    second = Override(Tier.FIRST_LINE, at("2026-11-23 12:00"), at("2026-11-23 14:00"), "B", "D")
    roster = Roster(PEOPLE, ROTATIONS, overrides=(first, second))
    assert [names(roster, at(f"2026-11-23 {h}")) for h in ("09:00", "13:00", "15:00")] == [["B"], ["D"], ["B"]]


def test_national_day_2026_holiday_roster_replaces_rotation() -> None:
    dated = holiday_roster(date(2026, 10, 1), date(2026, 10, 7), ["B", "A"], ["D", "C"])
    roster = Roster(PEOPLE, ROTATIONS, dated)
    # the rotation's night shift that began on 09-30 runs until the holiday roster starts
    assert names(roster, at("2026-10-01 07:59")) == ["C"]
    assert names(roster, at("2026-10-01 08:00")) == ["B"]
    assert names(roster, at("2026-10-02 10:00")) == ["A"]
    assert names(roster, at("2026-10-07 23:00")) == ["D"]
    assert names(roster, at("2026-10-08 08:00")) == ["B"]  # back to the rotation (week of 10-05: B)
    duty = on_duty(roster, at("2026-10-01 10:00"), WINDOWS, CAL)
    assert duty.window is WindowKind.HOLIDAY
    assert duty.second_line == () and duty.manager == ()  # no rotation on a holiday
    gaps = find_gaps(roster, at("2026-09-30 00:00"), at("2026-10-09 00:00"), WINDOWS, CAL, DEFAULT_REQUIREMENTS)
    assert gaps == []  # second line and manager are only required on-site, not on holidays


def test_spring_festival_2026_without_holiday_roster_is_a_gap() -> None:
    dated = holiday_roster(date(2026, 2, 15), date(2026, 2, 22), ["A", "B"], ["C", "D"])  # 02-23 forgotten
    roster = Roster(PEOPLE, ROTATIONS, dated)
    assert names(roster, at("2026-02-16 12:00")) == ["B"]  # second day of the holiday roster
    gaps = find_gaps(roster, at("2026-02-14 00:00"), at("2026-02-25 00:00"), WINDOWS, CAL, DEFAULT_REQUIREMENTS)
    assert gaps == [Gap(Tier.FIRST_LINE, at("2026-02-23 08:00"), at("2026-02-24 08:00"), holiday=True)]
    # 02-14 is an adjusted working Saturday: second line and manager are there
    assert names(roster, at("2026-02-14 10:00"), Tier.SECOND_LINE)
    assert on_duty(roster, at("2026-02-14 10:00"), WINDOWS, CAL).window is WindowKind.ONSITE


def test_adjusted_working_sunday_gets_onsite_shifts_and_is_required() -> None:
    sunday = date(2026, 9, 20)
    shifts = shifts_between(ROSTER, at("2026-09-20 00:00"), at("2026-09-21 00:00"), WINDOWS, CAL)
    assert {s.tier for s in shifts if s.start.date() == sunday} == {Tier.FIRST_LINE, Tier.SECOND_LINE, Tier.MANAGER}
    no_manager = Roster(PEOPLE, ROTATIONS[:3])
    gaps = find_gaps(no_manager, at("2026-09-20 00:00"), at("2026-09-21 00:00"), WINDOWS, CAL, DEFAULT_REQUIREMENTS)
    assert gaps == [Gap(Tier.MANAGER, at("2026-09-20 09:00"), at("2026-09-20 17:00"))]


def test_template_marked_for_holidays_keeps_running() -> None:
    vendor = Rotation("vendor", Tier.VENDOR, Period.WEEK, MONDAY, ("F",),
                      (ShiftTemplate("厂商", time(0), time(0), on_holidays=True),))
    roster = Roster(PEOPLE, (*ROTATIONS, vendor))
    assert names(roster, at("2026-10-01 10:00"), Tier.VENDOR) == ["F"]
    assert names(roster, at("2026-10-01 10:00"), Tier.FIRST_LINE) == []


def test_dated_shift_replaces_rotation_only_where_it_overlaps() -> None:
    extra = Shift(Tier.FIRST_LINE, "B", at("2026-11-23 12:00"), at("2026-11-23 16:00"), "", "dated")
    roster = Roster(PEOPLE, ROTATIONS, (extra,))
    assert [names(roster, at(f"2026-11-23 {h}")) for h in ("11:00", "13:00", "17:00")] == [["A"], ["B"], ["A"]]


def test_full_coverage_has_no_gaps_and_a_hole_is_found() -> None:
    lo, hi = at("2026-11-23 00:00"), at("2026-12-07 00:00")
    assert find_gaps(ROSTER, lo, hi, WINDOWS, CAL, DEFAULT_REQUIREMENTS) == []
    no_night = Roster(PEOPLE, (ROTATIONS[0], *ROTATIONS[2:]))
    gaps = find_gaps(no_night, lo, at("2026-11-24 00:00"), WINDOWS, CAL, DEFAULT_REQUIREMENTS)
    assert gaps == [Gap(Tier.FIRST_LINE, lo, at("2026-11-23 08:00")),
                    Gap(Tier.FIRST_LINE, at("2026-11-23 20:00"), at("2026-11-24 00:00"))]


def test_uncovered_parts_in_one_pass_agree_with_subtracting_each_span() -> None:
    import random
    from datetime import UTC

    from hotline.domain.roster import _uncovered
    from hotline.domain.roster import merge_spans as _merge
    from hotline.domain.roster import subtract_spans as _subtract

    rnd = random.Random(11)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(200):
        spans = _merge((t0 + timedelta(hours=a), t0 + timedelta(hours=a + rnd.randint(1, 9)))
                       for a in rnd.sample(range(0, 400, 10), 12))
        covered = _merge((t0 + timedelta(hours=a), t0 + timedelta(hours=a + rnd.randint(1, 30)))
                         for a in rnd.sample(range(0, 400), 25))
        slow = [piece for span in spans for piece in _subtract(span, covered)]
        assert _uncovered(spans, covered) == slow
