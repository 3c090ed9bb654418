"""Monitor rules: the shipped files load, and mistakes are reported with file, line and key."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from textwrap import dedent
from zoneinfo import ZoneInfo

import pytest

from hotline.config import Settings
from hotline.domain.calls import Call, Direction, Outcome
from hotline.domain.rules import RuleError, parse_duration
from hotline.services.monitor.config import paging_channel_names
from hotline.services.monitor.rule_files import lint, load_rules

ROOT = Path(__file__).resolve().parents[2]
MIN = timedelta(minutes=1)
TZ = ZoneInfo("Asia/Shanghai")


def write(tmp_path: Path, text: str, name: str = "no_answer.yaml") -> Path:
    (tmp_path / name).write_text(dedent(text), encoding="utf-8")
    return tmp_path


def test_shipped_rules_load_with_the_desk_regulation() -> None:
    book = load_rules(ROOT / "monitors", specialties=frozenset({"network", "servers", "applications"}))
    rule = book.no_answer
    onsite = rule.chain("onsite")
    assert onsite.deadline == 15 * MIN
    assert [(s.after, s.tier) for s in onsite.steps] == [
        (0 * MIN, "first_line"), (5 * MIN, "second_line"), (10 * MIN, "manager")]
    assert rule.chain("remote").deadline == 30 * MIN
    assert rule.chain("holiday").deadline == 30 * MIN
    assert rule.outcomes == {"abandoned", "timeout", "busy", "ivr_abandoned", "dropped"}
    assert book.rule("incident").chain("remote").deadline == 30 * MIN
    assert book.rule("silence").settings["ami_down_after"] == "2m"


def test_specialty_override_and_window_override(tmp_path: Path) -> None:
    book = load_rules(write(tmp_path, """\
        kind: no_answer
        steps:
          - {after: 0m, tier: first_line}
          - {after: 5m, tier: second_line}
        windows:
          remote: {deadline: 45m}
        specialties:
          servers:
            steps:
              - {after: 0m, tier: vendor, channels: [sms, voice]}
    """))
    rule = book.no_answer
    assert rule.chain("remote").deadline == 45 * MIN
    assert rule.chain("remote").steps == rule.chain("onsite").steps
    servers = rule.chain("onsite", "servers")
    assert servers.steps[0].tier == "vendor" and servers.steps[0].channels == ("sms", "voice")
    assert servers.deadline == 15 * MIN
    assert rule.chain("remote", "servers").deadline == 45 * MIN
    assert rule.chain("onsite", "network").steps[0].tier == "first_line"


def test_lint_names_file_line_and_key(tmp_path: Path) -> None:
    write(tmp_path, """\
        kind: no_answer
        open_on: [abandoned, hungup]
        deadlines:
          onsite: 15 minutes
        steps:
          - after: 0m
            tier: first_line
          - after: 5m
            tier: boss
          - after: 3m
            tier: manager
            channels: [pigeon]
            colour: red
        ack_timeout: 10m
        specialties:
          plumbing: {deadline: 20m}
    """)
    _, problems = lint(tmp_path, specialties=frozenset({"network"}), channels=frozenset({"sms", "voice"}))
    found = {(p.line, p.key) for p in problems}
    source = str(tmp_path / "no_answer.yaml")
    assert all(p.source == source for p in problems)
    assert (2, "open_on[1]") in found
    assert (4, "deadlines.onsite") in found
    assert (9, "steps[1].tier") in found
    assert (10, "steps[2].after") in found  # out of order
    assert (12, "steps[2].channels[0]") in found
    assert (13, "steps[2].colour") in found
    assert (16, "specialties.plumbing") in found
    text = "\n".join(str(p) for p in problems)
    assert "boss" in text and "pigeon" in text and "未知" in text


def test_yaml_syntax_error_has_its_line(tmp_path: Path) -> None:
    write(tmp_path, "kind: no_answer\nsteps:\n  - after: 0m\n    tier: [first_line\n")
    with pytest.raises(RuleError) as e:
        load_rules(tmp_path)
    assert e.value.problems[0].line >= 4 and "YAML" in e.value.problems[0].problem


def test_missing_no_answer_rule(tmp_path: Path) -> None:
    write(tmp_path, "kind: incident\nsteps: [{after: 0m, tier: manager}]\n", "incident.yaml")
    _, problems = lint(tmp_path)
    assert any("no_answer" in p.problem for p in problems)


def test_ivr_abandoned_opens_only_when_long_enough() -> None:
    rule = load_rules(ROOT / "monitors").no_answer
    t = datetime(2026, 11, 23, 13, 50, tzinfo=TZ)

    def ivr(seconds: float) -> Call:
        return Call("c", "asterisk", Direction.INBOUND, t, caller="1", ended_at=t + timedelta(seconds=seconds))

    assert ivr(2).outcome is Outcome.IVR_ABANDONED
    assert not rule.opens_alert(ivr(2))
    assert rule.opens_alert(ivr(30))
    answered = Call("c", "asterisk", Direction.INBOUND, t, answered_at=t, ended_at=t + MIN)
    assert not rule.opens_alert(answered)


@pytest.mark.parametrize(("text", "expected"), [
    ("15m", 15 * MIN), ("90s", timedelta(seconds=90)), ("1h", 60 * MIN), ("1h30m", 90 * MIN), (5, 5 * MIN),
    ("0", timedelta(0)),
])
def test_parse_duration(text: str | int, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "m", "-5m", "5 minutes", "1d"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_paging_settings_tables_are_not_channels_a_rule_may_name(settings: Settings, tmp_path: Path) -> None:
    paging = {"sms": {"kind": "twilio_sms"}, "retry": {"attempts": 3}, "call_until_reached": {"every": "2m"},
              "default_order": ["sms"]}
    configured = replace(settings, extra={**settings.extra, "paging": paging})
    assert paging_channel_names(configured) == frozenset({"sms"})
    write(tmp_path, """\
        kind: no_answer
        open_on: [abandoned]
        deadlines:
          onsite: 15m
        steps:
          - after: 0m
            tier: first_line
            channels: [sms, retry]
    """)
    _, problems = lint(tmp_path, channels=paging_channel_names(configured))
    assert [(p.line, p.key) for p in problems] == [(8, "steps[0].channels[1]")]


def test_the_shipped_rule_opens_an_alert_for_a_caller_the_pbx_dropped_before_staff_answered() -> None:
    """A PBX restart cuts a caller waiting in the queue: `dropped` (not an abandon), but never reached."""
    from hotline.domain.calls import CallEvent, EventKind, Party, apply, start

    book = load_rules(ROOT / "monitors", specialties=frozenset({"network", "servers", "applications"}))
    rule = book.rules["no_answer"]
    t0 = datetime(2026, 12, 3, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

    def call(*events: tuple[EventKind, float, dict[str, object]]) -> Call:
        c = start(CallEvent("d1", EventKind.STARTED, t0, direction=Direction.INBOUND, caller="13800138004"))
        for kind, s, kw in events:
            apply(c, CallEvent("d1", kind, t0 + timedelta(seconds=s), **kw))  # type: ignore[arg-type]
        return c

    waiting = call((EventKind.QUEUE, 5, {"queue": "network"}), (EventKind.HANGUP_REQUEST, 40, {"party": Party.PBX}),
                   (EventKind.ENDED, 40.1, {}))
    assert waiting.outcome is Outcome.DROPPED and rule.opens_alert(waiting)
    talking = call((EventKind.QUEUE, 5, {"queue": "network"}), (EventKind.ANSWERED, 9, {"answered_by": "agent1"}),
                   (EventKind.HANGUP_REQUEST, 40, {"party": Party.PBX}), (EventKind.ENDED, 40.1, {}))
    assert talking.outcome is Outcome.ANSWERED and not rule.opens_alert(talking)  # reached before the cut
