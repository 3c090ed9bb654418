"""Every state change made from the command line is in the audit log (who, when, from where, what), written
once by the dispatcher from the table in hotline/cli/audit_trail.py; read-only and failing commands add
nothing; numbers are masked and passwords never written. Runs the real `hotline` command on SQLite and
PostgreSQL. The parser walk makes a command added later without a classification fail the suite."""

from __future__ import annotations

import argparse
import io
import json
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from hotline.cli import audit_trail, build_parser, main
from hotline.domain.numbers import masked_in_text
from hotline.runtime.assembly import open_database
from hotline.services.access.audit import AuditEntry, AuditLog
from hotline.services.roster.service import RosterService
from tests.conftest import FIXTURES, ROOT

NOW = "2026-11-23T10:00"  # week 47: 王芳 days, 张伟 nights, 周强 manager
PASSWORD = "Pa55-word-刘洋-2026"


def entries(db_url: str) -> list[AuditEntry]:
    db = open_database(db_url)
    try:
        return AuditLog(db.factory).entries()
    finally:
        db.engine.dispose()


@pytest.fixture
def config(roster_desk: Callable[[str], RosterService], db_url: str, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped config (tickets on), with the test's database and data directory from the environment."""
    roster_desk("2026-11-23 10:00")
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db_url)
    monkeypatch.setenv("HOTLINE_HOTLINE_DATA_DIR", str(tmp_path))
    return ROOT / "config" / "hotline.toml"


def run(config: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["--config", str(config), *argv])
    return code, capsys.readouterr().out


def test_cli_changes_are_audited_reads_and_failures_are_not(config: Path, db_url: str,
                                                            capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    started = datetime.now().astimezone()
    monkeypatch.setenv("HOTLINE_API_LINK_KEY", "x" * 32)
    # calls that open tickets (replay is read-only: the ledger's own, not a person's change)
    for trace in ("outbound_callback.ami", "answered_caller_hangup.ami"):
        assert run(config, capsys, "replay", str(FIXTURES / trace), "--run-for", "20m", "--db", db_url)[0] == 0
    assert entries(db_url) == []

    # read-only commands add nothing
    for argv in (("tickets", "list", "--json"), ("alerts", "list"), ("roster", "who", "--now", NOW),
                 ("roster", "requests", "--now", NOW), ("kb", "search", "打印机")):
        assert run(config, capsys, *argv)[0] == 0, argv
    assert entries(db_url) == []

    code, out = run(config, capsys, "tickets", "list", "--json", "--caller", "13800138011")
    tid = str(json.loads(out.splitlines()[0])["ticket_id"])
    assert run(config, capsys, "tickets", "edit", tid, "--by", "张伟", "--summary", "打印机脱机 13800138011")[0] == 0
    assert run(config, capsys, "tickets", "caller", "+86 138 0013 8011", "--name", "王先生")[0] == 0
    assert run(config, capsys, "roster", "override", "--tier", "first_line", "--from", "2026-11-27T20:00",
               "--to", "2026-11-28T08:00", "--replace", "张伟", "--by", "李娜", "--reason", "病假",
               "--actor", "周强", "--now", NOW)[0] == 0
    code, out = run(config, capsys, "incident", "declare", "机房断电 power cut", "--by", "李娜")
    assert code == 0
    alert_id = json.loads(out.splitlines()[0])["alert_id"]
    assert run(config, capsys, "alerts", "ack", alert_id, "--by", "周强")[0] == 0
    # a failing command (no such alert) changed nothing and writes nothing
    assert run(config, capsys, "alerts", "resolve", "nope", "--by", "周强", "--reason", "x")[0] == 1

    got = list(reversed(entries(db_url)))  # oldest first
    assert [(e.action, e.target, e.actor, e.outcome) for e in got] == [
        ("change", "hotline tickets edit", "张伟", "0"),
        ("change", "hotline tickets caller", f"cli:{audit_trail.os_user()}", "0"),
        ("change", "hotline roster override", "周强", "0"),
        ("change", "hotline incident declare", "李娜", "0"),
        ("change", "hotline alerts ack", "周强", "0"),
    ]
    assert {e.address for e in got} == {f"cli@{socket.gethostname()}"}
    assert all(started - timedelta(seconds=5) <= e.at <= datetime.now().astimezone() + timedelta(seconds=5)
               for e in got)
    edit, caller, override, _, ack = (e.detail or "" for e in got)
    assert f"tickets edit {tid} --by 张伟 --summary 打印机脱机 138****8011" in edit and "13800138011" not in edit
    assert "+86 138 0013 8011" not in caller and "138****8011" in caller
    assert "--replace 张伟 --by 李娜 --reason 病假 --actor 周强" in override
    assert f"alerts ack {alert_id} --by 周强" in ack and f"os_user={audit_trail.os_user()}" in ack

    # accounts write their own entries (account_added); the password is in none of them
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert run(config, capsys, "users", "add", "liuyang", "--role", "staff", "--person", "刘洋",
               "--password-stdin")[0] == 0
    after = entries(db_url)
    assert [e.action for e in after[: len(after) - len(got)]] == ["account_added"]
    assert not any(PASSWORD in " ".join(str(v) for v in vars(e).values()) for e in after)


def test_described_hides_secrets_and_database_passwords() -> None:
    line = audit_trail.described(["users", "add", "x", "--password", PASSWORD, f"--api-token={PASSWORD}",
                                  "--db", f"postgresql+psycopg://hotline:{PASSWORD}@db:5432/hotline",
                                  "--caller", "010-12345678", "8002", "2026-11-27T20:00"])
    assert PASSWORD not in line
    assert "--password *** --api-token=*** --db postgresql+psycopg://hotline:***@db:5432/hotline" in line
    assert line.endswith("--caller 010****5678 8002 2026-11-27T20:00")  # extensions and times stay


def _commands(parser: argparse.ArgumentParser, prefix: list[str]) -> list[str]:
    sub = audit_trail.subparsers_of(parser)
    if sub is None:
        actions = audit_trail.action_choices(parser)
        return [" ".join([*prefix, a]) for a in actions] if actions else [" ".join(prefix)]
    return [name for word, child in sub.choices.items() for name in _commands(child, [*prefix, word])]


def test_every_command_is_classified() -> None:
    commands = _commands(build_parser(), [])
    assert len(commands) > 80
    missing = [c for c in commands if c not in audit_trail.COMMANDS]
    assert missing == [], f"classify these in hotline/cli/audit_trail.py COMMANDS: {missing}"
    stale = sorted(set(audit_trail.COMMANDS) - set(commands))
    assert stale == [], f"no such commands: {stale}"
    assert audit_trail.classify("tickets assign") == audit_trail.CHANGE
    assert audit_trail.classify("tickets list") == audit_trail.READ


def test_command_key_reads_nested_commands_and_actions() -> None:
    def key(*words: str) -> str:
        parser = build_parser(list(words))
        return audit_trail.command_key(parser, words, parser.parse_args(words))

    assert key("--config", "x.toml", "roster", "request", "override", "--tier", "first_line",
               "--from", "2026-11-27T20:00", "--to", "2026-11-28T08:00") == \
        "roster request override"
    assert key("--config", "x.toml", "roster", "holidays", "set", "2026-12-24", "holiday", "--actor", "周强") == \
        "roster holidays set"
    assert key("users", "token", "revoke", "3") == "users token revoke"
    assert key("privacy", "erase", "--number", "13800138004") == "privacy erase"


def test_numbers_in_a_logged_word_are_masked_ids_are_not() -> None:
    """Random ids (alerts: 16 hex digits) may hold a run of digits that is a valid landline (`7626064324`); a
    number is masked only where it stands on its own."""
    assert masked_in_text("f9e7626064324a1d") == "f9e7626064324a1d"
    assert masked_in_text("GD20261123-0001") == "GD20261123-0001"
    assert masked_in_text("13800138011") == "138****8011"
    assert masked_in_text("回电13800138011，王先生") == "回电138****8011，王先生"
    assert masked_in_text("--number=+86 138 0013 8011") == "--number=138****8011"
    assert "6234567" not in masked_in_text("010-62345678")
