"""Reads the monitor rule files (`monitors/*.yaml`) with the line of every key, for `RuleBook`
and for `hotline monitors lint`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from hotline.domain.rules import (
    WINDOWS,
    Rule,
    RuleBook,
    RuleDocument,
    RuleError,
    RuleProblem,
    parse_duration,
    parse_rulebook,
)
from hotline.domain.text_files import NotUtf8Error, utf8_text

Path_ = tuple[str | int, ...]


def _lines(node: yaml.Node, path: Path_, out: dict[Path_, int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else str(key.start_mark.line)
            out[(*path, name)] = key.start_mark.line + 1
            _lines(value, (*path, name), out)
            out[(*path, name)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*path, i), out)


def read_document(path: Path) -> tuple[RuleDocument | None, list[RuleProblem]]:
    """One file as a RuleDocument, or the YAML syntax error with its line."""
    source = str(path)
    try:
        text = utf8_text(path.read_bytes(), source)
    except NotUtf8Error as e:
        return None, [RuleProblem(source, e.line, "-", str(e))]
    except OSError as e:
        return None, [RuleProblem(source, 1, "-", f"无法读取 / cannot read: {e}")]
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()  # type: ignore[no-untyped-call]
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else 1
        return None, [RuleProblem(source, line, "-", f"YAML 语法错误 / YAML syntax error: {e.problem or e}")]
    except yaml.YAMLError as e:
        return None, [RuleProblem(source, 1, "-", f"YAML 错误 / YAML error: {e}")]
    lines: dict[Path_, int] = {}
    if node is not None:
        _lines(node, (), lines)
    return RuleDocument(source, data, lines), []


def _check_silence(rule: Rule, fail: Callable[[Path_, str], None]) -> None:
    for key in ("ami_down_after", "twilio_silent_after", "queue_empty_after"):
        if key in rule.settings:
            try:
                parse_duration(rule.settings[key])
            except ValueError as e:
                fail(("settings", key), f"时长无效 / {e}")
    windows = rule.settings.get("service_windows", list(WINDOWS))
    if not isinstance(windows, list) or any(w not in WINDOWS for w in windows):
        fail(("settings", "service_windows"), f"应为窗口列表 / must be a list of {', '.join(WINDOWS)}")
    for key in rule.settings:
        if key not in ("ami_down_after", "twilio_silent_after", "queue_empty_after", "service_windows"):
            fail(("settings", key), "未知键 / unknown key (known: ami_down_after, twilio_silent_after, "
                                    "queue_empty_after, service_windows)")


CHECKS = {"silence": _check_silence}


def lint(directory: Path, specialties: frozenset[str] | None = None,
         channels: frozenset[str] | None = None) -> tuple[RuleBook, list[RuleProblem]]:
    """Every `*.yaml` / `*.yml` in `directory` into a RuleBook, with every problem found."""
    if not directory.is_dir():
        return RuleBook({}), [RuleProblem(str(directory), 0, "-", "目录不存在 / rules folder not found")]
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    if not files:
        return RuleBook({}), [RuleProblem(str(directory), 0, "-", "目录中没有规则文件 / no rule files (*.yaml) "
                                          "in this folder; the shipped ones are in monitors/")]
    docs: list[RuleDocument] = []
    problems: list[RuleProblem] = []
    for path in files:
        doc, found = read_document(path)
        problems += found
        if doc is not None:
            docs.append(doc)
    book, found = parse_rulebook(docs, specialties, channels, CHECKS)
    return book, problems + found


def load_rules(directory: Path, specialties: frozenset[str] | None = None,
               channels: frozenset[str] | None = None) -> RuleBook:
    """The RuleBook of `directory`; RuleError listing every problem when any file is wrong."""
    book, problems = lint(directory, specialties, channels)
    if problems:
        raise RuleError(problems)
    return book


def silence_setting(rule: Rule, key: str, default: timedelta) -> timedelta:
    value: Any = rule.settings.get(key)
    return default if value is None else parse_duration(value)
