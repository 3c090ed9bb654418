"""What is wrong in a roster file, and where: row and column (or key path)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hotline.domain.numbers import NumberError, NumberKind, parse_number


@dataclass(frozen=True)
class Problem:
    where: str  # "第 5 行 E 列（一线） / row 5, column E (一线)" or a key path
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


MAX_SHOWN = 50  # problems listed in the message; the rest are counted


class RosterFileError(ValueError):
    """A roster file that cannot be stored; every problem found is listed, nothing was changed."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        shown = self.problems[:MAX_SHOWN]
        lines = "\n".join(f"  {p}" for p in shown)
        more = len(self.problems) - len(shown)
        if more:
            lines += f"\n  … 另有 {more} 处错误未列出 / and {more} more problem(s) not listed"
        super().__init__(f"{source}: {len(self.problems)} 处错误，未做任何修改 / {len(self.problems)} "
                         f"problem(s), nothing was changed:\n{lines}")


def cell(row: int, column: str, header: str) -> str:
    return f"第 {row} 行 {column} 列（{header}） / row {row}, column {column} ({header})"


def parse_mobile(text: str) -> str:
    """A staff member's phone number in its normalised national form (`+86 138-0013-8000` -> `13800138000`,
    a foreign number in E.164); an extension or short code such as `12345` is refused: pages go to it."""
    try:
        number = parse_number(text)
    except NumberError as e:
        raise ValueError(f"不是电话号码 / not a phone number: {e}") from None
    if number.kind is NumberKind.EXTENSION:
        raise ValueError(f"{text.strip()!r} 不是手机号（分机或短号） / is not a mobile number (an extension or "
                         "short code); write the 11-digit mobile, e.g. 13800138000")
    return number.national


def same_phone(a: str, b: str) -> bool:
    """Whether two written numbers are one number once normalised (`+86 139 1111 0001` is `13911110001`)."""
    try:
        return parse_number(a).key == parse_number(b).key
    except NumberError:
        return False
