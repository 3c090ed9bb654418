"""`hotline complaints open|mark|mark-call|reply|agree|form|export` and `hotline report complaints`: complaints
(投诉) from the command line. Pages (a late complaint to the project manager) go into the outbox; the running
hotline sends them."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hotline.cli import COMMON
from hotline.cli.arguments import output_file, write_output
from hotline.cli.labels import short_time
from hotline.cli.subcommands import TICKET_ID, add_command
from hotline.config import Settings
from hotline.domain.complaints import FORM_EN, FORM_FIELDS, FORM_ZH, Source
from hotline.domain.moments import parse_moment
from hotline.domain.sla import CLOCK_ZH, COMPLAINT_CLOCKS
from hotline.domain.tickets import TicketError

if TYPE_CHECKING:  # the services load when a command runs, not for `--help` (bench/bench_cli_startup.py)
    from hotline.services.complaints.desk import ComplaintService, FormVersion
    from hotline.services.tickets.desk import TicketView

EXPORTS = ("xlsx", "pdf")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    c = sub.add_parser("complaints", parents=[COMMON], help="投诉 / complaints")
    csub = c.add_subparsers(dest="complaints", required=True)

    command = functools.partial(add_command, csub, subject=TICKET_ID, by=True)

    o = command("open", "登记投诉 / record a complaint (the caller's open ticket, else a new one)", cmd_open,
                subject=None)
    o.add_argument("number", help="投诉人电话 / the complainant's number: 13800138004, 010-12345678, +86...")
    o.add_argument("--summary", required=True, help="投诉摘要 / what the complaint is about")
    o.add_argument("--specialty", help="专业 / specialty")
    o.add_argument("--about", help="所投诉的工单 / the ticket the complaint is about")
    command("mark", "把工单标记为投诉 / make a ticket a complaint made now", cmd_mark)
    mc = command("mark-call", "把通话标记为投诉 / the call's ticket becomes a complaint", cmd_mark_call,
                 subject=None)
    mc.add_argument("call_id", help="通话 ID / the call's id (hotline replay, the dashboard)")
    r = command("reply", "答复投诉人 / first reply to the complainant (stops the 1 h clock)", cmd_reply)
    r.add_argument("--text", required=True, help="答复内容 / what was said")
    a = command("agree", "约定解决时间 / the resolution deadline agreed with the complainant", cmd_agree)
    a.add_argument("--due", required=True, help="约定时间 / agreed time, e.g. 2026-12-04T17:00 (desk time) "
                   "or 2026-12-04T17:00+08:00")
    f = command("form", "客户投诉反馈表：查看或填写 / show or fill in the feedback form", cmd_form, by=False)
    f.add_argument("--by", help="填写人 / who fills it in (needed when a field is given)")
    for name in FORM_FIELDS:
        f.add_argument(f"--{name}", help=f"{FORM_ZH[name]} / {FORM_EN[name]}")
    f.add_argument("--history", action="store_true", help="全部版本 / every saved version")
    e = command("export", "导出客户投诉反馈表 / export the feedback form (xlsx or pdf)", cmd_export, by=False)
    e.add_argument("--format", choices=EXPORTS, required=True, help="格式 / format")
    e.add_argument("-o", "--output", type=output_file, required=True, help="输出文件 / file to write")


def register_report(rsub: argparse._SubParsersAction[argparse.ArgumentParser],
                    common: argparse.ArgumentParser) -> None:
    r = rsub.add_parser("complaints", parents=[common], help="投诉统计 complaints: count, replied within 1 h, "
                        "resolved in time, escalated")
    r.add_argument("--month", help="月份 / the month, YYYY-MM (default: this month)")
    r.add_argument("--json", action="store_true", help="输出 JSON / JSON output")
    r.add_argument("--db", help="数据库地址 / database URL (default from config)")
    r.set_defaults(func=cmd_report)


def _service(args: argparse.Namespace, settings: Settings) -> ComplaintService:
    from hotline.cli.tickets import _tickets
    from hotline.services.complaints.desk import ComplaintService

    tickets = _tickets(args, settings)
    return ComplaintService(tickets.desk.ctx, tickets.desk)


def _fail(text: str) -> int:
    print(f"错误 / error: {text}", file=sys.stderr)
    return 1


def _act(args: argparse.Namespace, settings: Settings, act: Callable[[ComplaintService], TicketView]) -> int:
    from hotline.cli.tickets import act_on_ticket

    return act_on_ticket(args, settings, lambda: act(_service(args, settings)))


def cmd_open(args: argparse.Namespace, settings: Settings) -> int:
    return _act(args, settings, lambda c: c.open(args.number, args.summary, args.by, source=Source.HAND,
                                                 specialty=args.specialty, related=args.about))


def cmd_mark(args: argparse.Namespace, settings: Settings) -> int:
    return _act(args, settings, lambda c: c.mark(args.ticket_id, args.by))


def cmd_mark_call(args: argparse.Namespace, settings: Settings) -> int:
    """The complaint counts from the call's start: for an old call its clocks may be past due already, which the
    running hotline pages as missed at once; say so."""
    from hotline.clock import SystemClock

    views: list[TicketView] = []

    def act(c: ComplaintService) -> TicketView:
        views.append(c.mark_call(args.call_id, args.by))
        return views[-1]

    code = _act(args, settings, act)
    now = SystemClock(settings.tz).now()
    for clock in (k for v in views for k in v.clocks if k.name in COMPLAINT_CLOCKS):
        if clock.done_at is None and clock.due_at <= now:
            sys.stdout.flush()
            print(f"注意 / note: {CLOCK_ZH[clock.name]}期限 {clock.due_at.astimezone(settings.tz):%m-%d %H:%M} 已过"
                  f"（投诉从通话开始计时），运行中的 hotline 将立即按超时通知 / the {clock.name} deadline has passed "
                  f"(a complaint counts from the call's start): the running hotline pages it as missed now",
                  file=sys.stderr)
    return code


def cmd_reply(args: argparse.Namespace, settings: Settings) -> int:
    return _act(args, settings, lambda c: c.reply(args.ticket_id, args.text, args.by))


def cmd_agree(args: argparse.Namespace, settings: Settings) -> int:
    try:
        due = parse_moment(args.due, settings.tz)
    except ValueError as e:
        print(f"错误 / error: --due {e}", file=sys.stderr)
        return 2  # a mistake in the command line
    return _act(args, settings, lambda c: c.agree(args.ticket_id, due, args.by))


def _print_form(v: FormVersion | None, settings: Settings, as_json: bool) -> None:
    if as_json:
        print(json.dumps(None if v is None else v.as_dict(settings.tz), ensure_ascii=False))
        return
    if v is None:
        print("尚未填写 / not filled in yet")
        return
    print(f"客户投诉反馈表 v{v.version}（{v.saved_by}，{v.saved_at.astimezone(settings.tz):%Y-%m-%d %H:%M}）")
    for name in FORM_FIELDS:
        print(f"{FORM_ZH[name]} / {FORM_EN[name]}: {getattr(v.form, name) or '-'}")


def cmd_form(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.services.tickets.records import TicketNotFound

    values = {name: getattr(args, name) for name in FORM_FIELDS if getattr(args, name) is not None}
    try:
        service = _service(args, settings)
        if args.history:
            for v in service.form_history(args.ticket_id):
                _print_form(v, settings, args.json)
            return 0
        if values:
            if not args.by:
                return _fail("填写反馈表需要 --by / filling in the form needs --by NAME")
            _print_form(service.save_form(args.ticket_id, args.by, **values), settings, args.json)
        else:
            _print_form(service.form(args.ticket_id), settings, args.json)
    except (TicketNotFound, TicketError) as e:
        return _fail(str(e))
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.services.complaints.exports import form_file
    from hotline.services.tickets.records import TicketNotFound

    try:
        service = _service(args, settings)
        data = form_file(service, args.ticket_id, args.format)
    except (TicketNotFound, TicketError) as e:
        return _fail(str(e))
    write_output(args.output, data)
    print(f"已写入 / written: {args.output} ({len(data)} bytes)")
    return 0


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.clock import SystemClock
    from hotline.runtime.assembly import open_database
    from hotline.services.complaints.figures import month_report
    from hotline.services.reports.monthly import parse_month

    now = SystemClock(settings.tz).now()
    try:
        first = parse_month(args.month) if args.month else now.astimezone(settings.tz).date().replace(day=1)
    except ValueError as e:
        print(f"错误 / error: {e}", file=sys.stderr)
        return 2
    db = open_database(args.db or settings.database_url)
    doc = month_report(db.factory, first, settings.tz, now)
    db.engine.dispose()
    if args.json:
        print(json.dumps(doc, ensure_ascii=False))
        return 0
    from hotline.domain.sla import ClockName
    from hotline.services.tickets.config import ticket_config

    reply = ticket_config(settings).policy.targets[ClockName.COMPLAINT]
    for text in report_text(doc, reply.total_seconds() / 60):
        print(text)
    return 0


def _share(part: dict[str, Any]) -> str:
    return "-" if part["share"] is None else f"{part['share'] * 100:.1f}%"


def _reply(c: dict[str, Any]) -> str:
    if c["reply_minutes"] is not None:
        return f"回复 replied {c['reply_minutes']:.1f} 分钟 min {_verdict(c['replied_in_time'])}"
    if c["replied_in_time"] is False:
        return f"未回复 not replied，已超时 overdue（时限 due {short_time(c['reply_due_at'])}）"
    return f"未回复 not replied，未到期 not due yet（时限 due {short_time(c['reply_due_at'])}）"


def _resolution(c: dict[str, Any]) -> str:
    if c["resolved"]:
        return f"已解决 resolved {_verdict(c['resolved_in_time'])}"
    if c["resolved_in_time"] is False:
        return f"未解决 not resolved，已超时 overdue（时限 due {short_time(c['resolve_due_at'])}）"
    return f"未解决 not resolved（时限 due {short_time(c['resolve_due_at'])}）"


def _within(minutes: float) -> str:
    """'1 小时', '90 分钟': the reply target as the regulations write it."""
    return f"{minutes / 60:g} 小时" if minutes % 60 == 0 else f"{minutes:g} 分钟"


def _verdict(in_time: bool | None) -> str:
    return {True: "按时 in time", False: "超时 late", None: ""}[in_time]


def report_text(doc: dict[str, Any], reply_minutes: float = 60) -> list[str]:
    """`report complaints` for a person: every share with its sample size, the late and the pending (未到期:
    the deadline not passed yet) beside it; one line per complaint. `reply_minutes`: the configured time for a
    first reply (`[tickets.sla_minutes] complaint`), named in the line of the replies."""
    from hotline.domain.tickets import STATUS_ZH, Status

    n = doc["count"]

    def tally(label: str, key: str) -> str:
        part = doc[key]
        return (f"{label}: {part['count']} / {part['of']} ({_share(part)})，超时 late {part['late']}，"
                f"未到期 pending {part['pending']}")

    escalated = doc["escalated"]
    out = [f"投诉 / complaints {doc['month']}: {n}（截至 as of {doc['as_of'][:16].replace('T', ' ')}）",
           tally(f"{_within(reply_minutes)}内回复 / replied within {reply_minutes:g} min", "replied_in_time"),
           tally("按时解决 / resolved in time", "resolved_in_time"),
           f"上报项目经理 / escalated to the project manager: {escalated['count']} / {n} ({_share(escalated)})"]
    for c in doc["complaints"]:
        status = c["status"]
        name = STATUS_ZH.get(Status(status), status) if status in set(Status) else status
        out.append(f"  {c['ticket_id']}  {c['caller']}  {short_time(c['complained_at'])}  {name} {status}  {_reply(c)}"
                   f"  {_resolution(c)}{'  已上报 escalated' if c['escalated'] else ''}")
    return out
