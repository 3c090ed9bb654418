"""What the roster tells people: the shift-start reminder (with handover notes), the daily 今日值班 post
for the desk's group robot, and the daily warning to the manager (coverage gaps, missing holiday year).

Functions build `Page`s and texts; the scheduler hands them to the paging outbox, which dedupes by key.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hotline.domain.roster import TIER_NAMES, Gap, Person, Shift, Tier
from hotline.paging.base import Page
from hotline.services.roster.duty import recipient
from hotline.services.roster.service import RosterService

WEEKDAY_ZH = "一二三四五六日"


def _hm(service: RosterService, at: datetime) -> str:
    return f"{at.astimezone(service.tz):%m-%d %H:%M}"


def gap_line(service: RosterService, g: Gap) -> str:
    zh, en = TIER_NAMES[g.tier]
    holiday = "（节假日 / holiday）" if g.holiday else ""
    return f"{_hm(service, g.start)} – {_hm(service, g.end)} {zh}无人值班 / no {en}{holiday}"


def shift_reminders(service: RosterService, since: datetime, until: datetime) -> list[Page]:
    """Reminders for shifts starting in (since + lead, until + lead]: run each minute with the last run
    time as `since`; the same shift always gets the same page key."""
    lead = timedelta(minutes=service.config.reminder_lead_minutes)
    lo, hi = since + lead, until + lead
    first, last = lo.astimezone(service.tz).date(), hi.astimezone(service.tz).date()
    people = service.people()
    pages: list[Page] = []
    for s in service.shifts(first, last):
        if not (lo < s.start <= hi) or s.person not in people:
            continue
        zh, en = TIER_NAMES[s.tier]
        notes = service.handover_notes(s.tier, s.start - timedelta(hours=24), until)
        handover = "".join(f"\n交接 / handover ({a}, {_hm(service, at)}): {t}" for a, at, t in notes)
        pages.append(Page(
            key=f"roster-reminder:{s.tier.value}:{s.person}:{s.start.isoformat()}",
            recipient=recipient(people[s.person]),
            subject="值班提醒 / Shift reminder",
            text=(f"{s.person}，您的{zh}值班{s.label}将于 {_hm(service, s.start)} 开始，至 {_hm(service, s.end)}。"
                  f" / Your {en} shift starts at {_hm(service, s.start)} and ends at {_hm(service, s.end)}."
                  + handover),
            at=until))
    return pages


def today_post(service: RosterService, day: date) -> str:
    """今日值班: who is on duty today per tier, with hours and mobile, and any calendar warning."""
    cal = service.calendar()
    entry = cal.entry(day)
    kind = f" {entry.name}" if entry else ""
    lines = [f"今日值班 {day:%Y-%m-%d}（周{WEEKDAY_ZH[day.weekday()]}）{kind} / On duty today"]
    people = service.people()
    shifts = service.shifts(day, day)
    for tier in Tier:
        mine = [s for s in shifts if s.tier is tier]
        if not mine:
            continue
        zh, en = TIER_NAMES[tier]
        lines.append(f"{zh} {en}: " + "；".join(_who(s, people, service) for s in mine))
    gaps = service.gaps(day, day)
    lines += [f"⚠ {gap_line(service, g)}" for g in gaps]
    lines += [f"⚠ {w}" for w in service.calendar_warnings(day)]
    return "\n".join(lines)


def _who(s: Shift, people: dict[str, Person], service: RosterService) -> str:
    mobile = people[s.person].mobile if s.person in people else ""
    hours = f"{s.start.astimezone(service.tz):%H:%M}–{s.end.astimezone(service.tz):%H:%M}"
    return f"{s.person} {hours}" + (f" {mobile}" if mobile else "")


def manager_warnings(service: RosterService, today: date) -> list[Page]:
    """The daily page to the managers: gaps in the next `gap_warning_days` days and missing holiday years.
    Managers are those on the manager tier in that span (else every member of a manager rotation)."""
    last = today + timedelta(days=service.config.gap_warning_days - 1)
    gaps = service.gaps(today, last)
    warnings = service.calendar_warnings(today)
    if not gaps and not warnings:
        return []
    lines = [f"值班表提醒 {today:%Y-%m-%d} / Roster warnings"]
    lines += [gap_line(service, g) for g in gaps] + warnings
    people = service.people()
    managers = {s.person for s in service.shifts(today, last) if s.tier is Tier.MANAGER}
    if not managers:
        roster, _ = service.snapshot(*service.day_span(today, today))
        managers = {m for r in roster.rotations if r.tier is Tier.MANAGER for m in r.members}
    return [Page(key=f"roster-warning:{today.isoformat()}:{name}", recipient=recipient(people[name]),
                 subject="值班表空档 / Roster gaps" if gaps else "节假日安排缺失 / Holiday schedule missing",
                 text="\n".join(lines), at=service.clock.now())
            for name in sorted(managers) if name in people]
