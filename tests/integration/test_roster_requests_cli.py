"""Override and swap requests from the command line, as the web files them: 李娜 asks, the request is checked
at once, listed, and 周强 (the manager) approves it — the override is made — or rejects it; a person who is
not a manager cannot decide. Runs the real `hotline` command on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hotline.cli import main
from hotline.services.roster.service import RosterService

NOW = "2026-11-23T10:00"  # week 47: 王芳 days, 张伟 nights, 周强 manager


def run(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--config", str(config), "roster", *args, "--now", NOW])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def config(roster_desk: Callable[[str], RosterService], db_url: str, tmp_path: Path) -> Path:
    roster_desk("2026-11-23 10:00")
    path = tmp_path / "hotline.toml"
    path.write_text(f'[hotline]\ndata_dir = "{tmp_path}"\n[database]\nurl = "{db_url}"\n', encoding="utf-8")
    return path


def test_a_request_is_filed_listed_and_approved_or_rejected(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(config, capsys, "request", "override", "--tier", "first_line", "--from", "2026-11-27T20:00",
                       "--to", "2026-11-28T08:00", "--replace", "张伟", "--by", "李娜", "--reason", "病假",
                       "--actor", "李娜")
    assert code == 0 and out.startswith("已提交申请 #1，待项目经理审批 / request #1 filed"), err
    code, out, _ = run(config, capsys, "request", "swap", "--tier", "first_line", "--first", "王芳@2026-11-24T10:00",
                       "--second", "张伟@2026-11-24T22:00", "--reason", "家中有事", "--actor", "王芳")
    assert code == 0 and "#2" in out
    # nonsense is refused at once, with its reason, and nothing is filed
    code, out, err = run(config, capsys, "request", "override", "--tier", "first_line", "--from", "2026-11-27T20:00",
                         "--to", "2026-11-28T08:00", "--replace", "李娜", "--by", "刘洋", "--actor", "李娜")
    assert code == 1 and out == "" and "没有一线班次，无可替换" in err

    code, out, err = run(config, capsys, "requests")
    assert code == 0 and out.splitlines() == [
        "#1 待批 pending override 李娜 2026-11-23 10:00: "
        "first_line 2026-11-27 20:00–2026-11-28 08:00 张伟 -> 李娜 病假",
        "#2 待批 pending swap 王芳 2026-11-23 10:00: "
        "first_line 2026-11-24 08:00–2026-11-24 20:00 王芳 -> 张伟 家中有事; "
        "first_line 2026-11-24 20:00–2026-11-25 08:00 张伟 -> 王芳 家中有事"]
    assert "审批人 / approvers:" in err and "周强" in err

    code, _, err = run(config, capsys, "approve", "1", "--actor", "李娜")
    assert code == 1 and "不是项目经理，不能审批" in err
    code, out, _ = run(config, capsys, "approve", "1", "--actor", "周强")
    assert code == 0 and "已批准，已记录调班 #" in out and "张伟 -> 李娜" in out
    code, out, _ = run(config, capsys, "who", "--at", "2026-11-27T21:00")
    assert "一线 First line: 李娜" in out and "[调班 override]" in out
    code, out, _ = run(config, capsys, "reject", "2", "--actor", "周强")
    assert code == 0 and out.strip() == "已拒绝申请 #2 / request #2 rejected"
    code, _, err = run(config, capsys, "approve", "2", "--actor", "周强")
    assert code == 1 and "没有待批的申请 #2" in err

    code, out, _ = run(config, capsys, "requests", "--state", "all")
    assert [line.split(": ")[0] for line in out.splitlines()] == [
        "#1 已批准 approved override 李娜 2026-11-23 10:00 ← 周强",
        "#2 已拒绝 rejected swap 王芳 2026-11-23 10:00 ← 周强"]
    code, out, _ = run(config, capsys, "history", "--limit", "4")
    actions = [line.split()[3] for line in out.splitlines()]
    assert actions == ["request.reject", "request.approve", "override", "request"]


def test_the_request_commands_help_chinese_first(capsys: pytest.CaptureFixture[str]) -> None:
    helps: list[str] = []
    for args in (["roster", "request", "-h"], ["roster", "request", "override", "-h"], ["roster", "approve", "-h"],
                 ["roster", "requests", "-h"]):
        with pytest.raises(SystemExit) as done:
            main(args)
        assert done.value.code == 0
        out = capsys.readouterr().out
        assert "显示帮助 / show this help" in out
        helps.append(out)
    assert helps[0].splitlines()[2] == ("申请调班或换班，待项目经理审批 / "
                                        "ask for an override or a swap a manager approves")
    assert "批准申请（项目经理） / approve a request" in helps[2]
    with pytest.raises(SystemExit):
        main(["roster", "request", "override", "--tier", "first_line"])
    assert "用法错误 / usage error" in capsys.readouterr().err
