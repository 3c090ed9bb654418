"""`hotline privacy export|erase --number N` and `hotline privacy purge [--dry-run]` (retention, e.g. from
cron; `serve` runs it daily when a retention is configured)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from hotline.cli import COMMON
from hotline.config import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("privacy", parents=[COMMON], help="个人信息 / a person's data; retention")
    p.add_argument("action", choices=["export", "erase", "purge"], help="操作 / export, erase or purge")
    p.add_argument("--number", help="来电号码 / export/erase: the caller's phone number (any written form)")
    p.add_argument("--yes", action="store_true", help="不再确认直接删除 / erase without asking")
    p.add_argument("--dry-run", action="store_true",
                   help="purge: 只统计不删除 / only count what would be deleted or anonymised")
    p.add_argument("--db", help="数据库地址 / database URL (default from config)")
    p.set_defaults(func=cmd_privacy)


def cmd_privacy(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.clock import SystemClock  # the services load when the command runs, not for `--help`
    from hotline.runtime.assembly import open_database
    from hotline.services.privacy.service import PrivacyService, retention_of, twilio_recordings

    retention = retention_of(settings)
    db = open_database(args.db or settings.database_url)
    service = PrivacyService(db.factory, SystemClock(settings.tz), twilio_recordings(settings))
    actor = f"cli:{getpass.getuser()}"
    if args.action == "purge":
        counts = service.purge(retention, actor, dry_run=args.dry_run)
        print(json.dumps(counts, ensure_ascii=False))
        return 0
    if not args.number:
        print("需要 --number / give --number N", file=sys.stderr)
        return 2
    try:
        if args.action == "export":
            print(json.dumps(service.export(args.number, actor), ensure_ascii=False, indent=2))
            return 0
        if not args.yes:
            answer = input(f"删除 {args.number} 的个人信息？输入 yes / erase the data of {args.number}? type yes: ")
            if answer.strip().lower() != "yes":
                print("未删除 / nothing erased", file=sys.stderr)
                return 1
        counts = service.erase(args.number, actor)
    except ValueError as e:
        print(f"错误 / error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(counts, ensure_ascii=False))
    return 0
