"""Roster files in and out: the desk file (YAML), the dated table (.xlsx / .csv), calendars (.ics).

Every import is checked as a whole first and then stored in one transaction: a bad file changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy.orm import Session, sessionmaker

from hotline.clock import Clock
from hotline.domain.fairness import Load
from hotline.domain.roster import Person, Shift, Tier
from hotline.domain.roster_plan import ImportPlan, plan_import, plan_lines, shift_text
from hotline.domain.text_files import NotUtf8Error, utf8_text
from hotline.roster_files.desk_yaml import parse_desk
from hotline.roster_files.ics import shifts_ics
from hotline.roster_files.problems import Problem, RosterFileError
from hotline.roster_files.spreadsheet import Sheets, read_sheets, write_csv, write_xlsx
from hotline.roster_files.staff_sheet import merge_person, parse_staff, staff_columns, staff_rows
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
    def date_warnings(self, first: date, last: date) -> list[str]: ...
    def people(self) -> dict[str, Person]: ...
    def shifts(self, first: date, last: date, person: str | None = None) -> list[Shift]: ...

    def handover_notes(self, tier: Tier, start: datetime, end: datetime) -> list[tuple[str, datetime, str]]: ...


FORMATS = ("xlsx", "csv", "ics")
NOTE_WINDOW = timedelta(hours=24)  # the handover notes of a shift: those written in the day before it starts


def _notes(service: RosterSource, shifts: Sequence[Shift]) -> dict[Shift, list[str]]:
    """The handover notes of each shift (written in the 24 hours before it starts), one query per tier."""
    out: dict[Shift, list[str]] = {}
    if not shifts:
        return out
    lo, hi = min(s.start for s in shifts) - NOTE_WINDOW, max(s.start for s in shifts)
    for tier in {s.tier for s in shifts}:
        notes = service.handover_notes(tier, lo, hi)
        for s in (s for s in shifts if s.tier is tier):
            mine = [f"{a} {at.astimezone(service.tz):%m-%d %H:%M}: {t}" for a, at, t in notes
                    if s.start - NOTE_WINDOW <= at < s.start]
            if mine:
                out[s] = mine
    return out


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(utf8_text(path.read_bytes(), str(path)))
    except FileNotFoundError:
        raise RosterFileError(str(path), [Problem("-", "文件不存在 / file not found")]) from None
    except NotUtf8Error as e:
        raise RosterFileError(str(path), [Problem(f"第 {e.line} 行 / line {e.line}", str(e))]) from None
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


@dataclass(frozen=True)
class ImportReport:
    """What an import did (or, for a dry run, would do): the summary, every change, calendar warnings."""

    summary: str
    plan: ImportPlan | None = None  # None for the desk file
    lines: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    applied: bool = True

    def __str__(self) -> str:
        head = self.summary if self.applied else f"预览，未做任何修改 / dry run, nothing was changed: {self.summary}"
        return "\n".join([head, *self.lines, *(f"警告 / warning: {w}" for w in self.warnings)])


def _read_table_file(path: Path) -> Sheets:
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise RosterFileError(str(path), [Problem("-", "只支持 .xlsx、.csv、.yaml / only .xlsx, .csv or .yaml")])
    try:
        return read_sheets(path)
    except FileNotFoundError:
        raise RosterFileError(str(path), [Problem("-", "文件不存在 / file not found")]) from None
    except Exception as e:  # openpyxl raises many kinds for a file that is not a workbook
        raise RosterFileError(str(path), [Problem("-", f"无法读取 / cannot read the file: {e}")]) from None


def import_file(service: RosterSource, path: Path, actor: str, dry_run: bool = False) -> ImportReport:
    """A desk file (YAML), or a roster table that replaces only what it covers: the tiers its rows name, in
    their spans. Stored dated shifts there are shortened or removed (each removal and change is written to
    the history); with `dry_run` the plan is returned and nothing is stored."""
    if path.suffix.lower() in (".yaml", ".yml"):
        if dry_run:
            raise RosterFileError(str(path), [Problem("-", "桌面文件不支持预览 / --dry-run is for .xlsx and .csv")])
        return ImportReport(load_desk_file(service, path, actor))
    sheets = _read_table_file(path)
    now = service.clock.now()
    with unit_of_work(service.factory) as s:
        store = RosterStore(s)
        stored_people = store.people()
        staff, problems = parse_staff(sheets.staff) if sheets.staff is not None else ([], [])
        columns = staff_columns(sheets.staff or [])
        staff = [merge_person(stored_people.get(p.name), p, columns) for p in staff]
        people = {**stored_people, **{p.name: p for p in staff}}
        table = parse_table(sheets.roster, people, service.tz)
        problems += table.problems
        if problems:
            raise RosterFileError(str(path), problems)
        new = table.shifts()
        covers = table.covers()
        lo, hi = min(c.start for c in covers), max(c.end for c in covers)
        plan = plan_import(store.dated_between(lo, hi), covers, [sh for _, sh in new])
        days = {r.day for r in table.rows}
        summary = (f"{len(table.rows)} 行, {len(days)} 天, {len(staff)} 人：新增 {len(plan.add)}、缩短 "
                   f"{len(plan.change)}、删除 {len(plan.remove)}、不变 {plan.unchanged} 个班次 / {len(table.rows)} "
                   f"rows over {len(days)} days, {len(staff)} people: {len(plan.add)} shifts added, "
                   f"{len(plan.change)} changed, {len(plan.remove)} removed, {plan.unchanged} unchanged")
        warnings = tuple(service.date_warnings(min(days), max(days)))
        report = ImportReport(summary, plan, tuple(plan_lines(plan, service.tz)), warnings, applied=not dry_run)
        if dry_run:
            s.rollback()
            return report
        store.upsert_people(staff)
        _apply(store, plan, service.tz, actor, now)
        store.log(actor, now, "import", f"{path.name}: {summary}")
    return report


def _apply(store: RosterStore, plan: ImportPlan, tz: ZoneInfo, actor: str, now: datetime) -> None:
    """Store `plan`; every removed and every shortened stored shift goes to the history."""
    store.remove_dated([c.stored.id for c in plan.change] + [r.id for r in plan.remove])
    kept = [p for c in plan.change for p in c.left]
    store.replace_dated((), [(sh.start.astimezone(tz).date(), sh) for sh in (*kept, *plan.add)])
    for c in plan.change:
        left = "、".join(f"{p.start.astimezone(tz):%H:%M}–{p.end.astimezone(tz):%H:%M}" for p in c.left)
        store.log(actor, now, "import.change", f"{shift_text(c.stored.shift, tz)} → {left}")
    for r in plan.remove:
        store.log(actor, now, "import.remove", shift_text(r.shift, tz))


def export(service: RosterSource, fmt: str, first: date, last: date, person: str | None = None,
           english: bool = False) -> bytes:
    """The effective roster of the shifts starting from `first` to `last`, as xlsx, csv or ics."""
    if fmt not in FORMATS:
        raise ValueError(f"未知格式 / unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    shifts = service.shifts(first, last, person)
    people = service.people()
    if fmt == "ics":
        title = f"{person} 值班 / duty" if person else "热线值班表 / Hotline duty roster"
        return shifts_ics(shifts, title, service.tz, service.clock.now(), people, _notes(service, shifts))
    rows = table_rows(shifts, people, service.tz, english)
    if fmt == "csv":
        return write_csv(rows)
    return write_xlsx(rows, staff_rows(people.values(), english))


FAIRNESS_HEADER = ["姓名 name", "班次 shifts", "小时 hours", "夜班 nights", "节假日班 holiday shifts",
                   "周末班 weekend shifts"]


def fairness_rows(table: Sequence[Load]) -> list[list[str]]:
    """The fairness table as rows (header first), for the CLI and the CSV export."""
    return [FAIRNESS_HEADER] + [[x.person, str(x.shifts), f"{x.hours:g}", str(x.nights), str(x.holiday_shifts),
                                 str(x.weekend_shifts)] for x in table]


def fairness_csv(table: Sequence[Load]) -> bytes:
    return write_csv(fairness_rows(table))
