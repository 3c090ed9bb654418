"""The daily retention run of `[privacy]` (calls, closed alerts, page texts, closed tickets, recordings) on the
service's scheduler."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from hotline.clock import Clock
from hotline.config import Settings
from hotline.services.privacy.service import PrivacyService, Retention, retention_of, twilio_recordings

RETENTION_JOB = "privacy-retention"


def start_retention(scheduler: Any, settings: Settings, factory: sessionmaker[Session], clock: Clock) -> bool:
    """Add the daily purge (03:30 desk time) when a retention is configured; returns whether it did."""
    retention = retention_of(settings)
    if retention == Retention():
        return False
    service = PrivacyService(factory, clock, twilio_recordings(settings))
    scheduler.add_job(service.purge, "cron", hour=3, minute=30, args=[retention], id=RETENTION_JOB,
                      replace_existing=True, coalesce=True, misfire_grace_time=3600)
    return True
