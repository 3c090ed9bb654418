"""The staff list as a table (the 人员 sheet of a roster workbook): one row per person."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace

from hotline.domain.roster import ChatIds, Person
from hotline.roster_files.problems import Problem, cell, parse_mobile
from hotline.roster_files.table import NAME_SPLIT, Cell, cell_text, column_letter

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
        if NAME_SPLIT.search(name):
            problems.append(Problem(where("name"), f"姓名 “{name}” 含有分隔符（、,;），值班表单元格无法区分 / the "
                                                   "name holds a separator (、,;) that roster cells split at"))
            continue
        seen[name] = number
        mobile = values.get("mobile", "")
        if mobile:
            try:
                mobile = parse_mobile(mobile)
            except ValueError as e:
                problems.append(Problem(where("mobile"), str(e)))
                mobile = ""
        people.append(Person(
            name, mobile, values.get("extension", ""), values.get("email", ""),
            ChatIds(values.get("wecom", ""), values.get("dingtalk", ""), values.get("feishu", "")),
            tuple(x for x in _LIST.split(values.get("channels", "")) if x),
            frozenset(x for x in _LIST.split(values.get("specialties", "")) if x)))
    return people, problems


def staff_columns(rows: Sequence[Sequence[Cell]]) -> frozenset[str]:
    """The keys of the columns a staff sheet has (`name`, `mobile`, ...)."""
    titles = (cell_text(v) for v in rows[0]) if rows else iter(())
    return frozenset(k for t in titles if (k := _ALIASES.get(t) or _ALIASES.get(t.lower())) is not None)


def merge_person(stored: Person | None, sheet: Person, columns: frozenset[str]) -> Person:
    """`sheet`'s values for the columns the sheet has; the stored values for the others (a sheet with only
    姓名 and 手机 changes mobiles and nothing else)."""
    if stored is None:
        return sheet
    chat = stored.chat_ids
    return replace(
        stored,
        mobile=sheet.mobile if "mobile" in columns else stored.mobile,
        extension=sheet.extension if "extension" in columns else stored.extension,
        email=sheet.email if "email" in columns else stored.email,
        chat_ids=ChatIds(sheet.chat_ids.wecom if "wecom" in columns else chat.wecom,
                         sheet.chat_ids.dingtalk if "dingtalk" in columns else chat.dingtalk,
                         sheet.chat_ids.feishu if "feishu" in columns else chat.feishu),
        channels=sheet.channels if "channels" in columns else stored.channels,
        specialties=sheet.specialties if "specialties" in columns else stored.specialties)


def staff_rows(people: Iterable[Person], english: bool = False) -> list[list[str]]:
    out = [[titles[1 if english else 0] for titles in STAFF_COLUMNS.values()]]
    for p in people:
        out.append([p.name, p.mobile, p.extension, p.email, p.chat_ids.wecom, p.chat_ids.dingtalk,
                    p.chat_ids.feishu, "、".join(p.channels), "、".join(sorted(p.specialties))])
    return out
