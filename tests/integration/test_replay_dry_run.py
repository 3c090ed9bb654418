"""A replay's dry run (no --send) sends nothing and says so: its page lines, and the unreturned list for the
alerts it paged (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from hotline.cli import main
from hotline.runtime.assembly import open_database
from hotline.store.alerts import OutboxRow, PageAttemptRow
from hotline.store.base import unit_of_work
from tests.conftest import FIXTURES, ROOT

CONFIG = str(ROOT / "config" / "hotline.toml")
DRY_RUN = "演练，未发送 / dry run, not sent"


def replay_pages(capsys: pytest.CaptureFixture[str], db_url: str) -> list[dict[str, object]]:
    assert main(["replay", str(FIXTURES / "abandoned_in_queue.ami"), "--json", "--run-for", "20m", "--db", db_url,
                 "--config", CONFIG]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    return [line for line in lines if line["type"] == "page"]


def test_replay_pages_say_dry_run(capsys: pytest.CaptureFixture[str], db_url: str) -> None:
    pages = replay_pages(capsys, db_url)
    assert len(pages) == 3 and {p["detail"] for p in pages} == {DRY_RUN}  # not "已送达 / delivered"


def test_the_unreturned_list_marks_people_paged_in_a_dry_run_only(capsys: pytest.CaptureFixture[str],
                                                                  db_url: str) -> None:
    assert len(replay_pages(capsys, db_url)) == 3
    assert main(["alerts", "unreturned", "--db", db_url, "--config", CONFIG]) == 0
    out = capsys.readouterr().out
    assert f"王芳, 杨磊, 周强 ({DRY_RUN})" in out, out
    assert main(["alerts", "unreturned", "--json", "--db", db_url, "--config", CONFIG]) == 0
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["paged"] == row["paged_dry_run"] == ["王芳", "杨磊", "周强"]

    # 杨磊's page really sent later (the running hotline, say): only the others stay marked
    db = open_database(db_url)
    with unit_of_work(db.factory) as s:
        box = s.scalars(select(OutboxRow).where(OutboxRow.person == "杨磊")).one()
        s.add(PageAttemptRow(outbox_id=box.id, at=box.created_at, channel="sms", ok=True, provider_id="sms-1"))
    db.engine.dispose()
    assert main(["alerts", "unreturned", "--db", db_url, "--config", CONFIG]) == 0
    out = capsys.readouterr().out
    assert f"王芳 ({DRY_RUN}), 杨磊, 周强 ({DRY_RUN})" in out, out
