"""Lint: the checks a script must pass before the hotline plays it to callers.

`lint(script, ctx)` returns issues (file, line, node id); `check_file` adds the loader's structural ones;
`load_checked` is what `serve` uses: a script with any error is never loaded.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator
from pathlib import Path

from hotline.domain.text_files import NotUtf8Error, utf8_text
from hotline.ivr.context import IvrContext
from hotline.ivr.loader import parse_script
from hotline.ivr.model import (
    TERMINAL_KINDS,
    WINDOW_KINDS,
    AnyNode,
    Dial,
    Issue,
    Menu,
    Queue,
    Say,
    Script,
    ScriptError,
    SetVars,
    Window,
    prompts_of,
    targets,
)
from hotline.ivr.prompts import all_variables, sound_name, variables_of
from hotline.ivr.voices import voice_problem
from hotline.ivr.wav import wav_problem


def lint(script: Script, ctx: IvrContext) -> list[Issue]:
    """Every problem of a loaded script against the configuration, in line order."""
    issues: list[Issue] = []
    for check in (_targets, _reachability, _menus, _windows, _routes, _prompts, _voices, _recordings,
                  _waits):
        issues.extend(check(script, ctx))
    return sorted(issues, key=lambda i: (i.line, i.code))


def _load(path: Path, ctx: IvrContext) -> tuple[Script | None, list[Issue]]:
    """Read and parse one file once; its structural issues first, then lint's."""
    try:
        text = utf8_text(path.read_bytes(), str(path))
    except NotUtf8Error as e:
        return None, [Issue(str(path), e.line, None, "read", str(e))]
    except OSError as e:
        return None, [Issue(str(path), 1, None, "read", f"无法读取 / cannot read: {e}")]
    script, issues = parse_script(text, path)
    if script is None:
        return None, issues
    return script, issues + lint(script, ctx)


def check_file(path: str | Path, ctx: IvrContext) -> list[Issue]:
    """Load and lint one file: structural issues first, then lint's."""
    return _load(Path(path), ctx)[1]


def load_checked(path: str | Path, ctx: IvrContext) -> Script:
    """Load a script for serving calls; raises ScriptError when it has any error."""
    script, issues = _load(Path(path), ctx)
    errors = [i for i in issues if i.severity == "error"]
    if errors or script is None:
        raise ScriptError(errors)
    return script


def _issue(script: Script, line: int, node: AnyNode | None, code: str, message: str,
           severity: str = "error") -> Issue:
    return Issue(str(script.path), line, node.id if node else None, code, message, severity)


def _targets(script: Script, ctx: IvrContext) -> Iterator[Issue]:
    if script.start and script.start not in script.nodes:
        yield Issue(str(script.path), script.start_line, None, "unknown-target",
                    f"start 指向不存在的节点 {script.start!r} / start names unknown node {script.start!r}")
    for node in script.nodes.values():
        for target, line in targets(node):
            if target and target not in script.nodes:
                yield _issue(script, line, node, "unknown-target",
                             f"指向不存在的节点 {target!r} / goes to unknown node {target!r}")


def _reachable(script: Script) -> set[str]:
    seen: set[str] = set()
    todo = deque([script.start] if script.start in script.nodes else [])
    while todo:
        node_id = todo.popleft()
        if node_id in seen:
            continue
        seen.add(node_id)
        todo.extend(t for t, _ in targets(script.nodes[node_id]) if t in script.nodes)
    return seen


def _reachability(script: Script, ctx: IvrContext) -> Iterator[Issue]:
    reachable = _reachable(script)
    if not reachable:
        return
    for node in script.nodes.values():
        if node.id not in reachable:
            yield _issue(script, node.line, node, "unreachable",
                         f"节点 {node.id} 无法到达 / node {node.id} cannot be reached from start {script.start!r}")
    # Nodes from which no staff, message or hang-up can be reached: the caller would loop forever.
    # Unknown targets are reported on their own; counting them as exits avoids a second error.
    can_end = {n.id for n in script.nodes.values()
               if isinstance(n, TERMINAL_KINDS) or any(t not in script.nodes for t, _ in targets(n))}
    changed = True
    while changed:
        changed = False
        for node in script.nodes.values():
            if node.id not in can_end and any(t in can_end for t, _ in targets(node)):
                can_end.add(node.id)
                changed = True
    for node in script.nodes.values():
        if node.id in reachable and node.id not in can_end:
            yield _issue(script, node.line, node, "endless-loop",
                         f"从 {node.id} 出发永远到不了人工或挂机 / from {node.id} the caller never reaches staff "
                         "or a hang-up: add a path to a queue, dial, voicemail, callback or hangup node")


def _menus(script: Script, ctx: IvrContext) -> Iterator[Issue]:
    for node in script.nodes.values():
        if not isinstance(node, Menu):
            continue
        for key, fallback in (("on_invalid", node.on_invalid), ("on_timeout", node.on_timeout)):
            if fallback is None:
                yield _issue(script, node.line, node, "menu-fallback",
                             f"菜单缺少 {key}(按错键/不按键时去哪) / menu has no {key} path: "
                             "add on_invalid and on_timeout with a prompt and next")
        if not node.options:
            yield _issue(script, node.line, node, "menu-empty", "菜单没有选项 / menu has no options")


def _windows(script: Script, ctx: IvrContext) -> Iterator[Issue]:
    for node in script.nodes.values():
        if isinstance(node, Window) and node.default is None:
            missing = [k for k in WINDOW_KINDS if k not in node.branches]
            if missing:
                yield _issue(script, node.line, node, "window-branch",
                             f"时间条件缺少 {', '.join(missing)} 分支 / window node has no branch for "
                             f"{', '.join(missing)}: add them or a default")


def _routes(script: Script, ctx: IvrContext) -> Iterator[Issue]:
    known = ", ".join(sorted(ctx.specialty_names)) or "none"
    for node in script.nodes.values():
        specialties: list[tuple[str, int]] = []
        if isinstance(node, Queue):
            specialties.append((node.specialty, node.at("specialty")))
        if isinstance(node, SetVars) and "specialty" in node.set:
            specialties.append((node.set["specialty"], node.at("set")))
        if isinstance(node, Menu):
            specialties += [(o.set["specialty"], o.line) for o in node.options if "specialty" in o.set]
        for specialty, line in specialties:
            if specialty not in ctx.specialty_names:
                yield _issue(script, line, node, "unknown-specialty",
                             f"配置中没有专业 {specialty!r} / specialty {specialty!r} is not defined in "
                             f"config [specialties] (known: {known})")
            elif isinstance(node, Queue) and specialty not in ctx.specialty_queues:
                yield _issue(script, line, node, "unknown-queue",
                             f"没有服务 {specialty!r} 的队列 / no queue in config [queues] serves {specialty!r}")
        if isinstance(node, Dial) and node.tier not in ctx.tiers:
            yield _issue(script, node.at("tier"), node, "unknown-tier",
                         f"配置中没有梯队 {node.tier!r} / tier {node.tier!r} is not defined "
                         f"(known: {', '.join(ctx.tiers)})")


def _prompts(script: Script, ctx: IvrContext) -> Iterator[Issue]:
    variables = all_variables(script, ctx)
    default = script.default_language
    for node in script.nodes.values():
        for _, prompt in prompts_of(node):
            if not prompt.texts.get(default, "").strip():
                yield _issue(script, prompt.line, node, "missing-language",
                             f"提示缺少默认语言 {default} 的文本 / prompt has no text in the default "
                             f"language {default!r}")
            for lang, text in prompt.texts.items():
                for name in variables_of(text):
                    if name not in variables:
                        yield _issue(script, prompt.line, node, "unknown-variable",
                                     f"未知变量 {{{name}}} / unknown variable {{{name}}} in the {lang} text "
                                     f"(known: {', '.join(sorted(variables))})")


def _voices(script: Script, ctx: IvrContext) -> Iterator[Issue]:
    """One issue per language whose Twilio voice cannot speak it, at the first prompt in it."""
    for lang in script.languages:
        first = next(((n, p) for n in script.nodes.values() for _, p in prompts_of(n) if lang in p.texts), None)
        if first is None:
            continue
        voice, code = ctx.voice_for(lang, script.voices)
        problem = voice_problem(voice, code, lang)
        if problem is None:
            continue
        if lang in script.voices:
            yield _issue(script, script.voices_line, None, "twilio-voice", f"voices.{lang}: {problem}")
        else:
            node, prompt = first
            yield _issue(script, prompt.line, node, "twilio-voice",
                         f"{problem} — 来自配置 / configured in {ctx.config_source} ([twilio] voice / "
                         "[ivr] voice_en) or set voices: in the script")


def _recordings(script: Script, ctx: IvrContext) -> Iterator[Issue]:
    """Declared recordings must exist, and every recording used must be 8 kHz 16-bit mono."""
    for node in script.nodes.values():
        for role, prompt in prompts_of(node):
            for lang in script.languages:
                name = sound_name(script, node.id, role, lang, prompt)
                if lang in prompt.recordings or name in ctx.recordings:
                    problem = wav_problem(ctx.sounds_dir / f"{name}.wav")
                    if problem:
                        yield _issue(script, prompt.line, node, "recording", problem)


def _waits(script: Script, ctx: IvrContext) -> Iterator[Issue]:
    limit = ctx.wait_limit or script.wait_limit
    for node in script.nodes.values():
        if not isinstance(node, Queue):
            continue
        if node.next is None:
            yield _issue(script, node.line, node, "queue-wait",
                         f"队列没有升级分支 / queue has no escalation: set max_wait (≤ {limit} s) and next "
                         "(e.g. a dial node for the on-duty person)")
            continue
        total = _wait_from(script, node.id, set())
        if math.isinf(total):
            yield _issue(script, node.line, node, "queue-wait",
                         f"排队可能无限等待 / callers can wait forever in queues from here: set max_wait "
                         f"(≤ {limit} s) on every queue and end the chain with an escalation")
        elif total > limit:
            yield _issue(script, node.line, node, "queue-wait",
                         f"排队可能等待 {int(total)} 秒才升级,超过 {limit} 秒规则 / callers can wait {int(total)} s "
                         f"in queues from here before an escalation, more than the {limit} s rule: lower max_wait")


def _wait_from(script: Script, node_id: str, path: set[str]) -> float:
    """Longest time a caller can spend waiting in queues from a node before reaching anything else."""
    node = script.nodes.get(node_id)
    if node is None:
        return 0.0
    if node_id in path:
        return math.inf
    inner = path | {node_id}
    if isinstance(node, Queue):
        own = math.inf if node.max_wait is None else float(node.max_wait)
        return own + (_wait_from(script, node.next, inner) if node.next else 0.0)
    if isinstance(node, Say | SetVars | Window):
        return max((_wait_from(script, t, inner) for t, _ in targets(node)), default=0.0)
    return 0.0
