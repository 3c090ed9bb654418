"""`hotline monitors lint`, `hotline incident ...`, `hotline alerts ...`, and the monitor part of
`hotline replay --run-for` (the whole pipeline on a virtual clock that follows the trace)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from hotline.cli import COMMON
from hotline.clock import ManualClock, SystemClock, from_epoch
from hotline.config import ConfigError, Settings
from hotline.domain.alerts import AlertClosed
from hotline.domain.calls import Call
from hotline.domain.rules import RuleBook, parse_duration
from hotline.runtime.assembly import AmiIngest, open_database, packets_of_file
from hotline.services.calls.ledger import Ledger
from hotline.services.monitor import alert_reports
from hotline.services.monitor.alert_reports import alert_view
from hotline.services.monitor.config import build_monitor, monitor_config, paging_channel_names, rules_of
from hotline.services.monitor.engine import AlertNotFound, EventLine, MonitorService
from hotline.services.monitor.incidents import IncidentService
from hotline.services.monitor.outbox import DryRunSender, Outbox, PageSender
from hotline.services.monitor.rule_files import lint
from hotline.services.monitor.virtual_run import Engine, advance
from hotline.services.tickets.build import Tickets, build_tickets

EVENT_ZH = {"alert": "告警", "join": "再次来电", "page": "寻呼", "skip": "跳过", "hole": "排班空缺", "ack": "确认",
            "breach": "超时", "clear": "已回复", "resolve": "手动关闭"}
STATES = ["open", "acked", "cleared", "resolved", "breached", "all"]


def duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{e}") from None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    m = sub.add_parser("monitors", parents=[COMMON], help="no-answer rules / 未接来电规则")
    msub = m.add_subparsers(dest="monitors", required=True)
    lint_p = msub.add_parser("lint", parents=[COMMON], help="check monitors/*.yaml / 检查规则文件")
    lint_p.add_argument("folder", nargs="?", type=Path, help="rules folder (default [monitor] rules_dir)")
    lint_p.set_defaults(func=cmd_lint)

    i = sub.add_parser("incident", parents=[COMMON], help="major incidents / 重大事件")
    isub = i.add_subparsers(dest="incident", required=True)
    d = isub.add_parser("declare", parents=[COMMON], help="declare one: pages the maintenance lead / 申报")
    d.add_argument("title", help="what happened")
    d.add_argument("--by", required=True, help="who declares it")
    d.add_argument("--description", help="details")
    d.add_argument("--specialty", help="specialty (network, servers, ...)")
    d.add_argument("--db", help="database URL (default from config)")
    d.set_defaults(func=cmd_incident_declare)
    rep = isub.add_parser("reported", parents=[COMMON], help="the report was made / 已报告")
    rep.add_argument("incident_id")
    rep.add_argument("--by", required=True)
    rep.add_argument("--db")
    rep.set_defaults(func=cmd_incident_reported)
    li = isub.add_parser("list", parents=[COMMON], help="incidents / 事件列表")
    li.add_argument("--open", action="store_true", help="only those not yet reported")
    li.add_argument("--json", action="store_true")
    li.add_argument("--db")
    li.set_defaults(func=cmd_incident_list)

    a = sub.add_parser("alerts", parents=[COMMON], help="missed-call alerts / 未接来电告警")
    asub = a.add_subparsers(dest="alerts", required=True)
    al = asub.add_parser("list", parents=[COMMON], help="alerts / 告警列表")
    al.add_argument("--state", choices=STATES, default="open")
    al.add_argument("--json", action="store_true")
    al.add_argument("--db")
    al.set_defaults(func=cmd_alerts_list)
    ak = asub.add_parser("ack", parents=[COMMON], help="acknowledge / 确认")
    ak.add_argument("alert_id")
    ak.add_argument("--by", required=True)
    ak.add_argument("--db")
    ak.set_defaults(func=cmd_alerts_ack)
    rs = asub.add_parser("resolve", parents=[COMMON], help="close by hand with a reason / 手动关闭")
    rs.add_argument("alert_id")
    rs.add_argument("--by", required=True)
    rs.add_argument("--reason", required=True)
    rs.add_argument("--db")
    rs.set_defaults(func=cmd_alerts_resolve)
    un = asub.add_parser("unreturned", parents=[COMMON], help="missed calls not yet returned / 未回复来电")
    un.add_argument("--json", action="store_true")
    un.add_argument("--db")
    un.set_defaults(func=cmd_unreturned)
    rt = asub.add_parser("returned", parents=[COMMON], help="time until callers were reached / 回复用时")
    rt.add_argument("--json", action="store_true")
    rt.add_argument("--db")
    rt.set_defaults(func=cmd_returned)


def cmd_lint(args: argparse.Namespace, settings: Settings) -> int:
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
    db = open_database(args.db or settings.database_url)
    return build_monitor(settings, db.factory, SystemClock(settings.tz), link_mode="required" if links else "optional")


def cmd_incident_declare(args: argparse.Namespace, settings: Settings) -> int:
    monitor, _ = _monitor(args, settings, links=True)
    incident = IncidentService(monitor).declare(args.title, args.by, args.description, args.specialty)
    print(json.dumps(incident.as_dict(settings.tz), ensure_ascii=False))
    print("已通知维护负责人（运行中的 hotline 发送寻呼）/ the maintenance lead's pages are in the outbox; "
          "the running hotline sends them", file=sys.stderr)
    return 0


def cmd_incident_reported(args: argparse.Namespace, settings: Settings) -> int:
    monitor, _ = _monitor(args, settings)
    try:
        incident = IncidentService(monitor).reported(args.incident_id, args.by)
    except AlertNotFound as e:
        print(f"错误 / error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(incident.as_dict(settings.tz), ensure_ascii=False))
    return 0


def cmd_incident_list(args: argparse.Namespace, settings: Settings) -> int:
    monitor, _ = _monitor(args, settings)
    for incident in IncidentService(monitor).list(open_only=args.open):
        print(json.dumps(incident.as_dict(settings.tz), ensure_ascii=False))
    return 0


def cmd_alerts_list(args: argparse.Namespace, settings: Settings) -> int:
    monitor, _ = _monitor(args, settings)
    alerts = monitor.alerts(args.state)
    if args.json:
        for alert in alerts:
            print(json.dumps(alert_view(alert, settings.tz), ensure_ascii=False))
        return 0
    print(f"{'告警 alert':<18}{'状态 state':<12}{'来电 caller':<15}{'次数':>4}  {'首次 first missed':<20}"
          f"{'期限 deadline':<20}{'确认 acked by':<14}超时")
    for a in alerts:
        print(f"{a.alert_id:<18}{a.state:<12}{a.caller or a.title or '-':<15}{a.missed_calls:>4}  "
              f"{a.opened_at.astimezone(settings.tz):%m-%d %H:%M:%S}      "
              f"{a.deadline_at.astimezone(settings.tz):%m-%d %H:%M:%S}      {a.acked_by or '-':<14}"
              f"{'是 yes' if a.breached_at else '-'}")
    print(f"共 {len(alerts)} 条 / {len(alerts)} alerts")
    return 0


def cmd_alerts_ack(args: argparse.Namespace, settings: Settings) -> int:
    monitor, _ = _monitor(args, settings)
    try:
        alert = monitor.acknowledge(args.alert_id, args.by, via="cli")
    except (AlertNotFound, AlertClosed) as e:
        print(f"错误 / error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(alert_view(alert, settings.tz), ensure_ascii=False))
    return 0


def cmd_alerts_resolve(args: argparse.Namespace, settings: Settings) -> int:
    monitor, _ = _monitor(args, settings)
    try:
        alert = monitor.resolve(args.alert_id, args.by, args.reason)
    except (AlertNotFound, AlertClosed, ValueError) as e:
        print(f"错误 / error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(alert_view(alert, settings.tz), ensure_ascii=False))
    return 0


def cmd_unreturned(args: argparse.Namespace, settings: Settings) -> int:
    db = open_database(args.db or settings.database_url)
    rows = alert_reports.unreturned(db.factory)
    if args.json:
        for row in rows:
            print(json.dumps(row.as_dict(settings.tz), ensure_ascii=False))
        return 0
    print(f"{'来电 caller':<15}{'首次 first':<16}{'次数 n':>7}  {'已寻呼 paged':<28}{'确认 acked':<12}超时 breached")
    for r in rows:
        print(f"{r.caller or '-':<15}{r.first_missed_at.astimezone(settings.tz):%m-%d %H:%M}     "
              f"{r.missed_calls:>7}  {', '.join(r.paged) or '-':<28}{r.acked_by or '-':<12}"
              f"{'是 yes' if r.breached else '-'}")
    print(f"未回复 {len(rows)} / {len(rows)} unreturned")
    return 0


def cmd_returned(args: argparse.Namespace, settings: Settings) -> int:
    db = open_database(args.db or settings.database_url)
    rows = alert_reports.returned(db.factory)
    for r in rows:
        if args.json:
            print(json.dumps(r.as_dict(settings.tz), ensure_ascii=False))
        else:
            print(f"{r.caller or '-':<15}{r.missed_at.astimezone(settings.tz):%m-%d %H:%M}  "
                  f"{r.minutes:.1f} 分钟内回复 / returned within {r.minutes:.1f} min ({r.how})")
    return 0


# ---- replay --run-for ---------------------------------------------------------------------------

def _sender(settings: Settings, send: bool) -> tuple[PageSender, tuple[str, ...]]:
    """Dry run (nothing leaves the machine) unless --send: then the configured paging channels."""
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


Replayed = tuple[list[Call], list[EventLine], list[dict[str, object]]]


async def replay_monitored(args: argparse.Namespace, settings: Settings) -> Replayed:
    """Feed the trace with the clock following its timestamps, then run on for --run-for."""
    if args.db:
        return await _replay_into(args, settings, args.db)
    # a throw-away SQLite file (not :memory:, which is one database per thread; the outbox uses threads)
    with tempfile.TemporaryDirectory(prefix="hotline-replay-") as tmp:
        return await _replay_into(args, settings, f"sqlite:///{Path(tmp) / 'replay.db'}")


async def _replay_into(args: argparse.Namespace, settings: Settings, url: str) -> Replayed:
    db = open_database(url)
    ledger = Ledger(db.factory)
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
    return rules_of(settings, monitor_config(settings), args.monitors)


def print_events(events: Sequence[EventLine], settings: Settings, as_json: bool) -> None:
    if as_json:
        for e in events:
            print(json.dumps(e.as_dict(settings.tz), ensure_ascii=False))
        return
    print(f"\n{'时间 at':<21}{'事件 event':<18}{'告警 alert':<18}{'来电 caller':<14}{'层级 tier':<13}"
          f"{'人员 person':<12}{'渠道 channel'}")
    for e in events:
        label = f"{EVENT_ZH.get(e.type, e.type)} {e.type}"
        print(f"{e.at.astimezone(settings.tz):%Y-%m-%d %H:%M:%S}  {label:<16}{e.alert_id:<18}{e.caller or '-':<14}"
              f"{e.tier or '-':<13}{e.person or '-':<12}{e.channel or '-'}")


def run_replay(args: argparse.Namespace, settings: Settings) -> Replayed:
    return asyncio.run(replay_monitored(args, settings))
