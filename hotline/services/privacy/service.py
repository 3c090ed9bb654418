"""`hotline privacy export|erase --number N` and retention (PIPL: a person may ask what is held about
them and have it deleted; data is kept no longer than needed). Every request is in the audit log, which
is kept: it names the number masked only."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from hotline.clock import Clock
from hotline.config import ConfigError, Settings
from hotline.domain.numbers import mask, outside_number, try_parse_number
from hotline.services.access.audit import record
from hotline.services.privacy.recording_files import purge_files
from hotline.store import privacy as store
from hotline.store import recordings as recording_store
from hotline.store.base import unit_of_work

log = logging.getLogger(__name__)
RETENTION_KEYS = ("calls_days", "alerts_days", "page_text_days", "tickets_days", "recordings_days")
KNOWN_KEYS = (*RETENTION_KEYS, "recording_dirs")


@dataclass(frozen=True)
class Retention:
    """Days to keep each kind of record; None keeps it for ever. Tickets: days after closing, then the
    caller's data goes (the ticket stays for the statistics). Recordings: the audio at Twilio and the
    files under `recording_dirs` (Asterisk's voicemail and MixMonitor files)."""

    calls_days: int | None = None
    alerts_days: int | None = None
    page_text_days: int | None = None
    tickets_days: int | None = None
    recordings_days: int | None = None
    recording_dirs: tuple[str, ...] = ()


def retention_of(settings: Settings) -> Retention:
    raw = settings.section("privacy")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in KNOWN_KEYS:
            raise ConfigError(settings.source, f"privacy.{key}", f"unknown key (known: {', '.join(KNOWN_KEYS)})")
        if key == "recording_dirs":
            values[key] = _dirs(settings, value)
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(settings.source, f"privacy.{key}", f"must be a number of days, 1 or more, got {value!r}")
        values[key] = value
    retention = Retention(**values)
    if retention.recording_dirs and retention.recordings_days is None:
        raise ConfigError(settings.source, "privacy.recording_dirs",
                          "needs privacy.recordings_days (how long recordings are kept)")
    return retention


def _dirs(settings: Settings, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(d, str) and d.strip() for d in value):
        raise ConfigError(settings.source, "privacy.recording_dirs",
                          f"must be a list of directories, e.g. [\"/var/spool/asterisk/monitor\"], got {value!r}")
    for d in value:
        if not Path(d).is_absolute() or not Path(d).is_dir():
            raise ConfigError(settings.source, "privacy.recording_dirs",
                              f"{d!r} 不是已存在的绝对路径目录 / is not an existing directory (absolute path)")
    return tuple(value)


class RecordingDeleter(Protocol):
    """Deletes a recording's audio where it is kept (Twilio's REST API); raises when it could not."""

    def delete(self, recording_sid: str) -> None: ...


def twilio_recordings(settings: Settings) -> RecordingDeleter | None:
    """Twilio's Recording resource with the desk's credentials; None when Twilio is not configured."""
    from hotline.providers.twilio.recordings import RestRecordings
    from hotline.providers.twilio.rest_client import TWILIO_API_BASE_URL

    if not settings.twilio.account_sid or not settings.twilio.auth_token:
        return None
    base = settings.section("twilio_voice").get("api_base_url", TWILIO_API_BASE_URL)
    return RestRecordings(settings.twilio.account_sid, settings.twilio.auth_token, api_base_url=str(base))


def masked(number: str) -> str:
    """'138****8002' for any written form of the number ('+86 138 0013 8002' included)."""
    parsed = try_parse_number(number)
    return parsed.masked() if parsed is not None else mask(number)


def number_forms(number: str, local_area_code: str | None = None) -> set[str]:
    """The ways the ledger may hold one caller's number: as given, national, E.164. NumberError (bilingual)
    for a text that is no outside phone number (no digits, an extension, a short code such as 110)."""
    parsed = outside_number(number, local_area_code=local_area_code)
    return {f for f in (number.strip(), parsed.national, parsed.e164) if f}


class PrivacyService:
    def __init__(self, factory: sessionmaker[Session], clock: Clock,
                 recordings: RecordingDeleter | None = None, local_area_code: str | None = None) -> None:
        self.factory = factory
        self.clock = clock
        self.recordings = recordings
        self.local_area_code = local_area_code  # completes a local landline given without its area code

    def forms(self, number: str) -> set[str]:
        """`number_forms` of a caller's number; NumberError when it is none."""
        return number_forms(number, self.local_area_code)

    def export(self, number: str, actor: str) -> dict[str, Any]:
        """Everything held about the caller's number: calls, alerts, pages, tickets, the caller directory,
        recordings, surveys (answers, tries) and complaint forms (with their versions)."""
        forms = self.forms(number)
        with unit_of_work(self.factory) as s:
            held = store.held_for(s, forms)
            record(s, self.clock.now(), actor=actor, action="privacy_export", target=masked(number), outcome="ok",
                   detail=" ".join(f"{k}={len(v)}" for k, v in held.items()))
        return {"number": number, "forms": sorted(forms), **held}

    def erase(self, number: str, actor: str) -> dict[str, int]:
        """The number and name out of calls, alerts, pages, tickets, surveys and complaint forms; the audio of
        the number's recordings deleted (Twilio)."""
        forms = self.forms(number)
        with unit_of_work(self.factory) as s:
            recording_store.collect_twilio(s)
            due = [(r.id, r.recording_sid) for r in store.recordings_of_number(s, forms)]
            counts = store.erase(s, forms, self.clock.now())
        counts.update(self._delete_recordings(due, dry_run=False))
        with unit_of_work(self.factory) as s:
            record(s, self.clock.now(), actor=actor, action="privacy_erase", target=masked(number), outcome="ok",
                   detail=_detail(counts))
        return counts

    def purge(self, retention: Retention, actor: str = "system", dry_run: bool = False) -> dict[str, int]:
        """Delete or anonymise what is past its retention; with `dry_run`, only count it (nothing is
        changed, the count is in the audit log as `retention_dry_run`). Counts per kind."""
        now = self.clock.now()

        def horizon(days: int | None) -> datetime | None:
            return None if days is None else now - timedelta(days=days)

        recordings_before = horizon(retention.recordings_days)
        due: list[tuple[int, str]] = []
        with unit_of_work(self.factory) as s:
            # first: the calls' purge below deletes their raw events, the only place a recording is named
            recording_store.collect_twilio(s)
            counts = store.purge(s, calls_before=horizon(retention.calls_days),
                                 alerts_before=horizon(retention.alerts_days),
                                 page_texts_before=horizon(retention.page_text_days))
            tickets_before = horizon(retention.tickets_days)
            if tickets_before is not None:
                counts.update(store.anonymise_closed_tickets(s, tickets_before, now))
            if recordings_before is not None:
                due = [(r.id, r.recording_sid) for r in recording_store.due(s, recordings_before)]
            if dry_run:
                s.rollback()  # counted, not changed
        if recordings_before is not None:
            counts.update(self._delete_recordings(due, dry_run))
            files, problems = purge_files(retention.recording_dirs, recordings_before, dry_run)
            counts["recording_files"] = files
            if problems:
                counts["recording_files_failed"] = len(problems)
                log.warning("retention: %d recording files not deleted: %s", len(problems), "; ".join(problems[:5]))
        with unit_of_work(self.factory) as s:
            record(s, now, actor=actor, action="retention_dry_run" if dry_run else "retention_purge",
                   target="calls, alerts, pages, tickets, recordings", outcome="ok",
                   detail=_detail(counts) or "nothing configured")
        return counts

    def _delete_recordings(self, due: list[tuple[int, str]], dry_run: bool) -> dict[str, int]:
        """The audio of `due` (row id, RecordingSid) deleted at Twilio, each marked purged once it is gone."""
        if not due:
            return {}
        if dry_run:
            return {"recordings": len(due)}
        if self.recordings is None:
            log.warning("retention: %d Twilio recordings are due but Twilio is not configured "
                        "([twilio] account_sid, HOTLINE_TWILIO_AUTH_TOKEN): kept for the next run", len(due))
            return {"recordings_waiting": len(due)}
        done: list[int] = []
        failed = 0
        for row_id, sid in due:
            try:
                self.recordings.delete(sid)
            except RuntimeError as e:
                failed += 1
                log.warning("retention: %s", e)
                continue
            done.append(row_id)
        with unit_of_work(self.factory) as s:
            recording_store.mark_purged(s, done, self.clock.now())
        counts = {"recordings": len(done)}
        if failed:
            counts["recordings_failed"] = failed
        return counts


def _detail(counts: dict[str, int]) -> str:
    return " ".join(f"{k}={v}" for k, v in counts.items())
