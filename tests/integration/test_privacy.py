"""A person's data by number (SQLite and PostgreSQL): `hotline privacy export` lists every call, alert and
page naming it, `erase` removes the number and name everywhere while the rows (statistics) and the
audit trail stay; retention deletes old calls and closed alerts and blanks old page texts."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text

from hotline.cli import main
from hotline.clock import ManualClock
from hotline.config import ConfigError, Settings, settings_from_dict
from hotline.runtime.assembly import Database, open_database
from hotline.services.privacy.service import PrivacyService, Retention, retention_of
from hotline.store.access import AuditRow
from hotline.store.calls import CallRow
from tests.truth import FIXTURES

CONFIG = str(FIXTURES.parent.parent.parent / "config" / "hotline.toml")
CALLER = "13800138002"  # abandoned_in_queue.ami: a missed call, an alert, pages
OTHER = "13800138000"  # answered_caller_hangup.ami
TABLES = ("calls", "alerts", "alert_events", "outbox", "raw_events", "audit_log")


@pytest.fixture
def desk(db_url: str, capsys: pytest.CaptureFixture[str]) -> Iterator[tuple[str, Database]]:
    assert main(["replay", str(FIXTURES / "abandoned_in_queue.ami"), "--db", db_url, "--config", CONFIG,
                 "--run-for", "20m"]) == 0
    assert main(["replay", str(FIXTURES / "answered_caller_hangup.ami"), "--db", db_url, "--config", CONFIG]) == 0
    capsys.readouterr()
    db = open_database(db_url)
    yield db_url, db
    db.engine.dispose()


def mentions(db: Database, needle: str) -> dict[str, int]:
    """Rows per table whose text (any column) holds `needle`."""
    found: dict[str, int] = {}
    with db.engine.connect() as conn:
        for table in TABLES:
            rows = conn.execute(text(f"SELECT * FROM {table}")).all()
            hits = sum(1 for r in rows if any(needle.encode() in v if isinstance(v, bytes) else needle in str(v)
                                              for v in r if v is not None))
            if hits:
                found[table] = hits
    return found


def test_export_then_erase_a_callers_data(desk: tuple[str, Database], capsys: pytest.CaptureFixture[str]) -> None:
    db_url, db = desk
    before = mentions(db, CALLER)
    assert {"calls", "alerts", "outbox", "raw_events"} <= set(before)
    assert main(["privacy", "export", "--number", "+86 138 0013 8002", "--db", db_url, "--config", CONFIG]) == 0
    held = json.loads(capsys.readouterr().out)
    assert CALLER in held["forms"] and "+8613800138002" in held["forms"]
    assert [c["caller"] for c in held["calls"]] == [CALLER]
    assert [a["caller"] for a in held["alerts"]] == [CALLER] and held["pages"]
    assert all(CALLER in p["text"] for p in held["pages"])

    assert main(["privacy", "erase", "--number", CALLER, "--yes", "--db", db_url, "--config", CONFIG]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts["calls"] == 1 and counts["alerts"] == 1 and counts["pages"] >= 1 and counts["raw_events"] >= 1
    assert mentions(db, CALLER) == {}  # nowhere, the audit log included
    assert mentions(db, OTHER).get("calls") == 1  # another caller's data untouched
    with db.factory() as s:
        assert len(s.scalars(select(CallRow)).all()) == 2  # the answer rate keeps its counts
        trail = [(r.action, r.target) for r in s.scalars(select(AuditRow).order_by(AuditRow.audit_id))]
    assert trail == [("privacy_export", "138****8002"), ("privacy_erase", "138****8002")]


def test_retention_deletes_old_calls_and_closed_alerts(desk: tuple[str, Database], settings: Settings) -> None:
    _, db = desk
    clock = ManualClock(datetime.fromisoformat("2026-12-03T09:00:00+08:00"), settings.tz)
    service = PrivacyService(db.factory, clock)
    assert service.purge(Retention()) == {}
    assert mentions(db, CALLER)
    kept = service.purge(Retention(calls_days=30, alerts_days=30, page_text_days=30))  # traces: 2026-11-23
    assert kept == {"calls": 0, "alerts": 0, "page_texts": 0}
    counts = service.purge(Retention(calls_days=5, alerts_days=5, page_text_days=5))
    assert counts["calls"] == 2 and counts["alerts"] == 1
    assert set(mentions(db, CALLER)) <= {"audit_log"} and not mentions(db, OTHER)


def test_retention_settings_are_checked() -> None:
    assert retention_of(settings_from_dict({"privacy": {"calls_days": 365}})) == Retention(calls_days=365)
    with pytest.raises(ConfigError, match=r"\[privacy.calls_days\] must be a number of days"):
        retention_of(settings_from_dict({"privacy": {"calls_days": 0}}))
    with pytest.raises(ConfigError, match=r"\[privacy.recordings\] unknown key"):
        retention_of(settings_from_dict({"privacy": {"recordings": 3}}))


def test_erase_refuses_what_is_not_a_number(desk: tuple[str, Database], capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    db_url, _ = desk
    assert main(["privacy", "erase", "--db", db_url, "--config", CONFIG]) == 2
    assert "--number" in capsys.readouterr().err


@pytest.mark.parametrize("number", ["abc", "110", "8001"])
def test_export_and_erase_refuse_what_is_no_outside_number(desk: tuple[str, Database], number: str,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Not a number, a short code, an extension: no caller's number, exit 1 like `tickets list --caller`."""
    db_url, db = desk
    for action in (["export"], ["erase", "--yes"]):
        assert main(["privacy", *action, "--number", number, "--db", db_url, "--config", CONFIG]) == 1
        out, err = capsys.readouterr()
        assert out == "" and err.startswith("错误 / error: --number: ") and "not an outside phone number" in err
    assert mentions(db, CALLER).get("calls") == 1
    with db.factory() as s:
        assert s.scalars(select(AuditRow)).all() == []  # nothing exported or erased


@pytest.mark.parametrize("typed", ["", "no\n", "\n"])
def test_erase_without_yes_and_without_a_yes_typed_erases_nothing(
        desk: tuple[str, Database], typed: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """No terminal input (stdin closed: EOF), or anything but `yes`: a refusal, exit 1, nothing erased."""
    db_url, db = desk
    monkeypatch.setattr("sys.stdin", io.StringIO(typed))
    assert main(["privacy", "erase", "--number", CALLER, "--db", db_url, "--config", CONFIG]) == 1
    err = capsys.readouterr().err
    assert "未删除" in err and "nothing erased" in err and "Traceback" not in err
    assert "--yes" in err or typed  # EOF: says how to erase without a terminal
    assert mentions(db, CALLER).get("calls") == 1


def test_serve_schedules_the_daily_purge_when_a_retention_is_set(desk: tuple[str, Database],
                                                                 settings: Settings) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    from hotline.runtime.retention import RETENTION_JOB, start_retention

    _, db = desk
    clock = ManualClock(datetime.fromisoformat("2026-12-03T09:00:00+08:00"), settings.tz)
    scheduler = BackgroundScheduler(timezone=settings.tz)
    assert start_retention(scheduler, settings, db.factory, clock) is False  # nothing configured: no job
    with_retention = replace(settings, extra={**settings.extra, "privacy": {"calls_days": 5}})
    assert start_retention(scheduler, with_retention, db.factory, clock) is True
    job = scheduler.get_job(RETENTION_JOB)
    assert job is not None and str(job.trigger) == "cron[hour='3', minute='30']"
    assert job.func(*job.args) == {"calls": 2}  # what the job does at 03:30
    with db.factory() as s:
        assert s.scalars(select(CallRow)).all() == []
