"""What an import does to stored dated shifts: only the covered tier and span are replaced. Pure."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from hotline.domain.roster import Shift, Tier
from hotline.domain.roster_plan import Cover, StoredShift, plan_import, plan_lines

TZ = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


STORED = [
    StoredShift(1, Shift(Tier.FIRST_LINE, "李娜", at("2027-01-06 08:00"), at("2027-01-06 20:00"), "白班", "dated")),
    StoredShift(2, Shift(Tier.FIRST_LINE, "王芳", at("2027-01-06 20:00"), at("2027-01-07 08:00"), "夜班", "dated")),
    StoredShift(3, Shift(Tier.SECOND_LINE, "陈静", at("2027-01-06 09:00"), at("2027-01-06 17:00"), "现场", "dated")),
    StoredShift(4, Shift(Tier.MANAGER, "周强", at("2027-01-06 09:00"), at("2027-01-06 17:00"), "经理", "dated")),
]


def test_a_correction_splits_one_shift_and_touches_nothing_else() -> None:
    new = Shift(Tier.SECOND_LINE, "冯婷", at("2027-01-06 12:00"), at("2027-01-06 13:00"), "午间", "dated")
    plan = plan_import(STORED, [Cover(Tier.SECOND_LINE, new.start, new.end)], [new])
    assert plan.add == (new,) and plan.remove == () and plan.unchanged == 0
    [change] = plan.change
    assert change.stored.id == 3
    assert [(s.start, s.end) for s in change.left] == [(at("2027-01-06 09:00"), at("2027-01-06 12:00")),
                                                       (at("2027-01-06 13:00"), at("2027-01-06 17:00"))]
    assert plan_lines(plan, TZ) == ["+ 新增 / add: 2027-01-06 12:00–13:00 二线 冯婷 午间",
                                    "~ 缩短 / change: 2027-01-06 09:00–17:00 二线 陈静 现场 → 09:00–12:00、13:00–17:00"]


def test_identical_shifts_stay_and_covered_ones_go() -> None:
    same = STORED[1].shift
    covers = [Cover(Tier.FIRST_LINE, at("2027-01-06 08:00"), at("2027-01-06 20:00")),
              Cover(Tier.FIRST_LINE, at("2027-01-06 20:00"), at("2027-01-07 08:00")),
              Cover(Tier.MANAGER, at("2027-01-06 09:00"), at("2027-01-06 17:00"))]  # a cell saying 无
    plan = plan_import(STORED, covers, [same])
    assert plan.unchanged == 1 and plan.add == () and plan.change == ()
    assert [r.id for r in plan.remove] == [1, 4]


def test_long_lists_are_cut_with_a_count() -> None:
    new = [Shift(Tier.FIRST_LINE, "张伟", at("2027-02-01 08:00").replace(day=d), at("2027-02-01 20:00").replace(day=d))
           for d in range(1, 29)]
    plan = plan_import([], [Cover(s.tier, s.start, s.end) for s in new], new)
    lines = plan_lines(plan, TZ, limit=10)
    assert len(lines) == 11 and lines[-1] == "… 另有 18 项 / and 18 more"
