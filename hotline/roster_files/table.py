"""The dated roster table: one row per shift with the people of each tier, Chinese or English headers.

    日期        班次  开始   结束   一线   二线   项目经理  电话
    2026-10-01  全天  08:00  08:00  张伟   陈静   周强      13800138001

An end at or before the start is on the next day. A cell may name several people (张伟、李娜);
a cell with `-` or `无` says nobody; an empty cell leaves that tier alone. 电话 lists the first-line people's
mobiles in the same order. The whole table is checked before anything is stored; every problem names its
row and column. 来源 (source), written by exports, says which layer a shift came from; imports ignore it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from typing import Any

from hotline.domain.roster import TIER_NAMES, Person, Shift, Tier
from hotline.domain.roster_plan import Cover
from hotline.domain.windows import local_span, parse_clock_time
from hotline.roster_files.problems import Problem, cell, parse_mobile, same_phone

Cell = Any  # str, int, float, date, datetime, time or None (openpyxl gives typed cells)

COLUMNS: dict[str, tuple[str, str]] = {  # key: (Chinese header, English header)
    "date": ("日期", "date"),
    "shift": ("班次", "shift"),
    "start": ("开始", "start"),
    "end": ("结束", "end"),
    Tier.FIRST_LINE.value: ("一线", "first_line"),
    Tier.SECOND_LINE.value: ("二线", "second_line"),
    Tier.MANAGER.value: ("项目经理", "manager"),
    Tier.VENDOR.value: ("厂商", "vendor"),
    "phone": ("电话", "phone"),
    "source": ("来源", "source"),
}
SOURCE_NAMES = {"rotation": "轮班", "dated": "值班表", "override": "调班"}  # the layers, lowest first
NOBODY = frozenset({"-", "无", "—", "－"})
ALIASES: dict[str, str] = {}
for _key, (_zh, _en) in COLUMNS.items():
    ALIASES[_zh] = ALIASES[_en] = ALIASES[_en.replace("_", " ")] = _key
ALIASES.update({"开始时间": "start", "结束时间": "end", "手机": "phone", "二线工程师": "second_line",
                "经理": "manager", "first line": "first_line", "second line": "second_line"})
REQUIRED = ("date", "start", "end")
NAME_SPLIT = re.compile(r"[、,，;；]+")
PHONE_SPLIT = re.compile(r"[、,，/;；]+")


@dataclass(frozen=True)
class TableRow:
    number: int  # 1-based row number in the sheet
    day: date
    label: str
    start: datetime
    end: datetime
    people: Mapping[Tier, tuple[str, ...]]
    cleared: frozenset[Tier] = frozenset()  # tiers whose cell says nobody (`-` or `无`)

    def covers(self) -> list[Cover]:
        """The (tier, span)s this row speaks for: tiers naming people, and tiers said to have nobody."""
        return [Cover(t, self.start, self.end) for t in Tier if t in self.people or t in self.cleared]


@dataclass
class ParsedTable:
    rows: list[TableRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def shifts(self) -> list[tuple[date, Shift]]:
        return [(r.day, Shift(t, name, r.start, r.end, r.label, "dated"))
                for r in self.rows for t, names in r.people.items() for name in names]

    def covers(self) -> list[Cover]:
        return [c for r in self.rows for c in r.covers()]


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def cell_text(value: Cell) -> str:
    """A cell as trimmed text: empty for a blank cell, whole numbers without Excel's `.0`."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_date(value: Cell) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = cell_text(value)
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", text)
    if not m:
        raise ValueError(f"不是日期 / not a date: {text!r} (2026-10-01)")
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise ValueError(f"不存在的日期 / no such date: {text!r}") from None


def parse_time(value: Cell) -> time:
    if isinstance(value, datetime):
        return value.time().replace(second=0, microsecond=0)
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0)
    text = cell_text(value)
    if text.count(":") == 2 and text.endswith(":00"):
        text = text[:-3]
    try:
        return parse_clock_time(text)
    except ValueError:
        raise ValueError(f"不是时间 / not a time: {text!r} (08:00)") from None


def _header(cells: Sequence[Cell], problems: list[Problem]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for i, value in enumerate(cells):
        title = cell_text(value)
        if not title:
            continue
        key = ALIASES.get(title) or ALIASES.get(title.lower())
        where = cell(1, column_letter(i), title)
        if key is None:
            problems.append(Problem(where, "未知列名 / unknown column; known: " +
                                    ", ".join(f"{zh}/{en}" for zh, en in COLUMNS.values())))
        elif key in columns:
            problems.append(Problem(where, "重复的列 / column given twice"))
        else:
            columns[key] = i
    for key in REQUIRED:
        if key not in columns:
            problems.append(Problem("第 1 行 / row 1", f"缺少列 {COLUMNS[key][0]} / missing column {COLUMNS[key][1]}"))
    if not any(t.value in columns for t in Tier):
        problems.append(Problem("第 1 行 / row 1", "没有任何班组列（一线、二线、项目经理、厂商） / no tier column"))
    return columns


def parse_table(rows: Sequence[Sequence[Cell]], people: Mapping[str, Person], tz: tzinfo) -> ParsedTable:
    """Check every row against `people`; the result holds either rows or problems (never half)."""
    out = ParsedTable()
    if not rows:
        out.problems.append(Problem("第 1 行 / row 1", "文件是空的 / the file is empty"))
        return out
    columns = _header(rows[0], out.problems)
    if out.problems:
        return out
    for number, cells in enumerate(rows[1:], start=2):
        if not any(cell_text(c) for c in cells):
            continue
        row = _parse_row(number, cells, columns, people, tz, out.problems)
        if row is not None:
            out.rows.append(row)
    _check_overlaps(out.rows, columns, out.problems)
    if not out.rows and not out.problems:
        out.problems.append(Problem("第 2 行 / row 2", "没有任何班次，只有表头 / no shifts: the file has only "
                                                        "its header row"))
    if out.problems:
        out.rows = []
    return out


def _parse_row(number: int, cells: Sequence[Cell], columns: Mapping[str, int], people: Mapping[str, Person],
               tz: tzinfo, problems: list[Problem]) -> TableRow | None:
    def get(key: str) -> Cell:
        i = columns.get(key)
        return cells[i] if i is not None and i < len(cells) else None

    def where(key: str) -> str:
        return cell(number, column_letter(columns[key]), _header_name(key))

    before = len(problems)
    parsed: dict[str, Any] = {}
    for key, parse in (("date", parse_date), ("start", parse_time), ("end", parse_time)):
        try:
            parsed[key] = parse(get(key))
        except ValueError as e:
            problems.append(Problem(where(key), str(e)))
    staff: dict[Tier, tuple[str, ...]] = {}
    cleared: set[Tier] = set()
    for tier in Tier:
        if tier.value not in columns:
            continue
        text = cell_text(get(tier.value))
        if text in NOBODY:
            cleared.add(tier)
            continue
        names = split_names(text, people)
        for n in names:
            if n not in people:
                problems.append(Problem(where(tier.value), f"未知人员 “{n}”，请先在人员表中登记 / unknown person "
                                                           f"{n!r}: add them to the staff list first"))
        if names:
            staff[tier] = names
    if "phone" in columns and cell_text(get("phone")):
        _check_phones(cell_text(get("phone")), staff.get(Tier.FIRST_LINE, ()), people, where("phone"), problems)
    if len(problems) > before:
        return None
    start, end = local_span(parsed["date"], parsed["start"], parsed["end"], tz)
    return TableRow(number, parsed["date"], cell_text(get("shift")), start, end, staff, frozenset(cleared))


def split_names(text: str, people: Mapping[str, Person]) -> tuple[str, ...]:
    """The names of a cell: split at 、 , ， ; ；, and at / only inside a part that is not a known name
    (so `华为/Huawei售后` stays one person while `张伟/李娜` is two)."""
    names: list[str] = []
    for part in (p.strip() for p in NAME_SPLIT.split(text)):
        if not part:
            continue
        if part in people or "/" not in part:
            names.append(part)
        else:
            names += [n.strip() for n in part.split("/") if n.strip()]
    return tuple(names)


def _check_phones(text: str, first_line: Sequence[str], people: Mapping[str, Person], where: str,
                  problems: list[Problem]) -> None:
    phones = [p for p in PHONE_SPLIT.split(text) if p.strip()]
    for i, raw in enumerate(phones):
        try:
            phone = parse_mobile(raw)
        except ValueError as e:
            problems.append(Problem(where, str(e)))
            continue
        if i < len(first_line) and first_line[i] in people:
            known = people[first_line[i]].mobile
            if known and not same_phone(known, phone):
                problems.append(Problem(where, f"{phone} 不是 {first_line[i]} 登记的手机 {known} / is not the "
                                               f"registered mobile of {first_line[i]} ({known})"))


def _check_overlaps(rows: Sequence[TableRow], columns: Mapping[str, int], problems: list[Problem]) -> None:
    for tier in Tier:
        staffed = sorted((r for r in rows if tier in r.people), key=lambda r: (r.start, r.number))
        for a, b in itertools.pairwise(staffed):
            if b.start < a.end:
                problems.append(Problem(
                    cell(b.number, column_letter(columns[tier.value]), _header_name(tier.value)),
                    f"与第 {a.number} 行的{TIER_NAMES[tier][0]}班次时间重叠 / overlaps the {TIER_NAMES[tier][1]} "
                    f"shift of row {a.number} ({a.start:%m-%d %H:%M}–{a.end:%m-%d %H:%M})"))


def _header_name(key: str) -> str:
    return COLUMNS[key][0]


def table_rows(shifts: Sequence[Shift], people: Mapping[str, Person], tz: tzinfo,
               english: bool = False) -> list[list[str]]:
    """Shifts grouped into rows of the same span, label and layer (来源), sorted by time; header first."""
    slots: dict[tuple[datetime, datetime, str, str], dict[Tier, list[str]]] = {}
    order = list(SOURCE_NAMES)
    for s in sorted(shifts, key=lambda s: (s.start, s.end, s.label, order.index(s.source))):
        names = slots.setdefault((s.start, s.end, s.label, s.source), {}).setdefault(s.tier, [])
        if s.person not in names:
            names.append(s.person)
    header = [COLUMNS[k][1 if english else 0] for k in COLUMNS]
    out = [header]
    for (start, end, label, source), staff in slots.items():
        ls, le = start.astimezone(tz), end.astimezone(tz)
        first = staff.get(Tier.FIRST_LINE, [])
        phones = [people[n].mobile for n in first if n in people and people[n].mobile]
        out.append([ls.date().isoformat(), label, f"{ls:%H:%M}", f"{le:%H:%M}",
                    *("、".join(staff.get(t, [])) for t in Tier),
                    "、".join(phones) if len(phones) == len(first) else "",
                    source if english else SOURCE_NAMES.get(source, source)])
    return out
