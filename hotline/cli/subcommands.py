"""The sub-commands of the desk's command groups (`hotline tickets|complaints|surveys|kb ...`): each takes
`--json` and `--db`, and most a ticket (or survey) as first argument and the person who acts as `--by`."""

from __future__ import annotations

import argparse

from hotline.cli import COMMON, Command

TICKET_ID = ("ticket_id", "工单号 / ticket number, e.g. GD20261203-0007")
SURVEY_REF = ("ref", "回访号或工单号 / survey id or ticket number, e.g. GD20261203-0007")


def add_command(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_: str, func: Command, *,
                subject: tuple[str, str] | None = None, by: bool = False) -> argparse.ArgumentParser:
    """The sub-command `name` running `func(args, settings)`; `subject` is its first argument (dest, help),
    `by` a required `--by` (a roster name)."""
    p = sub.add_parser(name, parents=[COMMON], help=help_)
    if subject is not None:
        p.add_argument(subject[0], help=subject[1])
    if by:
        p.add_argument("--by", required=True, help="操作人 / who does it (a roster name)")
    p.add_argument("--json", action="store_true", help="输出 JSON / JSON output")
    p.add_argument("--db", help="数据库地址 / database URL (default from config)")
    p.set_defaults(func=func)
    return p
