"""What is wrong in a roster file, and where: row and column (or key path)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    where: str  # "第 5 行 E 列（一线） / row 5, column E (一线)" or a key path
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class RosterFileError(ValueError):
    """A roster file that cannot be stored; every problem found is listed, nothing was changed."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{source}: {len(self.problems)} 处错误，未做任何修改 / {len(self.problems)} "
                         f"problem(s), nothing was changed:\n{lines}")


def cell(row: int, column: str, header: str) -> str:
    return f"第 {row} 行 {column} 列（{header}） / row {row}, column {column} ({header})"


_SEPARATORS = re.compile(r"[\s\-()（）]")


def parse_phone(text: str) -> str:
    """A phone number with separators removed (`+86 138-0013-8000` -> `+8613800138000`)."""
    compact = _SEPARATORS.sub("", text)
    digits = compact[1:] if compact.startswith("+") else compact
    if not digits.isdigit() or not 5 <= len(digits) <= 15:
        raise ValueError(f"不是电话号码 / not a phone number: {text!r}")
    return compact
