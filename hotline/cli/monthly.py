"""`hotline report monthly | issue | issued`: the monthly quality report (质量月报) as JSON, HTML, XLSX or
PDF; issuing it (frozen, versioned) once every missed target has its cause and action."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hotline.cli.arguments import output_file, write_output
from hotline.config import Settings

FORMATS = ("json", "html", "xlsx", "pdf")


def register_monthly(rsub: argparse._SubParsersAction[argparse.ArgumentParser],
                     common: argparse.ArgumentParser) -> None:
    m = rsub.add_parser("monthly", parents=[common], help="质量月报 monthly quality report")
    m.add_argument("--month", required=True, help="月份 / the month, YYYY-MM (e.g. 2026-11)")
    m.add_argument("--format", choices=FORMATS, default="json", help="格式 / output format")
    m.add_argument("-o", "--output", type=output_file, default=None,
                   help="输出文件 / file to write (default: standard output; required for xlsx and pdf)")
    m.add_argument("--issued", action="store_true",
                   help="已发布（冻结）的报告 / the issued (frozen) report instead of today's figures")
    m.add_argument("--version", type=int, default=None, help="版本 / with --issued: this version (default: the latest)")
    m.add_argument("--db", help="数据库地址 / database URL (default from config)")
    m.set_defaults(func=cmd_monthly)

    i = rsub.add_parser("issue", parents=[common], help="发布质量月报 issue the monthly report (frozen, versioned)")
    i.add_argument("--month", required=True, help="月份 / the month, YYYY-MM")
    i.add_argument("--by", required=True, help="发布人 / who issues it (name)")
    i.add_argument("--analysis", type=Path, default=None,
                   help="YAML file: indicator key -> {cause: 原因分析, action: 改进措施}, for every missed target")
    i.add_argument("--db", help="数据库地址 / database URL (default from config)")
    i.set_defaults(func=cmd_issue)

    ls = rsub.add_parser("issued", parents=[common], help="已发布的质量月报 list issued monthly reports")
    ls.add_argument("--db", help="数据库地址 / database URL (default from config)")
    ls.set_defaults(func=cmd_issued)


def _fail(text: str) -> int:
    print(f"错误 / error: {text}", file=sys.stderr)
    return 2


def cmd_monthly(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.clock import SystemClock
    from hotline.runtime.assembly import open_database
    from hotline.services.reports.monthly import build_monthly, month_unfinished, parse_month
    from hotline.services.reports.monthly_files import render
    from hotline.services.reports.monthly_issue import issued_report

    try:
        first_day = parse_month(args.month)
    except ValueError as e:
        return _fail(str(e))
    if args.format in ("xlsx", "pdf") and args.output is None:
        return _fail(f"{args.format} 需要用 -o 指定输出文件 / --format {args.format} needs -o FILE")
    db = open_database(args.db or settings.database_url)
    doc: dict[str, Any] | None
    if args.issued:
        doc = issued_report(db.factory, first_day.strftime("%Y-%m"), args.version)
        if doc is None:
            return _fail(f"{first_day:%Y-%m} 的质量月报尚未发布 / the report of {first_day:%Y-%m} "
                         f"{'version ' + str(args.version) + ' ' if args.version else ''}was not issued")
    else:
        now = SystemClock(settings.tz).now()
        if unfinished := month_unfinished(first_day, now, settings.tz):
            print(f"注意 / note: {unfinished}", file=sys.stderr)
        doc = build_monthly(db.factory, settings, first_day, now)
    data = render(doc, args.format, settings.reports.answer_rate_target)
    if args.output is None:
        sys.stdout.write(data.decode("utf-8"))
    else:
        write_output(args.output, data)
        print(f"已写入 / written: {args.output}", file=sys.stderr)
    db.engine.dispose()
    return 0


def _analysis(path: Path | None) -> dict[str, dict[str, str]]:
    """The supervisor's cause and action per missed indicator; a ValueError naming the file (and the line)
    when it cannot be read, is not UTF-8, not YAML or not of that shape."""
    import yaml

    from hotline.domain.text_files import utf8_text

    if path is None:
        return {}
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ValueError(f"{path}: 找不到分析文件 / analysis file not found") from None
    except IsADirectoryError:
        raise ValueError(f"{path}: 是文件夹，不是分析文件 / is a folder, not an analysis file") from None
    except OSError as e:
        raise ValueError(f"{path}: 无法读取分析文件 / cannot read the analysis file: {e.strerror or e}") from None
    text = utf8_text(raw, str(path))
    try:
        data = yaml.safe_load(text) or {}
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise ValueError(f"{path}: 第 {line} 行不是有效的 YAML / not valid YAML at line {line}: "
                         f"{e.problem or e.context or e}") from None
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: 不是有效的 YAML / not valid YAML: {e}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ValueError(f"{path}: 每项应为 `指标键: {{cause: 原因分析, action: 改进措施}}` / expected "
                         f"`indicator.key: {{cause: ..., action: ...}}` entries")
    return {str(k): {str(a): str(b) for a, b in v.items()} for k, v in data.items()}


def cmd_issue(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.clock import SystemClock
    from hotline.runtime.assembly import open_database
    from hotline.services.reports.monthly import parse_month
    from hotline.services.reports.monthly_issue import MonthNotOver, issue_monthly

    try:
        first_day = parse_month(args.month)
        analysis = _analysis(args.analysis)
    except ValueError as e:
        return _fail(str(e))
    db = open_database(args.db or settings.database_url)
    try:
        doc = issue_monthly(db.factory, settings, first_day, SystemClock(settings.tz).now(), args.by, analysis)
    except MonthNotOver as e:
        print(f"错误 / error: {e}", file=sys.stderr)
        return 1  # the desk refuses: nothing was stored
    except ValueError as e:
        return _fail(str(e))
    finally:
        db.engine.dispose()
    issued = doc["issued"]
    print(f"已发布 {doc['month']} 质量月报 第 {issued['version']} 版 / issued the {doc['month']} report, "
          f"version {issued['version']}, by {issued['issued_by']}")
    return 0


def cmd_issued(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.runtime.assembly import open_database
    from hotline.services.reports.monthly_issue import issued_reports

    db = open_database(args.db or settings.database_url)
    rows = issued_reports(db.factory)
    db.engine.dispose()
    print(f"{'月份 month':<12}{'版本 version':>14}  {'发布时间 issued at':<28}发布人 by")
    for month, version, at, by in rows:
        print(f"{month:<12}{version:>14}  {at.astimezone(settings.tz).isoformat(timespec='minutes'):<28}{by}")
    return 0
