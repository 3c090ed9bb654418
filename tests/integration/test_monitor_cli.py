"""`hotline monitors lint`, `hotline incident declare/reported/list`, `hotline alerts list/ack/resolve`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hotline.cli import main
from hotline.clock import SystemClock
from hotline.config import Settings
from hotline.runtime.assembly import open_database
from tests.conftest import ROOT

CONFIG = str(ROOT / "config" / "hotline.toml")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--config", CONFIG])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_lint_the_shipped_rules(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "monitors", "lint")
    assert code == 0 and "no_answer" in out and "incident" in out and "silence" in out


def test_lint_reports_file_and_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "no_answer.yaml").write_text("kind: no_answer\nsteps:\n  - after: 0m\n    tier: boss\n",
                                             encoding="utf-8")
    code, _, err = run(capsys, "monitors", "lint", str(tmp_path))
    assert code == 1
    assert f"{tmp_path / 'no_answer.yaml'}:4: steps[0].tier:" in err and "boss" in err


def test_incident_and_alert_commands(capsys: pytest.CaptureFixture[str], settings: Settings, db_url: str,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from hotline.services.roster.service import RosterService

    db = open_database(db_url)
    RosterService(db.factory, settings, SystemClock(settings.tz)).load_example(ROOT / "config" / "roster.yaml")
    db.engine.dispose()
    monkeypatch.delenv("HOTLINE_API_LINK_KEY", raising=False)
    code, _, err = run(capsys, "incident", "declare", "机房断电 power cut", "--by", "李娜", "--db", db_url)
    assert code == 2 and "HOTLINE_API_LINK_KEY" in err  # links are needed for pages: a clear error
    monkeypatch.setenv("HOTLINE_API_LINK_KEY", "x" * 32)
    code, out, _ = run(capsys, "incident", "declare", "机房断电 power cut", "--by", "李娜", "--db", db_url)
    assert code == 0
    incident = json.loads(out.splitlines()[0])
    assert incident["title"] == "机房断电 power cut" and incident["reported_at"] is None

    code, out, _ = run(capsys, "alerts", "list", "--json", "--db", db_url)
    (alert,) = [json.loads(line) for line in out.splitlines()]
    assert alert["kind"] == "incident" and alert["alert_id"] == incident["alert_id"]
    code, out, _ = run(capsys, "alerts", "ack", alert["alert_id"], "--by", "周强", "--db", db_url)
    assert code == 0 and json.loads(out)["acked_by"] == "周强"
    code, _, err = run(capsys, "alerts", "resolve", "nope", "--by", "周强", "--reason", "x", "--db", db_url)
    assert code == 1 and "nope" in err
    code, out, _ = run(capsys, "incident", "reported", incident["incident_id"], "--by", "周强", "--db", db_url)
    assert code == 0 and json.loads(out)["reported_by"] == "周强"
    code, out, _ = run(capsys, "incident", "list", "--open", "--db", db_url)
    assert code == 0 and "共 0 件 / 0 incidents" in out and incident["incident_id"] not in out  # reported
    code, out, _ = run(capsys, "alerts", "list", "--db", db_url)
    assert "0 alerts" in out
