"""The IVR script model: nodes with ids, prompts in one or more languages, and where each node leads.

A script is loaded from YAML (`loader.py`), checked (`lint.py`) and rendered for Twilio (`twiml.py`) or
Asterisk (`dialplan.py`). Every element keeps the line it came from, so problems name file and line.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_LANGUAGE = "zh"
LANGUAGES = ("zh", "en")
WINDOW_KINDS = ("onsite", "remote", "holiday")
# 15-minute rule: nobody waits longer than this for staff without an escalation.
DEFAULT_WAIT_LIMIT = 900


@dataclass(frozen=True)
class Issue:
    """A problem in a script: where it is and what to do. `severity` is "error" or "warning"."""

    file: str
    line: int
    node_id: str | None
    code: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = f" [{self.node_id}]" if self.node_id else ""
        return f"{self.file}:{self.line}:{where} {self.severity} {self.code}: {self.message}"


class ScriptError(Exception):
    """A script that cannot be loaded or that failed lint; `issues` says where and why."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("\n".join(str(i) for i in issues))
        self.issues = issues


@dataclass(frozen=True)
class Prompt:
    """What the caller hears: text per language (`{variables}` allowed) and optional recordings."""

    texts: Mapping[str, str]
    recordings: Mapping[str, str] = field(default_factory=dict)  # language -> recorded sound name
    line: int = 0


@dataclass(frozen=True)
class Option:
    """A menu digit: variables to set (e.g. specialty) and the node to go to."""

    digit: str
    next: str
    set: Mapping[str, str] = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True)
class Fallback:
    """A menu's invalid-digit or no-input path: said on every miss; `next` once retries run out."""

    prompt: Prompt | None
    next: str
    line: int = 0


@dataclass(frozen=True)
class Node:
    """Fields shared by every node kind."""

    id: str
    line: int
    key_lines: Mapping[str, int] = field(default_factory=dict, kw_only=True, compare=False)

    def at(self, key: str) -> int:
        """Line of one of the node's keys (the node's own line when absent)."""
        return self.key_lines.get(key, self.line)


@dataclass(frozen=True)
class Say(Node):
    prompt: Prompt
    next: str


@dataclass(frozen=True)
class Menu(Node):
    prompt: Prompt
    options: tuple[Option, ...]
    timeout: int  # seconds to wait for a digit
    retries: int  # further attempts after a miss
    on_invalid: Fallback | None
    on_timeout: Fallback | None


@dataclass(frozen=True)
class SetVars(Node):
    """Set call variables (`specialty` is the one the call ledger reads)."""

    set: Mapping[str, str]
    next: str


@dataclass(frozen=True)
class Window(Node):
    """Branch on the current service window: onsite, remote or holiday (`default` for the rest)."""

    branches: Mapping[str, str]
    default: str | None


@dataclass(frozen=True)
class Queue(Node):
    """Wait in the queue of a specialty; `next` is the escalation when nobody answers in `max_wait`."""

    specialty: str
    prompt: Prompt | None  # said on entry (请您稍等片刻)
    again_prompt: Prompt | None  # said every `again_after` seconds (对不起,请您再稍等片刻)
    again_after: int
    max_wait: int | None
    next: str | None


@dataclass(frozen=True)
class Dial(Node):
    """Ring the on-duty person of a tier; `next` when nobody answers in `timeout`."""

    tier: str
    prompt: Prompt | None
    timeout: int
    next: str | None


@dataclass(frozen=True)
class Voicemail(Node):
    prompt: Prompt | None
    mailbox: str
    max_length: int
    next: str


@dataclass(frozen=True)
class Callback(Node):
    """Take a callback request (the caller's number is on the call) and go on."""

    prompt: Prompt | None
    next: str


@dataclass(frozen=True)
class Hangup(Node):
    prompt: Prompt | None


AnyNode = Say | Menu | SetVars | Window | Queue | Dial | Voicemail | Callback | Hangup
# Node kinds that end the script's part of the call: staff, a message, or a hang-up.
TERMINAL_KINDS: tuple[type[Node], ...] = (Queue, Dial, Voicemail, Callback, Hangup)


@dataclass(frozen=True)
class Script:
    name: str
    path: Path
    start: str
    nodes: Mapping[str, AnyNode]
    languages: tuple[str, ...] = (DEFAULT_LANGUAGE, "en")
    variables: Mapping[str, str] = field(default_factory=dict)
    voices: Mapping[str, str] = field(default_factory=dict)  # language -> Twilio voice override
    wait_limit: int = DEFAULT_WAIT_LIMIT
    start_line: int = 1
    voices_line: int = 0

    @property
    def default_language(self) -> str:
        return self.languages[0]

    def node(self, node_id: str) -> AnyNode:
        return self.nodes[node_id]


def targets(node: AnyNode) -> list[tuple[str, int]]:
    """Nodes this node can lead to, with the line where each is named."""
    out: list[tuple[str, int]] = []
    if isinstance(node, Say | SetVars | Voicemail | Callback):
        out.append((node.next, node.at("next")))
    elif isinstance(node, Menu):
        out += [(o.next, o.line) for o in node.options]
        out += [(f.next, f.line) for f in (node.on_invalid, node.on_timeout) if f is not None]
    elif isinstance(node, Window):
        out += [(t, node.at(k)) for k, t in node.branches.items()]
        if node.default is not None:
            out.append((node.default, node.at("default")))
    elif isinstance(node, Queue | Dial) and node.next is not None:
        out.append((node.next, node.at("next")))
    return out


def prompts_of(node: AnyNode) -> Iterator[tuple[str, Prompt]]:
    """Every prompt of a node with its role ("", "invalid", "timeout", "again")."""
    main = getattr(node, "prompt", None)
    if isinstance(main, Prompt):
        yield "", main
    if isinstance(node, Menu):
        if node.on_invalid is not None and node.on_invalid.prompt is not None:
            yield "invalid", node.on_invalid.prompt
        if node.on_timeout is not None and node.on_timeout.prompt is not None:
            yield "timeout", node.on_timeout.prompt
    if isinstance(node, Queue) and node.again_prompt is not None:
        yield "again", node.again_prompt
