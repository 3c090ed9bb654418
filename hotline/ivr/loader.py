"""Load an IVR script from YAML into the model (`model.py`); the format is described in ivr_scripts/README.md.

Structural mistakes (wrong types, unknown keys, duplicate ids or digits) are collected as `Issue`s with the
file and line; `load_script` raises `ScriptError` carrying all of them.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from hotline.domain.text_files import NotUtf8Error, utf8_text
from hotline.ivr.model import (
    DEFAULT_WAIT_LIMIT,
    LANGUAGES,
    WINDOW_KINDS,
    AnyNode,
    Callback,
    Dial,
    Fallback,
    Hangup,
    Issue,
    Menu,
    Option,
    Prompt,
    Queue,
    Say,
    Script,
    ScriptError,
    SetVars,
    Voicemail,
    Window,
)
from hotline.ivr.yamlsrc import Node, ScalarNode, YamlReader, line_of

NODE_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
VARIABLE = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
VALUE = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
SCRIPT_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,30}$")
SOUND_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,60}$")
DIGITS = set("0123456789*#")
TOP_KEYS = {"name", "start", "languages", "variables", "voices", "wait_limit", "nodes"}
NODE_KEYS: dict[str, set[str]] = {
    "say": {"prompt", "next"},
    "menu": {"prompt", "options", "timeout", "retries", "on_invalid", "on_timeout"},
    "set": {"set", "next"},
    "window": {*WINDOW_KINDS, "default"},
    "queue": {"specialty", "prompt", "again_prompt", "again_after", "max_wait", "next"},
    "dial": {"tier", "prompt", "timeout", "next"},
    "voicemail": {"prompt", "mailbox", "max_length", "next"},
    "callback": {"prompt", "next"},
    "hangup": {"prompt"},
}


class _Builder:
    """Turns composed YAML into a Script, collecting issues instead of stopping at the first."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.issues: list[Issue] = []
        self.node_id: str | None = None
        self.y = YamlReader(self._report)
        self.languages: tuple[str, ...] = LANGUAGES

    def _report(self, line: int, code: str, message: str) -> None:
        self.issues.append(Issue(str(self.path), line, self.node_id, code, message))

    def script(self, text: str) -> Script | None:
        root = self.y.compose(text)
        if root is None:
            return None
        top = self.y.mapping(root, "script")
        if not top:
            if not self.issues:
                self._report(1, "empty", "脚本为空 / the script is empty")
            return None
        self.y.unknown_keys(top, TOP_KEYS, "script")
        if "languages" in top:
            langs = self.y.text_list(top["languages"], "languages")
            bad = [lang for lang in langs if lang not in LANGUAGES]
            if bad or not langs:
                self._report(line_of(top["languages"]), "language",
                             f"不支持的语言 / unsupported languages {bad or langs} (known: {', '.join(LANGUAGES)})")
            else:
                self.languages = tuple(dict.fromkeys(langs))
        variables = self._string_map(top["variables"], "variables") if "variables" in top else {}
        voices = self._string_map(top["voices"], "voices") if "voices" in top else {}
        for lang in voices:
            if lang not in self.languages:
                self._report(line_of(top["voices"]), "language", f"voices: 未用的语言 / language {lang!r} not used")
        wait_limit = DEFAULT_WAIT_LIMIT
        if "wait_limit" in top:
            wait_limit = self.y.integer(top["wait_limit"], "wait_limit", 1) or DEFAULT_WAIT_LIMIT
        name = self.y.text(top["name"], "name") if "name" in top else self.path.stem
        if name is None or not SCRIPT_NAME.match(name):
            self._report(line_of(top["name"]) if "name" in top else 1, "script-name",
                         f"脚本名 {name!r} 无效 / invalid script name: a-z, 0-9, _ and -, starting with a letter "
                         "(set name: in the script)")
            name = "invalid"
        nodes = self._nodes(top.get("nodes"), line_of(root))
        start = self.y.text(top["start"], "start") if "start" in top else None
        if start is None and "start" not in top:
            self._report(line_of(root), "missing", "缺少 start / missing key 'start' (the first node's id)")
        return Script(
            name=name,
            path=self.path,
            start=start or "",
            nodes=nodes,
            languages=self.languages,
            variables=variables,
            voices=voices,
            wait_limit=wait_limit,
            start_line=self.y.key_lines(root).get("start", 1),
            voices_line=self.y.key_lines(root).get("voices", 0),
        )

    def _string_map(self, node: Node, what: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in self.y.mapping(node, what).items():
            text = self.y.text(value, f"{what}.{key}")
            if text is not None:
                out[key] = text
        return out

    def _nodes(self, node: Node | None, root_line: int) -> dict[str, AnyNode]:
        if node is None:
            self._report(root_line, "missing", "缺少 nodes / missing key 'nodes'")
            return {}
        out: dict[str, AnyNode] = {}
        id_lines = self.y.key_lines(node)
        for node_id, body in self.y.mapping(node, "nodes", "duplicate-node").items():
            self.node_id = node_id
            if not NODE_ID.match(node_id):
                self._report(id_lines.get(node_id, line_of(body)), "node-id",
                             f"节点名 {node_id!r} 无效 / invalid node id: use a-z, 0-9 and _, starting with a letter")
                continue
            built = self._node(node_id, body, id_lines.get(node_id, line_of(body)))
            if built is not None:
                built = dataclasses.replace(built, key_lines=self.y.key_lines(body))
            if built is not None:
                out[node_id] = built
        self.node_id = None
        return out

    def _node(self, node_id: str, body: Node, line: int) -> AnyNode | None:
        entries = self.y.mapping(body, f"node {node_id}")
        if not entries:
            return None
        kind = self.y.text(entries.pop("type"), "type") if "type" in entries else None
        if kind not in NODE_KEYS:
            self._report(line, "node-type",
                         f"节点类型 {kind!r} 无效 / unknown node type (known: {', '.join(NODE_KEYS)})")
            return None
        self.y.unknown_keys(entries, NODE_KEYS[kind], f"{kind} node")
        lines = self.y.key_lines(body)
        prompt = self._prompt(entries["prompt"], lines["prompt"]) if "prompt" in entries else None
        nxt = self._target(entries, "next")
        if kind == "say":
            if prompt is None:
                self._report(line, "missing", "say 节点缺少 prompt / say node needs a prompt")
                return None
            return Say(node_id, line, prompt, self._require(nxt, line, "next"))
        if kind == "menu":
            return self._menu(node_id, line, entries, prompt)
        if kind == "set":
            values = self._variables(entries["set"]) if "set" in entries else {}
            return SetVars(node_id, line, values, self._require(nxt, line, "next"))
        if kind == "window":
            branches = {k: t for k in WINDOW_KINDS if (t := self._target(entries, k)) is not None}
            return Window(node_id, line, branches, self._target(entries, "default"))
        if kind == "queue":
            again = self._prompt(entries["again_prompt"], lines["again_prompt"]) \
                if "again_prompt" in entries else None
            return Queue(node_id, line, self._require(self._target(entries, "specialty"), line, "specialty"),
                         prompt, again, self._int(entries, "again_after", 60, 5) or 60,
                         self._int(entries, "max_wait", None, 1), nxt)
        if kind == "dial":
            return Dial(node_id, line, self._require(self._target(entries, "tier"), line, "tier"),
                        prompt, self._int(entries, "timeout", 30, 5) or 30, nxt)
        if kind == "voicemail":
            return Voicemail(node_id, line, prompt, self._target(entries, "mailbox") or "hotline@default",
                             self._int(entries, "max_length", 120, 5) or 120, self._require(nxt, line, "next"))
        if kind == "callback":
            return Callback(node_id, line, prompt, self._require(nxt, line, "next"))
        return Hangup(node_id, line, prompt)

    def _menu(self, node_id: str, line: int, entries: dict[str, Node], prompt: Prompt | None) -> Menu | None:
        if prompt is None:
            self._report(line, "missing", "menu 节点缺少 prompt / menu node needs a prompt")
            return None
        options: list[Option] = []
        if "options" not in entries:
            self._report(line, "missing", "menu 节点缺少 options / menu node needs options (digit: node)")
        else:
            digit_lines = self.y.key_lines(entries["options"])
            for digit, value in self.y.mapping(entries["options"], "options", "duplicate-digit").items():
                if digit not in DIGITS:
                    self._report(line_of(value), "digit", f"按键 {digit!r} 无效 / not a phone key (0-9, *, #)")
                    continue
                option = self._option(digit, value, digit_lines.get(digit, line_of(value)))
                if option is not None:
                    options.append(option)
        return Menu(node_id, line, prompt, tuple(options), self._int(entries, "timeout", 5, 1) or 5,
                    self._int(entries, "retries", 2, 0) or 0, self._fallback(entries.get("on_invalid")),
                    self._fallback(entries.get("on_timeout")))

    def _option(self, digit: str, value: Node, line: int) -> Option | None:
        if isinstance(value, ScalarNode):
            target = self.y.text(value, f"options.{digit}")
            return Option(digit, target, {}, line) if target else None
        entries = self.y.mapping(value, f"options.{digit}")
        self.y.unknown_keys(entries, {"next", "specialty", "set"}, f"option {digit}")
        values = self._variables(entries["set"]) if "set" in entries else {}
        specialty = self._target(entries, "specialty")
        if specialty is not None:
            values["specialty"] = specialty
        target = self._target(entries, "next")
        if target is None:
            self._report(line_of(value), "missing", f"按键 {digit} 缺少 next / option {digit} needs 'next'")
            return None
        return Option(digit, target, values, line)

    def _fallback(self, node: Node | None) -> Fallback | None:
        if node is None:
            return None
        entries = self.y.mapping(node, "fallback")
        self.y.unknown_keys(entries, {"prompt", "next"}, "on_invalid/on_timeout")
        target = self._target(entries, "next")
        if target is None:
            self._report(line_of(node), "missing",
                         "缺少 next(重试用尽后去哪) / needs 'next' (where to go after the retries)")
            return None
        lines = self.y.key_lines(node)
        prompt = self._prompt(entries["prompt"], lines["prompt"]) if "prompt" in entries else None
        return Fallback(prompt, target, line_of(node))

    def _prompt(self, node: Node, line: int) -> Prompt | None:
        """A prompt: text in the default language, or a mapping of zh/en texts and play/play_en recordings."""
        if isinstance(node, ScalarNode):
            text = self.y.text(node, "prompt")
            return Prompt({self.languages[0]: text}, {}, line) if text is not None else None
        texts: dict[str, str] = {}
        recordings: dict[str, str] = {}
        for key, value in self.y.mapping(node, "prompt").items():
            is_recording = key == "play" or key.startswith("play_")
            lang = (key[5:] or self.languages[0]) if is_recording else key
            if lang not in LANGUAGES:
                self._report(line_of(value), "unknown-key",
                             f"prompt 不认识的键 {key!r} / unknown prompt key (zh, en, play, play_en)")
                continue
            text = self.y.text(value, f"prompt.{key}")
            if text is None:
                continue
            if is_recording and not SOUND_NAME.match(text):
                self._report(line_of(value), "sound-name", f"录音名 {text!r} 无效 / invalid sound name "
                             "(a file name in ivr_scripts/sounds without .wav)")
                continue
            (recordings if is_recording else texts)[lang] = text
        return Prompt(texts, recordings, line)

    def _variables(self, node: Node) -> dict[str, str]:
        values = self._string_map(node, "set")
        for name, value in list(values.items()):
            if not VARIABLE.match(name):
                self._report(line_of(node), "variable", f"变量名 {name!r} 无效 / invalid variable name (a-z, 0-9, _)")
                del values[name]
            elif not VALUE.match(value):
                self._report(line_of(node), "variable",
                             f"变量值 {value!r} 无效 / invalid value for {name}: use letters, digits, _ . -")
                del values[name]
        return values

    def _target(self, entries: dict[str, Node], key: str) -> str | None:
        return self.y.text(entries[key], key) if key in entries else None

    def _int(self, entries: dict[str, Node], key: str, default: int | None, minimum: int) -> int | None:
        if key not in entries:
            return default
        value = self.y.integer(entries[key], key, minimum)
        return default if value is None else value

    def _require(self, value: str | None, line: int, key: str) -> str:
        if value is None:
            self._report(line, "missing", f"缺少 {key} / missing key {key!r}")
            return ""
        return value


def parse_script(text: str, path: Path) -> tuple[Script | None, list[Issue]]:
    """Parse a script's YAML text; returns the script (None when unusable) and the structural issues."""
    builder = _Builder(path)
    script = builder.script(text)
    return script, builder.issues


def load_script(path: str | Path) -> Script:
    """Read and parse a script file; raises ScriptError on any structural issue (lint is separate)."""
    p = Path(path)
    try:
        text = utf8_text(p.read_bytes(), str(p))
    except NotUtf8Error as e:
        raise ScriptError([Issue(str(p), e.line, None, "read", str(e))]) from None
    except OSError as e:
        raise ScriptError([Issue(str(p), 1, None, "read", f"无法读取 / cannot read: {e}")]) from None
    script, issues = parse_script(text, p)
    if issues or script is None:
        raise ScriptError(issues)
    return script
