"""`hotline replay` and `hotline report`: the call ledger from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hotline.cli import COMMON
from hotline.cli.monthly import register_monthly
from hotline.config import Settings
from hotline.domain.calls import Call
from hotline.domain.kpi import AnswerRate
from hotline.providers.twilio.session import is_session, read_session
from hotline.providers.twilio.webhook import WebhookFormatError
from hotline.runtime.assembly import AmiIngest, open_database, packets_of_file
from hotline.services.calls.ledger import Ledger
from hotline.services.calls.twilio_calls import replay_session
from hotline.services.reports.answer_rate import answer_rate_report

OUTCOME_ZH = {
    "answered": "已接通", "abandoned": "放弃", "timeout": "超时未接", "busy": "忙",
    "ivr_abandoned": "IVR挂机", "failed": "失败", None: "进行中",
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("replay", parents=[COMMON], help="replay a recorded AMI trace into the ledger / 回放AMI记录")
    p.add_argument("trace", type=Path, help="recorded AMI byte stream (.ami) or Twilio webhook session (.jsonl)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--db", help="database URL to store into (default: a throw-away in-memory SQLite)")
    p.add_argument("--run-for", type=_duration, default=None, metavar="DURATION",
                   help="run the monitor on a virtual clock that follows the trace, then on for DURATION "
                        "(20m, 1h, 90s); prints alert, page, ack, breach and clear lines too / 模拟告警与寻呼")
    p.add_argument("--send", action="store_true",
                   help="with --run-for: really send the pages through [paging] (default: dry run, nothing sent)")
    p.add_argument("--monitors", type=Path, default=None, help="with --run-for: rules folder to try")
    p.add_argument("--roster", type=Path, default=None, help="with --run-for: roster file to try")
    p.set_defaults(func=cmd_replay)

    r = sub.add_parser("report", parents=[COMMON], help="supervisor reports / 报表")
    rsub = r.add_subparsers(dest="report", required=True)
    a = rsub.add_parser("answer-rate", parents=[COMMON], help="接通率 answer rate")
    a.add_argument("--from", dest="start", type=date.fromisoformat, help="first day (YYYY-MM-DD)")
    a.add_argument("--to", dest="end", type=date.fromisoformat, help="last day (YYYY-MM-DD)")
    a.add_argument("--by", choices=["specialty", "day", "hour", "agent"], default="specialty")
    a.add_argument("--short-abandon", type=float, default=None,
                   help="callers abandoning within N s are shown apart (default from config: 0)")
    a.add_argument("--json", action="store_true")
    a.add_argument("--db", help="database URL (default from config)")
    a.set_defaults(func=cmd_answer_rate)
    register_monthly(rsub, COMMON)


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    if not args.trace.is_file():
        print(f"错误 / error: trace file not found: {args.trace}", file=sys.stderr)
        return 2
    if args.run_for is not None:
        return _replay_with_monitor(args, settings)
    if args.send:
        print("错误 / error: --send needs --run-for", file=sys.stderr)
        return 2
    db = open_database(args.db or "sqlite://")
    ledger = Ledger(db.factory)
    calls: list[Call] = []
    if is_session(args.trace):  # a recorded Twilio webhook session (JSON lines)
        try:
            calls.extend(replay_session(read_session(args.trace), ledger))
        except WebhookFormatError as e:
            print(f"错误 / error: {e}", file=sys.stderr)
            return 2
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


def _replay_with_monitor(args: argparse.Namespace, settings: Settings) -> int:
    """The whole pipeline on a virtual clock: `call` lines as without --run-for, then the monitor's."""
    from hotline.cli.monitor import print_events, run_replay

    calls, events = run_replay(args, settings)
    if args.json:
        for call in calls:
            print(json.dumps(call.as_dict(), ensure_ascii=False))
    else:
        print_calls(calls)
    print_events(events, settings, args.json)
    return 0


def print_calls(calls: list[Call]) -> None:
    header = f"{'开始 start':<26}{'方向 dir':<10}{'主叫 caller':<14}{'被叫 called':<13}{'队列 queue':<11}" \
             f"{'结果 outcome':<22}{'接听 by':<12}{'等待 wait':>10}{'通话 talk':>10}"
    print(header)
    for c in calls:
        d = c.as_dict()
        outcome = f"{OUTCOME_ZH.get(d['outcome'], d['outcome'])} {d['outcome'] or 'in progress'}"
        print(f"{d['started_at'][:19]:<26}{d['direction']:<10}{d['caller'] or '-':<14}{d['called'] or '-':<13}"
              f"{d['queue'] or '-':<11}{outcome:<22}{d['answered_by'] or '-':<12}"
              f"{_num(d['wait_seconds']):>10}{_num(d['talk_seconds']):>10}")
    print(f"共 {len(calls)} 通 / {len(calls)} calls")


def _num(v: Any) -> str:
    return "-" if v is None else f"{v:.1f}"


def cmd_answer_rate(args: argparse.Namespace, settings: Settings) -> int:
    db = open_database(args.db or settings.database_url)
    short = settings.reports.short_abandon_seconds if args.short_abandon is None else args.short_abandon
    rows, total = answer_rate_report(
        db.factory, settings.tz, start=args.start, end=args.end, by=args.by,
        target=settings.reports.answer_rate_target, short_abandon_seconds=short,
    )
    if args.json:
        for row in [*rows, total]:
            print(json.dumps(row.as_dict(), ensure_ascii=False))
        return 0
    print_answer_rates(rows, total, args.by, short)
    return 0


def print_answer_rates(rows: list[AnswerRate], total: AnswerRate, by: str, short: float) -> None:
    print(f"接通率 answer rate = 接通 answered / 转人工 offered, by {by}; target {total.target:.0%}")
    print(f"{'组 group':<16}{'转人工':>8}{'接通':>6}{'接通率':>9}{'达标':>6}{'放弃':>6}{'超时':>6}{'忙':>5}"
          f"{'IVR挂机':>8}{'平均等待':>9}{'P90等待':>9}{'平均通话':>9}")
    for r in [*rows, total]:
        rate = "-" if r.answer_rate is None else f"{r.answer_rate:.1%}"
        met = "-" if r.met is None else ("是" if r.met else "否")
        print(f"{r.group:<16}{r.offered:>8}{r.answered:>6}{rate:>9}{met:>6}{r.abandoned:>6}{r.timeout:>6}"
              f"{r.busy:>5}{r.ivr_abandoned:>8}{_num(r.avg_wait):>9}{_num(r.p90_wait):>9}{_num(r.avg_talk):>9}")
    if short > 0:
        print(f"短时放弃(≤{short:g}s) short abandons, not offered: {total.short_abandoned}")
