"""Text tables for a terminal, aligned by display width: a Chinese character takes two columns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from wcwidth import wcswidth

GAP = "  "


def width(text: str) -> int:
    """Columns `text` takes on a terminal (its length when it holds control characters)."""
    w = wcswidth(text)
    return len(text) if w < 0 else w


def pad(text: str, size: int, right: bool = False) -> str:
    """`text` filled with spaces to `size` columns (never cut), on the left when `right`."""
    fill = " " * max(0, size - width(text))
    return fill + text if right else text + fill


@dataclass(frozen=True)
class Column:
    header: str
    right: bool = False  # numbers are right-aligned


def render(columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> list[str]:
    """Header and rows, each column as wide as its widest cell; two spaces between columns."""
    sizes = [max([width(c.header), *(width(row[i]) for row in rows)]) for i, c in enumerate(columns)]

    def line(cells: Sequence[str]) -> str:
        return GAP.join(pad(cell, sizes[i], columns[i].right) for i, cell in enumerate(cells)).rstrip()

    return [line([c.header for c in columns]), *(line(row) for row in rows)]


def print_table(columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> None:
    for text in render(columns, rows):
        print(text)
