"""The CLI's command -> group table (a command imports only its group at start) says the truth: every
command listed is registered by the group named, and every group's commands are listed; the command
word is found past the global options."""

from __future__ import annotations

import importlib

import pytest

from hotline.cli import _GROUPS, COMMAND_GROUPS, HotlineParser, build_parser, command_of


def test_every_group_registers_exactly_the_commands_the_table_gives_it() -> None:
    for name in _GROUPS:
        parser = HotlineParser(prog="hotline")
        sub = parser.add_subparsers(dest="command")
        importlib.import_module(name).register(sub)
        assert set(sub.choices) == {c for c, g in COMMAND_GROUPS.items() if g == name}, name


@pytest.mark.parametrize(("argv", "command"), [
    (["report", "answer-rate", "--help"], "report"),
    (["--config", "x.toml", "-v", "roster", "show"], "roster"),
    (["--config=x.toml", "alerts", "list"], "alerts"),
    (["-v"], None),
    (["--", "report"], None),
])
def test_the_command_word_is_found_past_global_options(argv: list[str], command: str | None) -> None:
    assert command_of(argv) == command


def test_a_known_command_builds_its_group_only_and_an_unknown_one_every_group() -> None:
    one = build_parser(["report", "answer-rate"])
    every = build_parser(["no-such-command"])
    subs = [a.choices or {} for p in (one, every) for a in p._actions if a.dest == "command"]
    assert set(subs[0]) == {"replay", "report"}
    assert set(subs[1]) == set(COMMAND_GROUPS)
