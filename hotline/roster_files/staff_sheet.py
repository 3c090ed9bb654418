"""The staff list as a table (the 人员 sheet of a roster workbook): one row per person."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from hotline.domain.roster import ChatIds, Person
from hotline.roster_files.problems import Problem, cell, parse_phone
from hotline.roster_files.table import Cell, cell_text, column_letter

STAFF_COLUMNS: dict[str, tuple[str, str]] = {
    "name": ("姓名", "name"),
    "mobile": ("手机", "mobile"),
    "extension": ("分机", "extension"),
    "email": ("邮箱", "email"),
    "wecom": ("企业微信", "wecom"),
    "dingtalk": ("钉钉", "dingtalk"),
    "feishu": ("飞书", "feishu"),
    "channels": ("通知渠道", "channels"),
    "specialties": ("专业", "specialties"),
}
_ALIASES = {title: key for key, titles in STAFF_COLUMNS.items() for title in titles}
_LIST = re.compile(r"[、,，/;；\s]+")


def parse_staff(rows: Sequence[Sequence[Cell]]) -> tuple[list[Person], list[Problem]]:
    """People from a staff sheet; every problem names its row and column."""
    problems: list[Problem] = []
    if not rows:
        return [], problems
    columns: dict[str, int] = {}
    for i, value in enumerate(rows[0]):
        title = cell_text(value)
        key = _ALIASES.get(title) or _ALIASES.get(title.lower())
        if key is not None:
            columns[key] = i
        elif title:
            problems.append(Problem(cell(1, column_letter(i), title), "未知列名 / unknown column"))
    if "name" not in columns:
        problems.append(Problem("人员 第 1 行 / staff row 1", "缺少列 姓名 / missing column name"))
        return [], problems
    people: list[Person] = []
    seen: dict[str, int] = {}
    for number, cells in enumerate(rows[1:], start=2):
        values = {k: cell_text(cells[i]) if i < len(cells) else "" for k, i in columns.items()}
        if not any(values.values()):
            continue

        def where(key: str, number: int = number) -> str:
            return "人员 " + cell(number, column_letter(columns[key]), STAFF_COLUMNS[key][0])

        name = values["name"]
        if not name:
            problems.append(Problem(where("name"), "姓名为空 / name is empty"))
            continue
        if name in seen:
            problems.append(Problem(where("name"), f"与第 {seen[name]} 行重名 / same name as row {seen[name]}"))
            continue
        seen[name] = number
        mobile = values.get("mobile", "")
        if mobile:
            try:
                mobile = parse_phone(mobile)
            except ValueError as e:
                problems.append(Problem(where("mobile"), str(e)))
        people.append(Person(
            name, mobile, values.get("extension", ""), values.get("email", ""),
            ChatIds(values.get("wecom", ""), values.get("dingtalk", ""), values.get("feishu", "")),
            tuple(x for x in _LIST.split(values.get("channels", "")) if x),
            frozenset(x for x in _LIST.split(values.get("specialties", "")) if x)))
    return people, problems


def staff_rows(people: Iterable[Person], english: bool = False) -> list[list[str]]:
    out = [[titles[1 if english else 0] for titles in STAFF_COLUMNS.values()]]
    for p in people:
        out.append([p.name, p.mobile, p.extension, p.email, p.chat_ids.wecom, p.chat_ids.dingtalk,
                    p.chat_ids.feishu, "、".join(p.channels), "、".join(sorted(p.specialties))])
    return out
