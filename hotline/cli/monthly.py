"""`hotline report monthly`: the monthly quality report (质量月报) as JSON, HTML, XLSX or PDF."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hotline.config import Settings

FORMATS = ("json", "html", "xlsx", "pdf")


def register_monthly(rsub: argparse._SubParsersAction[argparse.ArgumentParser],
                     common: argparse.ArgumentParser) -> None:
    m = rsub.add_parser("monthly", parents=[common], help="质量月报 monthly quality report")
    m.add_argument("--month", required=True, help="the month, YYYY-MM (e.g. 2026-11)")
    m.add_argument("--format", choices=FORMATS, default="json")
    m.add_argument("-o", "--output", type=Path, default=None,
                   help="file to write (default: standard output; required for xlsx and pdf)")
    m.add_argument("--db", help="database URL (default from config)")
    m.set_defaults(func=cmd_monthly)


def cmd_monthly(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.clock import SystemClock
    from hotline.runtime.assembly import open_database
    from hotline.services.reports.monthly import build_monthly, parse_month
    from hotline.services.reports.monthly_files import render

    try:
        first_day = parse_month(args.month)
    except ValueError as e:
        print(f"错误 / error: {e}", file=sys.stderr)
        return 2
    if args.format in ("xlsx", "pdf") and args.output is None:
        print(f"错误 / error: --format {args.format} needs -o FILE", file=sys.stderr)
        return 2
    db = open_database(args.db or settings.database_url)
    doc = build_monthly(db.factory, settings, first_day, SystemClock(settings.tz).now())
    data = render(doc, args.format, settings.reports.answer_rate_target)
    if args.output is None:
        sys.stdout.write(data.decode("utf-8"))
    else:
        args.output.write_bytes(data)
        print(f"已写入 / written: {args.output}", file=sys.stderr)
    db.engine.dispose()
    return 0
