"""What the roster tells people: the shift-start reminder (with handover notes), the daily 今日值班 post
for the desk's group robot, and the daily warning to the manager (coverage gaps, missing holiday year).

Functions build `Page`s and texts; the scheduler hands them to the paging outbox, which dedupes by key.
Each reads the roster once (a `RosterView`), or not at all when given the view of a whole run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta

from hotline.domain.roster import TIER_NAMES, Gap, Person, Shift, Tier
from hotline.paging.base import Page
from hotline.services.roster.duty import recipient
from hotline.services.roster.service import RosterService
from hotline.services.roster.view import DAY, RosterView

OpenTickets = Callable[[Tier, str], Sequence[str]]  # (tier, person) -> the open tickets they hand over

WEEKDAY_ZH = "一二三四五六日"
log = logging.getLogger(__name__)


def _hm(service: RosterService, at: datetime) -> str:
    return f"{at.astimezone(service.tz):%m-%d %H:%M}"


def gap_line(service: RosterService, g: Gap) -> str:
    """`2026-06-21 08:00 – 06-22 08:00 一线无人值班 / no First line（节假日 / holiday）`; a gap in a year whose
    holiday schedule is not confirmed says so (it may be a holiday, or not a gap at all)."""
    zh, en = TIER_NAMES[g.tier]
    start, end = g.start.astimezone(service.tz), g.end.astimezone(service.tz)
    until = f"{end:%m-%d %H:%M}" if end.year == start.year else f"{end:%Y-%m-%d %H:%M}"
    holiday = "（节假日 / holiday）" if g.holiday else ""
    unsure = ("（该年节假日未确认，可能有误 / holiday schedule of the year not confirmed: may be wrong）"
              if g.unconfirmed else "")
    return f"{start:%Y-%m-%d %H:%M} – {until} {zh}无人值班 / no {en}{holiday}{unsure}"


def fill_line(service: RosterService, s: Shift) -> str:
    """A rotation shift filling a hole of an imported table, for `gaps`."""
    zh, en = TIER_NAMES[s.tier]
    start, end = s.start.astimezone(service.tz), s.end.astimezone(service.tz)
    return (f"ℹ {start:%Y-%m-%d %H:%M} – {end:%m-%d %H:%M} {zh} {s.person} 由轮班补上（导入的值班表此处无人） / "
            f"{en} filled by the rotation: the imported table has nobody here")


def _view(service: RosterService, view: RosterView | None, first: date, last: date,
          margin: timedelta = timedelta(days=2)) -> RosterView:
    """The view of a whole run when given, else the roster read once for the days this notice asks about."""
    return view if view is not None else service.day_view(first, last, margin)


def shift_reminders(service: RosterService, since: datetime, until: datetime,
                    view: RosterView | None = None) -> list[Page]:
    """Reminders for shifts starting in (since + lead, until + lead]: run each minute with the last run
    time as `since`; the same shift always gets the same page key."""
    lead = timedelta(minutes=service.config.reminder_lead_minutes)
    lo, hi = since + lead, until + lead
    first, last = lo.astimezone(service.tz).date(), hi.astimezone(service.tz).date()
    roster = _view(service, view, first, last)
    people = roster.people
    ack = ("\n接班请确认 / acknowledge: hotline roster ack（或 POST /api/roster/handover/ack）"
           if service.config.handover_ack_minutes else "")
    starting = [s for s in roster.shifts(first, last) if lo < s.start <= hi and s.person in people]
    written = (service.notes_of_tiers(min(s.start for s in starting) - timedelta(hours=24), until)
               if starting else [])
    pages: list[Page] = []
    for s in starting:
        zh, en = TIER_NAMES[s.tier]
        notes = [(a, at, t) for tier, a, at, t in written if tier is s.tier and at >= s.start - timedelta(hours=24)]
        handover = "".join(f"\n交接 / handover ({a}, {_hm(service, at)}): {t}" for a, at, t in notes)
        pages.append(Page(
            key=f"roster-reminder:{s.tier.value}:{s.person}:{s.start.isoformat()}",
            recipient=recipient(people[s.person]),
            subject="值班提醒 / Shift reminder",
            text=(f"{s.person}，您的{zh}值班{s.label}将于 {_hm(service, s.start)} 开始，至 {_hm(service, s.end)}。"
                  f" / Your {en} shift starts at {_hm(service, s.start)} and ends at {_hm(service, s.end)}."
                  + handover + ack),
            at=until))
    return pages


HANDOVER_TIERS = (Tier.FIRST_LINE, Tier.SECOND_LINE, Tier.MANAGER)  # the vendor is an outside hotline


def hole_pages(service: RosterService, since: datetime, until: datetime,
               view: RosterView | None = None) -> list[Page]:
    """A page for every hole of a required tier that starts in (since, until] — a shift starts with nobody on
    it: to the managers on duty then (else `[roster] manager_fallback`) and to whoever just went off duty in
    that tier (asked to stay until someone comes). Key `roster-hole:<tier>:<start>:<person>`."""
    roster = _view(service, view, since.astimezone(service.tz).date() - timedelta(days=3),
                   until.astimezone(service.tz).date())
    people = roster.people
    pages: list[Page] = []
    for g in roster.gaps_between(since - DAY, until + DAY):
        if not since < g.start <= until:
            continue
        zh, en = TIER_NAMES[g.tier]
        managers = [p.name for p in roster.on_duty(g.start).manager]
        if not managers:
            managers = [n for n in service.config.manager_fallback if n in people]
            log.warning("%s 起%s无人值班，且无项目经理值班；通知 manager_fallback：%s / hole in %s from %s and "
                        "no manager on duty: paging [roster] manager_fallback",
                        _hm(service, g.start), zh, "、".join(managers), en, _hm(service, g.start))
        day = g.start.astimezone(service.tz).date()
        outgoing = [s.person for s in roster.shifts(day - timedelta(days=2), day)
                    if s.tier is g.tier and s.end == g.start]
        text = (f"{_hm(service, g.start)} 起{zh}无人值班（至 {_hm(service, g.end)}），请立即安排人员 / nobody is on "
                f"the {en} from {_hm(service, g.start)} to {_hm(service, g.end)}: find someone now"
                + (f"\n下班人员 / going off duty: {'、'.join(outgoing)}" if outgoing else ""))
        for name in dict.fromkeys([*managers, *outgoing]):
            if name not in people:
                continue
            stay = "请留守至有人接班 / please stay until someone takes over\n" if name in outgoing else ""
            pages.append(Page(key=f"roster-hole:{g.tier.value}:{g.start.isoformat()}:{name}",
                              recipient=recipient(people[name]), subject="值班空档 / Nobody on duty",
                              text=stay + text, at=until))
    return pages


def shift_end_reminders(service: RosterService, since: datetime, until: datetime,
                        open_items: Sequence[str], open_tickets: OpenTickets | None = None,
                        view: RosterView | None = None) -> list[Page]:
    """A reminder `reminder_lead_minutes` before a shift ends (in (since + lead, until + lead]) to hand over
    the open alerts (`open_items`, the whole desk's) and the open tickets of the person and tier
    (`open_tickets(tier, person)`) and write a handover note; none when the same person goes on in the same
    tier. Key `roster-handover:<tier>:<person>:<end>`."""
    lead = timedelta(minutes=service.config.reminder_lead_minutes)
    lo, hi = since + lead, until + lead
    first, last = lo.astimezone(service.tz).date() - timedelta(days=2), hi.astimezone(service.tz).date()
    roster = _view(service, view, first, last)
    people = roster.people
    shifts = roster.shifts(first, last)
    pages: list[Page] = []
    for s in shifts:
        if not (lo < s.end <= hi) or s.tier not in HANDOVER_TIERS or s.person not in people:
            continue
        if any(n.tier is s.tier and n.person == s.person and n.start == s.end for n in shifts):
            continue  # goes on: no handover
        zh, en = TIER_NAMES[s.tier]
        nxt = [n.person for n in shifts if n.tier is s.tier and n.start == s.end]
        tickets = _tickets(open_tickets, s.tier, s.person)
        handed = [*tickets, *open_items]  # their own tickets first: the desk may have many alerts
        items = "".join(f"\n- {item}" for item in handed[:20])
        extra = len(handed) - 20
        more = f"\n… 另有 {extra} 项 / and {extra} more" if extra > 0 else ""
        pages.append(Page(
            key=f"roster-handover:{s.tier.value}:{s.person}:{s.end.isoformat()}",
            recipient=recipient(people[s.person]), subject="交接班提醒 / Handover reminder",
            text=(f"{s.person}，您的{zh}值班将于 {_hm(service, s.end)} 结束；"
                  f"接班：{'、'.join(nxt) or '无人 / nobody'}。"
                  f"请交接未结告警 {len(open_items)} 项、未结工单 {len(tickets)} 项，并写交接记录（hotline roster "
                  f"note） / your {en} shift ends at {_hm(service, s.end)}: hand over {len(open_items)} open "
                  f"alert(s) and {len(tickets)} open ticket(s) and write a handover note" + items + more),
            at=until))
    return pages


def _tickets(open_tickets: OpenTickets | None, tier: Tier, person: str) -> Sequence[str]:
    """The open tickets `person` hands over; none (logged) when they cannot be read: the reminder still goes."""
    if open_tickets is None:
        return ()
    try:
        return open_tickets(tier, person)
    except Exception:
        log.exception("未能读取 %s 的未结工单 / could not list the open tickets of %s for the handover reminder",
                      person, person)
        return ()


def unacknowledged_pages(service: RosterService, since: datetime, until: datetime,
                         view: RosterView | None = None) -> list[Page]:
    """When `[roster] handover_ack_minutes` passed after a shift started (in (since, until]) and the incoming
    person has not acknowledged it, page the managers on duty (else `manager_fallback`). Key
    `roster-noack:<tier>:<person>:<start>`."""
    wait = timedelta(minutes=service.config.handover_ack_minutes)
    if not wait:
        return []
    lo, hi = since - wait, until - wait
    day, first = hi.astimezone(service.tz).date(), lo.astimezone(service.tz).date() - timedelta(days=1)
    roster = _view(service, view, first, day)
    people = roster.people
    shifts = roster.shifts(first, day)
    started = [s for s in shifts if lo < s.start <= hi and s.tier in HANDOVER_TIERS]
    if not started:
        return []
    acked = service.acked(lo, hi + timedelta(seconds=1))
    pages: list[Page] = []
    for s in started:
        if (s.tier.value, s.person, s.start) in acked:
            continue
        if any(p.tier is s.tier and p.person == s.person and p.end == s.start for p in shifts):
            continue  # the same person goes on: nothing to take over
        zh, en = TIER_NAMES[s.tier]
        managers = [p.name for p in roster.on_duty(s.start).manager if p.name != s.person]
        managers = managers or [n for n in service.config.manager_fallback if n in people and n != s.person]
        if not managers:
            log.error("%s 未确认接班，且无项目经理可通知 / %s has not acknowledged the %s shift and no manager can be "
                      "paged: set [roster] manager_fallback", s.person, s.person, en)
        mobile = people[s.person].mobile if s.person in people else ""
        for name in managers:
            pages.append(Page(
                key=f"roster-noack:{s.tier.value}:{s.person}:{s.start.isoformat()}:{name}",
                recipient=recipient(people[name]), subject="未确认接班 / Handover not acknowledged",
                text=(f"{s.person}（{mobile or '-'}）的{zh}值班 {_hm(service, s.start)} 开始，"
                      f"{service.config.handover_ack_minutes} 分钟内未确认接班 / {s.person} has not "
                      f"acknowledged the {en} shift that started at {_hm(service, s.start)}"),
                at=until))
    return pages


def today_post(service: RosterService, day: date, view: RosterView | None = None) -> str:
    """今日值班: who is on duty today per tier, with hours and mobile, and any calendar warning."""
    roster = _view(service, view, day, day)
    entry = roster.calendar.entry(day)
    kind = f" {entry.name}" if entry else ""
    lines = [f"今日值班 {day:%Y-%m-%d}（周{WEEKDAY_ZH[day.weekday()]}）{kind} / On duty today"]
    people = roster.people
    shifts = roster.shifts(day, day)
    for tier in Tier:
        mine = [s for s in shifts if s.tier is tier]
        if not mine:
            continue
        zh, en = TIER_NAMES[tier]
        lines.append(f"{zh} {en}: " + "；".join(_who(s, people, service) for s in mine))
    # holes that touch today, whole: a night hole runs on past midnight
    gaps = roster.gaps_touching(*roster.day_span(day, day), margin=DAY)
    lines += [f"⚠ {gap_line(service, g)}" for g in gaps]
    today = roster.calendar_warnings(day)
    lines += [f"⚠ {w}" for w in today + [w for w in roster.date_warnings(day, day) if w not in today]]
    return "\n".join(lines)


def _managers(service: RosterService, roster: RosterView, today: date, last: date,
              people: dict[str, Person]) -> set[str]:
    on_roster = {s.person for s in roster.shifts(today, last) if s.tier is Tier.MANAGER}
    if on_roster:
        return on_roster
    fallback = {n for n in service.config.manager_fallback if n in people}
    unknown = [n for n in service.config.manager_fallback if n not in people]
    if unknown:
        log.error("[roster] manager_fallback 中的人员不在人员表中 / [roster] manager_fallback names people not on "
                  "the staff list: %s", "、".join(unknown))
    if fallback:
        log.warning("%s 起 7 天内值班表上没有项目经理，值班表提醒发给 [roster] manager_fallback：%s / no manager on "
                    "the roster from %s: the roster warning goes to [roster] manager_fallback: %s",
                    today, "、".join(sorted(fallback)), today, "、".join(sorted(fallback)))
        return fallback
    members = {m for r in roster.roster.rotations if r.tier is Tier.MANAGER for m in r.members if m in people}
    if members:
        log.warning("%s 起没有项目经理值班，也未配置 [roster] manager_fallback；发给项目经理轮班成员 %s / "
                    "no manager on duty from %s and no [roster] manager_fallback: paging the manager rotation",
                    today, "、".join(sorted(members)), today)
    else:
        log.error("%s 的值班表提醒无人可发：值班表上没有项目经理，请配置 [roster] manager_fallback / "
                  "the roster warning of %s reaches nobody: no manager on the roster; set [roster] manager_fallback",
                  today, today)
    return members


def _who(s: Shift, people: dict[str, Person], service: RosterService) -> str:
    mobile = people[s.person].mobile if s.person in people else ""
    hours = f"{s.start.astimezone(service.tz):%H:%M}–{s.end.astimezone(service.tz):%H:%M}"
    return f"{s.person} {hours}" + (f" {mobile}" if mobile else "")


def manager_warnings(service: RosterService, today: date, view: RosterView | None = None) -> list[Page]:
    """The daily page to the managers: gaps in the next `gap_warning_days` days and missing holiday years.
    A gap that goes on past the last day (or began before today) is shown whole, up to `gap_warning_days`
    further. Managers are those on the manager tier in that span; else `[roster] manager_fallback`; else
    every member of a manager rotation. Each fallback is logged, and so is a page that reaches nobody."""
    days = timedelta(days=service.config.gap_warning_days)
    last = today + days - DAY
    roster = _view(service, view, today, last, margin=days + DAY)
    gaps = roster.gaps_touching(*roster.day_span(today, last), margin=days)
    warnings = roster.calendar_warnings(today)
    warnings += [w for w in roster.date_warnings(today, last) if w not in warnings]
    if not gaps and not warnings:
        return []
    lines = [f"值班表提醒 {today:%Y-%m-%d} / Roster warnings"]
    lines += [gap_line(service, g) for g in gaps] + warnings
    people = roster.people
    managers = _managers(service, roster, today, last, people)
    return [Page(key=f"roster-warning:{today.isoformat()}:{name}", recipient=recipient(people[name]),
                 subject="值班表空档 / Roster gaps" if gaps else "节假日安排缺失 / Holiday schedule missing",
                 text="\n".join(lines), at=service.clock.now())
            for name in sorted(managers) if name in people]
