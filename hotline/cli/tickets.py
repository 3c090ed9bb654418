"""`hotline tickets list|show|assign|start|escalate|resolve|close|reopen|edit`: the ticket desk (工单) from
the command line. Hand-off pages go into the outbox; the running hotline sends them."""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import sys
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from hotline.cli import COMMON
from hotline.cli.labels import specialty_label
from hotline.cli.subcommands import TICKET_ID, add_command
from hotline.cli.table import Column, pad, print_table
from hotline.config import Settings
from hotline.domain.complaints import SOURCE_ZH
from hotline.domain.durations import zh_duration
from hotline.domain.numbers import NumberError, outside_number
from hotline.domain.sla import CLOCK_ZH
from hotline.domain.tickets import (
    ACTION_ZH,
    PRIORITY_ZH,
    STATUS_ZH,
    TIER_ZH,
    TYPE_ZH,
    Priority,
    TicketError,
    TicketTier,
    TicketType,
)

if TYPE_CHECKING:  # the services load when a command runs, not for `--help` (bench/bench_cli_startup.py)
    from hotline.services.tickets.build import Tickets
    from hotline.services.tickets.desk import TicketView

STATES = ["open", "not_closed", "new", "in_progress", "escalated", "resolved", "closed", "all"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    t = sub.add_parser("tickets", parents=[COMMON], help="工单 / tickets")
    tsub = t.add_subparsers(dest="tickets", required=True)

    command = functools.partial(add_command, tsub, subject=TICKET_ID, by=True)

    li = command("list", "工单列表 / ticket list, overdue first", cmd_list, subject=None, by=False)
    li.add_argument("--state", choices=STATES, default="open", help="状态 / state")
    li.add_argument("--assignee", help="只看此人的工单 / only this person's tickets (mine)")
    li.add_argument("--tier", choices=[str(t) for t in TicketTier], help="只看此层级 / only this tier's tickets")
    li.add_argument("--caller", help="只看此来电号码 / only this caller number (any written form)")
    li.add_argument("--limit", type=int, default=100, help="最多条数 / at most this many")
    command("show", "工单详情 / one ticket: calls, SLA clocks, timeline", cmd_show, by=False)
    a = command("assign", "指派 / give to a person", cmd_assign)
    a.add_argument("assignee", help="处理人 / the new assignee")
    command("start", "开始处理 / work started", cmd_start)
    e = command("escalate", "up one tier: 一线 → 二线 → 厂商 / 升级", cmd_escalate)
    e.add_argument("--reason", required=True, help="升级原因 / why (within our capability? what was tried)")
    e.add_argument("--to", dest="assignee",
                   help="指定处理人 / a named person instead of the on-duty one or vendor contact")
    r = command("resolve", "解决 / resolved with the solution", cmd_resolve)
    r.add_argument("--solution", required=True, help="解决方法 / the solution")
    r.add_argument("--cause", help="原因")
    c = command("close", "用户确认并关闭 / the caller confirmed", cmd_close)
    c.add_argument("--confirmed-by", help="确认人 / who confirmed (the caller)")
    command("report", "重大故障已上报 / urgent ticket reported to the maintenance lead", cmd_report)
    o = command("reopen", "重新打开 / reopen", cmd_reopen)
    o.add_argument("--reason", required=True, help="重新打开原因 / why it is reopened")
    cl = command("caller", "来电人信息 / caller directory: name, organisation, notes", cmd_caller, subject=None,
                 by=False)
    cl.add_argument("number", help="来电号码 / any written form: 13800138000, +86..., 010-62345678")
    cl.add_argument("--name", help="姓名 / name")
    cl.add_argument("--organisation", "--org", dest="organisation", help="单位 / organisation")
    cl.add_argument("--notes", help="备注 / notes")
    ed = command("edit", "修改 / change type, priority, specialty, summary...", cmd_edit)
    ed.add_argument("--type", dest="ticket_type", choices=[str(x) for x in TicketType], help="类型 / ticket type")
    ed.add_argument("--priority", choices=[str(x) for x in Priority], help="优先级 / priority")
    ed.add_argument("--specialty", help="专业 / specialty")
    ed.add_argument("--summary", help="摘要 / summary")
    ed.add_argument("--description", help="描述 / description")
    ed.add_argument("--caller-name", dest="caller_name", help="来电人姓名 / caller's name")


def _tickets(args: argparse.Namespace, settings: Settings) -> Tickets:
    from hotline.clock import SystemClock
    from hotline.runtime.assembly import open_database
    from hotline.services.monitor.config import build_monitor
    from hotline.services.monitor.incidents import IncidentService
    from hotline.services.tickets.build import build_tickets

    db = open_database(args.db or settings.database_url)
    clock = SystemClock(settings.tz)
    monitor, _ = build_monitor(settings, db.factory, clock, link_mode="optional")
    return build_tickets(settings, db.factory, clock, incidents=IncidentService(monitor))


def act_on_ticket(args: argparse.Namespace, settings: Settings, act: Callable[[], TicketView]) -> int:
    """Run `act` and print the ticket it gives (JSON with `--json`), or the desk's refusal; the exit code."""
    from hotline.services.tickets.records import TicketNotFound

    try:
        view = act()
    except (TicketNotFound, TicketError) as e:
        print(f"错误 / error: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(view.as_dict(settings.tz), ensure_ascii=False))
    else:
        print_ticket(view, settings)
    return 0


def _act(args: argparse.Namespace, settings: Settings, act: Callable[[Tickets], TicketView]) -> int:
    return act_on_ticket(args, settings, lambda: act(_tickets(args, settings)))


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.services.tickets.config import ticket_config

    caller = None
    if args.caller:
        try:
            caller = outside_number(args.caller, local_area_code=ticket_config(settings).local_area_code).key
        except NumberError as e:
            print(f"错误 / error: --caller: {e}", file=sys.stderr)
            return 1
    views = _tickets(args, settings).desk.find(state=args.state, assignee=args.assignee, tier=args.tier,
                                               caller=caller, limit=args.limit)
    if args.json:
        for v in views:
            print(json.dumps(v.as_dict(settings.tz), ensure_ascii=False))
        return 0
    rows = []
    for v in views:
        t = v.ticket
        overdue = any(c.breached_at is not None and c.done_at is None for c in v.clocks)
        section = settings.specialties.get(t.specialty or "")
        rows.append([t.ticket_id, f"{STATUS_ZH[t.status]} {t.status}", TIER_ZH[t.tier], t.assignee or "-", t.caller,
                     section.name_zh if section else (t.specialty or "-"), "是 yes" if overdue else "-",
                     t.summary or "-"])
    print_table(LIST_COLUMNS, rows)
    print(f"共 {len(views)} 张 / {len(views)} tickets")
    return 0


# the timeline's fields and coded values as staff read them ('层级 tier: 一线 first_line → 二线 second_line')
FIELD_ZH = {"status": "状态 status", "tier": "层级 tier", "assignee": "处理人 assignee", "ticket_type": "类型 type",
            "priority": "优先级 priority", "specialty": "专业 specialty", "summary": "摘要 summary",
            "description": "描述 description", "caller_name": "来电人 caller name", "solution": "解决方法 solution",
            "cause": "原因 cause", "staff": "接听 staff", "call": "通话 call", "complaint_source": "投诉来源 source",
            "complaint_due_at": "约定解决时间 agreed due", "complaint_reply": "投诉回复 reply",
            "complaint_form": "反馈表 form", "incident": "重大故障 incident", "origin": "源自 origin",
            "follow_up": "后续工单 follow-up", "article": "知识 article", "complaint": "投诉 complaint"}
CLOCK_BY_CODE = {str(k): v for k, v in CLOCK_ZH.items()}
VALUE_ZH: dict[str, dict[str, str]] = {"status": {str(k): v for k, v in STATUS_ZH.items()},
                                       "tier": {str(k): v for k, v in TIER_ZH.items()},
                                       "ticket_type": {str(k): v for k, v in TYPE_ZH.items()},
                                       "priority": {str(k): v for k, v in PRIORITY_ZH.items()},
                                       "complaint_source": {str(k): v for k, v in SOURCE_ZH.items()}}
LIST_COLUMNS = [Column("工单 ticket"), Column("状态 status"), Column("层级 tier"), Column("处理人 assignee"),
                Column("来电 caller"), Column("专业 specialty"), Column("逾期 overdue"), Column("摘要 summary")]


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.services.tickets.desk import change_dict
    from hotline.services.tickets.records import TicketNotFound

    tickets = _tickets(args, settings)
    try:
        view = tickets.desk.get(args.ticket_id)
    except TicketNotFound as e:
        print(f"错误 / error: {e}", file=sys.stderr)
        return 1
    timeline = tickets.desk.timeline(args.ticket_id)
    if args.json:
        data: dict[str, Any] = view.as_dict(settings.tz)
        data["timeline"] = [change_dict(c, settings.tz) for c in timeline]
        data["caller_directory"] = tickets.desk.caller(view.ticket.caller_key)
        print(json.dumps(data, ensure_ascii=False))
        return 0
    print_ticket(view, settings)
    print("\n时间线 timeline:")
    for c in timeline:
        action = f"{ACTION_ZH.get(c.action, '')} {c.action}".strip()
        print("  " + "  ".join(x for x in (f"{c.at.astimezone(settings.tz):%Y-%m-%d %H:%M:%S}", pad(c.actor, 12),
                                            pad(action, 14), _change_text(c.field, c.old, c.new, settings.tz),
                                            c.note or "") if x.strip()))
    return 0


def _change_text(field: str | None, old: str | None, new: str | None, tz: tzinfo) -> str:
    """'层级 tier: 一线 first_line → 二线 second_line'; a field that only names an event ('resolution missed')
    as it is."""
    if not field:
        return ""
    if old is None and new is None:
        clock, _, rest = field.partition(" ")
        return f"{CLOCK_BY_CODE.get(clock, '')} {field}".strip() if rest else field
    named = VALUE_ZH.get(field, {})

    def value(v: str | None) -> str:
        if not v:
            return "-"
        if field.endswith("_at"):  # a time: in desk time, as every other time shown
            with contextlib.suppress(ValueError):
                return f"{datetime.fromisoformat(v).astimezone(tz):%Y-%m-%d %H:%M}"
        return f"{named.get(v, '')} {v}".strip()

    return f"{FIELD_ZH.get(field, field)}: {value(old)} → {value(new)}"


def print_ticket(view: TicketView, settings: Settings) -> None:
    t = view.ticket
    tz = settings.tz
    print(f"工单 {t.ticket_id}  {STATUS_ZH[t.status]} / {t.status}  {TIER_ZH[t.tier]} / {t.tier}  "
          f"处理人 assignee: {t.assignee or '-'}")
    print(f"来电 caller: {t.caller} {t.caller_name or ''}  类型 type: {TYPE_ZH[t.ticket_type]} {t.ticket_type}  "
          f"优先级 priority: {PRIORITY_ZH[t.priority]} {t.priority}  "
          f"专业 specialty: {specialty_label(settings, t.specialty)}  服务窗口 window: {t.service_window}")
    print(f"首次来电 first contact: {t.first_contact_at.astimezone(tz):%Y-%m-%d %H:%M:%S}  "
          f"受理 opened: {t.opened_at.astimezone(tz):%Y-%m-%d %H:%M:%S}")
    if t.summary:
        print(f"摘要 summary: {t.summary}")
    if t.solution:
        print(f"解决方法 solution: {t.solution}  原因 cause: {t.cause or '-'}")
    print("通话 calls: " + ", ".join(f"{c.call_id} ({c.role})" for c in view.calls))
    for c in view.clocks:
        outcome = "-" if c.met is None else ("达标 met" if c.met else "超时 missed")
        done = f"{c.done_at.astimezone(tz):%m-%d %H:%M}" if c.done_at else "未完成 open"
        minutes = "" if c.minutes is None else f"{zh_duration(c.minutes * 60)} ({c.minutes:.0f} min)"
        print(f"  SLA {pad(f'{CLOCK_ZH.get(c.name, str(c.name))} {c.name}', 30)} "
              f"期限 due {c.due_at.astimezone(tz):%m-%d %H:%M}  完成 done {pad(done, 12)} {outcome} {minutes}".rstrip())


def cmd_assign(args: argparse.Namespace, settings: Settings) -> int:
    return _act(args, settings, lambda t: t.desk.assign(args.ticket_id, args.assignee, args.by))


def cmd_start(args: argparse.Namespace, settings: Settings) -> int:
    return _act(args, settings, lambda t: t.desk.start(args.ticket_id, args.by))


def cmd_escalate(args: argparse.Namespace, settings: Settings) -> int:
    paged: list[tuple[str, ...]] = []

    def act(t: Tickets) -> TicketView:
        view = t.desk.escalate(args.ticket_id, args.reason, args.by, args.assignee)
        paged.append(view.paged)
        return view

    code = _act(args, settings, act)
    sys.stdout.flush()  # the ticket first, then what was paged (one terminal, two streams)
    if code == 0 and paged and paged[0]:
        zh, en = "、".join(paged[0]), ", ".join(paged[0])
        print(f"升级通知已放入发送队列，通知 {zh}（运行中的 hotline 发送）/ the hand-off page to {en} is in the "
              "outbox; the running hotline sends it", file=sys.stderr)
    elif code == 0:
        print("警告 / warning: 无人值班，且 [tickets] complaint_managers 中没有值班表上的人员，没有发出任何通知：请直接"
              "联系处理人 / nobody on duty, and [tickets] complaint_managers names nobody on the roster: nobody was "
              "paged, reach someone yourself", file=sys.stderr)
    return code


def cmd_resolve(args: argparse.Namespace, settings: Settings) -> int:
    return _act(args, settings, lambda t: t.desk.resolve(args.ticket_id, args.solution, args.by, args.cause))


def cmd_close(args: argparse.Namespace, settings: Settings) -> int:
    return _act(args, settings, lambda t: t.desk.close(args.ticket_id, args.by, args.confirmed_by))


def cmd_reopen(args: argparse.Namespace, settings: Settings) -> int:
    return _act(args, settings, lambda t: t.desk.reopen(args.ticket_id, args.by, args.reason))


def cmd_caller(args: argparse.Namespace, settings: Settings) -> int:
    desk = _tickets(args, settings).desk
    try:
        entry = desk.set_caller(args.number, name=args.name, organisation=args.organisation, notes=args.notes)
    except TicketError as e:
        print(f"错误 / error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(entry, ensure_ascii=False) if args.json else
          f"{entry['number']}  {entry['name'] or '-'}  {entry['organisation'] or '-'}  {entry['notes'] or ''}")
    return 0


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    return _act(args, settings, lambda t: t.desk.major_reported(args.ticket_id, args.by))


def cmd_edit(args: argparse.Namespace, settings: Settings) -> int:
    names = ("ticket_type", "priority", "specialty", "summary", "description", "caller_name")
    values = {n: getattr(args, n) for n in names if getattr(args, n) is not None}
    return _act(args, settings, lambda t: t.desk.edit(args.ticket_id, args.by, **values))
