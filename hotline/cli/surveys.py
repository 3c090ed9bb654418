"""`hotline surveys due|run|show|record|cancel` (满意度回访) and `hotline report satisfaction`: the survey
desk from the command line. A cycle run here decides tries into the outbox; the running hotline places them."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from typing import TYPE_CHECKING, Any

from hotline.cli import COMMON
from hotline.cli.labels import short_time, specialty_label
from hotline.cli.subcommands import SURVEY_REF, add_command
from hotline.cli.table import Column, print_table
from hotline.config import Settings

if TYPE_CHECKING:  # the services load when a command runs, not for `--help` (bench/bench_cli_startup.py)
    from hotline.services.surveys.build import Surveys


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = sub.add_parser("surveys", parents=[COMMON], help="满意度回访 / satisfaction surveys")
    ssub = s.add_subparsers(dest="surveys", required=True)

    command = functools.partial(add_command, ssub, subject=SURVEY_REF)

    d = command("due", "待回访 / surveys still to be asked, soonest limit first", cmd_due, subject=None)
    d.add_argument("--limit", type=int, default=200, help="最多条数 / at most this many")
    command("run", "执行一轮 / one cycle: schedule, settle and place due tries (the outbox sends them)", cmd_run,
            subject=None)
    command("show", "回访详情 / one survey: tries and answers", cmd_show)
    r = command("record", "人工记录 / record the answers of a survey asked on the phone by hand", cmd_record)
    r.add_argument("--by", required=True, help="记录人 / who asked (not who solved the ticket)")
    r.add_argument("--solved", choices=["1", "2"], help="问题是否已解决 / solved: 1 yes, 2 no")
    r.add_argument("--score", type=int, required=True, help="总体满意度 / overall score (1..full score)")
    r.add_argument("--answer", action="append", default=[], metavar="QUESTION=N",
                   help="其他评分 / further scores: response, resolution, attitude, skill, communication")
    r.add_argument("--note", help="备注 / note")
    c = command("cancel", "取消 / cancel a survey not yet answered", cmd_cancel)
    c.add_argument("--by", required=True, help="操作人 / who cancels")
    c.add_argument("--reason", required=True, help="原因 / why")


def register_satisfaction(rsub: argparse._SubParsersAction[argparse.ArgumentParser],
                          common: argparse.ArgumentParser) -> None:
    p = rsub.add_parser("satisfaction", parents=[common], help="满意度 satisfaction: average / full score")
    p.add_argument("--month", help="月份 / month (YYYY-MM, default this month)")
    p.add_argument("--by", choices=["specialty", "staff"], help="分组 / group by specialty or staff member")
    p.add_argument("--json", action="store_true", help="每行一个 JSON 对象 / one JSON object per line")
    p.add_argument("--db", help="数据库地址 / database URL (default from config)")
    p.set_defaults(func=cmd_satisfaction)


def _surveys(args: argparse.Namespace, settings: Settings) -> Surveys:
    from hotline.clock import SystemClock
    from hotline.runtime.assembly import open_database
    from hotline.services.surveys.build import build_surveys
    from hotline.services.tickets.build import build_tickets

    db = open_database(args.db or settings.database_url)
    clock = SystemClock(settings.tz)
    tickets = build_tickets(settings, db.factory, clock)
    return build_surveys(settings, db.factory, clock, tickets.desk)


def _way(way: str | None) -> str:
    """'短信回访 sms' for a way code."""
    from hotline.domain.surveys import WAY_ZH, Way

    return "-" if not way else f"{WAY_ZH[Way(way)]} {way}" if way in set(Way) else way


def _print(data: dict[str, Any]) -> None:
    print(f"回访 {data['survey_id']}  工单 {data['ticket_id']}  {data['status_zh']} {data['status']}  "
          f"方式 way {_way(data['way'])}  来电 {data['caller']}")
    print(f"  解决于 resolved {_when(data['resolved_at'])}  时限 due by {_when(data['due_by'])}  "
          f"下次 next try {_when(data['next_try_at'])}  已试 tries {data['tries']}")
    if data["status"] == "answered":
        solved = {True: "是 yes", False: "否 no", None: "-"}[data["solved"]]
        print(f"  已解决 solved {solved}  评分 score {data['score']}/{data['full_score']}  "
              f"于 at {_when(data['answered_at'])} ({_way(data['answered_via'])})")
    for a in data.get("answers", []):
        print(f"    {a['label']}: {a['value_text']}")  # the stored value of yes/no is 1 / 0: shown 是 / 否
    for t in data.get("try_list", []):
        print(f"    第 {t['try']} 次 try {_when(t['at'])} {_way(t['way'])}: {t['outcome'] or '进行中 / out'} "
              f"{t['detail'] or ''}".rstrip())
    if data.get("complaint_ticket_id"):
        print(f"  投诉跟进工单 complaint ticket {data['complaint_ticket_id']}")
    if data.get("note"):
        print(f"  备注 note: {data['note']}")


def _act(args: argparse.Namespace, settings: Settings, act: Any) -> int:
    from hotline.domain.surveys import SurveyError
    from hotline.services.surveys.desk import SurveyNotFound

    try:
        data = act(_surveys(args, settings))
    except (SurveyNotFound, SurveyError) as e:
        print(f"错误 / error: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        _print(data)
    return 0


def _when(stamp: str | None) -> str:
    """An ISO time of the desk's timezone as a person reads it: `2026-12-04 09:17` (the JSON keeps it whole)."""
    return stamp[:16].replace("T", " ") if stamp else "-"


def cmd_due(args: argparse.Namespace, settings: Settings) -> int:
    rows = _surveys(args, settings).desk.due(args.limit)
    if args.json:
        for r in rows:
            print(json.dumps(r, ensure_ascii=False))
        return 0
    print(f"{'回访 id':<9}{'工单 ticket':<18}{'状态 status':<22}{'方式 way':<10}{'下次 next try':<16}时限 due by")
    for r in rows:
        print(f"{r['survey_id']:<9}{r['ticket_id']:<18}{r['status_zh'] + ' ' + r['status']:<22}{r['way']:<10}"
              f"{short_time(r['next_try_at']):<16}{short_time(r['due_by'])}")
    print(f"共 {len(rows)} 个 / {len(rows)} surveys")
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    done = _surveys(args, settings).engine.tick()
    if args.json:
        print(json.dumps({"actions": done}))
    else:
        print(f"本轮处理 {done} 项 / {done} actions this cycle")
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    return _act(args, settings, lambda s: s.desk.get(args.ref))


def cmd_record(args: argparse.Namespace, settings: Settings) -> int:
    answers: dict[str, str | int] = {"overall": args.score}
    if args.solved:
        answers["solved"] = args.solved
    for item in args.answer:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"错误 / error: --answer 应写成 问题=分数 / --answer needs QUESTION=N, got {item!r}",
                  file=sys.stderr)
            return 2
        answers[key.strip()] = value.strip()
    return _act(args, settings, lambda s: s.desk.record(args.ref, answers, args.by, args.note))


def cmd_cancel(args: argparse.Namespace, settings: Settings) -> int:
    return _act(args, settings, lambda s: s.desk.cancel(args.ref, args.by, args.reason))


def cmd_satisfaction(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.clock import SystemClock
    from hotline.runtime.assembly import open_database
    from hotline.services.reports.monthly import parse_month
    from hotline.services.surveys.config import survey_config
    from hotline.services.surveys.report import figures_dict, month_span, satisfaction

    try:
        first = parse_month(args.month) if args.month else \
            SystemClock(settings.tz).now().astimezone(settings.tz).date().replace(day=1)
    except ValueError as e:
        print(f"错误 / error: {e}", file=sys.stderr)
        return 2
    policy = survey_config(settings).policy
    db = open_database(args.db or settings.database_url)
    start, end = month_span(first, settings.tz)
    rows = satisfaction(db.factory, start, end, args.by or "all", policy.full_score, policy.limit)
    db.engine.dispose()
    if args.json:
        for f in rows:
            print(json.dumps({"month": f"{first:%Y-%m}", **figures_dict(f)}, ensure_ascii=False))
        return 0
    print(f"满意度 satisfaction {first:%Y-%m}（满分 full score {policy.full_score}）")

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{v * 100:.1f}%"

    columns = [Column("分组 group"), Column("满意度 satisfaction", True), Column("平均分 average", True),
               Column("样本 sample", True), Column("已解决 resolved", True), Column("应答率 response", True),
               Column("24h内 within 24h", True), Column("未联系上 unreachable", True)]
    print_table(columns, [[group_label(settings, args.by or "all", f.group), pct(f.satisfaction),
                           "-" if f.average is None else f"{f.average:.2f}", str(f.sample), str(f.resolved),
                           pct(f.response_rate), pct(f.within_24h_share), str(f.unreachable)] for f in rows])
    return 0


def group_label(settings: Settings, by: str, group: str) -> str:
    """A row's group as a person reads it: 合计 total, a specialty's name with its code, a staff member (the
    JSON keeps the codes)."""
    if by == "all":
        return "合计 total"
    if by == "specialty":
        return specialty_label(settings, group)
    return "未分派 / nobody" if group == "(none)" else group
