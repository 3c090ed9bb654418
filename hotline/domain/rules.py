"""Monitor rules as loaded from `monitors/*.yaml`: which calls open an alert, the escalation chain
per service window, deadlines, acknowledgement timeout, breach action and per-specialty overrides.

Pure: the files are read elsewhere; this module turns plain parsed data (plus a map from key paths
to line numbers) into a `RuleBook`, collecting every mistake with its file, line and key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from hotline.domain.calls import Call, Outcome

TIERS = ("first_line", "second_line", "manager", "vendor")
WINDOWS = ("onsite", "remote", "holiday")
KINDS = ("no_answer", "incident", "silence")
_CHANNEL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
ALERT_OUTCOMES = (Outcome.ABANDONED, Outcome.TIMEOUT, Outcome.BUSY, Outcome.IVR_ABANDONED, Outcome.FAILED,
                  Outcome.DROPPED)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(h|m|min|s|sec)?\s*$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(h|m|s)")


def parse_duration(text: str | float) -> timedelta:
    """'15m', '90s', '1h', '1h30m', or a bare number of minutes; ValueError otherwise."""
    if isinstance(text, bool):
        raise ValueError(f"not a duration: {text!r}")
    if isinstance(text, (int, float)):
        if text < 0:
            raise ValueError(f"negative duration: {text!r}")
        return timedelta(minutes=text)
    s = str(text).strip().lower()
    m = _DURATION.match(s)
    if m:
        value, unit = float(m.group(1)), m.group(2) or "m"
        return {"h": timedelta(hours=value), "m": timedelta(minutes=value), "min": timedelta(minutes=value),
                "s": timedelta(seconds=value), "sec": timedelta(seconds=value)}[unit]
    parts = _DURATION_PART.findall(s)
    if parts and "".join(v + u for v, u in parts) == s:
        total = timedelta()
        for value, unit in parts:
            total += {"h": timedelta(hours=float(value)), "m": timedelta(minutes=float(value)),
                      "s": timedelta(seconds=float(value))}[unit]
        return total
    raise ValueError(f"not a duration: {text!r} (e.g. 90s, 5m, 1h, 1h30m)")


@dataclass(frozen=True)
class Step:
    """One escalation step: after `after` (from the alert's opening), page `tier` on `channels`
    (empty: each person's own channel preference), `repeat` more times `every` apart."""

    after: timedelta
    tier: str
    channels: tuple[str, ...] = ()
    repeat: int = 0
    every: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class Chain:
    """The escalation chain and deadline that apply to one alert."""

    deadline: timedelta
    steps: tuple[Step, ...]
    ack_timeout: timedelta = timedelta(minutes=10)
    breach_tiers: tuple[str, ...] = ("manager",)
    breach_channels: tuple[str, ...] = ()
    hole_tier: str = "manager"  # told when a step's tier has nobody on duty


@dataclass(frozen=True)
class Rule:
    """One monitor (no_answer, incident, silence): a chain per service window, per specialty."""

    kind: str
    chains: Mapping[str, Chain]  # window -> chain
    specialties: Mapping[str, Mapping[str, Chain]] = field(default_factory=dict)
    outcomes: frozenset[str] = frozenset()
    ivr_min_seconds: float = 5.0
    settings: Mapping[str, Any] = field(default_factory=dict)  # kind-specific values (silence thresholds)

    def chain(self, window: str, specialty: str | None = None) -> Chain:
        by_window = self.specialties.get(specialty or "", {})
        chain = by_window.get(window) or self.chains.get(window) or self.chains.get("onsite")
        if chain is None:
            raise KeyError(f"rule {self.kind} has no chain for window {window}")
        return chain

    def opens_alert(self, call: Call) -> bool:
        """A completed inbound call whose caller did not reach staff (and, for IVR hang-ups, stayed
        long enough to count)."""
        outcome = call.outcome
        if outcome is None or call.direction != "inbound" or str(outcome) not in self.outcomes:
            return False
        if outcome is Outcome.IVR_ABANDONED:
            end = call.ended_at or call.hangup_at
            if end is None or (end - call.started_at).total_seconds() <= self.ivr_min_seconds:
                return False
        return True


@dataclass(frozen=True)
class RuleBook:
    rules: Mapping[str, Rule]
    sources: tuple[str, ...] = ()

    def rule(self, kind: str) -> Rule:
        try:
            return self.rules[kind]
        except KeyError:
            raise KeyError(f"no {kind!r} rule in {', '.join(self.sources) or 'monitors/'}") from None

    @property
    def no_answer(self) -> Rule:
        return self.rule("no_answer")


@dataclass(frozen=True)
class RuleProblem:
    source: str
    line: int
    key: str
    problem: str

    def __str__(self) -> str:
        if self.line <= 0:  # about a folder or a set of files, not a line
            return f"{self.source}: {self.problem}"
        return f"{self.source}:{self.line}: {self.key}: {self.problem}"


class RuleError(Exception):
    def __init__(self, problems: list[RuleProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class RuleDocument:
    """One parsed rule file: its data and the line of each key path (('steps', 0, 'tier') -> 12)."""

    source: str
    data: Any
    lines: Mapping[tuple[str | int, ...], int] = field(default_factory=dict)


# Defaults of the desk's service regulations: 15 min on site, 30 min remote / holiday.
DEFAULT_DEADLINES = {"onsite": timedelta(minutes=15), "remote": timedelta(minutes=30),
                     "holiday": timedelta(minutes=30)}


class _Reader:
    """Walks one document, converting values and collecting problems with line numbers."""

    def __init__(self, doc: RuleDocument, problems: list[RuleProblem], channels: frozenset[str] | None) -> None:
        self.doc = doc
        self.problems = problems
        self.channels = channels  # the [paging.<name>] channels configured; None: not checked

    def line(self, path: tuple[str | int, ...]) -> int:
        while path:
            if path in self.doc.lines:
                return self.doc.lines[path]
            path = path[:-1]
        return self.doc.lines.get((), 1)

    def fail(self, path: tuple[str | int, ...], problem: str) -> None:
        key = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path).replace(".[", "[") or "-"
        self.problems.append(RuleProblem(self.doc.source, self.line(path), key, problem))

    def mapping(self, value: Any, path: tuple[str | int, ...], known: tuple[str, ...]) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.fail(path, f"应为映射 / must be a mapping with keys {', '.join(known)}")
            return None
        for key in value:
            if key not in known:
                self.fail((*path, str(key)), f"未知键 / unknown key (known: {', '.join(known)})")
        return value

    def duration(self, value: Any, path: tuple[str | int, ...], default: timedelta) -> timedelta:
        if value is None:
            return default
        try:
            return parse_duration(value)
        except ValueError as e:
            self.fail(path, f"时长无效 / {e}")
            return default

    def channel_names(self, value: Any, path: tuple[str | int, ...]) -> tuple[str, ...]:
        names = self.names(value, path, None, "渠道 channel")
        if self.channels is None:
            return names
        known = ", ".join(sorted(self.channels)) or "none: add [paging.<name>] sections"
        for i, name in enumerate(names):
            if name not in self.channels:
                self.fail((*path, i), f"未配置的渠道 / channel {name!r} has no [paging.{name}] section "
                                      f"(known: {known})")
        return names

    def names(self, value: Any, path: tuple[str | int, ...], allowed: tuple[str, ...] | None,
              what: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.fail(path, f"应为列表 / must be a list of {what}")
            return ()
        out: list[str] = []
        for i, v in enumerate(value):
            if allowed is None and (not isinstance(v, str) or not _CHANNEL_NAME.match(v)):
                self.fail((*path, i), f"无效{what} / invalid {what} name {v!r}")
            elif allowed is not None and (not isinstance(v, str) or v not in allowed):
                self.fail((*path, i), f"未知{what} / unknown {what} {v!r} (known: {', '.join(allowed)})")
            else:
                out.append(v)
        return tuple(out)


_STEP_KEYS = ("after", "tier", "channels", "repeat", "every")
_CHAIN_KEYS = ("deadline", "steps", "ack_timeout", "breach", "hole_tier")
_BREACH_KEYS = ("notify", "channels")
_RULE_KEYS = ("kind", "open_on", "ivr_abandoned_min_seconds", "deadline", "deadlines", "steps",
              "ack_timeout", "breach", "hole_tier", "windows", "specialties", "settings")


def _steps(r: _Reader, value: Any, path: tuple[str | int, ...]) -> tuple[Step, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        r.fail(path, "应为非空列表 / must be a non-empty list of steps")
        return None
    steps: list[tuple[int, Step]] = []
    for i, raw in enumerate(value):
        p = (*path, i)
        m = r.mapping(raw, p, _STEP_KEYS)
        if m is None:
            continue
        if "after" not in m:
            r.fail(p, "缺少 after / missing 'after' (e.g. 0m, 5m)")
        after = r.duration(m.get("after"), (*p, "after"), timedelta(0))
        if steps and after < steps[-1][1].after:
            r.fail((*p, "after"), "步骤须按时间先后排列 / steps must be in order of 'after'")
        tier = m.get("tier")
        if tier not in TIERS:
            r.fail((*p, "tier"), f"未知层级 / unknown tier {tier!r} (known: {', '.join(TIERS)})")
            tier = "first_line"
        repeat = m.get("repeat", 0)
        if not isinstance(repeat, int) or isinstance(repeat, bool) or repeat < 0:
            r.fail((*p, "repeat"), f"应为非负整数 / must be a whole number >= 0, got {repeat!r}")
            repeat = 0
        every = r.duration(m.get("every"), (*p, "every"), timedelta(minutes=5))
        if repeat and every <= timedelta(0):
            r.fail((*p, "every"), "重复间隔须大于0 / must be longer than 0 when repeat is set")
        steps.append((i, Step(after=after, tier=tier, channels=r.channel_names(m.get("channels"), (*p, "channels")),
                              repeat=repeat, every=every)))
    return tuple(step for _, step in steps)


def _chain(r: _Reader, raw: Mapping[str, Any], path: tuple[str | int, ...], base: Chain | None,
           window: str, deadline_path: tuple[str | int, ...] | None = None) -> Chain | None:
    """A chain from `raw`, with anything missing taken from `base`."""
    steps = _steps(r, raw.get("steps"), (*path, "steps"))
    if steps is None:
        if base is None:
            r.fail(path, "缺少 steps / missing 'steps' (the escalation chain)")
            return None
        steps = base.steps
    default_deadline = base.deadline if base else DEFAULT_DEADLINES.get(window, timedelta(minutes=15))
    deadline_path = deadline_path or (*path, "deadline")
    deadline = r.duration(raw.get("deadline"), deadline_path, default_deadline)
    if deadline <= timedelta(0):
        r.fail(deadline_path, "期限须大于0 / deadline must be longer than 0")
    ack_timeout = r.duration(raw.get("ack_timeout"), (*path, "ack_timeout"),
                             base.ack_timeout if base else timedelta(minutes=10))
    breach_tiers = base.breach_tiers if base else ("manager",)
    breach_channels = base.breach_channels if base else ()
    if "breach" in raw:
        b = r.mapping(raw["breach"], (*path, "breach"), _BREACH_KEYS)
        if b is not None:
            if "notify" in b:
                breach_tiers = r.names(b["notify"], (*path, "breach", "notify"), TIERS, "层级 tier")
            if "channels" in b:
                breach_channels = r.channel_names(b["channels"], (*path, "breach", "channels"))
    hole_tier = raw.get("hole_tier", base.hole_tier if base else "manager")
    if hole_tier not in TIERS:
        r.fail((*path, "hole_tier"), f"未知层级 / unknown tier {hole_tier!r} (known: {', '.join(TIERS)})")
        hole_tier = "manager"
    if steps and steps[-1].after >= deadline and window == "onsite":
        r.fail((*path, "steps"), f"最后一步在期限之后 / the last step ({steps[-1].after}) is not before the "
                                 f"deadline ({deadline}): nobody would be paged in time")
    return Chain(deadline=deadline, steps=steps, ack_timeout=ack_timeout, breach_tiers=breach_tiers,
                 breach_channels=breach_channels, hole_tier=hole_tier)


def _windows(r: _Reader, raw: Mapping[str, Any], path: tuple[str | int, ...],
             base: Mapping[str, Chain] | None) -> dict[str, Chain]:
    """The chain of every window: the top-level keys, then `deadlines:`, then `windows.<w>:`."""
    chains: dict[str, Chain] = {}
    deadlines = raw.get("deadlines") or {}
    if "deadlines" in raw:
        r.mapping(deadlines, (*path, "deadlines"), WINDOWS)
    windows = raw.get("windows") or {}
    if "windows" in raw:
        r.mapping(windows, (*path, "windows"), WINDOWS)
    for window in WINDOWS:
        inherited = base.get(window) if base else None
        top = {k: raw[k] for k in ("deadline", "steps", "ack_timeout", "breach", "hole_tier") if k in raw}
        deadline_path = None
        if isinstance(deadlines, dict) and window in deadlines:
            top["deadline"] = deadlines[window]
            deadline_path = (*path, "deadlines", window)
        chain = _chain(r, top, path, inherited, window, deadline_path) if (top or inherited is None) else inherited
        if chain is None:
            continue
        w = windows.get(window) if isinstance(windows, dict) else None
        if w is not None:
            wm = r.mapping(w, (*path, "windows", window), _CHAIN_KEYS)
            if wm is not None:
                chain = _chain(r, wm, (*path, "windows", window), chain, window) or chain
        chains[window] = chain
    return chains


def _rule(r: _Reader, data: Any) -> Rule | None:
    m = r.mapping(data, (), _RULE_KEYS)
    if m is None:
        return None
    kind = m.get("kind")
    if kind not in KINDS:
        r.fail(("kind",), f"未知监控类型 / unknown kind {kind!r} (known: {', '.join(KINDS)})")
        return None
    outcomes: frozenset[str] = frozenset()
    if kind == "no_answer":
        allowed = tuple(str(o) for o in ALERT_OUTCOMES)
        outcomes = frozenset(r.names(m.get("open_on", ["abandoned", "timeout", "busy"]), ("open_on",),
                                     allowed, "结果 outcome"))
    ivr_min = m.get("ivr_abandoned_min_seconds", 5)
    if not isinstance(ivr_min, (int, float)) or isinstance(ivr_min, bool) or ivr_min < 0:
        r.fail(("ivr_abandoned_min_seconds",), f"应为非负数 / must be a number of seconds >= 0, got {ivr_min!r}")
        ivr_min = 5
    chains = _windows(r, m, (), None)
    specialties: dict[str, dict[str, Chain]] = {}
    sp = m.get("specialties") or {}
    if not isinstance(sp, dict):
        r.fail(("specialties",), "应为映射 / must map specialty names to overrides")
        sp = {}
    for name, over in sp.items():
        om = r.mapping(over, ("specialties", str(name)), (*_CHAIN_KEYS, "deadlines", "windows"))
        if om is not None:
            specialties[str(name)] = _windows(r, om, ("specialties", str(name)), chains)
    settings = m.get("settings") or {}
    if not isinstance(settings, dict):
        r.fail(("settings",), "应为映射 / must be a mapping")
        settings = {}
    return Rule(kind=kind, chains=chains, specialties=specialties, outcomes=outcomes,
                ivr_min_seconds=float(ivr_min), settings=dict(settings))


SettingsCheck = Callable[[Rule, Callable[[tuple[str | int, ...], str], None]], None]


def parse_rulebook(docs: list[RuleDocument], specialties: frozenset[str] | None = None,
                   channels: frozenset[str] | None = None,
                   checks: Mapping[str, SettingsCheck] | None = None) -> tuple[RuleBook, list[RuleProblem]]:
    """All rule documents into one RuleBook, and every problem found (empty when all is well).

    `specialties` and `channels`, when given, are the names known from the configuration; `checks`
    validate a kind's `settings:` block.
    """
    problems: list[RuleProblem] = []
    rules: dict[str, Rule] = {}
    seen: dict[str, str] = {}
    for doc in docs:
        r = _Reader(doc, problems, channels)
        rule = _rule(r, doc.data)
        if rule is None:
            continue
        if rule.kind in seen:
            r.fail(("kind",), f"重复的监控 / {rule.kind} is already defined in {seen[rule.kind]}")
            continue
        if specialties is not None:
            for name in rule.specialties:
                if name not in specialties:
                    r.fail(("specialties", name),
                           f"未知专业 / unknown specialty (known: {', '.join(sorted(specialties))})")
        if checks and rule.kind in checks:
            checks[rule.kind](rule, r.fail)
        seen[rule.kind] = doc.source
        rules[rule.kind] = rule
    problems = list(dict.fromkeys(problems))  # a shared key is checked once per window
    if "no_answer" not in rules and not problems:
        problems.append(RuleProblem(", ".join(d.source for d in docs) or "monitors/", 1, "kind",
                                    "缺少未接来电规则 / no rule with kind: no_answer"))
    return RuleBook(rules=rules, sources=tuple(d.source for d in docs)), problems
