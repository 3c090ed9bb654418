"""Retention of tickets and recordings (SQLite and PostgreSQL), `[privacy] tickets_days`, `recordings_days`,
`recording_dirs`: closed tickets past their retention lose the caller's number, name and own words while
the statistics stay; the audio of voicemail recordings is deleted at Twilio (a local stand-in of its REST
API over real HTTP) and old recording files on disk are deleted; a dry run counts without changing
anything; every run is in the audit log. A person's erasure covers their tickets and recordings too."""

from __future__ import annotations

import base64
import json
import os
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from hotline.cli import main
from hotline.clock import ManualClock
from hotline.config import ConfigError, Settings, settings_from_dict
from hotline.providers.asterisk.client import AmiClient
from hotline.providers.twilio.recordings import RestRecordings
from hotline.runtime.assembly import AmiIngest, Database, open_database
from hotline.runtime.listener import AmiListener
from hotline.services.calls.ledger import Ledger
from hotline.services.privacy.service import PrivacyService, Retention, retention_of
from hotline.store.access import AuditRow
from hotline.store.calls import RawEventRow
from hotline.store.privacy import ERASED
from hotline.store.recordings import RecordingRow
from hotline.store.tickets import ArticleRow, TicketClockRow, TicketRow
from tests.integration.paging_fakes import FakeServer, Recorded, Reply, Responder, json_reply
from tests.integration.paging_fakes import fake_server_fixture as fake_server  # noqa: F401
from tests.truth import FIXTURES

ROOT = FIXTURES.parent.parent.parent
CONFIG = str(ROOT / "config" / "hotline.toml")
TWILIO = ROOT / "tests" / "fixtures" / "twilio"
CLOSED_CALLER = "13800138011"  # outbound_callback.ami: the ticket closed below
OPEN_CALLER = "13800138000"  # answered_caller_hangup.ami: its ticket stays open
SID = "AC00000000000000000000000000000001"  # the account of the recorded Twilio sessions
TOKEN = "rest-token-retention"
FIRST_RE, SECOND_RE, THIRD_RE = "RE" + "0" * 32, "RE" + "1" * 32, "RE" + "2" * 32
TABLES = ("tickets", "ticket_events", "callers", "ticket_missed_calls", "kb_articles", "surveys", "survey_tries",
          "survey_answers", "complaint_forms", "complaint_form_versions")
WORDS = "财务部三楼的打印机一打印就卡纸，分机 6021"  # the caller's own words (the description)
# the number written as people write it (spaced, with +86 and dashes), and the desk's own number, which stays
AFTER = "；回访请拨138 0013 8011或+86-138-0013-8011，再坏请拨 010-12345678"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main([*argv, "--config", CONFIG]) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def mentions(db: Database, needles: tuple[str, ...], tables: tuple[str, ...] = TABLES) -> dict[str, int]:
    """Rows per table of `tables` whose text (any column) holds one of `needles`."""
    found: dict[str, int] = {}
    with db.engine.connect() as conn:
        for table in tables:
            hits = sum(1 for r in conn.execute(text(f"SELECT * FROM {table}")).all()
                       if any(n in str(v) for v in r if v is not None for n in needles))
            if hits:
                found[table] = hits
    return found


@pytest.fixture
def tickets(db_url: str, capsys: pytest.CaptureFixture[str]) -> tuple[str, Database, str]:
    for trace in ("outbound_callback.ami", "answered_caller_hangup.ami"):
        run(capsys, "replay", str(FIXTURES / trace), "--json", "--run-for", "20m", "--db", db_url)
    listed = [json.loads(line) for line in run(capsys, "tickets", "list", "--json", "--caller", CLOSED_CALLER,
                                                 "--db", db_url).splitlines() if line.startswith("{")]
    tid = str(listed[0]["ticket_id"])
    run(capsys, "tickets", "caller", "+86 138 0013 8011", "--name", "王先生", "--org", "财务部", "--db", db_url)
    run(capsys, "tickets", "edit", tid, "--by", "张伟", "--caller-name", "王先生", "--description", WORDS,
        "--db", db_url)
    run(capsys, "tickets", "resolve", tid, "--by", "张伟", "--solution",
        f"已回电 {CLOSED_CALLER}（王先生），重新安装打印机驱动{AFTER}", "--cause", "驱动损坏", "--db", db_url)
    run(capsys, "kb", "draft", tid, "--by", "张伟", "--db", db_url)  # copies the summary, description, solution
    run(capsys, "tickets", "close", tid, "--by", "陈静", "--confirmed-by", "王先生", "--db", db_url)
    db = open_database(db_url)
    return db_url, db, tid


def test_closed_tickets_past_retention_lose_the_callers_data_and_keep_the_statistics(
        tickets: tuple[str, Database, str]) -> None:
    _, db, tid = tickets
    needles = (CLOSED_CALLER, "+8613800138011", "王先生")
    before = mentions(db, needles)
    assert {"tickets", "ticket_events", "callers", "kb_articles"} <= set(before)
    with db.factory() as s:
        clocks_before = s.scalar(select(func.count()).select_from(TicketClockRow))
    now = datetime.now(UTC)
    assert PrivacyService(db.factory, ManualClock(now + timedelta(days=29))).purge(
        Retention(tickets_days=30)) == {"tickets": 0, "surveys": 0, "complaint_forms": 0, "callers": 0,
                                        "missed_calls": 0}  # not yet
    later = PrivacyService(db.factory, ManualClock(now + timedelta(days=31)))
    dry = later.purge(Retention(tickets_days=30), actor="cli:root", dry_run=True)
    assert dry["tickets"] == 1 and dry["callers"] == 1
    assert mentions(db, needles) == before  # a dry run changes nothing

    counts = later.purge(Retention(tickets_days=30), actor="cli:root")
    assert counts["tickets"] == 1 and counts["callers"] == 1
    assert mentions(db, (*needles, WORDS)) == {}  # number, E.164 form, name, own words: nowhere, KB included
    with db.factory() as s:
        t = s.get(TicketRow, tid)
        assert t is not None
        assert (t.caller, t.caller_key, t.caller_name, t.confirmed_by, t.description) == (ERASED, ERASED, None,
                                                                                          None, "")
        assert t.solution == (f"已回电 {ERASED}（{ERASED}），重新安装打印机驱动"  # the knowledge stays
                              f"；回访请拨{ERASED}或{ERASED}，再坏请拨 010-12345678")
        assert t.status == "closed" and t.closed_at is not None and t.ticket_type and t.priority
        assert s.scalar(select(func.count()).select_from(TicketClockRow)) == clocks_before  # the SLA figures
        article = s.scalars(select(ArticleRow)).one()  # the knowledge article drafted from it keeps the knowledge
        assert (article.solution, article.cause) == (t.solution, "驱动损坏")
        assert WORDS not in article.problem and "打印机驱动" in article.search_text
        still_open = s.scalars(select(TicketRow).where(TicketRow.caller == OPEN_CALLER)).all()
        assert len(still_open) == 1 and still_open[0].status != "closed"  # an open ticket is not touched
        trail = [(r.actor, r.action) for r in s.scalars(select(AuditRow).where(AuditRow.action.like("retention%"))
                                                        .order_by(AuditRow.audit_id))]
    assert trail == [("system", "retention_purge"), ("cli:root", "retention_dry_run"), ("cli:root", "retention_purge")]
    assert later.purge(Retention(tickets_days=30))["tickets"] == 0  # done once
    db.engine.dispose()


def test_erasing_a_number_covers_its_tickets_and_caller_entry(tickets: tuple[str, Database, str],
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    db_url, db, _ = tickets
    held = json.loads(run(capsys, "privacy", "export", "--number", OPEN_CALLER, "--db", db_url))
    assert [t["caller"] for t in held["tickets"]] == [OPEN_CALLER]
    counts = json.loads(run(capsys, "privacy", "erase", "--number", "+86 138 0013 8000", "--yes", "--db", db_url))
    assert counts["tickets"] == 1
    assert mentions(db, (OPEN_CALLER, "+8613800138000")) == {}
    assert mentions(db, (CLOSED_CALLER,))  # another caller's tickets untouched
    db.engine.dispose()


def twilio_api(gone: set[str], broken: set[str]) -> Responder:
    """DELETE /2010-04-01/Accounts/{sid}/Recordings/{RecordingSid}.json with basic auth, as Twilio answers:
    204, 404 for a recording it does not have, here 500 for those in `broken`."""

    def respond(req: Recorded) -> Reply:
        good = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        if req.headers.get("authorization") != good:
            return json_reply({"code": 20003, "message": "Authenticate", "status": 401}, 401)
        m = re.fullmatch(rf"/2010-04-01/Accounts/{SID}/Recordings/(RE[0-9a-f]{{32}})\.json", req.path)
        if req.method != "DELETE" or m is None:
            return json_reply({"code": 20404, "message": "not found", "status": 404}, 404)
        if m.group(1) in broken:
            return json_reply({"code": 20500, "message": "Internal Server Error", "status": 500}, 500)
        if m.group(1) in gone:
            return json_reply({"code": 20404, "message": "The requested resource was not found", "status": 404}, 404)
        gone.add(m.group(1))
        return 204, {}, b""

    return respond


def _sessions(tmp_path: Path) -> list[Path]:
    """The recorded voicemail session (busy.jsonl: RecordingSid RE000...) and two more calls like it."""
    original = (TWILIO / "busy.jsonl").read_text(encoding="utf-8")
    out = []
    for i, (call, rec) in enumerate((("d4" * 16, FIRST_RE), ("e5" * 16, SECOND_RE), ("f6" * 16, THIRD_RE))):
        path = tmp_path / f"voicemail{i}.jsonl"
        path.write_text(original.replace("d4" * 16, call).replace(FIRST_RE, rec), encoding="utf-8")
        out.append(path)
    return out


def _old(path: Path, days: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF....WAVE")
    at = time.time() - days * 86400
    os.utime(path, (at, at))
    return path


def test_recordings_past_retention_are_deleted_at_twilio_and_on_disk(
        db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        fake_server: Callable[[Responder], FakeServer]) -> None:
    for session in _sessions(tmp_path):
        run(capsys, "replay", str(session), "--json", "--db", db_url)
    gone: set[str] = {SECOND_RE}  # already deleted at Twilio by someone: counts as deleted
    server = fake_server(twilio_api(gone, broken={THIRD_RE}))
    spool = tmp_path / "spool"
    monitor_old = _old(spool / "monitor" / "q-13800138004-20240506.wav", 40)
    voicemail_old = [_old(spool / "voicemail" / "default" / "hotline" / "INBOX" / f"msg0000.{ext}", 40)
                     for ext in ("wav", "txt")]
    recent = _old(spool / "monitor" / "q-13800138004-today.wav", 1)
    outside = _old(tmp_path / "elsewhere" / "keep.wav", 40)
    (spool / "monitor" / "link.wav").symlink_to(outside)
    retention = Retention(recordings_days=30, recording_dirs=(str(spool),))
    db = open_database(db_url)
    service = PrivacyService(db.factory, ManualClock(datetime.now(UTC)),
                             RestRecordings(SID, TOKEN, api_base_url=server.url))

    dry = service.purge(retention, dry_run=True)
    assert dry == {"recordings": 3, "recording_files": 3}
    assert not server.requests and monitor_old.exists() and all(p.exists() for p in voicemail_old)

    counts = service.purge(retention)
    assert counts == {"recordings": 2, "recordings_failed": 1, "recording_files": 3}
    assert [(r.method, r.path.rsplit("/", 1)[1]) for r in server.requests] == [
        ("DELETE", f"{FIRST_RE}.json"), ("DELETE", f"{SECOND_RE}.json"), ("DELETE", f"{THIRD_RE}.json")]
    assert not monitor_old.exists() and not any(p.exists() for p in voicemail_old)
    assert recent.exists() and outside.exists()  # newer files stay; a link is not followed out of the spool
    with db.factory() as s:
        rows = {r.recording_sid: r for r in s.scalars(select(RecordingRow))}
        assert rows[FIRST_RE].purged_at is not None and rows[FIRST_RE].url is None
        assert rows[FIRST_RE].call_id == "CA" + "d4" * 16 and rows[FIRST_RE].duration_seconds == 12
        assert rows[THIRD_RE].purged_at is None and rows[THIRD_RE].url  # kept for the next run
        audit = s.scalars(select(AuditRow).where(AuditRow.action == "retention_purge")).one()
    assert audit.detail == "recordings=2 recordings_failed=1 recording_files=3"
    assert service.purge(retention) == {"recordings": 0, "recordings_failed": 1, "recording_files": 0}
    db.engine.dispose()


def test_without_twilio_credentials_due_recordings_wait(db_url: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "replay", str(_sessions(tmp_path)[0]), "--json", "--db", db_url)
    db = open_database(db_url)
    counts = PrivacyService(db.factory, ManualClock(datetime.now(UTC))).purge(Retention(recordings_days=30))
    assert counts == {"recordings_waiting": 1, "recording_files": 0}
    with db.factory() as s:
        assert s.scalars(select(RecordingRow.purged_at)).one() is None
    db.engine.dispose()


def test_retention_settings_of_tickets_and_recordings_are_checked(tmp_path: Path) -> None:
    ok = retention_of(settings_from_dict({"privacy": {"tickets_days": 365, "recordings_days": 90,
                                                      "recording_dirs": [str(tmp_path)]}}))
    assert ok == Retention(tickets_days=365, recordings_days=90, recording_dirs=(str(tmp_path),))
    for section, problem in (({"tickets_days": 0}, "[privacy.tickets_days] must be a number of days"),
                             ({"recordings_days": 30, "recording_dirs": "/var/spool"}, "must be a list"),
                             ({"recordings_days": 30, "recording_dirs": [str(tmp_path / "nope")]},
                              "is not an existing directory"),
                             ({"recording_dirs": [str(tmp_path)]}, "needs privacy.recordings_days")):
        with pytest.raises(ConfigError) as e:
            retention_of(settings_from_dict({"privacy": section}, source="hotline.toml"))
        assert problem in str(e.value), str(e.value)


def test_the_purge_command_has_a_dry_run(tickets: tuple[str, Database, str], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    db_url, db, _ = tickets
    config = tmp_path / "hotline.toml"
    config.write_text(Path(CONFIG).read_text(encoding="utf-8") + "\n[privacy]\ncalls_days = 1\ntickets_days = 1\n",
                      encoding="utf-8")
    with db.factory() as s:
        calls = s.scalar(text("SELECT count(*) FROM calls"))
    assert main(["privacy", "purge", "--dry-run", "--db", db_url, "--config", str(config)]) == 0
    counted = json.loads(capsys.readouterr().out)
    assert counted["calls"] == calls and counted["tickets"] == 0  # the traces' calls are days old
    with db.factory() as s:
        assert s.scalar(text("SELECT count(*) FROM calls")) == calls  # nothing deleted
        assert s.scalars(select(AuditRow.action).where(AuditRow.action.like("retention%"))).all() == [
            "retention_dry_run"]
    assert main(["privacy", "purge", "--db", db_url, "--config", str(config)]) == 0
    assert json.loads(capsys.readouterr().out)["calls"] == calls
    with db.factory() as s:
        assert s.scalar(text("SELECT count(*) FROM calls")) == 0
    db.engine.dispose()


def test_a_recording_outlives_the_calls_and_raw_events_that_named_it(db_url: str, tmp_path: Path, settings: Settings,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """The Record request (in raw_events) is the only place a voicemail's RecordingSid is written down. Calls
    kept shorter than recordings, or the listener's daily raw-event purge, delete those requests: the
    reference must be in `recordings` by then, or the audio stays at Twilio for ever."""
    first, second = _sessions(tmp_path)[:2]
    run(capsys, "replay", str(first), "--json", "--db", db_url)
    db = open_database(db_url)
    now = datetime.now(UTC)
    counts = PrivacyService(db.factory, ManualClock(now)).purge(Retention(calls_days=30, recordings_days=36500))
    assert counts["calls"] == 1  # the 2024 call and its raw events are gone ...
    with db.factory() as s:
        assert s.scalar(select(func.count()).select_from(RawEventRow)) == 0
        kept = s.scalars(select(RecordingRow)).one()  # ... its recording is still known, to be deleted in time
        assert (kept.recording_sid, kept.purged_at) == (FIRST_RE, None) and kept.url

    run(capsys, "replay", str(second), "--json", "--db", db_url)  # the listener's raw-event retention
    listener = AmiListener(AmiClient("127.0.0.1", 1, "u", "p"), AmiIngest(settings, Ledger(db.factory)),
                           ManualClock(now), retention_days=30)
    assert listener.purge_if_due() >= 1
    with db.factory() as s:
        assert s.scalar(select(func.count()).select_from(RawEventRow)) == 0
        assert sorted(s.scalars(select(RecordingRow.recording_sid))) == [FIRST_RE, SECOND_RE]
    db.engine.dispose()
