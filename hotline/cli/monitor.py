"""`hotline monitors lint`, `hotline incident ...`, `hotline alerts ...` (the monitor part of
`hotline replay --run-for` is in cli/virtual_replay.py)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from hotline.cli import COMMON
from hotline.cli.table import Column, print_table
from hotline.config import Settings
from hotline.domain.rules import parse_duration

if TYPE_CHECKING:  # the services load when a command runs, not for `--help` (bench/bench_cli_startup.py)
    from hotline.services.monitor.engine import MonitorService
    from hotline.services.monitor.outbox import Outbox

STATES = ["open", "acked", "cleared", "resolved", "breached", "all"]
DB_HELP = "数据库地址 / database URL (default from config)"
JSON_HELP = "每行一个 JSON 对象 / one JSON object per line"
DRY_RUN_MARK = "演练，未发送 / dry run, not sent"


def duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{e}") from None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    m = sub.add_parser("monitors", parents=[COMMON], help="未接来电规则 / no-answer rules")
    msub = m.add_subparsers(dest="monitors", required=True, metavar="COMMAND")
    lint_p = msub.add_parser("lint", parents=[COMMON], help="检查规则文件 / check the rule files (monitors/*.yaml)")
    lint_p.add_argument("folder", nargs="?", type=Path, help="规则目录 / rules folder (default [monitor] rules_dir)")
    lint_p.set_defaults(func=cmd_lint)

    i = sub.add_parser("incident", parents=[COMMON], help="重大事件 / major incidents")
    isub = i.add_subparsers(dest="incident", required=True, metavar="COMMAND")
    d = isub.add_parser("declare", parents=[COMMON], help="申报 / declare one: pages the maintenance lead")
    d.add_argument("title", help="事件标题 / what happened")
    d.add_argument("--by", required=True, help="申报人 / who declares it")
    d.add_argument("--description", help="详情 / details")
    d.add_argument("--specialty", help="专业 / specialty (network, servers, ...)")
    d.add_argument("--db", help=DB_HELP)
    d.set_defaults(func=cmd_incident_declare)
    rep = isub.add_parser("reported", parents=[COMMON], help="已报告 / the report was made")
    rep.add_argument("incident_id", help="事件编号 / incident id")
    rep.add_argument("--by", required=True, help="报告人 / who reported it")
    rep.add_argument("--db", help=DB_HELP)
    rep.set_defaults(func=cmd_incident_reported)
    li = isub.add_parser("list", parents=[COMMON], help="事件列表 / incidents")
    li.add_argument("--open", action="store_true", help="只看未报告的 / only those not yet reported")
    li.add_argument("--json", action="store_true", help=JSON_HELP)
    li.add_argument("--db", help=DB_HELP)
    li.set_defaults(func=cmd_incident_list)

    a = sub.add_parser("alerts", parents=[COMMON], help="未接来电告警 / missed-call alerts")
    asub = a.add_subparsers(dest="alerts", required=True, metavar="COMMAND")
    al = asub.add_parser("list", parents=[COMMON], help="告警列表 / alerts")
    al.add_argument("--state", choices=STATES, default="open", help="状态 / state (default open)")
    al.add_argument("--json", action="store_true", help=JSON_HELP)
    al.add_argument("--db", help=DB_HELP)
    al.set_defaults(func=cmd_alerts_list)
    ak = asub.add_parser("ack", parents=[COMMON], help="确认 / acknowledge")
    ak.add_argument("alert_id", help="告警编号 / alert id")
    ak.add_argument("--by", required=True, help="确认人 / who acknowledges")
    ak.add_argument("--db", help=DB_HELP)
    ak.set_defaults(func=cmd_alerts_ack)
    rs = asub.add_parser("resolve", parents=[COMMON], help="手动关闭 / close by hand with a reason")
    rs.add_argument("alert_id", help="告警编号 / alert id")
    rs.add_argument("--by", required=True, help="关闭人 / who closes it")
    rs.add_argument("--reason", required=True, help="原因 / why")
    rs.add_argument("--db", help=DB_HELP)
    rs.set_defaults(func=cmd_alerts_resolve)
    un = asub.add_parser("unreturned", parents=[COMMON], help="未回复来电 / missed calls not yet returned")
    un.add_argument("--json", action="store_true", help=JSON_HELP)
    un.add_argument("--db", help=DB_HELP)
    un.set_defaults(func=cmd_unreturned)
    rt = asub.add_parser("returned", parents=[COMMON], help="回复用时 / time until callers were reached")
    rt.add_argument("--json", action="store_true", help=JSON_HELP)
    rt.add_argument("--db", help=DB_HELP)
    rt.set_defaults(func=cmd_returned)


def cmd_lint(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.services.monitor.config import monitor_config, paging_channel_names
    from hotline.services.monitor.rule_files import lint

    folder = args.folder or monitor_config(settings).rules_dir
    book, problems = lint(folder, frozenset(settings.specialties) or None, paging_channel_names(settings))
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"共 {len(problems)} 处错误 / {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"规则无误 / rules OK: {', '.join(sorted(book.rules))} ({', '.join(book.sources)})")
    return 0


def _monitor(args: argparse.Namespace, settings: Settings, links: bool = False) -> tuple[MonitorService, Outbox]:
    from hotline.clock import SystemClock
    from hotline.runtime.assembly import open_database
    from hotline.services.monitor.config import build_monitor

    db = open_database(args.db or settings.database_url)
    return build_monitor(settings, db.factory, SystemClock(settings.tz), link_mode="required" if links else "optional")


def cmd_incident_declare(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.services.monitor.incidents import IncidentService

    monitor, _ = _monitor(args, settings, links=True)
    incident = IncidentService(monitor).declare(args.title, args.by, args.description, args.specialty)
    print(json.dumps(incident.as_dict(settings.tz), ensure_ascii=False))
    print("已通知维护负责人（运行中的 hotline 发送寻呼）/ the maintenance lead's pages are in the outbox; "
          "the running hotline sends them", file=sys.stderr)
    return 0


def cmd_incident_reported(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.services.monitor.engine import AlertNotFound
    from hotline.services.monitor.incidents import IncidentService

    monitor, _ = _monitor(args, settings)
    try:
        incident = IncidentService(monitor).reported(args.incident_id, args.by)
    except AlertNotFound as e:
        print(f"错误 / error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(incident.as_dict(settings.tz), ensure_ascii=False))
    return 0


def cmd_incident_list(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.services.monitor.incidents import IncidentService

    monitor, _ = _monitor(args, settings)
    incidents = IncidentService(monitor).list(open_only=args.open)
    if args.json:
        for incident in incidents:
            print(json.dumps(incident.as_dict(settings.tz), ensure_ascii=False))
        return 0
    tz = settings.tz
    print_table(
        [Column("事件 incident"), Column("标题 title"), Column("专业 specialty"), Column("申报人 declared by"),
         Column("申报 declared"), Column("报告期限 report due"), Column("已报告 reported"), Column("超时 breached")],
        [[i.incident_id, i.title, i.specialty or "-", i.declared_by, f"{i.declared_at.astimezone(tz):%m-%d %H:%M}",
          f"{i.report_deadline_at.astimezone(tz):%m-%d %H:%M}",
          f"{i.reported_at.astimezone(tz):%m-%d %H:%M} {i.reported_by}" if i.reported_at else "-",
          "是 yes" if i.breached else "-"] for i in incidents])
    print(f"共 {len(incidents)} 件 / {len(incidents)} incidents")
    return 0


def cmd_alerts_list(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.services.monitor.alert_reports import alert_view

    monitor, _ = _monitor(args, settings)
    alerts = monitor.alerts(args.state)
    if args.json:
        for alert in alerts:
            print(json.dumps(alert_view(alert, settings.tz), ensure_ascii=False))
        return 0
    tz = settings.tz
    print_table(
        [Column("告警 alert"), Column("状态 state"), Column("来电 caller"), Column("次数 n", right=True),
         Column("首次 first missed"), Column("期限 deadline"), Column("确认 acked by"), Column("超时 breached")],
        [[a.alert_id, a.state, a.caller or a.title or "-", str(a.missed_calls),
          f"{a.opened_at.astimezone(tz):%m-%d %H:%M:%S}", f"{a.deadline_at.astimezone(tz):%m-%d %H:%M:%S}",
          a.acked_by or "-", "是 yes" if a.breached_at else "-"] for a in alerts])
    print(f"共 {len(alerts)} 条 / {len(alerts)} alerts")
    return 0


def cmd_alerts_ack(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.domain.alerts import AlertClosed
    from hotline.services.monitor.alert_reports import alert_view
    from hotline.services.monitor.engine import AlertNotFound

    monitor, _ = _monitor(args, settings)
    try:
        alert = monitor.acknowledge(args.alert_id, args.by, via="cli")
    except (AlertNotFound, AlertClosed) as e:
        print(f"错误 / error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(alert_view(alert, settings.tz), ensure_ascii=False))
    return 0


def cmd_alerts_resolve(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.domain.alerts import AlertClosed
    from hotline.services.monitor.alert_reports import alert_view
    from hotline.services.monitor.engine import AlertNotFound

    monitor, _ = _monitor(args, settings)
    try:
        alert = monitor.resolve(args.alert_id, args.by, args.reason)
    except (AlertNotFound, AlertClosed, ValueError) as e:
        print(f"错误 / error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(alert_view(alert, settings.tz), ensure_ascii=False))
    return 0


def cmd_unreturned(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.runtime.assembly import open_database
    from hotline.services.monitor import alert_reports

    db = open_database(args.db or settings.database_url)
    rows = alert_reports.unreturned(db.factory)
    if args.json:
        for row in rows:
            print(json.dumps(row.as_dict(settings.tz), ensure_ascii=False))
        return 0
    print_table(
        [Column("来电 caller"), Column("首次 first missed"), Column("次数 n", right=True), Column("已寻呼 paged"),
         Column("确认 acked by"), Column("超时 breached")],
        [[r.caller or "-", f"{r.first_missed_at.astimezone(settings.tz):%m-%d %H:%M}", str(r.missed_calls),
          _paged(r.paged, r.paged_dry_run), r.acked_by or "-", "是 yes" if r.breached else "-"] for r in rows])
    print(f"未回复 {len(rows)} 个 / {len(rows)} unreturned")
    return 0


def _paged(people: Sequence[str], dry_run: Sequence[str]) -> str:
    """Whom the alert paged, those whose pages only a dry run took (nothing sent) marked once after the names
    when all were ('王芳, 杨磊 (演练，未发送 / dry run, not sent)'), else each after the name."""
    if not people:
        return "-"
    if set(people) <= set(dry_run):
        return f"{', '.join(people)} ({DRY_RUN_MARK})"
    return ", ".join(f"{p} ({DRY_RUN_MARK})" if p in dry_run else p for p in people)


def cmd_returned(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.runtime.assembly import open_database
    from hotline.services.monitor import alert_reports

    db = open_database(args.db or settings.database_url)
    rows = alert_reports.returned(db.factory)
    if args.json:
        for r in rows:
            print(json.dumps(r.as_dict(settings.tz), ensure_ascii=False))
        return 0
    how_zh = {"callback": "回拨 callback", "repeat": "再次来电 repeat call"}
    print_table(
        [Column("来电 caller"), Column("未接 missed"), Column("接通 reached"), Column("用时(分) minutes", right=True),
         Column("方式 how"), Column("超时 breached")],
        [[r.caller or "-", f"{r.missed_at.astimezone(settings.tz):%m-%d %H:%M}",
          f"{r.reached_at.astimezone(settings.tz):%m-%d %H:%M}", f"{r.minutes:.1f}", how_zh.get(r.how, r.how),
          "是 yes" if r.breached else "-"] for r in rows])
    breached = sum(1 for r in rows if r.breached)
    print(f"已回复 {len(rows)} 个，其中超时 {breached} 个 / {len(rows)} returned, {breached} after the deadline")
    return 0
