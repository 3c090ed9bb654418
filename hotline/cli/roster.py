"""`hotline roster who|gaps|import|load|export|today|override|swap|note|history|holidays`.

Every command first prints, on stderr, the warning for a year whose holiday schedule is not entered.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

from hotline.cli import COMMON
from hotline.clock import Clock, ManualClock, SystemClock
from hotline.config import Settings
from hotline.domain.roster import TIER_NAMES, OnDuty, Tier
from hotline.domain.windows import DayKind
from hotline.roster_files.problems import RosterFileError
from hotline.services.roster.notices import WEEKDAY_ZH, gap_line, today_post
from hotline.services.roster.service import RosterError, RosterService, on_duty_dict
from hotline.store.base import make_engine, migrate, session_factory


def open_service(args: argparse.Namespace, settings: Settings) -> RosterService:
    """The roster service on the configured database (migrated), with the calendar seeded if needed."""
    clock: Clock = SystemClock(settings.tz)
    if getattr(args, "now", None):
        clock = ManualClock(_moment(args.now, settings))
    engine = make_engine(settings.database_url)
    migrate(engine, "heads")
    service = RosterService(session_factory(engine), settings, clock)
    service.ensure_calendar()
    for warning in service.calendar_warnings():
        print(f"警告 / warning: {warning}", file=sys.stderr)
    return service


def _moment(text: str, settings: Settings) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise SystemExit(f"不是时间 / not a time: {text!r} (e.g. 2026-11-23T08:00)") from None
    return at.replace(tzinfo=settings.tz) if at.tzinfo is None else at


def _login() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "admin"


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"不是日期 / not a date: {text!r} (e.g. 2026-10-01)") from None


def _today(service: RosterService) -> date:
    return service.clock.now().astimezone(service.tz).date()


def cmd_who(args: argparse.Namespace, settings: Settings) -> int:
    service = open_service(args, settings)
    at = _moment(args.at, settings) if args.at else service.clock.now()
    duty = service.on_duty(at, args.specialty)
    if args.json:
        print(json.dumps(on_duty_dict(duty), ensure_ascii=False, indent=2))
        return 0
    print(f"{at.astimezone(settings.tz):%Y-%m-%d %H:%M} {duty.window.value}")
    for tier in Tier:
        zh, en = TIER_NAMES[tier]
        people = duty.tier(tier)
        names = "；".join(
            f"{p.name} 手机 {p.mobile or '-'} 分机 {p.extension or '-'} 至 until "
            f"{_until(duty, tier, p.name, settings)}" for p in people) or "无人 / nobody"
        print(f"{zh} {en}: {names}")
    return 0


def _until(duty: OnDuty, tier: Tier, name: str, settings: Settings) -> str:
    until = duty.until(tier, name)
    return f"{until.astimezone(settings.tz):%m-%d %H:%M}" if until else "-"


def cmd_gaps(args: argparse.Namespace, settings: Settings) -> int:
    service = open_service(args, settings)
    first = args.start or _today(service)
    last = args.end or first + timedelta(days=service.config.gap_warning_days - 1)
    try:
        gaps = service.gaps(first, last)
    except ValueError as e:  # a range too long to search
        print(e, file=sys.stderr)
        return 2
    for g in gaps:
        print(gap_line(service, g))
    print(f"{first} – {last}: {len(gaps)} 处空档 / gap(s)", file=sys.stderr)
    return 1 if gaps else 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    service = open_service(args, settings)
    try:
        print(service.import_file(Path(args.file), args.actor))
    except RosterFileError as e:
        print(str(e), file=sys.stderr)
        return 1
    return 0


def cmd_load(args: argparse.Namespace, settings: Settings) -> int:
    service = open_service(args, settings)
    try:
        print(service.load_example(Path(args.file) if args.file else None, args.actor))
    except RosterFileError as e:
        print(str(e), file=sys.stderr)
        return 1
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    service = open_service(args, settings)
    first = args.start or _today(service).replace(day=1)
    last = args.end or (first + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    data = service.export(args.format, first, last, args.person, args.english)
    if args.output:
        Path(args.output).write_bytes(data)
        print(f"{args.output}: {len(data)} bytes ({first} – {last})", file=sys.stderr)
    elif args.format == "xlsx" and sys.stdout.isatty():
        print("xlsx 请用 -o 指定文件 / give -o FILE for xlsx", file=sys.stderr)
        return 2
    else:
        sys.stdout.buffer.write(data)
    return 0


def cmd_today(args: argparse.Namespace, settings: Settings) -> int:
    service = open_service(args, settings)
    print(today_post(service, args.date or _today(service)))
    return 0


def cmd_override(args: argparse.Namespace, settings: Settings) -> int:
    service = open_service(args, settings)
    try:
        service.add_override(Tier(args.tier), _moment(args.start, settings), _moment(args.end, settings),
                             args.replace, args.by, args.reason, args.actor)
    except RosterError as e:
        print(str(e), file=sys.stderr)
        return 1
    print("已记录 / recorded")
    return 0


def cmd_swap(args: argparse.Namespace, settings: Settings) -> int:
    service = open_service(args, settings)
    shifts = []
    for spec in (args.first, args.second):
        name, _, when = spec.partition("@")
        shift = service.shift_of(name, _moment(when, settings)) if when else None
        if shift is None or shift.tier is not Tier(args.tier):
            print(f"找不到 {name} 在 {when} 的{TIER_NAMES[Tier(args.tier)][0]}班次 / no {args.tier} shift of "
                  f"{name!r} at {when!r} (write NAME@2026-11-25T20:00)", file=sys.stderr)
            return 1
        shifts.append(shift)
    service.swap(Tier(args.tier), shifts[0], shifts[1], args.reason, args.actor)
    print("已换班 / swapped")
    return 0


def cmd_note(args: argparse.Namespace, settings: Settings) -> int:
    service = open_service(args, settings)
    service.add_handover_note(Tier(args.tier), args.actor, " ".join(args.text))
    print("已记录交接 / handover note recorded")
    return 0


def cmd_history(args: argparse.Namespace, settings: Settings) -> int:
    service = open_service(args, settings)
    for c in service.history(args.limit):
        print(f"{c.at.astimezone(settings.tz):%Y-%m-%d %H:%M} {c.actor} {c.action} {c.detail}")
    return 0


def cmd_holidays(args: argparse.Namespace, settings: Settings) -> int:
    service = open_service(args, settings)
    today = _today(service)
    if args.action == "seed":
        for line in service.seed_calendar(args.year or [today.year, today.year + 1], args.actor).values():
            print(line)
    elif args.action == "list":
        year = args.year[0] if args.year else today.year
        known = service.calendar().knows(year)
        print(f"{year}: {'已录入 / entered' if known else '未录入 / NOT entered'}")
        for d, source in service.calendar_days(year):
            print(f"{d.day} 周{WEEKDAY_ZH[d.day.weekday()]} {d.kind.value:8} {d.name} [{source}]")
    elif args.action == "set":
        service.set_calendar_day(args.day, DayKind(args.kind), args.name or "", args.actor)
        print(f"{args.day}: {args.kind}")
    elif args.action == "unset":
        print(f"{args.day}: {'已删除 / removed' if service.unset_calendar_day(args.day, args.actor) else '无 / none'}")
    elif args.action == "confirm":
        for y in args.year:
            service.confirm_year(y, args.actor)
            print(f"{y}: 已确认 / confirmed")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    roster = subparsers.add_parser("roster", parents=[COMMON], help="值班表 / duty roster")
    sub = roster.add_subparsers(dest="roster_command", required=True)
    base = argparse.ArgumentParser(add_help=False, parents=[COMMON])
    base.add_argument("--now", help=argparse.SUPPRESS)  # pretend the time is T (replay, tests)
    base.add_argument("--actor", default=_login(), help="who makes the change (default: login name)")

    who = sub.add_parser("who", parents=[base], help="谁在值班 / who is on duty")
    who.add_argument("--at", help="time, e.g. 2026-11-23T08:00 (default now)")
    who.add_argument("--specialty", help="only people covering this specialty")
    who.add_argument("--json", action="store_true")
    who.set_defaults(func=cmd_who)

    gaps = sub.add_parser("gaps", parents=[base], help="值班空档 / coverage gaps (exit 1 if any)")
    gaps.add_argument("--from", dest="start", type=_day, help="first date (default today)")
    gaps.add_argument("--to", dest="end", type=_day, help="last date, included (default a week on)")
    gaps.set_defaults(func=cmd_gaps)

    imp = sub.add_parser("import", parents=[base], help="导入 .xlsx/.csv/.yaml / import a roster file")
    imp.add_argument("file")
    imp.set_defaults(func=cmd_import)

    load = sub.add_parser("load", parents=[base], help="载入值班配置 / load the desk file ([roster] file)")
    load.add_argument("file", nargs="?")
    load.set_defaults(func=cmd_load)

    exp = sub.add_parser("export", parents=[base], help="导出 / export xlsx, csv or ics")
    exp.add_argument("--format", choices=("xlsx", "csv", "ics"), required=True)
    exp.add_argument("--from", dest="start", type=_day, help="first date (default first of this month)")
    exp.add_argument("--to", dest="end", type=_day, help="last date, included (default end of that month)")
    exp.add_argument("--person", help="only this person's shifts")
    exp.add_argument("--english", action="store_true", help="English column headers")
    exp.add_argument("-o", "--output", help="file to write (default stdout)")
    exp.set_defaults(func=cmd_export)

    today = sub.add_parser("today", parents=[base], help="今日值班 / today's duty post")
    today.add_argument("--date", type=_day)
    today.set_defaults(func=cmd_today)

    ovr = sub.add_parser("override", parents=[base], help="调班 / replace a person for a span")
    ovr.add_argument("--tier", choices=[t.value for t in Tier], required=True)
    ovr.add_argument("--from", dest="start", required=True)
    ovr.add_argument("--to", dest="end", required=True)
    ovr.add_argument("--replace", help="the person replaced (default: the whole tier)")
    ovr.add_argument("--by", help="the person on duty instead (default: nobody)")
    ovr.add_argument("--reason", default="")
    ovr.set_defaults(func=cmd_override)

    swap = sub.add_parser("swap", parents=[base], help="换班 / two people trade shifts")
    swap.add_argument("--tier", choices=[t.value for t in Tier], required=True)
    swap.add_argument("--first", required=True, help="NAME@TIME inside the first shift")
    swap.add_argument("--second", required=True, help="NAME@TIME inside the second shift")
    swap.add_argument("--reason", default="")
    swap.set_defaults(func=cmd_swap)

    note = sub.add_parser("note", parents=[base], help="交接班记录 / handover note")
    note.add_argument("--tier", choices=[t.value for t in Tier], default=Tier.FIRST_LINE.value)
    note.add_argument("text", nargs="+")
    note.set_defaults(func=cmd_note)

    hist = sub.add_parser("history", parents=[base], help="变更记录 / who changed what")
    hist.add_argument("--limit", type=int, default=50)
    hist.set_defaults(func=cmd_history)

    hol = sub.add_parser("holidays", parents=[COMMON], help="节假日与调休 / holidays and adjusted working days")
    hsub = hol.add_subparsers(dest="action", required=True)
    seed = hsub.add_parser("seed", parents=[base], help="从 chinesecalendar 录入 / seed from chinesecalendar")
    seed.add_argument("--year", type=int, action="append")
    lst = hsub.add_parser("list", parents=[base])
    lst.add_argument("--year", type=int, action="append")
    hset = hsub.add_parser("set", parents=[base], help="录入一天 / enter one day of the official schedule")
    hset.add_argument("day", type=_day)
    hset.add_argument("kind", choices=[k.value for k in DayKind])
    hset.add_argument("--name", help="e.g. 春节 Spring Festival")
    unset = hsub.add_parser("unset", parents=[base])
    unset.add_argument("day", type=_day)
    confirm = hsub.add_parser("confirm", parents=[base], help="确认全年已录入 / mark a year entered")
    confirm.add_argument("year", type=int, nargs="+")
    hol.set_defaults(func=cmd_holidays)
