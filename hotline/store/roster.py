"""Duty roster tables and their repository: people, rotations, dated shifts, overrides, the working-day
calendar, handover notes and the change log (who changed what, when)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from hotline.domain.roster import (
    ChatIds,
    Override,
    Period,
    Person,
    Roster,
    Rotation,
    Shift,
    ShiftTemplate,
    Tier,
)
from hotline.domain.roster_plan import StoredShift
from hotline.domain.windows import CalendarDay, DayKind, WorkingCalendar, parse_clock_time
from hotline.store.base import Base, UtcDateTime, chunks


class PersonRow(Base):
    __tablename__ = "roster_people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    mobile: Mapped[str] = mapped_column(String(32), default="")
    extension: Mapped[str] = mapped_column(String(16), default="")
    email: Mapped[str] = mapped_column(String(128), default="")
    wecom: Mapped[str] = mapped_column(String(64), default="")
    dingtalk: Mapped[str] = mapped_column(String(64), default="")
    feishu: Mapped[str] = mapped_column(String(64), default="")
    channels: Mapped[str] = mapped_column(String(256), default="")  # comma-separated, first first
    specialties: Mapped[str] = mapped_column(String(256), default="")  # comma-separated; empty: all


class RotationRow(Base):
    __tablename__ = "roster_rotations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    tier: Mapped[str] = mapped_column(String(16))
    every: Mapped[str] = mapped_column(String(8))
    anchor: Mapped[date] = mapped_column(Date)
    members: Mapped[list[str]] = mapped_column(JSON)
    shifts: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class ShiftRow(Base):
    """A dated shift (holiday roster or imported day): replaces the rotation of its tier."""

    __tablename__ = "roster_shifts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date, index=True)  # the local date the shift starts on
    tier: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int] = mapped_column(ForeignKey("roster_people.id", ondelete="RESTRICT"))
    start_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    end_at: Mapped[datetime] = mapped_column(UtcDateTime)
    label: Mapped[str] = mapped_column(String(64), default="")


class OverrideRow(Base):
    __tablename__ = "roster_overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tier: Mapped[str] = mapped_column(String(16))
    start_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    end_at: Mapped[datetime] = mapped_column(UtcDateTime)
    replaced_id: Mapped[int | None] = mapped_column(ForeignKey("roster_people.id", ondelete="RESTRICT"))
    replacement_id: Mapped[int | None] = mapped_column(ForeignKey("roster_people.id", ondelete="RESTRICT"))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    batch: Mapped[str | None] = mapped_column(String(32), index=True)


class FeedRow(Base):
    """A person's secret calendar feed: only the SHA-256 of the token is stored; revoked feeds answer 404."""

    __tablename__ = "roster_feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("roster_people.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class HandoverAckRow(Base):
    """The incoming person confirmed taking over the shift of `tier` starting at `shift_start`."""

    __tablename__ = "roster_handover_acks"
    __table_args__ = (UniqueConstraint("tier", "person", "shift_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tier: Mapped[str] = mapped_column(String(16))
    person: Mapped[str] = mapped_column(String(64))
    shift_start: Mapped[datetime] = mapped_column(UtcDateTime)
    acked_at: Mapped[datetime] = mapped_column(UtcDateTime)
    via: Mapped[str] = mapped_column(String(16))


class RequestRow(Base):
    """An override or a swap asked for by a person, waiting for a manager (`[roster] approval`)."""

    __tablename__ = "roster_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # override | swap
    overrides: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending | approved | rejected
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    batch: Mapped[str | None] = mapped_column(String(32))


class CalendarDayRow(Base):
    __tablename__ = "roster_calendar"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # holiday | workday
    name: Mapped[str] = mapped_column(String(64), default="")
    source: Mapped[str] = mapped_column(String(32))  # chinesecalendar | admin | file
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CalendarYearRow(Base):
    """A year whose official schedule is entered completely."""

    __tablename__ = "roster_calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(32))
    confirmed_by: Mapped[str] = mapped_column(String(64))
    confirmed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class HandoverNoteRow(Base):
    __tablename__ = "roster_handover_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tier: Mapped[str] = mapped_column(String(16))
    author: Mapped[str] = mapped_column(String(64))
    written_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    text: Mapped[str] = mapped_column(Text)


class ChangeRow(Base):
    __tablename__ = "roster_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")


@dataclass(frozen=True)
class RosterRequest:
    id: int
    kind: str
    overrides: tuple[Override, ...]
    reason: str
    requested_by: str
    requested_at: datetime
    state: str
    decided_by: str | None = None


def override_to_json(o: Override) -> dict[str, Any]:
    return {"tier": o.tier.value, "start": o.start.isoformat(), "end": o.end.isoformat(), "replaced": o.replaced,
            "replacement": o.replacement, "reason": o.reason}


def override_from_json(d: dict[str, Any]) -> Override:
    return Override(Tier(d["tier"]), datetime.fromisoformat(d["start"]), datetime.fromisoformat(d["end"]),
                    d.get("replaced"), d.get("replacement"), str(d.get("reason", "")))


def _request(r: RequestRow) -> RosterRequest:
    return RosterRequest(r.id, r.kind, tuple(override_from_json(d) for d in r.overrides), r.reason,
                         r.requested_by, r.requested_at, r.state, r.decided_by)


def _split(text: str) -> tuple[str, ...]:
    return tuple(x for x in text.split(",") if x)


def _person(r: PersonRow) -> Person:
    return Person(r.name, r.mobile, r.extension, r.email, ChatIds(r.wecom, r.dingtalk, r.feishu),
                  _split(r.channels), frozenset(_split(r.specialties)))


def template_to_json(t: ShiftTemplate) -> dict[str, Any]:
    return {"label": t.label, "start": t.start.strftime("%H:%M"), "end": t.end.strftime("%H:%M"),
            "weekdays": sorted(t.weekdays), "onsite_days_only": t.onsite_days_only,
            "on_holidays": t.on_holidays}


def template_from_json(d: dict[str, Any]) -> ShiftTemplate:
    return ShiftTemplate(str(d["label"]), parse_clock_time(d["start"]), parse_clock_time(d["end"]),
                         frozenset(int(x) for x in d["weekdays"]), bool(d["onsite_days_only"]),
                         bool(d.get("on_holidays", False)))


class RosterStore:
    """Reads and writes the roster inside one session (the caller's unit of work)."""

    def __init__(self, session: Session) -> None:
        self.s = session

    # people -------------------------------------------------------------------------------------
    def people(self) -> dict[str, Person]:
        return {r.name: _person(r) for r in self.s.scalars(select(PersonRow).order_by(PersonRow.id))}

    def _ids(self) -> dict[str, int]:
        return {name: pid for pid, name in self.s.execute(select(PersonRow.id, PersonRow.name))}

    def _names(self) -> dict[int, str]:
        return {pid: name for pid, name in self.s.execute(select(PersonRow.id, PersonRow.name))}

    def upsert_people(self, people: Iterable[Person]) -> None:
        existing = {r.name: r for r in self.s.scalars(select(PersonRow))}
        for p in people:
            row = existing.get(p.name) or PersonRow(name=p.name)
            row.mobile, row.extension, row.email = p.mobile, p.extension, p.email
            row.wecom, row.dingtalk, row.feishu = p.chat_ids.wecom, p.chat_ids.dingtalk, p.chat_ids.feishu
            row.channels, row.specialties = ",".join(p.channels), ",".join(sorted(p.specialties))
            self.s.add(row)
        self.s.flush()

    # rotations, dated shifts, overrides -----------------------------------------------------------
    def replace_rotations(self, rotations: Iterable[Rotation]) -> None:
        self.s.execute(delete(RotationRow))
        for r in rotations:
            self.s.add(RotationRow(name=r.name, tier=r.tier.value, every=r.every.value, anchor=r.anchor,
                                   members=list(r.members), shifts=[template_to_json(t) for t in r.shifts]))
        self.s.flush()

    def replace_dated(self, days: Iterable[date], shifts: Iterable[tuple[date, Shift]]) -> None:
        """Drop the dated shifts of `days`, then store `shifts`, each with the local date it starts on."""
        days = set(days)
        if days:
            self.s.execute(delete(ShiftRow).where(ShiftRow.day.in_(days)))
        ids = self._ids()
        for day, sh in shifts:
            self.s.add(ShiftRow(day=day, tier=sh.tier.value, person_id=ids[sh.person],
                                start_at=sh.start, end_at=sh.end, label=sh.label))
        self.s.flush()

    def dated_between(self, start: datetime, end: datetime) -> list[StoredShift]:
        """The stored dated shifts overlapping [start, end), with their ids."""
        names = self._names()
        stmt = (select(ShiftRow).where(ShiftRow.start_at < end, ShiftRow.end_at > start)
                .order_by(ShiftRow.start_at, ShiftRow.id))
        return [StoredShift(r.id, Shift(Tier(r.tier), names[r.person_id], r.start_at, r.end_at, r.label, "dated"))
                for r in self.s.scalars(stmt)]

    def remove_dated(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        for part in chunks(ids):
            self.s.execute(delete(ShiftRow).where(ShiftRow.id.in_(part)))
        self.s.flush()

    def add_override(self, o: Override) -> int:
        ids = self._ids()
        row = OverrideRow(
            tier=o.tier.value, start_at=o.start, end_at=o.end,
            replaced_id=ids[o.replaced] if o.replaced else None,
            replacement_id=ids[o.replacement] if o.replacement else None,
            reason=o.reason, created_by=o.created_by, created_at=o.created_at, batch=o.batch or None)
        self.s.add(row)
        self.s.flush()
        return row.id

    def _override(self, r: OverrideRow, names: dict[int, str]) -> Override:
        return Override(Tier(r.tier), r.start_at, r.end_at,
                        names[r.replaced_id] if r.replaced_id else None,
                        names[r.replacement_id] if r.replacement_id else None,
                        r.reason, r.created_by, r.created_at, r.id, r.batch or "")

    def overrides(self, start: datetime, end: datetime) -> list[Override]:
        """The overrides overlapping [start, end), in the order made."""
        names = self._names()
        stmt = (select(OverrideRow).where(OverrideRow.start_at < end, OverrideRow.end_at > start)
                .order_by(OverrideRow.created_at, OverrideRow.id))
        return [self._override(r, names) for r in self.s.scalars(stmt)]

    def override_batch(self, override_id: int) -> list[Override]:
        """The override `override_id` and the others made with it (a swap's two halves)."""
        names = self._names()
        row = self.s.get(OverrideRow, override_id)
        if row is None:
            return []
        if not row.batch:
            return [self._override(row, names)]
        stmt = select(OverrideRow).where(OverrideRow.batch == row.batch).order_by(OverrideRow.id)
        return [self._override(r, names) for r in self.s.scalars(stmt)]

    def last_override_id(self, created_by: str | None = None) -> int | None:
        stmt = select(OverrideRow.id).order_by(OverrideRow.id.desc()).limit(1)
        if created_by is not None:
            stmt = stmt.where(OverrideRow.created_by == created_by)
        return self.s.scalar(stmt)

    def remove_overrides(self, ids: Iterable[int]) -> None:
        self.s.execute(delete(OverrideRow).where(OverrideRow.id.in_(list(ids))))
        self.s.flush()

    # requests -------------------------------------------------------------------------------------
    def add_request(self, kind: str, overrides: Sequence[Override], reason: str, by: str, at: datetime) -> int:
        row = RequestRow(kind=kind, overrides=[override_to_json(o) for o in overrides], reason=reason,
                         requested_by=by, requested_at=at, state="pending")
        self.s.add(row)
        self.s.flush()
        return row.id

    def requests(self, state: str | None = "pending") -> list[RosterRequest]:
        stmt = select(RequestRow).order_by(RequestRow.id)
        if state is not None:
            stmt = stmt.where(RequestRow.state == state)
        return [_request(r) for r in self.s.scalars(stmt)]

    def request(self, request_id: int) -> RosterRequest | None:
        row = self.s.get(RequestRow, request_id)
        return _request(row) if row is not None else None

    def decide(self, request_id: int, state: str, by: str, at: datetime, batch: str | None = None) -> None:
        row = self.s.get(RequestRow, request_id)
        if row is not None:
            row.state, row.decided_by, row.decided_at, row.batch = state, by, at, batch
            self.s.flush()

    # handover acknowledgements ------------------------------------------------------------------------
    def ack_handover(self, tier: Tier, person: str, shift_start: datetime, at: datetime, via: str) -> bool:
        """Record the acknowledgement; False when it was recorded before."""
        found = self.s.scalar(select(HandoverAckRow.id).where(
            HandoverAckRow.tier == tier.value, HandoverAckRow.person == person,
            HandoverAckRow.shift_start == shift_start))
        if found is not None:
            return False
        self.s.add(HandoverAckRow(tier=tier.value, person=person, shift_start=shift_start, acked_at=at, via=via))
        self.s.flush()
        return True

    def acked(self, start: datetime, end: datetime) -> set[tuple[str, str, datetime]]:
        """(tier, person, shift start) of the acknowledged shifts starting in [start, end)."""
        stmt = select(HandoverAckRow).where(HandoverAckRow.shift_start >= start, HandoverAckRow.shift_start < end)
        return {(r.tier, r.person, r.shift_start) for r in self.s.scalars(stmt)}

    # calendar feeds -------------------------------------------------------------------------------
    def add_feed(self, person: str, token_hash: str, actor: str, at: datetime) -> None:
        self.s.add(FeedRow(person_id=self._ids()[person], token_hash=token_hash, created_by=actor, created_at=at))
        self.s.flush()

    def feed_person(self, token_hash: str) -> str | None:
        """The person of a live feed, or None (unknown or revoked token)."""
        stmt = (select(PersonRow.name).join(FeedRow, FeedRow.person_id == PersonRow.id)
                .where(FeedRow.token_hash == token_hash, FeedRow.revoked_at.is_(None)))
        return self.s.scalar(stmt)

    def revoke_feeds(self, person: str, at: datetime) -> int:
        rows = list(self.s.scalars(select(FeedRow).where(FeedRow.person_id == self._ids()[person],
                                                         FeedRow.revoked_at.is_(None))))
        for r in rows:
            r.revoked_at = at
        self.s.flush()
        return len(rows)

    def load(self, start: datetime, end: datetime) -> Roster:
        """The roster with the dated shifts and overrides that overlap [start, end)."""
        rows = list(self.s.scalars(select(PersonRow).order_by(PersonRow.id)))
        people = {r.name: _person(r) for r in rows}
        names = {r.id: r.name for r in rows}
        rotations = tuple(
            Rotation(r.name, Tier(r.tier), Period(r.every), r.anchor, tuple(r.members),
                     tuple(template_from_json(t) for t in r.shifts))
            for r in self.s.scalars(select(RotationRow).order_by(RotationRow.id)))
        dated, overrides = self.dated(start, end, names)
        return Roster(people, rotations, dated, overrides)

    def dated(self, start: datetime, end: datetime, names: dict[int, str] | None = None
              ) -> tuple[tuple[Shift, ...], tuple[Override, ...]]:
        """The dated shifts and the overrides that overlap [start, end) (`names`: person id to name, if read)."""
        if names is None:
            names = self._names()
        dated = tuple(
            Shift(Tier(r.tier), names[r.person_id], r.start_at, r.end_at, r.label, "dated")
            for r in self.s.scalars(select(ShiftRow).where(ShiftRow.start_at < end, ShiftRow.end_at > start)
                                    .order_by(ShiftRow.start_at, ShiftRow.id)))
        overrides = tuple(self._override(r, names) for r in self.s.scalars(
            select(OverrideRow).where(OverrideRow.start_at < end, OverrideRow.end_at > start)
            .order_by(OverrideRow.created_at, OverrideRow.id)))
        return dated, overrides

    # calendar -------------------------------------------------------------------------------------
    def calendar(self) -> WorkingCalendar:
        days = [CalendarDay(r.day, DayKind(r.kind), r.name) for r in self.s.scalars(select(CalendarDayRow))]
        return WorkingCalendar.of(days, self.s.scalars(select(CalendarYearRow.year)))

    def calendar_days(self, year: int | None = None) -> list[tuple[CalendarDay, str]]:
        stmt = select(CalendarDayRow).order_by(CalendarDayRow.day)
        if year is not None:
            stmt = stmt.where(CalendarDayRow.day >= date(year, 1, 1), CalendarDayRow.day <= date(year, 12, 31))
        return [(CalendarDay(r.day, DayKind(r.kind), r.name), r.source) for r in self.s.scalars(stmt)]

    def set_days(self, days: Sequence[CalendarDay], source: str, actor: str, at: datetime) -> None:
        for d in days:
            row = self.s.get(CalendarDayRow, d.day) or CalendarDayRow(day=d.day)
            row.kind, row.name, row.source, row.updated_by, row.updated_at = d.kind.value, d.name, source, actor, at
            self.s.add(row)
        self.s.flush()

    def unset_day(self, day: date) -> bool:
        row = self.s.get(CalendarDayRow, day)
        if row is not None:
            self.s.delete(row)
        return row is not None

    def confirm_year(self, year: int, source: str, actor: str, at: datetime) -> None:
        row = self.s.get(CalendarYearRow, year) or CalendarYearRow(year=year)
        row.source, row.confirmed_by, row.confirmed_at = source, actor, at
        self.s.add(row)
        self.s.flush()

    # notes and change log -------------------------------------------------------------------------
    def add_note(self, tier: Tier, author: str, at: datetime, text: str) -> None:
        self.s.add(HandoverNoteRow(tier=tier.value, author=author, written_at=at, text=text))

    def notes_between(self, tier: Tier, start: datetime, end: datetime) -> list[tuple[str, datetime, str]]:
        stmt = (select(HandoverNoteRow).where(HandoverNoteRow.tier == tier.value,
                                              HandoverNoteRow.written_at >= start, HandoverNoteRow.written_at < end)
                .order_by(HandoverNoteRow.written_at))
        return [(r.author, r.written_at, r.text) for r in self.s.scalars(stmt)]

    def notes_of_tiers(self, start: datetime, end: datetime) -> list[tuple[Tier, str, datetime, str]]:
        """The handover notes of every tier written in [start, end): (tier, author, written at, text)."""
        stmt = (select(HandoverNoteRow).where(HandoverNoteRow.written_at >= start, HandoverNoteRow.written_at < end)
                .order_by(HandoverNoteRow.written_at, HandoverNoteRow.id))
        return [(Tier(r.tier), r.author, r.written_at, r.text) for r in self.s.scalars(stmt)]

    def log(self, actor: str, at: datetime, action: str, detail: str) -> None:
        self.s.add(ChangeRow(actor=actor, at=at, action=action, detail=detail))

    def changes(self, limit: int = 50) -> list[tuple[datetime, str, str, str]]:
        stmt = select(ChangeRow).order_by(ChangeRow.at.desc(), ChangeRow.id.desc()).limit(limit)
        return [(r.at, r.actor, r.action, r.detail) for r in self.s.scalars(stmt)]
