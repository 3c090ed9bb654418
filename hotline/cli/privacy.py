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
    from hotline.domain.numbers import NumberError
    from hotline.runtime.assembly import open_database
    from hotline.services.privacy.service import PrivacyService, retention_of, twilio_recordings
    from hotline.services.tickets.config import ticket_config

    retention = retention_of(settings)
    db = open_database(args.db or settings.database_url)
    service = PrivacyService(db.factory, SystemClock(settings.tz), twilio_recordings(settings),
                             local_area_code=ticket_config(settings).local_area_code)
    actor = f"cli:{getpass.getuser()}"
    if args.action == "purge":
        counts = service.purge(retention, actor, dry_run=args.dry_run)
        print(json.dumps(counts, ensure_ascii=False))
        return 0
    if not args.number:
        print("需要 --number / give --number N", file=sys.stderr)
        return 2
    try:
        service.forms(args.number)  # before asking: a refusal, not a question about a text that is no number
    except NumberError as e:
        print(f"错误 / error: --number: {e}", file=sys.stderr)
        return 1
    if args.action == "export":
        print(json.dumps(service.export(args.number, actor), ensure_ascii=False, indent=2))
        return 0
    if not args.yes and not _confirmed(args.number):
        return 1
    counts = service.erase(args.number, actor)
    print(json.dumps(counts, ensure_ascii=False))
    return 0


def _confirmed(number: str) -> bool:
    """`yes` typed at the prompt; anything else, or no input at all (stdin closed: EOF), is a no."""
    try:
        answer = input(f"删除 {number} 的个人信息？输入 yes / erase the data of {number}? type yes: ")
    except EOFError:
        print("\n未删除：读不到确认，无终端时请用 --yes / nothing erased: no confirmation could be read; "
              "without a terminal, give --yes", file=sys.stderr)
        return False
    if answer.strip().lower() != "yes":
        print("未删除 / nothing erased", file=sys.stderr)
        return False
    return True
