"""The desk file (YAML): staff, rotations, dated holiday rosters and overrides. See docs/roster.md."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from typing import Any, TypeVar

from hotline.domain.roster import ChatIds, Override, Period, Person, Rotation, Shift, ShiftTemplate, Tier
from hotline.domain.windows import days_between, local_span, parse_clock_time, parse_weekdays
from hotline.roster_files.problems import Problem, RosterFileError, parse_mobile

T = TypeVar("T")
EMPTY: tuple[str, ...] = ()
TOP_KEYS = {"people", "rotations", "holiday_rosters", "overrides"}


@dataclass
class DeskFile:
    people: list[Person] = field(default_factory=list)
    rotations: list[Rotation] = field(default_factory=list)
    dated: list[tuple[date, Shift]] = field(default_factory=list)
    dated_days: set[date] = field(default_factory=set)
    overrides: list[Override] = field(default_factory=list)


class _Reader:
    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self.problems: list[Problem] = []

    def req(self, where: str, raw: Mapping[str, Any], key: str, parse: Callable[[Any], T]) -> T | None:
        """A required value, or None after noting the problem."""
        if raw.get(key) is None:
            self.problems.append(Problem(f"{where}.{key}", "缺少 / missing"))
            return None
        return self._parse(where, raw, key, parse)

    def opt(self, where: str, raw: Mapping[str, Any], key: str, parse: Callable[[Any], T], default: T) -> T:
        if raw.get(key) is None:
            return default
        value = self._parse(where, raw, key, parse)
        return default if value is None else value

    def _parse(self, where: str, raw: Mapping[str, Any], key: str, parse: Callable[[Any], T]) -> T | None:
        try:
            return parse(raw[key])
        except (ValueError, TypeError) as e:
            self.problems.append(Problem(f"{where}.{key}", str(e)))
            return None

    def mapping(self, where: str, raw: Any, known: set[str]) -> Mapping[str, Any]:
        if not isinstance(raw, dict):
            self.problems.append(Problem(where, f"应为映射 / must be a mapping, got {raw!r}"))
            return {}
        for key in raw:
            if key not in known:
                self.problems.append(Problem(f"{where}.{key}",
                                             f"未知键 / unknown key (known: {', '.join(sorted(known))})"))
        return raw

    def items(self, where: str, raw: Any) -> list[Any]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.problems.append(Problem(where, "应为列表 / must be a list"))
            return []
        return raw


def _text(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        raise ValueError(f"应为文字 / must be text, got {v!r}")
    return str(v)


def _texts(v: Any) -> tuple[str, ...]:
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list):
        raise ValueError(f"应为列表 / must be a list, got {v!r}")
    return tuple(_text(x) for x in v)


def _tier(v: Any) -> Tier:
    try:
        return Tier(_text(v))
    except ValueError:
        raise ValueError(f"未知班组 / unknown tier {v!r} (one of {', '.join(Tier)})") from None


def _period(v: Any) -> Period:
    try:
        return Period(_text(v))
    except ValueError:
        raise ValueError(f"应为 week 或 day / must be week or day, got {v!r}") from None


def _flag(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"应为 true 或 false / must be true or false, got {v!r}")
    return v


def _time(v: Any) -> time:
    if isinstance(v, int):
        raise ValueError(f"时间请加引号 / quote times, e.g. \"08:00\" (YAML read {v!r})")
    return parse_clock_time(_text(v))


def _date(v: Any) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    return date.fromisoformat(_text(v))


def _phone(v: Any) -> str:
    return parse_mobile(_text(v))


def parse_desk(raw: Any, tz: tzinfo, source: str) -> DeskFile:
    """Validate the whole file; raises RosterFileError listing every problem."""
    r = _Reader(tz)
    top = r.mapping("", raw, TOP_KEYS)
    desk = DeskFile()
    for i, p in enumerate(r.items("people", top.get("people"))):
        w = f"people[{i}]"
        p = r.mapping(w, p, {"name", "mobile", "extension", "email", "wecom", "dingtalk", "feishu",
                             "channels", "specialties"})
        name = r.req(w, p, "name", _text)
        if name is None:
            continue
        desk.people.append(Person(
            name, r.opt(w, p, "mobile", _phone, ""), r.opt(w, p, "extension", _text, ""),
            r.opt(w, p, "email", _text, ""),
            ChatIds(r.opt(w, p, "wecom", _text, ""), r.opt(w, p, "dingtalk", _text, ""),
                    r.opt(w, p, "feishu", _text, "")),
            r.opt(w, p, "channels", _texts, EMPTY), frozenset(r.opt(w, p, "specialties", _texts, EMPTY))))
    names = {p.name for p in desk.people}
    if len(names) != len(desk.people):
        r.problems.append(Problem("people", "有重名 / a name appears twice"))

    def known(where: str, who: tuple[str, ...] | None) -> tuple[str, ...]:
        for n in who or ():
            if n not in names:
                r.problems.append(Problem(where, f"未知人员 “{n}”（不在 people 中） / unknown person {n!r}"))
        return who or ()

    for i, rot in enumerate(r.items("rotations", top.get("rotations"))):
        w = f"rotations[{i}]"
        rot = r.mapping(w, rot, {"name", "tier", "every", "anchor", "members", "shifts"})
        raw_shifts = r.items(f"{w}.shifts", rot.get("shifts"))
        templates = [_template(r, f"{w}.shifts[{j}]", t) for j, t in enumerate(raw_shifts)]
        members = known(f"{w}.members", r.req(w, rot, "members", _texts))
        name, tier = r.req(w, rot, "name", _text), r.req(w, rot, "tier", _tier)
        every, anchor = r.opt(w, rot, "every", _period, Period.WEEK), r.req(w, rot, "anchor", _date)
        if not members:
            r.problems.append(Problem(f"{w}.members", "至少一人 / needs at least one member"))
        elif name and tier and every and anchor and templates and None not in templates:
            desk.rotations.append(Rotation(name, tier, every, anchor, members,
                                           tuple(t for t in templates if t is not None)))
    for i, hol in enumerate(r.items("holiday_rosters", top.get("holiday_rosters"))):
        _holiday_roster(r, f"holiday_rosters[{i}]", hol, known, desk)
    for i, o in enumerate(r.items("overrides", top.get("overrides"))):
        w = f"overrides[{i}]"
        o = r.mapping(w, o, {"tier", "from", "to", "replace", "by", "reason", "created_by"})
        tier, start, end = r.req(w, o, "tier", _tier), r.req(w, o, "from", r_dt(tz)), r.req(w, o, "to", r_dt(tz))
        replaced = r.opt(w, o, "replace", _text, "") or None
        replacement = r.opt(w, o, "by", _text, "") or None
        known(w, tuple(x for x in (replaced, replacement) if x))
        if tier and start and end:
            if end <= start:
                r.problems.append(Problem(f"{w}.to", "须晚于 from / must be after from"))
            desk.overrides.append(Override(tier, start, end, replaced, replacement,
                                           r.opt(w, o, "reason", _text, ""),
                                           r.opt(w, o, "created_by", _text, "") or "file"))
    if r.problems:
        raise RosterFileError(source, r.problems)
    return desk


def r_dt(tz: tzinfo) -> Callable[[Any], datetime]:
    def parse(v: Any) -> datetime:
        dt = v if isinstance(v, datetime) else datetime.fromisoformat(_text(v))
        return dt.replace(tzinfo=tz) if dt.tzinfo is None else dt
    return parse


def _template(r: _Reader, where: str, raw: Any) -> ShiftTemplate | None:
    t = r.mapping(where, raw, {"label", "start", "end", "days", "holidays"})
    label = r.opt(where, t, "label", _text, "")
    start, end = r.req(where, t, "start", _time), r.req(where, t, "end", _time)
    days = t.get("days", "all")
    onsite, weekdays = days == "onsite", frozenset(range(7))
    if days not in ("all", "onsite"):
        try:
            weekdays = parse_weekdays(_texts(days))
        except ValueError as e:
            r.problems.append(Problem(f"{where}.days", f"{e}; or \"all\" / \"onsite\""))
    if start is None or end is None:
        return None
    on_holidays = r.opt(where, t, "holidays", _flag, False)
    return ShiftTemplate(label or "", start, end, weekdays, onsite, on_holidays)


def _holiday_roster(r: _Reader, w: str, raw: Any, known: Callable[[str, tuple[str, ...] | None], tuple[str, ...]],
                    desk: DeskFile) -> None:
    """A holiday roster: for each day from `from` to `to`, each shift takes the next person of each tier."""
    h = r.mapping(w, raw, {"name", "from", "to", "shifts"})
    first, last = r.req(w, h, "from", _date), r.req(w, h, "to", _date)
    if first is None or last is None:
        return
    if last < first:
        r.problems.append(Problem(f"{w}.to", "早于 from / before from"))
        return
    for j, s in enumerate(r.items(f"{w}.shifts", h.get("shifts"))):
        ws = f"{w}.shifts[{j}]"
        s = r.mapping(ws, s, {"label", "start", "end", *(t.value for t in Tier)})
        label = r.opt(ws, s, "label", _text, "")
        start, end = r.req(ws, s, "start", _time), r.req(ws, s, "end", _time)
        crew = {t: known(f"{ws}.{t.value}", r.opt(ws, s, t.value, _texts, EMPTY)) for t in Tier}
        if start is None or end is None:
            continue
        for k, day in enumerate(days_between(first, last)):
            desk.dated_days.add(day)
            s_at, e_at = local_span(day, start, end, r.tz)
            for tier, members in crew.items():
                if members:
                    desk.dated.append((day, Shift(tier, members[k % len(members)], s_at, e_at, label or "", "dated")))
    if not h.get("shifts"):
        desk.dated_days.update(days_between(first, last))

