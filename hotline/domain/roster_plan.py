"""What an import of dated shifts does to the stored ones: which it adds, which it shortens or splits, which it
removes. An import replaces only what it covers: the tiers it names, in the spans of its rows. Pure."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo

from hotline.domain.roster import TIER_NAMES, Shift, Tier, merge_spans, subtract_spans


@dataclass(frozen=True)
class Cover:
    """The file speaks for `tier` in [start, end): stored dated shifts of the tier there are replaced."""

    tier: Tier
    start: datetime
    end: datetime


@dataclass(frozen=True)
class StoredShift:
    id: int
    shift: Shift


@dataclass(frozen=True)
class ShiftChange:
    """A stored shift partly covered by the file: what is left of it (one or two pieces)."""

    stored: StoredShift
    left: tuple[Shift, ...]


@dataclass(frozen=True)
class ImportPlan:
    add: tuple[Shift, ...] = ()
    change: tuple[ShiftChange, ...] = ()
    remove: tuple[StoredShift, ...] = ()
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        return not (self.add or self.change or self.remove)


def _key(s: Shift) -> tuple[object, ...]:
    return (s.tier, s.person, s.start, s.end, s.label)


def plan_import(stored: Iterable[StoredShift], covers: Sequence[Cover], new: Sequence[Shift]) -> ImportPlan:
    """Stored shifts of a covered tier that overlap a covered span lose that part (removed when nothing is
    left); a stored shift identical to one of `new` is kept as it is; the other `new` shifts are added."""
    by_tier: dict[Tier, list[tuple[datetime, datetime]]] = {}
    for c in covers:
        by_tier.setdefault(c.tier, []).append((c.start, c.end))
    merged = {t: merge_spans(spans) for t, spans in by_tier.items()}  # sorted, apart: ends sorted too
    ends = {t: [e for _, e in spans] for t, spans in merged.items()}
    waiting: dict[tuple[object, ...], list[int]] = {}
    for i, n in enumerate(new):
        waiting.setdefault(_key(n), []).append(i)
    matched: set[int] = set()
    change: list[ShiftChange] = []
    remove: list[StoredShift] = []
    unchanged = 0
    for st in stored:
        sh = st.shift
        spans = merged.get(sh.tier, [])
        cuts = []
        for s, e in spans[bisect.bisect_right(ends.get(sh.tier, []), sh.start):]:
            if s >= sh.end:
                break
            cuts.append((s, e))
        if not cuts:
            continue
        twins = waiting.get(_key(sh))
        if twins:
            matched.add(twins.pop())
            unchanged += 1
            continue
        pieces = subtract_spans((sh.start, sh.end), cuts)
        if pieces:
            change.append(ShiftChange(st, tuple(replace(sh, start=s, end=e) for s, e in pieces)))
        else:
            remove.append(st)
    add = tuple(n for i, n in enumerate(new) if i not in matched)
    return ImportPlan(add, tuple(change), tuple(remove), unchanged)


def shift_text(s: Shift, tz: tzinfo) -> str:
    """`2027-01-06 13:00–17:00 二线 冯婷 二线补班` (the end with its date when it is on another day)."""
    start, end = s.start.astimezone(tz), s.end.astimezone(tz)
    until = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%m-%d %H:%M}"
    label = f" {s.label}" if s.label else ""
    return f"{start:%Y-%m-%d %H:%M}–{until} {TIER_NAMES[s.tier][0]} {s.person}{label}"


def plan_lines(plan: ImportPlan, tz: tzinfo, limit: int = 50) -> list[str]:
    """One line per change, `+` added, `~` shortened, `-` removed; at most `limit`, then a count."""
    lines = [f"+ 新增 / add: {shift_text(s, tz)}" for s in plan.add]
    for c in plan.change:
        left = "、".join(f"{p.start.astimezone(tz):%H:%M}–{p.end.astimezone(tz):%H:%M}" for p in c.left)
        lines.append(f"~ 缩短 / change: {shift_text(c.stored.shift, tz)} → {left}")
    lines += [f"- 删除 / remove: {shift_text(r.shift, tz)}" for r in plan.remove]
    if len(lines) > limit:
        lines = [*lines[:limit], f"… 另有 {len(lines) - limit} 项 / and {len(lines) - limit} more"]
    return lines
