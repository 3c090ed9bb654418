"""Keeps the PBX's AstDB current for the IVR dialplan: `hotline/onduty/<tier>` (the dial string of the
tier's on-duty people) and `hotline/calendar/<YYYYMMDD>` (holiday | workday) from the roster service.

Each pass computes the wanted keys, compares them with what the last passes wrote and the PBX accepted,
and sends only the differences as AMI `DBPut` / `DBDel` actions. A new AMI session (the `session` token
changed) forgets that memory, so everything is sent again. Failures are reported and logged, never
raised: the next pass retries whatever was not confirmed.
"""

from __future__ import annotations

import asyncio
import logging
import string
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Protocol

from hotline.clock import Clock
from hotline.config import ConfigError, Settings
from hotline.domain.roster import OnDuty, Person, Tier
from hotline.domain.windows import DayKind, WorkingCalendar, days_between

logger = logging.getLogger(__name__)

ONDUTY_FAMILY = "hotline/onduty"
CALENDAR_FAMILY = "hotline/calendar"
DEFAULT_DIAL_TEMPLATE = "PJSIP/{extension}"
DEFAULT_DAYS_AHEAD = 14
PERSON_FIELDS = frozenset({"name", "extension", "mobile", "email"})
NOT_FOUND = "database entry not found"  # DBGet's (and older versions' DBDel) reply for a key that is not there
# Asterisk 22 answers DBDel of a missing key "Database entry could not be deleted" (as it does any other
# failed delete): a refused DBDel is checked with DBGet, and a key that is not there counts as deleted.


class ActionReply(Protocol):
    @property
    def ok(self) -> bool: ...

    @property
    def message(self) -> str | None: ...


SendAction = Callable[[str, list[tuple[str, str]]], Awaitable[ActionReply]]


class RosterSource(Protocol):
    """What the sync needs of `RosterService`."""

    def on_duty(self, at: datetime, specialty: str | None = None) -> OnDuty: ...

    def calendar(self) -> WorkingCalendar: ...

    @property
    def tz(self) -> tzinfo: ...


@dataclass(frozen=True)
class AstdbChange:
    """One AstDB key to set (`value`) or to delete (`value` None)."""

    family: str
    key: str
    value: str | None

    @property
    def path(self) -> str:
        return f"{self.family}/{self.key}"

    def action(self) -> tuple[str, list[tuple[str, str]]]:
        if self.value is None:
            return "DBDel", [("Family", self.family), ("Key", self.key)]
        return "DBPut", [("Family", self.family), ("Key", self.key), ("Val", self.value)]

    def __str__(self) -> str:
        return f"{self.path} = {self.value}" if self.value is not None else f"{self.path} deleted"


@dataclass
class SyncReport:
    """What one pass did: changes the PBX confirmed, changes it refused (and why), and an error that
    stopped the pass (roster unreadable, AMI not connected); `unsent` changes wait for the next pass."""

    at: datetime
    written: list[AstdbChange] = field(default_factory=list)
    failed: list[tuple[AstdbChange, str]] = field(default_factory=list)
    unsent: list[AstdbChange] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    resent: bool = False  # a new AMI session: every key was sent again

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failed and not self.unsent


@dataclass(frozen=True)
class PbxSyncConfig:
    dial_templates: tuple[str, ...] = (DEFAULT_DIAL_TEMPLATE,)
    days_ahead: int = DEFAULT_DAYS_AHEAD


def _template_fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def check_dial_templates(templates: str | Sequence[str], where: str = "dial_template") -> tuple[str, ...]:
    """The templates as a tuple; ValueError when one is empty, malformed or names no person field."""
    items = (templates,) if isinstance(templates, str) else tuple(templates)
    if not items:
        raise ValueError(f"{where}: give at least one dial string template, e.g. {DEFAULT_DIAL_TEMPLATE!r}")
    for t in items:
        if not isinstance(t, str) or not t.strip():
            raise ValueError(f"{where}: {t!r} is not a dial string template such as {DEFAULT_DIAL_TEMPLATE!r}")
        try:
            names = _template_fields(t)
        except ValueError as e:
            raise ValueError(f"{where}: {t!r} is not a valid template ({e})") from None
        if not names or not names <= PERSON_FIELDS:
            raise ValueError(f"{where}: {t!r} must use person fields only, from "
                             f"{{{'}, {'.join(sorted(PERSON_FIELDS))}}} (e.g. {DEFAULT_DIAL_TEMPLATE!r})")
        if any(c in t for c in ",|&"):
            raise ValueError(f"{where}: {t!r} must not contain ',', '|' or '&' (they split Dial() arguments)")
    return items


def pbx_sync_config(settings: Settings) -> PbxSyncConfig:
    """`[ivr] pbx_dial_template` (text or a list tried in order) and `[ivr] sync_days_ahead`."""
    ivr = settings.section("ivr")
    raw_templates: Any = ivr.get("pbx_dial_template", DEFAULT_DIAL_TEMPLATE)
    try:
        templates = check_dial_templates(raw_templates, "pbx_dial_template")
    except (ValueError, TypeError) as e:
        raise ConfigError(settings.source, "ivr.pbx_dial_template", str(e)) from None
    days: Any = ivr.get("sync_days_ahead", DEFAULT_DAYS_AHEAD)
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 366:
        raise ConfigError(settings.source, "ivr.sync_days_ahead",
                          f"must be a whole number of days from 0 to 366, got {days!r}")
    return PbxSyncConfig(templates, days)


def dial_string(person: Person, templates: Sequence[str]) -> str | None:
    """The first template whose fields the person has (e.g. an extension), filled in; None if none fits."""
    values = {"name": person.name, "extension": person.extension, "mobile": person.mobile, "email": person.email}
    for t in templates:
        if all(values[f].strip() for f in _template_fields(t)):
            return t.format(**{k: v.strip() for k, v in values.items()})
    return None


def calendar_value(calendar: WorkingCalendar, day: date) -> str | None:
    """`holiday` or `workday` (an adjusted working day); None for an ordinary day (no key)."""
    entry = calendar.entry(day)
    if entry is None:
        return None
    return "holiday" if entry.kind is DayKind.HOLIDAY else "workday"


def _not_found(reply: ActionReply) -> bool:
    return not reply.ok and (reply.message or "").strip().lower() == NOT_FOUND


class PbxSync:
    """Writes the on-duty dial strings and the working-day calendar to the PBX's AstDB over AMI."""

    def __init__(self, roster_service: RosterSource, send_action: SendAction, clock: Clock, *,
                 dial_template: str | Sequence[str] = DEFAULT_DIAL_TEMPLATE, days_ahead: int = DEFAULT_DAYS_AHEAD,
                 tiers: Sequence[Tier] = tuple(Tier), session: Callable[[], object] | None = None) -> None:
        self.roster = roster_service
        self.send_action = send_action
        self.clock = clock
        self.templates = check_dial_templates(dial_template)
        if days_ahead < 0:
            raise ValueError(f"days_ahead must be 0 or more, got {days_ahead}")
        self.days_ahead = days_ahead
        self.tiers = tuple(tiers)
        self.session = session
        self._session_seen: object = None
        self._written: dict[tuple[str, str], str | None] = {}  # confirmed by the PBX; None: confirmed absent
        self._last_error: str | None = None
        self._last_warnings: list[str] = []

    def forget(self) -> None:
        """Forget what was written: the next pass sends every key (a new AMI session, a restored PBX)."""
        self._written.clear()

    def wanted(self, now: datetime) -> tuple[dict[tuple[str, str], str | None], list[str]]:
        """Every key this pass manages with its wanted value (None: no key), and warnings."""
        duty = self.roster.on_duty(now)
        calendar = self.roster.calendar()
        out: dict[tuple[str, str], str | None] = {}
        warnings: list[str] = []
        for tier in self.tiers:
            dials: list[str] = []
            for person in duty.tier(tier):
                dial = dial_string(person, self.templates)
                if dial is None:
                    warnings.append(f"{tier.value}: {person.name} has no field for {' / '.join(self.templates)}; "
                                    "not dialled")
                elif dial not in dials:
                    dials.append(dial)
            out[(ONDUTY_FAMILY, tier.value)] = "&".join(dials) or None  # Dial() rings them all at once
        today = now.astimezone(self.roster.tz).date()  # the day the dialplan's STRFTIME sees
        for day in days_between(today, today + timedelta(days=self.days_ahead)):
            out[(CALENDAR_FAMILY, day.strftime("%Y%m%d"))] = calendar_value(calendar, day)
        return out, warnings

    def changes(self, wanted: dict[tuple[str, str], str | None]) -> list[AstdbChange]:
        """What differs from the confirmed state; calendar keys that left the window are deleted."""
        out = [AstdbChange(f, k, v) for (f, k), v in wanted.items()
               if (f, k) not in self._written or self._written[(f, k)] != v]
        for (f, k), v in list(self._written.items()):
            if (f, k) not in wanted:
                if v is None:
                    del self._written[(f, k)]
                else:
                    out.append(AstdbChange(f, k, None))
        return out

    async def sync(self, now: datetime) -> SyncReport:
        """One pass at `now`; never raises (except cancellation): problems are in the report and the log."""
        report = SyncReport(now)
        if self.session is not None:
            token = self.session()
            if token != self._session_seen:
                report.resent = bool(self._written)
                self._session_seen = token
                self.forget()
        try:
            wanted, report.warnings = self.wanted(now)
        except Exception as e:  # the database may be away for a moment: retry at the next pass
            report.error = f"roster not readable: {type(e).__name__}: {e}"
            return self._finish(report)
        pending = self.changes(wanted)
        for i, change in enumerate(pending):
            action, headers = change.action()
            try:
                reply = await self.send_action(action, headers)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # not connected, connection lost, timeout: the rest waits for the next pass
                report.error = f"{action} {change.path} not sent: {type(e).__name__}: {e}"
                report.unsent = pending[i:]
                break
            if not reply.ok and change.value is None and not _not_found(reply):
                try:
                    check = await self.send_action("DBGet", [("Family", change.family), ("Key", change.key)])
                except asyncio.CancelledError:
                    raise
                except Exception as e:
                    report.error = f"DBGet {change.path} not sent: {type(e).__name__}: {e}"
                    report.unsent = pending[i:]
                    break
                if _not_found(check):
                    reply = check
            if reply.ok or (change.value is None and _not_found(reply)):
                self._written[(change.family, change.key)] = change.value
                if (change.family, change.key) not in wanted:
                    del self._written[(change.family, change.key)]
                report.written.append(change)
            else:
                self._written.pop((change.family, change.key), None)
                report.failed.append((change, reply.message or "no message"))
        return self._finish(report)

    def _finish(self, report: SyncReport) -> SyncReport:
        for change, why in report.failed:
            logger.warning("AstDB %s: the PBX refused %s: %s; retried at the next sync", change.path,
                           change.action()[0], why)
        if report.warnings != self._last_warnings:
            for warning in report.warnings:
                logger.warning("PBX sync: %s", warning)
            self._last_warnings = report.warnings
        if report.error is not None:
            # Log a lasting problem (the PBX down for hours) once, then quietly until it changes.
            level = logging.WARNING if report.error != self._last_error else logging.DEBUG
            logger.log(level, "PBX sync: %s; retried at the next sync", report.error)
        elif report.written:
            logger.info("PBX sync: %d AstDB change(s): %s", len(report.written),
                        "; ".join(str(c) for c in report.written))
        self._last_error = report.error
        return report

    async def run(self, interval: float = 60.0, stop: asyncio.Event | None = None) -> None:
        """Sync now and every `interval` seconds until `stop` is set (or the task is cancelled)."""
        stop = stop if stop is not None else asyncio.Event()
        while not stop.is_set():
            try:
                await self.sync(self.clock.now())
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not end the service's loop
                logger.exception("PBX sync: unexpected error; retried at the next sync")
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except TimeoutError:
                pass
