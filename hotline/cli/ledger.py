"""`hotline replay` and `hotline report`: the call ledger from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hotline.cli import COMMON
from hotline.cli.arguments import ami_trace_problem, day, reversed_range
from hotline.cli.complaints import register_report
from hotline.cli.labels import specialty_label
from hotline.cli.monthly import register_monthly
from hotline.cli.surveys import register_satisfaction
from hotline.cli.table import Column, print_table
from hotline.config import Settings
from hotline.domain.calls import Call
from hotline.domain.kpi import REPORT_GROUPS, UNANSWERED, AnswerRate
from hotline.domain.tickets import STATUS_ZH, TIER_ZH

if TYPE_CHECKING:
    from hotline.providers.twilio.webhook import Webhook

# The commands' own imports (the database, the AMI pipeline, the reports) are made when a command runs,
# so that `hotline report answer-rate --help` and the other groups' commands do not pay for them.

OUTCOME_ZH = {
    "answered": "已接通", "abandoned": "放弃", "timeout": "超时未接", "busy": "忙",
    "ivr_abandoned": "IVR挂机", "failed": "失败", "dropped": "PBX中断", None: "进行中",
}
DIRECTION_ZH = {"inbound": "呼入", "outbound": "呼出", "internal": "内部"}


def direction_text(direction: str) -> str:
    """'呼入 inbound' for a call's direction on a terminal."""
    return f"{DIRECTION_ZH.get(direction, '?')} {direction}"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("replay", parents=[COMMON], help="回放记录 / replay a recorded AMI or Twilio trace")
    p.add_argument("trace", type=Path, help="AMI 记录 (.ami) 或 Twilio 会话 (.jsonl) / "
                   "recorded AMI byte stream or Twilio webhook session")
    p.add_argument("--json", action="store_true", help="每行一个 JSON 对象 / one JSON object per line")
    p.add_argument("--db", help="写入的数据库 / database URL to store into (default: a throw-away in-memory SQLite)")
    p.add_argument("--run-for", type=_duration, default=None, metavar="DURATION",
                   help="模拟告警与寻呼 / run the monitor on a virtual clock that follows the trace, then on for "
                        "DURATION (20m, 1h, 90s); prints alert, page, ack, breach and clear lines too")
    p.add_argument("--send", action="store_true",
                   help="真的发送寻呼 / with --run-for: really send the pages through [paging] (default: dry run)")
    p.add_argument("--monitors", type=Path, default=None, help="试用的规则目录 / with --run-for: rules folder to try")
    p.add_argument("--roster", type=Path, default=None, help="试用的值班表 / with --run-for: roster file to try")
    p.set_defaults(func=cmd_replay)

    r = sub.add_parser("report", parents=[COMMON], help="报表 / supervisor reports")
    rsub = r.add_subparsers(dest="report", required=True, title="报表 / reports", metavar="REPORT")
    a = rsub.add_parser("answer-rate", parents=[COMMON], help="接通率 answer rate")
    a.add_argument("--from", dest="start", type=day, help="第一天 / first day (YYYY-MM-DD)")
    a.add_argument("--to", dest="end", type=day, help="最后一天(含) / last day, included (YYYY-MM-DD)")
    a.add_argument("--by", choices=list(REPORT_GROUPS), default="specialty",
                   help="分组 / group by (default specialty; week: ISO weeks; line: the hotline and the duty lines)")
    a.add_argument("--short-abandon", type=float, default=None,
                   help="N 秒内放弃的单独列出 / callers abandoning within N s are shown apart (default from config: 0)")
    a.add_argument("--service-level", type=float, default=None, metavar="SECONDS",
                   help="服务水平：N 秒内接通的比例 / service level: share answered within N s "
                        "(default from config: 20)")
    a.add_argument("--json", action="store_true", help="每行一个 JSON 对象 / one JSON object per line")
    a.add_argument("--db", help="数据库地址 / database URL (default from config)")
    a.set_defaults(func=cmd_answer_rate)
    u = rsub.add_parser("rollup", parents=[COMMON], help="报表汇总 / the reports' hourly roll-up of the calls")
    u.add_argument("--rebuild", action="store_true",
                   help="从通话记录重建 / recount the whole roll-up from the calls (after the thresholds change, or "
                        "calls written by other means)")
    u.add_argument("--db", help="数据库地址 / database URL (default from config)")
    u.set_defaults(func=cmd_rollup)
    register_monthly(rsub, COMMON)
    register_report(rsub, COMMON)
    register_satisfaction(rsub, COMMON)


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.providers.twilio.session import is_session, read_session
    from hotline.providers.twilio.webhook import WebhookFormatError
    from hotline.runtime.assembly import AmiIngest, keep_rollup, open_database, packets_of_file
    from hotline.services.calls.ledger import Ledger
    from hotline.services.calls.twilio_calls import replay_session

    if not args.trace.is_file():
        print(f"错误 / error: 找不到记录文件 / trace file not found: {args.trace}", file=sys.stderr)
        return 2
    if not is_session(args.trace) and (problem := ami_trace_problem(args.trace)):
        print(f"错误 / error: {problem}", file=sys.stderr)
        return 2
    if args.send and args.run_for is None:
        print("错误 / error: --send 需要 --run-for / --send needs --run-for", file=sys.stderr)
        return 2
    hooks: list[Webhook] | None = None
    if is_session(args.trace):  # a recorded Twilio webhook session (JSON lines)
        try:
            hooks = list(read_session(args.trace))  # every line checked before anything is stored
        except WebhookFormatError as e:
            print(f"错误 / error: {e}", file=sys.stderr)
            return 2
    if args.run_for is not None:
        return _replay_with_monitor(args, settings, hooks)
    db = open_database(args.db or "sqlite://")
    ledger = Ledger(db.factory)
    keep_rollup(settings, db.factory, ledger, build=False)  # a built roll-up stays current
    calls: list[Call] = []
    if hooks is not None:
        calls.extend(replay_session(hooks, ledger))
    else:
        ingest = AmiIngest(settings, ledger)
        for packet in packets_of_file(args.trace, settings):
            calls.extend(ingest.feed(packet))
        calls.extend(ingest.finish())
    calls.extend(ledger.open.values())  # still in progress when the trace ended
    calls.sort(key=lambda c: (c.started_at, c.call_id))
    if args.json:
        for call in calls:
            print(json.dumps(call.as_dict(), ensure_ascii=False))
    else:
        print_calls(calls)
    return 0


def _duration(text: str) -> timedelta:
    from hotline.cli.monitor import duration

    return duration(text)


def _replay_with_monitor(args: argparse.Namespace, settings: Settings, hooks: list[Webhook] | None) -> int:
    """The whole pipeline on a virtual clock: `call` lines as without --run-for, then the monitor's
    (an AMI trace, or the requests `hooks` of a Twilio session)."""
    from hotline.cli.virtual_replay import print_events, run_replay

    replayed = run_replay(args, settings, hooks)
    if args.json:
        for call in replayed.calls:
            print(json.dumps(call.as_dict(), ensure_ascii=False))
    else:
        print_calls(replayed.calls)
    print_events(replayed.events, settings, args.json, replayed.names)
    print_tickets(replayed.tickets, args.json)
    return 0


CALL_COLUMNS = [Column("开始 start"), Column("方向 dir"), Column("主叫 caller"), Column("被叫 called"),
                Column("队列 queue"), Column("结果 outcome"), Column("接听 by"), Column("等待 wait", right=True),
                Column("通话 talk", right=True)]


TICKET_COLUMNS = [Column("工单 ticket"), Column("来电 caller"), Column("状态 status"), Column("层级 tier"),
                  Column("处理人 assignee"), Column("通话 calls", right=True)]


def print_tickets(tickets: list[dict[str, Any]], as_json: bool) -> None:
    """The tickets as they stand at the end of a replay, after the call and alert lines."""
    if as_json:
        for t in tickets:
            print(json.dumps(t, ensure_ascii=False))
        return
    print()
    print_table(TICKET_COLUMNS, [[t["ticket_id"], t["caller"], f"{STATUS_ZH[t['status']]} {t['status']}",
                                  f"{TIER_ZH[t['tier']]} {t['tier']}", t["assignee"] or "-", str(len(t["calls"]))]
                                 for t in tickets])


def print_calls(calls: list[Call]) -> None:
    rows = []
    for c in calls:
        d = c.as_dict()
        outcome = f"{OUTCOME_ZH.get(d['outcome'], d['outcome'])} {d['outcome'] or 'in progress'}"
        rows.append([d["started_at"][:19], direction_text(d["direction"]), d["caller"] or "-", d["called"] or "-",
                     d["queue"] or "-", outcome, d["answered_by"] or "-", _num(d["wait_seconds"]),
                     _num(d["talk_seconds"])])
    print_table(CALL_COLUMNS, rows)
    print(f"共 {len(calls)} 通 / {len(calls)} calls")


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1%}"


def _num(v: Any) -> str:
    return "-" if v is None else f"{v:.1f}"


def cmd_answer_rate(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.runtime.assembly import open_database
    from hotline.services.reports.answer_rate import RateParamError, answer_rate_report, rate_params

    if problem := reversed_range(args.start, args.end):
        print(f"错误 / error: {problem}", file=sys.stderr)
        return 2
    try:
        params = rate_params(settings, args.short_abandon, args.service_level)
    except RateParamError as e:
        print(f"错误 / error: --{e.name.replace('_', '-')} {e.value!r}: 应为不小于 0 的秒数 / "
              f"expected a number of seconds, 0 or more", file=sys.stderr)
        return 2
    db = open_database(args.db or settings.database_url)
    rows, total = answer_rate_report(db.factory, settings.tz, start=args.start, end=args.end, by=args.by,
                                     params=params)
    if args.json:
        for row in [*rows, total]:
            print(json.dumps(row.as_dict(), ensure_ascii=False))
        return 0
    first, last = (f"{d:%Y-%m-%d}" if d else None for d in (args.start, args.end))
    period = f"{first or '最早 first call'} – {last or '至今 today'}" if first or last else "全部 all calls"
    print(f"期间 period: {period} ({settings.tz})")
    print_answer_rates(rows, total, args.by, params.short_abandon_seconds, settings)
    return 0


def cmd_rollup(args: argparse.Namespace, settings: Settings) -> int:
    """Show the roll-up's state; with --rebuild, recount it from the calls first."""
    import time

    from hotline.clock import SystemClock
    from hotline.runtime.assembly import open_database
    from hotline.services.reports.answer_rate import rate_params
    from hotline.services.reports.rollup import rebuild, rollup_status

    params = rate_params(settings)
    db = open_database(args.db or settings.database_url)
    if args.rebuild:
        began = time.perf_counter()
        written = rebuild(db.factory, params, SystemClock(settings.tz).now())
        print(f"已重建 rebuilt: {written} 行 rows in {time.perf_counter() - began:.1f} s")
    status = rollup_status(db.factory)
    if status is None:
        print("未建立 / not built: the reports read the calls (run `hotline report rollup --rebuild`)")
        return 0
    state, rows = status
    serves = "是 yes" if state.serves(params) else "否 no: thresholds differ from the config, rebuild"
    print(f"汇总 roll-up: {rows} 行 rows; 短时放弃 short abandon {state.short_abandon_seconds:g} s, "
          f"服务水平 service level {state.service_level_seconds:g} s; "
          f"建于 built {state.built_at.astimezone(settings.tz):%Y-%m-%d %H:%M:%S}; 可用 in use: {serves}")
    return 0


RATE_COLUMNS = [Column("组 group"), Column("转人工 offered", right=True), Column("接通 answered", right=True),
                Column("接通率 rate", right=True), Column("达标 met", right=True), Column("放弃 abandoned", right=True),
                Column("超时 timeout", right=True), Column("忙 busy", right=True),
                Column("IVR挂机 ivr", right=True), Column("平均等待 avg wait", right=True),
                Column("P90等待 p90 wait", right=True), Column("平均通话 avg talk", right=True),
                Column("服务水平 SL", right=True), Column("平均应答 ASA", right=True),
                Column("放弃率 aband.", right=True), Column("短时放弃 short", right=True)]


def group_label(group: str, by: str, settings: Settings) -> str:
    """What a row of the answer-rate table is called on screen: a specialty's configured name with its code
    ('网络 / Network (network)'), the placeholders in both languages; the JSON keeps the codes."""
    if by == "specialty":
        return specialty_label(settings, group)
    return "未接 unanswered" if group == UNANSWERED else group


def print_answer_rates(rows: list[AnswerRate], total: AnswerRate, by: str, short: float,
                       settings: Settings) -> None:
    print(f"接通率 answer rate = 接通 answered / 转人工 offered, by {by}; 目标 target {total.target:.0%}; "
          f"服务水平 SL = {total.service_level_seconds:g} 秒内接通 answered within {total.service_level_seconds:g} s "
          f"/ offered; 平均应答 ASA = 接通前平均等待 mean wait of answered calls")
    cells = []
    for r in [*rows, total]:
        rate = "-" if r.answer_rate is None else f"{r.answer_rate:.1%}"
        met = "-" if r.met is None else ("是 yes" if r.met else "否 no")
        label = "合计 total" if r is total else group_label(r.group, by, settings)
        cells.append([label, str(r.offered), str(r.answered), rate, met, str(r.abandoned), str(r.timeout),
                      str(r.busy), str(r.ivr_abandoned), _num(r.avg_wait), _num(r.p90_wait), _num(r.avg_talk),
                      _pct(r.service_level), _num(r.asa), _pct(r.abandon_rate), str(r.short_abandoned)])
    print_table(RATE_COLUMNS, cells)
    if short > 0:
        print(f"短时放弃(≤{short:g}s) short abandons, not offered: {total.short_abandoned}")
