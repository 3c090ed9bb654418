"""`hotline privacy export|erase --number N` and retention (PIPL: a person may ask what is held about
them and have it deleted; data is kept no longer than needed). Every request is in the audit log, which
is kept: it names the number masked only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from hotline.clock import Clock
from hotline.config import ConfigError, Settings
from hotline.domain.numbers import mask, try_parse_number
from hotline.services.access.audit import record
from hotline.store import privacy as store
from hotline.store.base import unit_of_work

RETENTION_KEYS = ("calls_days", "alerts_days", "page_text_days")


@dataclass(frozen=True)
class Retention:
    """Days to keep each kind of record; None keeps it for ever."""

    calls_days: int | None = None
    alerts_days: int | None = None
    page_text_days: int | None = None


def retention_of(settings: Settings) -> Retention:
    raw = settings.section("privacy")
    values: dict[str, int | None] = {}
    for key, value in raw.items():
        if key not in RETENTION_KEYS:
            raise ConfigError(settings.source, f"privacy.{key}", f"unknown key (known: {', '.join(RETENTION_KEYS)})")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(settings.source, f"privacy.{key}", f"must be a number of days, 1 or more, got {value!r}")
        values[key] = value
    return Retention(**values)


def masked(number: str) -> str:
    """'138****8002' for any written form of the number ('+86 138 0013 8002' included)."""
    parsed = try_parse_number(number)
    return parsed.masked() if parsed is not None else mask(number)


def number_forms(number: str) -> set[str]:
    """The ways the ledger may hold one number: as given, national, E.164."""
    forms = {number.strip()}
    parsed = try_parse_number(number)
    if parsed is not None:
        forms |= {f for f in (parsed.national, parsed.e164) if f}
    forms.discard("")
    if not forms:
        raise ValueError(f"不是电话号码 {number!r} / not a phone number: {number!r}")
    return forms


class PrivacyService:
    def __init__(self, factory: sessionmaker[Session], clock: Clock) -> None:
        self.factory = factory
        self.clock = clock

    def export(self, number: str, actor: str) -> dict[str, Any]:
        forms = number_forms(number)
        with unit_of_work(self.factory) as s:
            held = store.held_for(s, forms)
            record(s, self.clock.now(), actor=actor, action="privacy_export", target=masked(number), outcome="ok",
                   detail=" ".join(f"{k}={len(v)}" for k, v in held.items()))
        return {"number": number, "forms": sorted(forms), **held}

    def erase(self, number: str, actor: str) -> dict[str, int]:
        forms = number_forms(number)
        with unit_of_work(self.factory) as s:
            counts = store.erase(s, forms)
            record(s, self.clock.now(), actor=actor, action="privacy_erase", target=masked(number), outcome="ok",
                   detail=" ".join(f"{k}={v}" for k, v in counts.items()))
        return counts

    def purge(self, retention: Retention, actor: str = "system") -> dict[str, int]:
        now = self.clock.now()

        def horizon(days: int | None) -> datetime | None:
            return None if days is None else now - timedelta(days=days)

        with unit_of_work(self.factory) as s:
            counts = store.purge(s, calls_before=horizon(retention.calls_days),
                                 alerts_before=horizon(retention.alerts_days),
                                 page_texts_before=horizon(retention.page_text_days))
            record(s, now, actor=actor, action="retention_purge", target="calls, alerts, pages", outcome="ok",
                   detail=" ".join(f"{k}={v}" for k, v in counts.items()) or "nothing configured")
        return counts
