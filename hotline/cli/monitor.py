"""`hotline monitors lint`, `hotline incident ...`, `hotline alerts ...`, and the monitor part of
`hotline replay --run-for` (the whole pipeline on a virtual clock that follows the trace)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from hotline.cli import COMMON
from hotline.cli.table import Column, print_table
from hotline.config import ConfigError, Settings
from hotline.domain.alerts import ALERT_TIER_ZH
from hotline.domain.rules import parse_duration

if TYPE_CHECKING:  # the services load when a command runs, not for `--help` (bench/bench_cli_startup.py)
    from sqlalchemy.orm import Session, sessionmaker

    from hotline.clock import ManualClock
    from hotline.domain.calls import Call
    from hotline.domain.rules import RuleBook
    from hotline.services.monitor.engine import EventLine, MonitorService
    from hotline.services.monitor.outbox import Outbox, PageSender
    from hotline.services.monitor.virtual_run import Engine
    from hotline.services.tickets.build import Tickets

EVENT_ZH = {"alert": "告警", "join": "再次来电", "page": "寻呼", "skip": "跳过", "hole": "排班空缺", "ack": "确认",
            "breach": "超时", "clear": "已回复", "resolve": "手动关闭"}
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


# ---- replay --run-for ---------------------------------------------------------------------------

def _sender(settings: Settings, send: bool) -> tuple[PageSender, tuple[str, ...]]:
    """Dry run (nothing leaves the machine) unless --send: then the configured paging channels."""
    from hotline.services.monitor.outbox import DryRunSender

    if not send:
        return DryRunSender(), ()
    from hotline.paging.registry import build_channels, build_dispatcher

    config = settings.section("paging")
    channels = build_channels(config, os.environ)
    dispatcher = build_dispatcher(config, channels)
    return dispatcher, dispatcher.default_order


def _prepare_roster(settings: Settings, factory: sessionmaker[Session], clock: ManualClock,
                    roster_file: Path | None) -> None:
    """A throw-away replay database gets the desk roster file (or the one to try) loaded."""
    from hotline.services.roster.service import RosterService

    roster = RosterService(factory, settings, clock)
    if roster_file is not None or not roster.people():
        path = roster_file or roster.config.file
        if not path.is_file():
            raise ConfigError(str(path), "roster.file", "值班表文件不存在 / roster file not found")
        roster.load_example(path, actor="replay")
    roster.ensure_calendar()


Replayed: TypeAlias = "tuple[list[Call], list[EventLine], list[dict[str, object]]]"


async def replay_monitored(args: argparse.Namespace, settings: Settings) -> Replayed:
    """Feed the trace with the clock following its timestamps, then run on for --run-for."""
    import tempfile

    if args.db:
        return await _replay_into(args, settings, args.db)
    # a throw-away SQLite file (not :memory:, which is one database per thread; the outbox uses threads)
    with tempfile.TemporaryDirectory(prefix="hotline-replay-") as tmp:
        return await _replay_into(args, settings, f"sqlite:///{Path(tmp) / 'replay.db'}")


async def _replay_into(args: argparse.Namespace, settings: Settings, url: str) -> Replayed:
    from hotline.clock import ManualClock, from_epoch
    from hotline.runtime.assembly import AmiIngest, keep_rollup, open_database, packets_of_file
    from hotline.services.calls.ledger import Ledger
    from hotline.services.monitor.config import build_monitor
    from hotline.services.monitor.virtual_run import advance
    from hotline.services.tickets.build import build_tickets

    db = open_database(url)
    ledger = Ledger(db.factory)
    keep_rollup(settings, db.factory, ledger, build=False)  # a built roll-up stays current
    ingest = AmiIngest(settings, ledger)
    sender, order = _sender(settings, args.send)
    clock: ManualClock | None = None
    monitor: MonitorService | None = None
    outbox: Outbox | None = None
    tickets: Tickets | None = None
    calls: list[Call] = []
    for packet in packets_of_file(args.trace, settings):
        ts = packet.timestamp
        if ts is not None:
            at = from_epoch(ts, settings.tz)
            if clock is None:
                clock = ManualClock(at, settings.tz)
                _prepare_roster(settings, db.factory, clock, args.roster)
                monitor, outbox = build_monitor(settings, db.factory, clock, link_mode="ephemeral",
                                                rules=_rules(args, settings), default_order=order)
                ledger.on_completed(monitor.on_call)
                ledger.on_answered(monitor.on_answered)
                # after the monitor: a reaching call has cleared its alert when the tickets hear of it
                tickets = build_tickets(settings, db.factory, clock, cleared_calls=monitor.calls_cleared_by,
                                        dial_prefixes=monitor.options.dial_prefixes)
                ledger.on_calls(tickets.opener.on_calls)
            elif monitor is not None and at > clock.now():
                if ledger.completed or ledger.answered:
                    calls.extend(ingest.flush())
                await advance(monitor, clock, at, outbox, sender, _engines(tickets))
        calls.extend(ingest.feed(packet))
    calls.extend(ingest.finish())
    calls.extend(ledger.open.values())
    calls.sort(key=lambda c: (c.started_at, c.call_id))
    if clock is None or monitor is None:
        raise ConfigError(str(args.trace), "-", "记录中没有时间戳 / the trace has no Timestamp headers "
                          "(enable timestampevents in manager.conf)")
    await advance(monitor, clock, clock.now() + args.run_for, outbox, sender, _engines(tickets))
    events = monitor.events()
    ticket_lines = [v.contract(settings.tz) for v in tickets.desk.find(state="all", limit=1_000_000)] if tickets else []
    ticket_lines.sort(key=lambda t: (str(t["opened_at"]), str(t["ticket_id"])))
    db.engine.dispose()
    return calls, events, ticket_lines


def _engines(tickets: Tickets | None) -> list[Engine]:
    return [tickets.engine] if tickets is not None else []


def _rules(args: argparse.Namespace, settings: Settings) -> RuleBook:
    from hotline.services.monitor.config import monitor_config, rules_of

    return rules_of(settings, monitor_config(settings), args.monitors)


def print_events(events: Sequence[EventLine], settings: Settings, as_json: bool) -> None:
    if as_json:
        for e in events:
            print(json.dumps(e.as_dict(settings.tz), ensure_ascii=False))
        return
    print()
    print_table(
        [Column("时间 at"), Column("事件 event"), Column("告警 alert"), Column("来电 caller"), Column("层级 tier"),
         Column("人员 person"), Column("渠道 channel")],
        [[f"{e.at.astimezone(settings.tz):%Y-%m-%d %H:%M:%S}", f"{EVENT_ZH.get(e.type, e.type)} {e.type}",
          e.alert_id, e.caller or "-", f"{ALERT_TIER_ZH.get(e.tier, '?')} {e.tier}" if e.tier else "-",
          e.person or "-", e.channel or "-"] for e in events])


def run_replay(args: argparse.Namespace, settings: Settings) -> Replayed:
    import asyncio

    return asyncio.run(replay_monitored(args, settings))
