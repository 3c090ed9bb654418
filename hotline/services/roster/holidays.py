"""The official schedule of mainland China's statutory holidays and adjusted working days (调休), read
from `chinesecalendar` to seed our own calendar table. Queries never read the library: only the table.

`chinesecalendar` is used rather than `holidays`: both list the adjusted working days (weekend days that
become working days) of published years, but chinesecalendar refuses a year whose schedule is not
published yet, where `holidays` estimates it without any adjusted working day, and it names the weekend
days inside a holiday block, which the holiday roster covers too. See docs/roster.md.
"""

from __future__ import annotations

from datetime import date

from hotline.domain.windows import CalendarDay, DayKind, days_between

SOURCE = "chinesecalendar"

CHINESE_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


class ScheduleUnknown(LookupError):
    """The library has no official schedule for the year (not published, or the library is old)."""


def _name(english: str | None) -> str:
    english = english or ""
    zh = CHINESE_NAMES.get(english, "")
    return f"{zh} {english}".strip()


def official_schedule(year: int) -> list[CalendarDay]:
    """Every statutory holiday (weekend days inside a holiday block included) and every adjusted
    working day of `year`; raises ScheduleUnknown when the library does not know the year."""
    import chinese_calendar

    days: list[CalendarDay] = []
    for d in days_between(date(year, 1, 1), date(year, 12, 31)):
        try:
            is_holiday, name = chinese_calendar.get_holiday_detail(d)
        except NotImplementedError as e:
            raise ScheduleUnknown(
                f"chinesecalendar 没有 {year} 年的安排（尚未公布或库版本过旧）/ chinesecalendar has no "
                f"schedule for {year} (not published yet, or the library is too old): {e}") from None
        if is_holiday and name:
            days.append(CalendarDay(d, DayKind.HOLIDAY, _name(name)))
        elif not is_holiday and d.weekday() >= 5:
            days.append(CalendarDay(d, DayKind.WORKDAY, (_name(name) + " 调休上班").strip()))
    return days
