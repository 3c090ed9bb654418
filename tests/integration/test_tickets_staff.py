"""Who tickets go to: the roster read behind the on-duty first line is reused for a minute of clock time while
it covers the batch's calls, then read again (a change in the roster editor reaches new tickets within it)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.domain.roster import Override, Roster, Shift, Tier
from hotline.domain.windows import WorkingCalendar
from hotline.runtime.assembly import open_database
from hotline.services.roster.service import RosterService
from hotline.services.tickets.staff import RosterStaff
from tests.conftest import ROOT

T0 = datetime.fromisoformat("2026-12-03T10:00:00+08:00")  # Thursday: 一线 白班 is 刘洋's week


def test_the_roster_read_is_reused_for_a_minute_while_it_covers_the_batch(
        settings: Settings, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    db = open_database(db_url)
    clock = ManualClock(T0, settings.tz)
    roster = RosterService(db.factory, settings, clock)
    roster.load_example(ROOT / "config" / "roster.yaml")
    reads: list[str] = []  # "all": the whole roster and calendar; "dated": only the dated shifts and overrides
    snapshot, dated = roster.snapshot, roster.dated

    def counted(start: datetime, end: datetime) -> tuple[Roster, WorkingCalendar]:
        reads.append("all")
        return snapshot(start, end)

    def counted_dated(start: datetime, end: datetime) -> tuple[tuple[Shift, ...], tuple[Override, ...]]:
        reads.append("dated")
        return dated(start, end)

    monkeypatch.setattr(roster, "snapshot", counted)
    monkeypatch.setattr(roster, "dated", counted_dated)
    staff = RosterStaff(roster)
    minute, hour = timedelta(minutes=1), timedelta(hours=1)

    def first_line(at: datetime) -> str:
        return staff.duty_between(at, at + minute)(at, str(Tier.FIRST_LINE), None)[0].name

    assert first_line(T0) == "刘洋" and reads == ["all"]
    roster.add_override(Tier.FIRST_LINE, T0 + 10 * minute, T0 + 50 * minute, "刘洋", "张伟", "请假 / leave", "admin")
    assert first_line(T0 + 20 * minute) == "刘洋" and reads == ["all"]  # the same minute: the read is reused
    assert first_line(T0 + 3 * hour) == "刘洋" and reads == ["all"]  # a day ahead is read with it
    # an override for a span not read yet, made within the minute, is seen when that span is read
    roster.add_override(Tier.FIRST_LINE, T0 + 30 * hour, T0 + 32 * hour, "刘洋", "王芳", "调班 / swap", "admin")
    assert first_line(T0 + 31 * hour) == "王芳" and reads == ["all", "dated"]  # past the day ahead: its shifts read
    assert first_line(T0 - 4 * hour) == "李娜" and reads == ["all", "dated", "dated"]  # before what was read
    clock.advance(timedelta(seconds=61))
    assert first_line(T0 + 20 * minute) == "张伟" and reads[-1] == "all"  # a minute later everything is read
    assert first_line(T0 + 21 * minute) == "张伟" and len(reads) == 4
    db.engine.dispose()


def test_a_batch_spanning_days_finds_who_was_on_duty_as_the_roster_says(settings: Settings, db_url: str) -> None:
    """`duty_between` over the 国庆 week and the 调休 Sunday after it (a replay's batch can span days) gives, for
    every quarter hour and shift edge, each tier and specialty, the people the roster's own `on_duty` gives."""
    db = open_database(db_url)
    clock = ManualClock(T0, settings.tz)
    roster = RosterService(db.factory, settings, clock)
    roster.load_example(ROOT / "config" / "roster.yaml")
    staff = RosterStaff(roster)
    start = datetime.fromisoformat("2026-09-30T06:00:00+08:00")
    end = start + timedelta(days=12)
    duty = staff.duty_between(start, end)
    times = [start + timedelta(minutes=97 * i) for i in range(12 * 24 * 60 // 97)]  # not on round times
    edges = {t for s in roster.view(start, end).between(start, end) for t in (s.start, s.end)}
    times += [t + d for t in edges for d in (timedelta(seconds=-1), timedelta(0))]  # either side of each edge
    checked = set()
    for at in times:
        if not start <= at <= end:
            continue
        for tier in (Tier.FIRST_LINE, Tier.SECOND_LINE):
            for specialty in (None, "network"):
                expected = [r.name for r in staff.on_duty(at, str(tier), specialty)]
                assert [r.name for r in duty(at, str(tier), specialty)] == expected, (at, tier, specialty)
                checked.add(tuple(expected))
    assert len(checked) > 5  # holiday and working-day shifts, day and night, several people
    db.engine.dispose()


def test_staff_are_found_by_a_phone_written_any_way(settings: Settings, db_url: str) -> None:
    """A Twilio callback names the staff phone as E.164; the roster holds the national form: one person."""
    db = open_database(db_url)
    roster = RosterService(db.factory, settings, ManualClock(T0, settings.tz))
    roster.load_example(ROOT / "config" / "roster.yaml")
    staff = RosterStaff(roster)
    for who in ("张伟", "8001", "PJSIP/8001-00000012", "13800138001", "+8613800138001", "+86 138 0013 8001",
                "PJSIP/+8613800138001-0000002a"):
        assert staff.identify(who) == "张伟", who
    for nobody in ("+8613900139000", "9001", "张三", ""):  # a caller, an unknown extension, a name off the roster
        assert staff.identify(nobody) is None, nobody
    db.engine.dispose()
