"""The `hotline` command. Each command group lives in its own module and registers itself here."""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from hotline.cli import failures
from hotline.cli.log_format import DeskTimeFormatter
from hotline.config import ConfigError, Settings, load_settings

# (module name, register function name): each register(subparsers) adds its commands and sets
# `func` on its parsers; func(args, settings) -> exit code.
_GROUPS = [
    "hotline.cli.ledger",
    "hotline.cli.roster",
    "hotline.cli.ivr",
    "hotline.cli.monitor",
    "hotline.cli.serve",
    "hotline.cli.tickets",
    "hotline.cli.complaints",
    "hotline.cli.surveys",
    "hotline.cli.kb",
    "hotline.cli.users",
    "hotline.cli.privacy",
]
# The command each group registers, so that `hotline report ...` imports its own group only (the start-up
# of a command is then its group's imports, not every group's). A command not listed here, or not found
# in the group named, makes every group register (the same parser as without this table).
COMMAND_GROUPS = {
    "replay": "hotline.cli.ledger", "report": "hotline.cli.ledger", "roster": "hotline.cli.roster",
    "ivr": "hotline.cli.ivr", "monitors": "hotline.cli.monitor", "incident": "hotline.cli.monitor",
    "alerts": "hotline.cli.monitor", "listen": "hotline.cli.serve", "serve": "hotline.cli.serve",
    "demo": "hotline.cli.serve", "tickets": "hotline.cli.tickets", "complaints": "hotline.cli.complaints",
    "surveys": "hotline.cli.surveys", "kb": "hotline.cli.kb",
    "users": "hotline.cli.users", "privacy": "hotline.cli.privacy",
}
_GLOBAL_WITH_VALUE = ("--config",)

Command = Callable[[argparse.Namespace, Settings], int]

# Parent parser for every sub-command, so that `hotline replay X --config F` works too.
COMMON = argparse.ArgumentParser(add_help=False)
COMMON.add_argument("--config", default=argparse.SUPPRESS,
                    help="配置文件 / config file (default config/hotline.toml or $HOTLINE_CONFIG)")


class HotlineParser(argparse.ArgumentParser):
    """argparse with Chinese-first help for -h and a Chinese-first prefix on usage errors; sub-commands
    inherit it (argparse builds sub-parsers with the parent's class)."""

    def __init__(self, **kwargs: Any) -> None:
        add_help = kwargs.pop("add_help", True)
        super().__init__(add_help=False, **kwargs)
        if add_help:
            self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS,
                              help="显示帮助 / show this help and exit")

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: 用法错误 / usage error: {message}\n")


def command_of(argv: Sequence[str]) -> str | None:
    """The command word of a command line (the first word that is not a global option or its value)."""
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word in _GLOBAL_WITH_VALUE:
            skip = True
        elif word == "--":
            return None
        elif not word.startswith("-"):
            return word
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser: every group's commands, or (given the command line) only its command's group."""
    import importlib

    parser = HotlineParser(prog="hotline", description="热线监控 / IT-support hotline watcher")
    parser.add_argument("--config", help="配置文件 / config file (default config/hotline.toml or $HOTLINE_CONFIG)")
    parser.add_argument("-v", "--verbose", action="store_true", help="详细日志 / debug logging")
    sub = parser.add_subparsers(dest="command", required=True, title="命令 / commands", metavar="COMMAND")
    command = None if argv is None else command_of(argv)
    group = COMMAND_GROUPS.get(command or "")
    done: set[str] = set()
    if group is not None:
        _register(importlib, group, sub)
        done.add(group)
    if group is None or command not in sub.choices:
        for name in _GROUPS:
            if name not in done:
                _register(importlib, name, sub)
    _describe(parser)
    return parser


def _register(importlib: Any, name: str, sub: Any) -> None:
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name == name:
            return  # group not built yet
        raise
    module.register(sub)


def _describe(parser: argparse.ArgumentParser) -> None:
    """Each sub-command's own --help page opens with the line it has in its parent's list."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, child in action.choices.items():
                child.description = child.description or helps.get(name)
                _describe(child)


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(words)
    args = parser.parse_args(words)
    handler = logging.StreamHandler(sys.stderr)
    formatter = DeskTimeFormatter()
    handler.setFormatter(formatter)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, handlers=[handler])
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if not args.verbose:  # "Added job ...", "Running job ..." every tick otherwise
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        logging.getLogger("weasyprint").setLevel(logging.WARNING)  # "Step 1 - Fetching and parsing HTML" ...
        logging.getLogger("fontTools").setLevel(logging.WARNING)
    try:
        settings = load_settings(getattr(args, "config", None) or None)
    except ConfigError as e:
        print(f"配置错误 / configuration error: {e}", file=sys.stderr)
        return failures.EXIT_USAGE
    formatter.tz = settings.tz  # log times in the desk's timezone, like everything else it shows
    from hotline.cli import audit_trail

    key = audit_trail.command_key(parser, words, args)  # 'tickets list', 'roster request override' ...
    missing = _missing_database(key, args, settings)
    if missing:
        print(f"错误 / error: {missing}", file=sys.stderr)
        return failures.EXIT_DATABASE
    try:
        code = _run(args, settings)
        if code == 0:
            _audit(key, words, args, settings)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:  # `hotline alerts list | head -2`: the reader has gone, as with any Unix tool
        _drop_stdout()
        return 128 + 13  # as if killed by SIGPIPE


# Commands classified as reads that still make or fill their database: replay --db, the long-running services.
_CREATES_DATABASE = frozenset({"replay", "listen", "serve", "demo"})


def _missing_database(key: str, args: argparse.Namespace, settings: Settings) -> str | None:
    """A command that only reads, pointed at a SQLite file that does not exist: say so (exit 4) instead of
    creating an empty database there."""
    from hotline.cli import audit_trail

    if not hasattr(args, "db") or audit_trail.classify(key) != audit_trail.READ or key in _CREATES_DATABASE:
        return None
    return failures.missing_database_file(args.db or settings.database_url)


def _audit(key: str, words: list[str], args: argparse.Namespace, settings: Settings) -> None:
    """The audit entry of a successful state-changing command (hotline/cli/audit_trail.py classifies them;
    a failing command changed nothing and writes nothing)."""
    from hotline.cli import audit_trail

    if audit_trail.classify(key) == audit_trail.CHANGE:
        url = getattr(args, "db", None) or settings.database_url
        audit_trail.record_run(url, settings.tz, key, words, args)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the command; expected failures become one line on stderr and an exit status."""
    from sqlalchemy.exc import ArgumentError, DBAPIError

    from hotline.cli.arguments import ArgumentProblem, OutputFileError
    from hotline.runtime.api_socket import PortUnavailable

    func: Command = args.func
    url = getattr(args, "db", None) or settings.database_url
    try:
        return func(args, settings)
    except ConfigError as e:
        print(f"配置错误 / configuration error: {e}", file=sys.stderr)
        return failures.EXIT_USAGE
    except (PortUnavailable, OutputFileError, ArgumentProblem) as e:
        print(f"错误 / error: {e}", file=sys.stderr)
        return failures.EXIT_USAGE
    except ArgumentError as e:
        print(f"错误 / error: {failures.database_url_problem(url, e)}", file=sys.stderr)
        return failures.EXIT_USAGE
    except DBAPIError as e:
        print(f"错误 / error: {failures.database_unreachable(url, e)}", file=sys.stderr)
        return failures.EXIT_DATABASE
    except ModuleNotFoundError as e:
        if (e.name or "").startswith("hotline"):
            raise  # our own code: a bug, keep the traceback
        print(f"错误 / error: {failures.database_unreachable(url, e)}", file=sys.stderr)
        return failures.EXIT_DATABASE
    except KeyboardInterrupt:
        return 130


def _drop_stdout() -> None:
    """Point stdout at /dev/null so that Python's final flush does not report the broken pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass  # not a real file (tests capturing output)


if __name__ == "__main__":
    sys.exit(main())
