"""Asterisk rendering: the dialplan passes asterisklint, matches the expected file, and a small dialplan
walker follows it through calls (menu digits, retries, windows) checking the channel variables it sets."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hotline.ivr.dialplan import render_dialplan
from hotline.ivr.loader import load_script
from hotline.ivr.model import Script
from hotline.ivr.survey_script import QUESTION_NODES, asked_script
from tests.unit.test_ivr_lint import make_context

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = ROOT / "tests" / "fixtures" / "ivr" / "expected"
HEADER = "[general]\nstatic=yes\nwriteprotect=no\n\n[globals]\n\n"


def script(name: str = "default", asked: Sequence[str] = ("solved", "overall")) -> Script:
    """A shipped script as served; the survey asks `asked` (the shipped config: no sub-scores)."""
    loaded = load_script(ROOT / "ivr_scripts" / f"{name}.yaml")
    return asked_script(loaded, asked) if name == "survey" else loaded


def dialplan(name: str = "default", asked: Sequence[str] = ("solved", "overall")) -> str:
    return render_dialplan(script(name, asked), make_context(Path("/nonexistent"))).extensions_conf


@pytest.mark.parametrize("name", ["default", "survey", "survey with every sub-score"])
def test_dialplan_passes_asterisklint(name: str, tmp_path: Path) -> None:
    conf = tmp_path / "extensions.conf"
    asked = tuple(QUESTION_NODES) if "every" in name else ("solved", "overall")
    conf.write_text(HEADER + dialplan(name.split()[0], asked), encoding="utf-8")
    tool = Path(sys.executable).parent / "asterisklint"
    result = subprocess.run([str(tool), "dialplan-check", str(conf)], capture_output=True, text=True,
                            timeout=60, env={**os.environ, "ALINT_IGNORE": ""}, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == ""


def test_asterisklint_catches_a_broken_goto(tmp_path: Path) -> None:
    """The lint test above is not vacuous: asterisklint fails on a goto to a missing context."""
    conf = tmp_path / "extensions.conf"
    conf.write_text(HEADER + dialplan().replace("Goto(hotline-default-goodbye,s,1)",
                                                "Goto(hotline-default-goodby,s,1)"), encoding="utf-8")
    tool = Path(sys.executable).parent / "asterisklint"
    result = subprocess.run([str(tool), "dialplan-check", str(conf)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "E_DP_GOTO_NOCONTEXT" in result.stdout + result.stderr


@pytest.mark.parametrize("name", ["default", "survey"])
def test_rendering_matches_expected_files(name: str) -> None:
    rendering = render_dialplan(script(name), make_context(Path("/nonexistent")))
    assert rendering.extensions_conf == (EXPECTED / f"{name}.extensions.conf").read_text(encoding="utf-8")
    assert rendering.queues_conf == (EXPECTED / f"{name}.queues.conf").read_text(encoding="utf-8")


def test_sound_list_covers_every_played_file() -> None:
    rendering = render_dialplan(script(), make_context(Path("/nonexistent")))
    played = {f for m in re.finditer(r"(?:Background|Playback)\(([^)]*)\)", rendering.extensions_conf)
              for f in m.group(1).split("&")}
    played |= {f for m in re.finditer(r"periodic-announce=(.*)", rendering.queues_conf) for f in m.group(1).split(",")}
    listed = {f"hotline/{s.name}" for s in rendering.sounds}
    parts = {f"hotline/{p}" for s in rendering.sounds for p in s.joins}  # what a joined file is made of
    assert played | parts == listed and parts <= listed
    assert "periodic-announce=hotline/default-network_queue-again-zh-en" in rendering.queues_conf
    assert {s.language for s in rendering.sounds} == {"zh", "en", "zh+en"}
    assert all(s.text for s in rendering.sounds)


# --- a small dialplan walker -------------------------------------------------------------------------------

Line = tuple[str, str, str]  # (label, application, data)


def parse(conf: str) -> dict[str, dict[str, list[Line]]]:
    contexts: dict[str, dict[str, list[Line]]] = {}
    context = exten = ""
    for raw in conf.splitlines():
        line = "" if raw.startswith(";") else raw.rstrip()
        if m := re.match(r"^\[(.+)\]$", line):
            context = m.group(1)
            contexts[context] = {}
        elif m := re.match(r"^exten => ([^,]+),1(\(\w+\))?,(\w+)\((.*)\)$", line):
            exten = m.group(1)
            contexts[context][exten] = [((m.group(2) or "").strip("()"), m.group(3), m.group(4))]
        elif m := re.match(r"^ same => n(\(\w+\))?,(\w+)\((.*)\)$", line):
            contexts[context][exten].append(((m.group(1) or "").strip("()"), m.group(2), m.group(3)))
    return contexts


@dataclass
class Channel:
    """What a caller's channel went through: variables set, sounds heard, where it ended."""

    digits: list[str]
    variables: dict[str, str] = field(default_factory=dict)
    db: dict[str, str] = field(default_factory=dict)
    onsite_time: bool = True
    dial_status: str = "NOANSWER"
    heard: list[str] = field(default_factory=list)
    set_order: list[tuple[str, str]] = field(default_factory=list)
    ended: str = ""
    voicemail: str = ""


def substitute(text: str, ch: Channel) -> str:
    """Expand ${VAR}, ${DB(key)}, ${EPOCH}, ${STRFTIME(...)} innermost first."""
    pattern = re.compile(r"\$\{([^${}]*)\}")
    while m := pattern.search(text):
        inner = m.group(1)
        if inner.startswith("DB("):
            value = ch.db.get(inner[3:-1], "")
        elif inner.startswith("STRFTIME("):
            value = "20261001"
        elif inner == "EPOCH":
            value = "1790000000"
        else:
            value = ch.variables.get(inner, "")
        text = text[: m.start()] + value + text[m.end():]
    return text


def expression(text: str) -> str:
    """Evaluate the $[...] forms our dialplan uses: "a" = "b", a > n, a + n."""
    while m := re.search(r"\$\[([^\[\]]*)\]", text):
        expr = m.group(1).strip()
        if mm := re.fullmatch(r'"(.*)" (=|!=) "(.*)"', expr):
            value = str(int((mm.group(1) == mm.group(3)) == (mm.group(2) == "=")))
        elif mm := re.fullmatch(r"(-?\d*) ([>+]) (\d+)", expr):
            left, right = int(mm.group(1) or 0), int(mm.group(3))
            value = str(int(left > right)) if mm.group(2) == ">" else str(left + right)
        else:
            raise AssertionError(f"unsupported expression {expr!r}")
        text = text[: m.start()] + value + text[m.end():]
    return text


def run(conf: str, start: str, ch: Channel, max_steps: int = 500) -> Channel:
    contexts = parse(conf)
    stack: list[tuple[str, str, int]] = []
    context, exten, pc = start, "s", 0

    def jump(target: str) -> tuple[str, str, int]:
        parts = target.split(",")
        if len(parts) == 3:
            return parts[0], parts[1], 0
        if len(parts) == 2:
            return context, parts[0], _label(contexts[context][parts[0]], parts[1])
        return context, exten, _label(contexts[context][exten], parts[0])

    for _ in range(max_steps):
        _, app, raw = contexts[context][exten][pc]
        pc += 1
        if app == "GotoIfTime":
            cond, _, target = raw.partition("?")
            if ch.onsite_time and ("mon-sat" in cond or "*,*,*" in cond):
                context, exten, pc = jump(target)
            continue
        data = expression(substitute(raw, ch))
        if app == "Set":
            name, _, value = data.partition("=")
            ch.variables[name] = value
            ch.set_order.append((name, value))
        elif app in ("Background", "Playback"):
            ch.heard += data.split("&")
        elif app == "WaitExten":
            digit = ch.digits.pop(0) if ch.digits else "t"
            exten = digit if digit in contexts[context] else "i"
            pc = 0
        elif app in ("Goto", "GotoIf", "GosubIf"):
            if app != "Goto":
                cond, _, data = data.partition("?")
                if cond.strip() in ("", "0"):
                    continue
            if app == "GosubIf":
                stack.append((context, exten, pc))
            context, exten, pc = jump(data)
        elif app == "Return":
            context, exten, pc = stack.pop()
        elif app == "Dial":
            ch.ended = f"Dial({data})"
            ch.variables["DIALSTATUS"] = ch.dial_status
            if ch.dial_status == "ANSWER":
                return ch
        elif app == "Queue":
            ch.ended = f"Queue({data})"
            return ch
        elif app == "VoiceMail":
            ch.voicemail = data
        elif app == "Hangup":
            ch.ended = "Hangup"
            return ch
        elif app in ("NoOp", "Answer"):
            pass
        else:
            raise AssertionError(f"walker does not know {app}")
    raise AssertionError("dialplan did not end")


def _label(lines: list[Line], label: str) -> int:
    if label.isdigit():
        return int(label) - 1
    return next(i for i, (lab, _, _) in enumerate(lines) if lab == label)


@pytest.mark.parametrize(("digit", "specialty", "queue"), [
    ("1", "network", "network"), ("2", "servers", "servers"), ("3", "applications", "apps"),
])
def test_menu_digit_sets_specialty_then_queues(digit: str, specialty: str, queue: str) -> None:
    ch = run(dialplan(), "hotline-default", Channel(digits=[digit], variables={"HOTLINE_WINDOW": "onsite"}))
    assert ch.ended == f"Queue({queue},,,,600)"
    assert ch.variables["HOTLINE_SPECIALTY"] == specialty
    assert ch.variables["HOTLINE_QUEUE"] == queue
    # The specialty is set on the caller channel as soon as the digit is pressed, before the wait message.
    assert ch.set_order.index(("HOTLINE_SPECIALTY", specialty)) < ch.set_order.index(("HOTLINE_QUEUE", queue))
    assert ch.heard[:2] == ["hotline/default-greeting", "hotline/default-greeting-en"]
    assert ch.heard[-2] == f"hotline/default-{specialty}_queue"


def test_wrong_digit_then_retry() -> None:
    ch = run(dialplan(), "hotline-default", Channel(digits=["7", "2"], variables={"HOTLINE_WINDOW": "onsite"}))
    assert "hotline/default-main_menu-invalid" in ch.heard
    assert ch.heard.count("hotline/default-main_menu") == 2
    assert ch.ended == "Queue(servers,,,,600)"


def test_out_of_scope_then_back_to_the_menu() -> None:
    ch = run(dialplan(), "hotline-default", Channel(digits=["0", "1"], variables={"HOTLINE_WINDOW": "onsite"}))
    assert "hotline/default-out_of_scope" in ch.heard
    assert ch.ended == "Queue(network,,,,600)"


def test_silence_ends_with_the_first_line_on_duty() -> None:
    ch = run(dialplan(), "hotline-default", Channel(digits=[], variables={"HOTLINE_WINDOW": "onsite"},
                                                    db={"hotline/onduty/first_line": "PJSIP/8001"},
                                                    dial_status="ANSWER"))
    assert ch.heard.count("hotline/default-main_menu-timeout") == 3
    assert ch.ended == "Dial(PJSIP/8001,30)"
    assert "HOTLINE_SPECIALTY" not in ch.variables


def test_nobody_on_duty_after_the_queue_means_a_callback() -> None:
    conf = dialplan()
    # The queue gave up (timeout): the walker continues after Queue() by entering the escalation directly.
    ch = run(conf, "hotline-default-second_line_duty", Channel(digits=[]))
    assert ch.variables["HOTLINE_CALLBACK"] == "requested"
    assert ch.heard[-2:] == ["hotline/default-goodbye", "hotline/default-goodbye-en"]
    assert ch.ended == "Hangup"


@pytest.mark.parametrize(("db", "onsite_time", "window", "first_sound"), [
    ({}, True, "onsite", "hotline/default-greeting"),
    ({}, False, "remote", "hotline/default-after_hours"),
    ({"hotline/calendar/20261001": "holiday"}, True, "holiday", "hotline/default-holiday"),
    ({"hotline/calendar/20261001": "workday"}, True, "onsite", "hotline/default-greeting"),
])
def test_window_subroutine(db: dict[str, str], onsite_time: bool, window: str, first_sound: str) -> None:
    ch = run(dialplan(), "hotline-default", Channel(digits=["1"], db={**db, "hotline/onduty/first_line": "PJSIP/8001"},
                                                    onsite_time=onsite_time, dial_status="ANSWER"))
    assert ch.variables["HOTLINE_WINDOW"] == window
    assert ch.heard[0] == first_sound
    assert ch.variables["HOTLINE_SPECIALTY"] == "network"


def test_remote_call_reaches_the_on_duty_phone_with_specialty_set() -> None:
    ch = run(dialplan(), "hotline-default", Channel(digits=["2"], variables={"HOTLINE_WINDOW": "remote"},
                                                    db={"hotline/onduty/first_line": "Local/13800138011@pstn/n"},
                                                    dial_status="ANSWER"))
    assert ch.ended == "Dial(Local/13800138011@pstn/n,40)"
    assert ch.variables["HOTLINE_SPECIALTY"] == "servers"


def test_holiday_with_nobody_on_duty_takes_a_voicemail() -> None:
    ch = run(dialplan(), "hotline-default", Channel(digits=["3"], variables={"HOTLINE_WINDOW": "holiday"}))
    assert ch.voicemail == "hotline@default,s"
    assert ch.variables["HOTLINE_SPECIALTY"] == "applications"
    assert ch.ended == "Hangup" and ch.heard[-2] == "hotline/default-goodbye"


def test_survey_digits_set_solved_and_the_score() -> None:
    ch = run(dialplan("survey"), "hotline-survey", Channel(digits=["1", "5"]))
    assert ch.variables["HOTLINE_SURVEY_SOLVED"] == "1" and ch.variables["HOTLINE_SURVEY_SCORE"] == "5"
    assert ch.heard[-2] == "hotline/survey-thanks"
    unsolved = run(dialplan("survey"), "hotline-survey", Channel(digits=["2", "1"]))
    assert unsolved.variables["HOTLINE_SURVEY_SOLVED"] == "2" and unsolved.variables["HOTLINE_SURVEY_SCORE"] == "1"
    silent = run(dialplan("survey"), "hotline-survey", Channel(digits=[]))
    assert "HOTLINE_SURVEY_SOLVED" not in silent.variables and silent.heard[-2] == "hotline/survey-no_score"


def test_survey_sub_scores_enabled_are_asked_after_the_score() -> None:
    plan = dialplan("survey", ("solved", "overall", "attitude", "skill"))
    assert "[hotline-survey-response]" not in plan and "[hotline-survey-attitude]" in plan
    ch = run(plan, "hotline-survey", Channel(digits=["1", "5", "4", "3"]))
    assert (ch.variables["HOTLINE_SURVEY_ATTITUDE"], ch.variables["HOTLINE_SURVEY_SKILL"]) == ("4", "3")
    assert ch.heard[-2] == "hotline/survey-thanks"
    hung_up = run(plan, "hotline-survey", Channel(digits=["1", "5"]))  # no key for the sub-scores: still thanked
    assert "HOTLINE_SURVEY_ATTITUDE" not in hung_up.variables and hung_up.heard[-2] == "hotline/survey-thanks"
