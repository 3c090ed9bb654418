"""The `hotline` command. Each command group lives in its own module and registers itself here."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from hotline.config import ConfigError, Settings, load_settings

# (module name, register function name): each register(subparsers) adds its commands and sets
# `func` on its parsers; func(args, settings) -> exit code.
_GROUPS = [
    "hotline.cli.ledger",
    "hotline.cli.roster",
    "hotline.cli.ivr",
    "hotline.cli.monitor",
    "hotline.cli.serve",
    "hotline.cli.users",
    "hotline.cli.privacy",
]

Command = Callable[[argparse.Namespace, Settings], int]

# Parent parser for every sub-command, so that `hotline replay X --config F` works too.
COMMON = argparse.ArgumentParser(add_help=False)
COMMON.add_argument("--config", default=argparse.SUPPRESS, help="config file (default config/hotline.toml)")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(prog="hotline", description="IT-support hotline watcher / 热线监控")
    parser.add_argument("--config", help="config file (default config/hotline.toml or $HOTLINE_CONFIG)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in _GROUPS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:
                continue  # group not built yet
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        settings = load_settings(getattr(args, "config", None) or None)
    except ConfigError as e:
        print(f"配置错误 / configuration error: {e}", file=sys.stderr)
        return 2
    func: Command = args.func
    try:
        return func(args, settings)
    except ConfigError as e:
        print(f"配置错误 / configuration error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
