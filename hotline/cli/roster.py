"""`hotline roster who|gaps|import|load|export|today|override|swap|request|requests|approve|reject|note|history|
holidays` and the rest.

Every command first prints, on stderr, the warning for a year whose holiday schedule is not entered.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from hotline.cli import COMMON
from hotline.cli.arguments import day as _day
from hotline.cli.arguments import output_file, reversed_range, write_output
from hotline.cli.failures import shown_url
from hotline.config import Settings
from hotline.domain.roster import TIER_NAMES, Override, Tier
from hotline.domain.windows import DayKind

if TYPE_CHECKING:  # the services load when a command runs, not for `--help` (bench/bench_cli_startup.py)
    from hotline.domain.roster import OnDuty, Shift
    from hotline.services.roster.service import RosterService

LAYER_EN = {"rotation": "rotation", "dated": "table", "override": "override"}
STATE_NAMES = {"pending": "待批 pending", "approved": "已批准 approved", "rejected": "已拒绝 rejected"}


def open_service(args: argparse.Namespace, settings: Settings) -> RosterService:
    """The roster service on the configured database (migrated), with the calendar seeded if needed."""
    from hotline.clock import Clock, ManualClock, SystemClock
    from hotline.services.roster.service import RosterService
    from hotline.store.base import make_engine, migrate, session_factory

    clock: Clock = SystemClock(settings.tz)
    if getattr(args, "now", None):
        clock = ManualClock(_moment(args.now, settings))
    engine = make_engine(args.db or settings.database_url)
    migrate(engine, "heads")
    service = RosterService(session_factory(engine), settings, clock)
    service.ensure_calendar()
    for warning in service.calendar_warnings():
        print(f"警告 / warning: {warning}", file=sys.stderr)
    return service


def warn_dates(service: RosterService, first: date, last: date) -> None:
    """The warning for an unconfirmed year among the dates asked about (unless today's already said it)."""
    said = set(service.calendar_warnings())
    for warning in service.date_warnings(first, last):
        if warning not in said:
            print(f"警告 / warning: {warning}", file=sys.stderr)


def _moment(text: str, settings: Settings) -> datetime:
    from hotline.cli.arguments import ArgumentProblem
    from hotline.domain.moments import parse_moment

    try:
        return parse_moment(text, settings.tz)
    except ValueError as e:
        raise ArgumentProblem(str(e)) from None


def _login() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "admin"


def _today(service: RosterService) -> date:
    from hotline.clock import today as desk_today

    return desk_today(service.clock, service.tz)


def cmd_who(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.services.roster.service import on_duty_dict

    service = open_service(args, settings)
    at = _moment(args.at, settings) if args.at else service.clock.now()
    if not service.people():
        print(f"警告 / warning: 值班表为空 / the roster in {shown_url(args.db or settings.database_url)} is empty: "
              f"hotline roster load (the desk file [roster] file) or hotline roster import FILE", file=sys.stderr)
    duty = service.on_duty(at, args.specialty)
    local_day = at.astimezone(settings.tz).date()
    warn_dates(service, local_day, local_day)
    if args.json:
        print(json.dumps(on_duty_dict(duty), ensure_ascii=False, indent=2))
        return 0
    print(f"{at.astimezone(settings.tz):%Y-%m-%d %H:%M} {duty.window.value}")
    for tier in Tier:
        zh, en = TIER_NAMES[tier]
        people = duty.tier(tier)
        names = "；".join(
            f"{p.name} 手机 {p.mobile or '-'} 分机 {p.extension or '-'} 至 until "
            f"{_until(duty, tier, p.name, settings)} [{_layer(duty, tier, p.name)}]" for p in people) or "无人 / nobody"
        print(f"{zh} {en}: {names}")
    return 0


def _layer(duty: OnDuty, tier: Tier, name: str) -> str:
    """Where the person's shift comes from: `轮班 rotation`, `值班表 table` or `调班 override`."""
    from hotline.roster_files.table import SOURCE_NAMES

    return "、".join(f"{SOURCE_NAMES[s]} {LAYER_EN[s]}" for s in duty.layers(tier, name))


def _until(duty: OnDuty, tier: Tier, name: str, settings: Settings) -> str:
    until = duty.until(tier, name)
    return f"{until.astimezone(settings.tz):%m-%d %H:%M}" if until else "-"


def cmd_gaps(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.services.roster.notices import fill_line, gap_line

    service = open_service(args, settings)
    first = args.start or _today(service)
    last = args.end or first + timedelta(days=service.config.gap_warning_days - 1)
    if problem := reversed_range(first, last):
        print(f"错误 / error: {problem}", file=sys.stderr)
        return 2
    try:
        gaps = service.gaps(first, last)
    except ValueError as e:  # a range too long to search
        print(e, file=sys.stderr)
        return 2
    warn_dates(service, first, last)
    for g in gaps:
        print(gap_line(service, g))
    for s in service.rotation_fills(first, last):
        print(fill_line(service, s))
    print(f"{first} – {last}: {len(gaps)} 处空档 / gap(s)", file=sys.stderr)
    return 1 if gaps else 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.roster_files.problems import RosterFileError

    service = open_service(args, settings)
    try:
        print(service.import_file(Path(args.file), args.actor, dry_run=args.dry_run))
    except RosterFileError as e:
        print(str(e), file=sys.stderr)
        return 1
    return 0


def cmd_load(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.roster_files.problems import RosterFileError

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
    if problem := reversed_range(first, last):
        print(f"错误 / error: {problem}", file=sys.stderr)
        return 2
    if args.format == "xlsx" and not args.output and sys.stdout.isatty():
        print("错误 / error: xlsx 是二进制文件，请用 -o 指定文件 / xlsx is binary: give -o FILE.xlsx "
              "(or redirect: > roster.xlsx)", file=sys.stderr)
        return 2
    data = service.export(args.format, first, last, args.person, args.english)
    warn_dates(service, first, last)
    if args.output:
        write_output(args.output, data)
        print(f"已写入 / written {args.output}: {len(data)} bytes ({first} – {last})", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
    return 0


def cmd_today(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.services.roster.notices import today_post

    service = open_service(args, settings)
    print(today_post(service, args.date or _today(service)))
    return 0


def cmd_override(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.services.roster.service import RosterError

    service = open_service(args, settings)
    try:
        o = service.add_override(Tier(args.tier), _moment(args.start, settings), _moment(args.end, settings),
                                 args.replace, args.by, args.reason, args.actor)
    except RosterError as e:
        print(str(e), file=sys.stderr)
        return 1
    print(f"已记录调班 #{o.id} / override #{o.id} recorded (撤销 / undo: hotline roster override-remove {o.id})")
    return 0


def cmd_overrides(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.services.roster.service import override_text

    service = open_service(args, settings)
    first = args.start or _today(service)
    last = args.end or first + timedelta(days=30)
    for o in service.overrides(first, last):
        print(f"#{o.id} {override_text(o, settings.tz)} [{o.created_by}]")
    return 0


def cmd_override_remove(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.services.roster.service import RosterError, override_text

    service = open_service(args, settings)
    try:
        removed = service.undo(args.actor) if args.id is None else service.remove_override(args.id, args.actor)
    except RosterError as e:
        print(str(e), file=sys.stderr)
        return 1
    for o in removed:
        print(f"已撤销 / removed #{o.id} {override_text(o, settings.tz)}")
    return 0


def _swap_shifts(service: RosterService, args: argparse.Namespace, settings: Settings) -> list[Shift] | None:
    """The two shifts named by --first and --second (NAME@TIME inside each), or None (said on stderr)."""
    shifts = []
    for spec in (args.first, args.second):
        name, _, when = spec.partition("@")
        shift = service.shift_of(name, _moment(when, settings)) if when else None
        if shift is None or shift.tier is not Tier(args.tier):
            print(f"找不到 {name} 在 {when} 的{TIER_NAMES[Tier(args.tier)][0]}班次 / no {args.tier} shift of "
                  f"{name!r} at {when!r} (write NAME@2026-11-25T20:00)", file=sys.stderr)
            return None
        shifts.append(shift)
    return shifts


def cmd_swap(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.services.roster.service import RosterError

    service = open_service(args, settings)
    shifts = _swap_shifts(service, args, settings)
    if shifts is None:
        return 1
    try:
        done = service.swap(Tier(args.tier), shifts[0], shifts[1], args.reason, args.actor)
    except RosterError as e:
        print(str(e), file=sys.stderr)
        return 1
    print(f"已换班 / swapped (#{done[0].id}, #{done[1].id}; 撤销 / undo: hotline roster override-remove {done[0].id})")
    return 0


def cmd_request(args: argparse.Namespace, settings: Settings) -> int:
    """File an override or a swap for a manager to approve (as the web's 申请 does)."""
    from hotline.services.roster.service import RosterError

    service = open_service(args, settings)
    tier = Tier(args.tier)
    try:
        if args.request_kind == "swap":
            shifts = _swap_shifts(service, args, settings)
            if shifts is None:
                return 1
            overrides = service.swap_overrides(tier, shifts[0], shifts[1], args.reason)
        else:
            overrides = [Override(tier, _moment(args.start, settings), _moment(args.end, settings), args.replace,
                                  args.by, args.reason, args.actor)]
        request_id = service.request(overrides, args.reason, args.actor, kind=args.request_kind)
    except RosterError as e:
        print(str(e), file=sys.stderr)
        return 1
    print(f"已提交申请 #{request_id}，待项目经理审批 / request #{request_id} filed for a manager's approval "
          f"(hotline roster approve {request_id} | reject {request_id})")
    if not service.config.approval:
        print("提示 / note: 未开启审批（[roster] approval = false），项目经理也可直接调班 / approval is off: a "
              "manager may also make the change directly (hotline roster override | swap)", file=sys.stderr)
    return 0


def cmd_requests(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.services.roster.service import override_text

    service = open_service(args, settings)
    found = service.requests(None if args.state == "all" else args.state)
    for r in found:
        decided = f" ← {r.decided_by}" if r.decided_by else ""
        print(f"#{r.id} {STATE_NAMES[r.state]} {r.kind} {r.requested_by} "
              f"{r.requested_at.astimezone(settings.tz):%Y-%m-%d %H:%M}{decided}: "
              + "; ".join(override_text(o, settings.tz) for o in r.overrides))
    if not found:
        print(f"无 / none ({args.state})", file=sys.stderr)
    print(f"审批人 / approvers: {'、'.join(sorted(service.managers())) or '-'}", file=sys.stderr)
    return 0


def cmd_decide(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.services.roster.service import RosterError, override_text

    service = open_service(args, settings)
    approve = args.roster_command == "approve"
    try:
        made = service.decide(args.id, approve, args.actor)
    except RosterError as e:
        print(str(e), file=sys.stderr)
        return 1
    if not approve:
        print(f"已拒绝申请 #{args.id} / request #{args.id} rejected")
        return 0
    for o in made:
        print(f"已批准，已记录调班 #{o.id} / approved: override #{o.id} {override_text(o, settings.tz)}")
    print(f"撤销 / undo: hotline roster override-remove {made[0].id}")
    return 0


def cmd_feed(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.services.roster.service import RosterError

    service = open_service(args, settings)
    try:
        if args.feed_action == "revoke":
            print(f"{args.person}: 已撤销 {service.revoke_feeds(args.person, args.actor)} 个订阅 / feeds revoked")
            return 0
        token = service.create_feed(args.person, args.actor)
    except RosterError as e:
        print(str(e), file=sys.stderr)
        return 1
    path = f"/api/roster/feeds/{token}.ics"
    base = args.base_url or settings.api.public_base_url
    host = base.split("://", 1)[-1].rstrip("/")
    print(f"webcal://{host}{path}")
    print(f"{args.person} 的日历订阅地址只显示这一次；泄露后请撤销：hotline roster feed revoke {args.person} / the "
          "feed URL is shown once; revoke it if it leaks", file=sys.stderr)
    return 0


def _month(text: str) -> date:
    try:
        return date.fromisoformat(text + "-01")
    except ValueError:
        raise argparse.ArgumentTypeError(f"不是月份 / not a month: {text!r} (e.g. 2026-11)") from None


def cmd_fairness(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.services.roster.files import fairness_csv, fairness_rows

    service = open_service(args, settings)
    first = args.month or _today(service).replace(day=1)
    last = (first + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    table, found = service.fairness(first, last)
    if args.output:
        write_output(args.output, fairness_csv(table))
    else:
        for row in fairness_rows(table):
            print("\t".join(row))
    for c in found:
        print(f"警告 / warning: {c.text(settings.tz)}", file=sys.stderr)
    warn_dates(service, first, last)
    return 1 if found else 0


def cmd_ack(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.services.roster.service import RosterError

    service = open_service(args, settings)
    try:
        shift = service.ack_handover(args.person or args.actor, via="cli")
    except RosterError as e:
        print(str(e), file=sys.stderr)
        return 1
    zh, en = TIER_NAMES[shift.tier]
    print(f"已确认接班 / acknowledged: {zh} {en} {shift.person} {shift.start.astimezone(settings.tz):%m-%d %H:%M}–"
          f"{shift.end.astimezone(settings.tz):%m-%d %H:%M}")
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
    from hotline.services.roster.notices import WEEKDAY_ZH

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
            warning = service.confirm_year(y, args.actor)
            print(f"{y}: 已确认 / confirmed")
            if warning:
                print(f"警告 / warning: {warning}", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    roster = subparsers.add_parser("roster", parents=[COMMON], help="值班表 / duty roster")
    sub = roster.add_subparsers(dest="roster_command", required=True, metavar="COMMAND")
    base = argparse.ArgumentParser(add_help=False, parents=[COMMON])
    base.add_argument("--now", help=argparse.SUPPRESS)  # pretend the time is T (replay, tests)
    base.add_argument("--db", help="数据库地址 / database URL (default from config)")
    base.add_argument("--actor", default=_login(), help="操作人 / who makes the change (default: login name)")

    who = sub.add_parser("who", parents=[base], help="谁在值班 / who is on duty")
    who.add_argument("--at", help="时间 / time, e.g. 2026-11-23T08:00 (default now)")
    who.add_argument("--specialty", help="只看该专业 / only people covering this specialty")
    who.add_argument("--json", action="store_true", help="JSON 输出 / JSON output")
    who.set_defaults(func=cmd_who)

    gaps = sub.add_parser("gaps", parents=[base], help="值班空档 / coverage gaps (exit 1 if any)")
    gaps.add_argument("--from", dest="start", type=_day, help="开始日期 / first date (default today)")
    gaps.add_argument("--to", dest="end", type=_day, help="结束日期(含) / last date, included (default a week on)")
    gaps.set_defaults(func=cmd_gaps)

    imp = sub.add_parser("import", parents=[base], help="导入 .xlsx/.csv/.yaml / import a roster file")
    imp.add_argument("file", help="值班表文件 / roster file (.xlsx, .csv, .yaml)")
    imp.add_argument("--dry-run", action="store_true",
                     help="预览新增、缩短、删除的班次，不保存 / show what would be added, changed, removed")
    imp.set_defaults(func=cmd_import)

    load = sub.add_parser("load", parents=[base], help="载入值班配置 / load the desk file ([roster] file)")
    load.add_argument("file", nargs="?", help="值班配置 / desk file (default [roster] file)")
    load.set_defaults(func=cmd_load)

    exp = sub.add_parser("export", parents=[base], help="导出 / export xlsx, csv or ics")
    exp.add_argument("--format", choices=("xlsx", "csv", "ics"), required=True, help="格式 / format")
    exp.add_argument("--from", dest="start", type=_day, help="开始日期 / first date (default first of this month)")
    exp.add_argument("--to", dest="end", type=_day,
                     help="结束日期(含) / last date, included (default end of that month)")
    exp.add_argument("--person", help="只导出此人 / only this person's shifts")
    exp.add_argument("--english", action="store_true", help="英文表头 / English column headers")
    exp.add_argument("-o", "--output", type=output_file,
                     help="输出文件 / file to write (default stdout; xlsx needs it on a terminal)")
    exp.set_defaults(func=cmd_export)

    today = sub.add_parser("today", parents=[base], help="今日值班 / today's duty post")
    today.add_argument("--date", type=_day, help="日期 / date (default today)")
    today.set_defaults(func=cmd_today)

    ovr = sub.add_parser("override", parents=[base], help="调班 / replace a person for a span")
    ovr.add_argument("--tier", choices=[t.value for t in Tier], required=True, help="层级 / tier")
    ovr.add_argument("--from", dest="start", required=True, help="开始时间 / start, e.g. 2026-11-25T08:00")
    ovr.add_argument("--to", dest="end", required=True, help="结束时间 / end")
    ovr.add_argument("--replace", help="被替换的人 / the person replaced (default: the whole tier)")
    ovr.add_argument("--by", help="替班的人 / the person on duty instead (default: nobody)")
    ovr.add_argument("--reason", default="", help="原因 / why")
    ovr.set_defaults(func=cmd_override)

    ovl = sub.add_parser("overrides", parents=[base], help="调班列表（含编号） / overrides with their ids")
    ovl.add_argument("--from", dest="start", type=_day, help="开始日期 / first date (default today)")
    ovl.add_argument("--to", dest="end", type=_day, help="结束日期（含）/ last date, included (default 30 days on)")
    ovl.set_defaults(func=cmd_overrides)

    orm = sub.add_parser("override-remove", parents=[base],
                         help="撤销调班（换班两半一起） / take back an override (both halves of a swap)")
    orm.add_argument("id", type=int, nargs="?", help="调班编号 / the override's id (default: your latest one)")
    orm.set_defaults(func=cmd_override_remove)

    swap = sub.add_parser("swap", parents=[base], help="换班 / two people trade shifts")
    swap.add_argument("--tier", choices=[t.value for t in Tier], required=True, help="层级 / tier")
    swap.add_argument("--first", required=True, help="第一个班次 / NAME@TIME inside the first shift")
    swap.add_argument("--second", required=True, help="第二个班次 / NAME@TIME inside the second shift")
    swap.add_argument("--reason", default="", help="原因 / why")
    swap.set_defaults(func=cmd_swap)

    req = sub.add_parser("request", parents=[COMMON],
                         help="申请调班或换班，待项目经理审批 / ask for an override or a swap a manager approves")
    rsub = req.add_subparsers(dest="request_kind", required=True, metavar="KIND")
    rovr = rsub.add_parser("override", parents=[base], help="申请调班 / ask for an override (--actor asks)")
    rovr.add_argument("--tier", choices=[t.value for t in Tier], required=True, help="层级 / tier")
    rovr.add_argument("--from", dest="start", required=True, help="开始时间 / start, e.g. 2026-11-25T20:00")
    rovr.add_argument("--to", dest="end", required=True, help="结束时间 / end")
    rovr.add_argument("--replace", help="被替换的人 / the person replaced (default: the whole tier)")
    rovr.add_argument("--by", help="替班的人 / the person on duty instead (default: nobody)")
    rovr.add_argument("--reason", default="", help="原因 / why")
    rswp = rsub.add_parser("swap", parents=[base], help="申请换班 / ask for two people to trade shifts")
    rswp.add_argument("--tier", choices=[t.value for t in Tier], required=True, help="层级 / tier")
    rswp.add_argument("--first", required=True, help="第一个班次 / NAME@TIME inside the first shift")
    rswp.add_argument("--second", required=True, help="第二个班次 / NAME@TIME inside the second shift")
    rswp.add_argument("--reason", default="", help="原因 / why")
    req.set_defaults(func=cmd_request)

    reqs = sub.add_parser("requests", parents=[base], help="调班申请列表 / override and swap requests")
    reqs.add_argument("--state", choices=("pending", "approved", "rejected", "all"), default="pending",
                      help="状态 / which (default pending: 待批)")
    reqs.set_defaults(func=cmd_requests)

    for name, zh, en in (("approve", "批准申请（项目经理） / approve a request: the change is made",
                          "manager's approval"),
                         ("reject", "拒绝申请（项目经理） / reject a request", "manager's refusal")):
        decide = sub.add_parser(name, parents=[base], help=zh)
        decide.add_argument("id", type=int, help=f"申请编号 / the request's id ({en}; see hotline roster requests)")
        decide.set_defaults(func=cmd_decide)

    feed = sub.add_parser("feed", parents=[COMMON], help="个人日历订阅 / a person's secret calendar feed (webcal)")
    fsub = feed.add_subparsers(dest="feed_action", required=True)
    fnew = fsub.add_parser("create", parents=[base], help="新建订阅地址 / a new secret URL")
    fnew.add_argument("person", help="值班人员姓名 / the person's name")
    fnew.add_argument("--base-url",
                      help="手机访问地址 / the address phones reach hotline at (default: [api] public_base_url)")
    frev = fsub.add_parser("revoke", parents=[base], help="撤销全部订阅地址 / revoke every URL of the person")
    frev.add_argument("person", help="值班人员姓名 / the person's name")
    feed.set_defaults(func=cmd_feed)

    fair = sub.add_parser("fairness", parents=[base],
                          help="每人每月工时、夜班、节假日班 / hours, nights, holiday shifts per person; "
                               "double bookings and short rests")
    fair.add_argument("--month", type=_month, help="月份，如 2026-11 / e.g. 2026-11 (default this month)")
    fair.add_argument("-o", "--output", type=output_file,
                      help="写入 CSV 文件 / write the table as CSV (UTF-8 with BOM, for Excel)")
    fair.set_defaults(func=cmd_fairness)

    ack = sub.add_parser("ack", parents=[base], help="确认接班 / acknowledge taking over your shift")
    ack.add_argument("person", nargs="?", help="接班人，默认 --actor / default: --actor (the login name)")
    ack.set_defaults(func=cmd_ack)

    note = sub.add_parser("note", parents=[base], help="交接班记录 / handover note")
    note.add_argument("--tier", choices=[t.value for t in Tier], default=Tier.FIRST_LINE.value,
                      help="层级 / tier (default first_line)")
    note.add_argument("text", nargs="+", help="交接内容 / the note")
    note.set_defaults(func=cmd_note)

    hist = sub.add_parser("history", parents=[base], help="变更记录 / who changed what")
    hist.add_argument("--limit", type=int, default=50, help="条数 / how many (default 50)")
    hist.set_defaults(func=cmd_history)

    hol = sub.add_parser("holidays", parents=[COMMON], help="节假日与调休 / holidays and adjusted working days")
    hsub = hol.add_subparsers(dest="action", required=True, metavar="COMMAND")
    seed = hsub.add_parser("seed", parents=[base], help="从 chinesecalendar 录入 / seed from chinesecalendar")
    seed.add_argument("--year", type=int, action="append", help="年份 / year (repeatable; default this and next)")
    lst = hsub.add_parser("list", parents=[base], help="列出 / list a year's days")
    lst.add_argument("--year", type=int, action="append", help="年份 / year (default this year)")
    hset = hsub.add_parser("set", parents=[base], help="录入一天 / enter one day of the official schedule")
    hset.add_argument("day", type=_day, help="日期 / date")
    hset.add_argument("kind", choices=[k.value for k in DayKind], help="类型 / kind of day")
    hset.add_argument("--name", help="名称 / name, e.g. 春节 Spring Festival")
    unset = hsub.add_parser("unset", parents=[base], help="删除一天 / remove one day")
    unset.add_argument("day", type=_day, help="日期 / date")
    confirm = hsub.add_parser("confirm", parents=[base], help="确认全年已录入 / mark a year entered")
    confirm.add_argument("year", type=int, nargs="+", help="年份 / year")
    hol.set_defaults(func=cmd_holidays)
