"""Roster files in and out: the desk file (YAML), the dated table (.xlsx / .csv), calendars (.ics).

Every import is checked as a whole first and then stored in one transaction: a bad file changes nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy.orm import Session, sessionmaker

from hotline.clock import Clock
from hotline.domain.roster import Person, Shift
from hotline.roster_files.desk_yaml import parse_desk
from hotline.roster_files.ics import shifts_ics
from hotline.roster_files.problems import Problem, RosterFileError
from hotline.roster_files.spreadsheet import read_sheets, write_csv, write_xlsx
from hotline.roster_files.staff_sheet import parse_staff, staff_rows
from hotline.roster_files.table import parse_table, table_rows
from hotline.store.base import unit_of_work
from hotline.store.roster import RosterStore


class RosterSource(Protocol):
    """What the file functions need of the roster service (`RosterService` is one); a protocol, so that
    this module does not import the service that calls it."""

    factory: sessionmaker[Session]
    clock: Clock
    tz: ZoneInfo

    def ensure_calendar(self, today: date | None = None) -> None: ...
    def people(self) -> dict[str, Person]: ...
    def shifts(self, first: date, last: date, person: str | None = None) -> list[Shift]: ...

FORMATS = ("xlsx", "csv", "ics")


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RosterFileError(str(path), [Problem("-", "文件不存在 / file not found")]) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"第 {mark.line + 1} 行 / line {mark.line + 1}" if mark is not None else "-"
        raise RosterFileError(str(path), [Problem(where, f"YAML 格式错误 / not valid YAML: {e}")]) from None


def load_desk_file(service: RosterSource, path: Path, actor: str) -> str:
    """Staff (added or updated), rotations (replaced), holiday rosters (their days replaced) and
    overrides not yet stored (added)."""
    desk = parse_desk(_read_yaml(path), service.tz, str(path))
    service.ensure_calendar()
    now = service.clock.now()
    with unit_of_work(service.factory) as s:
        store = RosterStore(s)
        store.upsert_people(desk.people)
        store.replace_rotations(desk.rotations)
        store.replace_dated(desk.dated_days, desk.dated)
        existing = set(store.load(min((o.start for o in desk.overrides), default=now),
                                  max((o.end for o in desk.overrides), default=now)).overrides)
        added = 0
        for o in desk.overrides:
            if not any((e.tier, e.start, e.end, e.replaced, e.replacement) ==
                       (o.tier, o.start, o.end, o.replaced, o.replacement) for e in existing):
                store.add_override(replace(o, created_by=o.created_by or actor, created_at=now))
                added += 1
        summary = (f"{len(desk.people)} 人, {len(desk.rotations)} 个轮班, {len(desk.dated_days)} 个节假日, "
                   f"{added} 个调班 / {len(desk.people)} people, {len(desk.rotations)} rotations, "
                   f"{len(desk.dated_days)} holiday-roster days, {added} overrides added")
        store.log(actor, now, "load", f"{path}: {summary}")
    return summary


def import_file(service: RosterSource, path: Path, actor: str) -> str:
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return load_desk_file(service, path, actor)
    if suffix not in (".xlsx", ".csv"):
        raise RosterFileError(str(path), [Problem("-", "只支持 .xlsx、.csv、.yaml / only .xlsx, .csv or .yaml")])
    try:
        sheets = read_sheets(path)
    except FileNotFoundError:
        raise RosterFileError(str(path), [Problem("-", "文件不存在 / file not found")]) from None
    except Exception as e:  # openpyxl raises many kinds for a file that is not a workbook
        raise RosterFileError(str(path), [Problem("-", f"无法读取 / cannot read the file: {e}")]) from None
    now = service.clock.now()
    with unit_of_work(service.factory) as s:
        store = RosterStore(s)
        people = store.people()
        staff, problems = parse_staff(sheets.staff) if sheets.staff is not None else ([], [])
        people.update({p.name: p for p in staff})
        table = parse_table(sheets.roster, people, service.tz)
        problems += table.problems
        if problems:
            raise RosterFileError(str(path), problems)
        store.upsert_people(staff)
        days = {r.day for r in table.rows}
        store.replace_dated(days, table.shifts())
        summary = (f"{len(table.rows)} 个班次, {len(days)} 天, {len(staff)} 人 / "
                   f"{len(table.rows)} shifts over {len(days)} days, {len(staff)} people")
        store.log(actor, now, "import", f"{path.name}: {summary}")
    return summary


def export(service: RosterSource, fmt: str, first: date, last: date, person: str | None = None,
           english: bool = False) -> bytes:
    """The effective roster of the shifts starting from `first` to `last`, as xlsx, csv or ics."""
    if fmt not in FORMATS:
        raise ValueError(f"未知格式 / unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    shifts = service.shifts(first, last, person)
    if fmt == "ics":
        title = f"{person} 值班 / duty" if person else "热线值班表 / Hotline duty roster"
        return shifts_ics(shifts, title, service.tz, service.clock.now())
    people = service.people()
    rows = table_rows(shifts, people, service.tz, english)
    if fmt == "csv":
        return write_csv(rows)
    return write_xlsx(rows, staff_rows(people.values(), english))
