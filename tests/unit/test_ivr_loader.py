"""Loader: YAML to the script model, with lines; structural mistakes reported with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.ivr.loader import load_script, parse_script
from hotline.ivr.model import Dial, Hangup, Menu, Queue, Say, ScriptError, Window, targets

ROOT = Path(__file__).resolve().parents[2]


def parse(text: str) -> tuple[object, list[tuple[int, str]]]:
    script, issues = parse_script(text, Path("t.yaml"))
    return script, [(i.line, i.code) for i in issues]


def test_default_script_model() -> None:
    s = load_script(ROOT / "ivr_scripts" / "default.yaml")
    assert s.name == "default" and s.start == "entry" and s.languages == ("zh", "en")
    entry = s.node("entry")
    assert isinstance(entry, Window)
    assert dict(entry.branches) == {"onsite": "greeting", "remote": "after_hours", "holiday": "holiday"}
    greeting = s.node("greeting")
    assert isinstance(greeting, Say)
    assert greeting.prompt.texts["zh"] == "您好,{company_name},请问有什么可以帮助您?"
    menu = s.node("main_menu")
    assert isinstance(menu, Menu)
    assert [(o.digit, o.next, dict(o.set)) for o in menu.options][:3] == [
        ("1", "network_queue", {"specialty": "network"}),
        ("2", "servers_queue", {"specialty": "servers"}),
        ("3", "applications_queue", {"specialty": "applications"}),
    ]
    assert menu.timeout == 6 and menu.retries == 2
    assert menu.on_invalid is not None and menu.on_invalid.next == "first_line_duty"
    queue = s.node("servers_queue")
    assert isinstance(queue, Queue)
    assert (queue.max_wait, queue.again_after, queue.next) == (600, 60, "second_line_duty")
    assert queue.again_prompt is not None and queue.again_prompt.texts["zh"] == "对不起,请您再稍等片刻。"
    dial = s.node("second_line_duty")
    assert isinstance(dial, Dial) and dial.tier == "second_line"


def test_lines_are_those_of_the_keys() -> None:
    text = "start: a\nnodes:\n  a:\n    type: say\n    prompt:\n      zh: 你好\n    next: b\n  b:\n    type: hangup\n"
    script, issues = parse_script(text, Path("t.yaml"))
    assert issues == [] and script is not None
    a = script.node("a")
    assert isinstance(a, Say)
    assert (a.line, a.prompt.line, a.at("next")) == (3, 5, 7)
    assert targets(a) == [("b", 7)]


@pytest.mark.parametrize(("text", "expected"), [
    ("start: a\nnodes:\n  a:\n    type: hangup\n  a:\n    type: hangup\n", [(5, "duplicate-node")]),
    ("start: a\nnodes:\n  a:\n    type: hangupp\n", [(3, "node-type")]),
    ("start: a\nnodes:\n  a:\n    type: hangup\n    promt: 再见\n", [(5, "unknown-key")]),
    ("start: a\nnodes:\n  A-1:\n    type: hangup\n", [(3, "node-id")]),
    ("start: a\nnodes:\n  a:\n    type: say\n    prompt: 你好\n", [(3, "missing")]),
    ("start: a\nnodes: [\n", [(3, "yaml")]),
    ("nodes:\n  a:\n    type: hangup\n", [(1, "missing")]),
    ("start: a\nlanguages: [zh, fr]\nnodes:\n  a:\n    type: hangup\n", [(2, "language")]),
    ("start: a\nnodes:\n  a:\n    type: menu\n    prompt: 按键\n    options:\n      x: a\n"
     "    on_invalid: {next: a}\n    on_timeout: {next: a}\n", [(7, "digit")]),
    ("start: a\nnodes:\n  a:\n    type: set\n    set: {specialty: 'net work'}\n    next: a\n", [(5, "variable")]),
    ("start: a\nnodes:\n  a:\n    type: dial\n    tier: first_line\n    timeout: soon\n", [(6, "type")]),
    ("start: a\nnodes:\n  a:\n    type: hangup\n    prompt:\n      zh: 再见\n      de: Tschüss\n",
     [(7, "unknown-key")]),
])
def test_structural_mistakes(text: str, expected: list[tuple[int, str]]) -> None:
    assert parse(text)[1] == expected


def test_prompt_shorthand_and_recordings() -> None:
    text = ("start: a\nnodes:\n  a:\n    type: hangup\n    prompt:\n      zh: 再见\n      en: Bye\n"
            "      play: bye-zh\n      play_en: bye-en\n")
    script, issues = parse_script(text, Path("t.yaml"))
    assert issues == [] and script is not None
    node = script.node("a")
    assert isinstance(node, Hangup) and node.prompt is not None
    assert dict(node.prompt.recordings) == {"zh": "bye-zh", "en": "bye-en"}


def test_load_script_raises_with_all_issues(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("start: a\nnodes:\n  a:\n    type: nope\n  b:\n    type: nope\n", encoding="utf-8")
    with pytest.raises(ScriptError) as e:
        load_script(path)
    assert [(i.file, i.line) for i in e.value.issues] == [(str(path), 3), (str(path), 5)]
    assert f"{path}:3: [a] error node-type" in str(e.value)
