"""Reading YAML with line numbers: the composed node graph, with duplicate keys reported, not dropped.

PyYAML's loaders keep the last of two equal keys silently; a menu with digit 1 twice must be an error,
so scripts are read from `yaml.compose` nodes, whose marks carry the line.
"""

from __future__ import annotations

from collections.abc import Callable

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = ["MappingNode", "Node", "ScalarNode", "SequenceNode", "YamlReader", "line_of"]


def line_of(node: Node) -> int:
    """1-based line where a YAML node starts."""
    return int(node.start_mark.line) + 1


Report = Callable[[int, str, str], None]  # (line, code, message)


class YamlReader:
    """Typed access to composed YAML nodes; every mistake is reported with its line."""

    def __init__(self, report: Report) -> None:
        self.report = report

    def compose(self, text: str) -> Node | None:
        try:
            return yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            line = int(mark.line) + 1 if mark is not None else 1
            self.report(line, "yaml", f"YAML 语法错误 / not valid YAML: {e.problem or e}")
            return None

    def mapping(self, node: Node, what: str, duplicate_code: str = "duplicate-key") -> dict[str, Node]:
        """A mapping's entries by key text; keys of entries seen twice are reported."""
        if not isinstance(node, MappingNode):
            self.report(line_of(node), "type", f"{what} 应为映射 / must be a mapping (key: value)")
            return {}
        out: dict[str, Node] = {}
        for key_node, value in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else str(key_node.value)
            if key in out:
                self.report(line_of(key_node), duplicate_code,
                            f"{what} 中 {key!r} 重复 / {key!r} appears twice in {what} "
                            f"(first at line {line_of(out[key])})")
                continue
            out[key] = value
        return out

    def key_lines(self, node: Node) -> dict[str, int]:
        """Line of each key of a mapping node."""
        if not isinstance(node, MappingNode):
            return {}
        lines: dict[str, int] = {}
        for key_node, _ in node.value:
            lines.setdefault(str(key_node.value), line_of(key_node))
        return lines

    def text(self, node: Node, what: str) -> str | None:
        if not isinstance(node, ScalarNode) or node.tag == "tag:yaml.org,2002:null":
            self.report(line_of(node), "type", f"{what} 应为文本 / must be text")
            return None
        return str(node.value)

    def integer(self, node: Node, what: str, minimum: int = 0) -> int | None:
        value = self.text(node, what)
        if value is None:
            return None
        try:
            number = int(value)
        except ValueError:
            self.report(line_of(node), "type", f"{what} 应为整数 / must be a whole number, got {value!r}")
            return None
        if number < minimum:
            self.report(line_of(node), "range", f"{what} 不能小于 {minimum} / must be at least {minimum}")
            return None
        return number

    def text_list(self, node: Node, what: str) -> list[str]:
        if not isinstance(node, SequenceNode):
            self.report(line_of(node), "type", f"{what} 应为列表 / must be a list")
            return []
        return [t for t in (self.text(item, what) for item in node.value) if t is not None]

    def unknown_keys(self, entries: dict[str, Node], known: set[str], where: str) -> None:
        for key, value in entries.items():
            if key not in known:
                self.report(line_of(value), "unknown-key",
                            f"{where} 不认识的键 {key!r} / unknown key {key!r} "
                            f"(known: {', '.join(sorted(known))})")
