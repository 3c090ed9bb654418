"""What the commands print (issue 14, items 10-17): tables aligned by display width, totals and
breaches shown, text unless --json, the folder that was linted, clear refusals, paths from the config
file's folder, no binary on a terminal, Chinese-first help."""

from __future__ import annotations

import argparse
import json
import os
import pty
import re
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from hotline.cli import build_parser, main
from hotline.cli.ledger import OUTCOME_ZH
from hotline.cli.table import Column, render, width
from hotline.domain.calls import Direction
from hotline.runtime.assembly import open_database
from hotline.services.monitor.virtual_run import advance
from tests.conftest import ROOT
from tests.integration.monitor_fakes import MIN, T0, answered, missed, rig

CONFIG = str(ROOT / "config" / "hotline.toml")
HOTLINE = [sys.executable, "-m", "hotline"]
CJK = re.compile(r"[\u4e00-\u9fff]")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--config", CONFIG])
    out, err = capsys.readouterr()
    return code, out, err


def column_at(line: str, text: str) -> int:
    """The display column where `text` starts in `line`."""
    return width(line[:line.index(text)])


# ---- 10: display width ------------------------------------------------------------------------------

def test_a_table_aligns_chinese_by_display_width() -> None:
    lines = render([Column("姓名 name"), Column("次数 n", right=True), Column("渠道 channel")],
                   [["张伟", "3", "wecom"], ["欧阳娜娜", "12", "-"], ["Li", "1", "aliyun_sms"]])
    starts = {column_at(line, cell) for line, cell in zip(lines, ["渠道", "wecom", "-", "aliyun_sms"], strict=False)}
    assert len(starts) == 1, lines  # the third column starts at one display column on every line
    ends = {width(line[:line.index(n) + len(n)]) for line, n in zip(lines[1:], ["3", "12", "1"], strict=True)}
    assert len(ends) == 1 and width(lines[0].split("  ")[0]) == width("欧阳娜娜") + 1  # header padded to 欧阳娜娜


def test_replaying_a_twilio_trace_keeps_columns_apart(capsys: pytest.CaptureFixture[str]) -> None:
    trace = str(ROOT / "tests" / "fixtures" / "twilio" / "answered_by_staff.jsonl")
    code, out, _ = run(capsys, "replay", trace, "--json")
    calls = [json.loads(line) for line in out.splitlines()]
    code, out, _ = run(capsys, "replay", trace)
    assert code == 0
    header, *rows, total = out.splitlines()
    assert total == f"共 {len(calls)} 通 / {len(calls)} calls" and len(rows) == len(calls) >= 1
    for row, call in zip(rows, calls, strict=True):
        assert f"{call['caller']}  " in row  # never run together with the called number
        assert column_at(row, call["called"]) == column_at(header, "被叫 called")
        outcome = f"{OUTCOME_ZH[call['outcome']]} {call['outcome']}"
        assert column_at(row, outcome) == column_at(header, "结果 outcome")
        assert column_at(row, {"inbound": "呼入 inbound", "outbound": "呼出 outbound"}[call["direction"]]) == \
            column_at(header, "方向 dir")


def test_answer_rate_table_lines_share_one_display_width(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'h.db'}"
    for trace in ("abandoned_in_queue.ami", "answered_agent_hangup.ami", "busy.ami"):
        assert main(["replay", str(ROOT / "tests" / "fixtures" / "ami" / trace), "--db", db, "--config", CONFIG]) == 0
    capsys.readouterr()
    code, out, _ = run(capsys, "report", "answer-rate", "--db", db)
    assert code == 0
    assert out.splitlines()[0] == "期间 period: 全部 all calls (Asia/Shanghai)"  # no dates: the whole ledger, said
    table = out.splitlines()[2:]
    assert table[0].startswith("组 group") and table[-1].startswith("合计 total")
    assert len({width(line) for line in table}) == 1, out  # right-aligned numbers end in one column
    groups = {line.split("  ")[0] for line in table[1:-1]}
    assert "网络 / Network (network)" in groups, out  # the configured name, with the code the JSON carries


# ---- 11: alerts returned ---------------------------------------------------------------------------------

async def test_alerts_returned_shows_breaches_a_header_and_a_total(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'h.db'}"
    r = rig(db)
    r.monitor.on_call(missed("13800138002", T0, "m1"))
    r.monitor.on_call(missed("13800138003", T0, "m2"))
    await advance(r.monitor, r.clock, T0 + 7 * MIN)
    r.monitor.on_call(answered("8001", "13800138002", T0 + 7 * MIN, Direction.OUTBOUND, "c1"))  # in time
    await advance(r.monitor, r.clock, T0 + 20 * MIN)  # the other one breaches at 15 min
    r.monitor.on_call(answered("8001", "13800138003", T0 + 20 * MIN + timedelta(seconds=5),
                               Direction.OUTBOUND, "c2"))
    await advance(r.monitor, r.clock, T0 + 21 * MIN)
    r.dispose()
    code, out, _ = run(capsys, "alerts", "returned", "--db", db)
    assert code == 0
    header, *rows, total = out.splitlines()
    assert header.startswith("来电 caller") and "超时 breached" in header
    (late,) = [row for row in rows if "13800138003" in row]
    (early,) = [row for row in rows if "13800138002" in row]
    assert late.rstrip().endswith("是 yes") and not early.rstrip().endswith("是 yes")
    assert "回拨 callback" in early
    assert total == "已回复 2 个，其中超时 1 个 / 2 returned, 1 after the deadline"
    code, out, _ = run(capsys, "alerts", "returned", "--json", "--db", db)
    assert sorted(json.loads(line)["breached"] for line in out.splitlines()) == [False, True]


# ---- 12: incident list -----------------------------------------------------------------------------------

def test_incident_list_is_text_unless_json_and_says_when_empty(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = new_database(tmp_path)
    code, out, _ = run(capsys, "incident", "list", "--db", db)
    assert code == 0 and out.splitlines()[-1] == "共 0 件 / 0 incidents"
    monkeypatch.setenv("HOTLINE_API_LINK_KEY", "k" * 32)
    code, out, _ = run(capsys, "incident", "declare", "机房断电 power cut", "--by", "李娜", "--db", db)
    assert code == 0
    incident_id = json.loads(out.splitlines()[0])["incident_id"]
    code, out, _ = run(capsys, "incident", "list", "--db", db)
    assert code == 0 and not out.lstrip().startswith("{")
    header, row, total = out.splitlines()
    assert header.startswith("事件 incident") and incident_id in row and "机房断电 power cut" in row and "李娜" in row
    assert total == "共 1 件 / 1 incidents"
    code, out, _ = run(capsys, "incident", "list", "--json", "--db", db)
    assert json.loads(out)["incident_id"] == incident_id


# ---- 13: monitors lint DIR ---------------------------------------------------------------------------

def test_lint_of_an_empty_folder_names_that_folder(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = tmp_path / "rules-to-try"
    folder.mkdir()
    code, _, err = run(capsys, "monitors", "lint", str(folder))
    assert code == 1
    assert err.startswith(f"{folder}: 目录中没有规则文件") and "monitors/:1" not in err


def test_lint_of_a_copy_names_its_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = tmp_path / "rules-to-try"
    shutil.copytree(ROOT / "monitors", folder)
    (folder / "no_answer.yaml").unlink()
    code, _, err = run(capsys, "monitors", "lint", str(folder))
    assert code == 1 and str(folder / "incident.yaml") in err and "monitors/:1" not in err


def new_database(tmp_path: Path) -> str:
    """An empty ledger as `serve` leaves it on its first start (a command that only reads creates none)."""
    url = f"sqlite:///{tmp_path / 'h.db'}"
    open_database(url).engine.dispose()
    return url


# ---- 14: refusals ------------------------------------------------------------------------------------------

def test_a_reversed_date_range_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = new_database(tmp_path)
    code, out, err = run(capsys, "report", "answer-rate", "--from", "2026-12-05", "--to", "2026-12-01", "--db", db)
    assert code == 2 and out == ""
    assert "--from 2026-12-05 晚于 --to 2026-12-01" in err and "--from 2026-12-01 --to 2026-12-05" in err
    with pytest.raises(SystemExit) as usage:
        run(capsys, "report", "answer-rate", "--from", "2026-13-01")
    assert usage.value.code == 2 and "不是日期 / not a date: '2026-13-01'" in capsys.readouterr().err


def test_roster_commands_refuse_a_reversed_range_too(tmp_path: Path) -> None:
    db = new_database(tmp_path)
    for command in (["gaps"], ["export", "--format", "csv"]):
        result = subprocess.run([*HOTLINE, "roster", *command, "--from", "2026-12-05", "--to", "2026-12-01",
                                 "--config", CONFIG], capture_output=True, text=True, timeout=60,
                                env={**os.environ, "HOTLINE_DATABASE_URL": db})
        assert result.returncode == 2 and "晚于" in result.stderr and result.stdout == ""


def test_replay_of_a_file_that_is_not_a_trace_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    for extra in ([], ["--run-for", "5m"]):
        code, out, err = run(capsys, "replay", str(ROOT / "README.md"), *extra)
        assert code == 2 and out == ""
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "不是 AMI 记录或 Twilio 会话" in lines[0] and "'# hotline'" in lines[0]


# ---- 15: paths from the config file's folder ---------------------------------------------------------------

def test_paths_in_the_config_are_taken_from_its_folder(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "config").mkdir(parents=True)
    shutil.copy(ROOT / "config" / "hotline.toml", site / "config" / "hotline.toml")
    shutil.copy(ROOT / "config" / "roster.yaml", site / "config" / "roster.yaml")
    shutil.copytree(ROOT / "monitors", site / "monitors")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    config = str(site / "config" / "hotline.toml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}

    def hotline(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*HOTLINE, *argv, "--config", config], capture_output=True, text=True,
                              timeout=60, cwd=elsewhere, env=env)

    loaded = hotline("roster", "load")
    assert loaded.returncode == 0, loaded.stderr
    who = hotline("roster", "who", "--at", "2026-11-24T10:00")
    assert who.returncode == 0 and "无人 / nobody" not in who.stdout.splitlines()[1], who.stdout
    assert (site / "data" / "hotline.db").is_file()  # the ledger beside the config ("../data")
    assert not (elsewhere / "data").exists()  # nothing created in the current directory
    lint = hotline("monitors", "lint")
    assert lint.returncode == 0 and str(site / "monitors" / "no_answer.yaml") in lint.stdout


def test_roster_who_on_an_empty_roster_says_so(tmp_path: Path) -> None:
    db = new_database(tmp_path)
    result = subprocess.run([*HOTLINE, "roster", "who", "--config", CONFIG], capture_output=True, text=True,
                            timeout=60, env={**os.environ, "HOTLINE_DATABASE_URL": db})
    assert result.returncode == 0 and "值班表为空 / the roster in" in result.stderr
    # --db names the database as for every other group (the demo's, say)
    without = {k: v for k, v in os.environ.items() if k != "HOTLINE_DATABASE_URL"}
    result = subprocess.run([*HOTLINE, "roster", "who", "--db", db, "--config", CONFIG], capture_output=True,
                            text=True, timeout=60, env=without)
    assert result.returncode == 0 and f"the roster in {db} is empty" in result.stderr


# ---- 16: xlsx on a terminal ------------------------------------------------------------------------------

def test_xlsx_export_refuses_a_terminal_without_o(tmp_path: Path) -> None:
    new_database(tmp_path)
    leader, follower = pty.openpty()
    try:
        result = subprocess.run([*HOTLINE, "roster", "export", "--format", "xlsx", "--config", CONFIG],
                                stdout=follower, stderr=subprocess.PIPE, timeout=60,
                                env={**os.environ, "HOTLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}"})
        os.set_blocking(leader, False)
        try:
            shown = os.read(leader, 65536)
        except BlockingIOError:
            shown = b""
    finally:
        os.close(leader)
        os.close(follower)
    assert result.returncode == 2
    assert "xlsx 是二进制文件，请用 -o 指定文件" in result.stderr.decode()
    assert b"PK\x03\x04" not in shown  # no zip (xlsx) bytes on the terminal
    written = tmp_path / "roster.xlsx"
    ok = subprocess.run([*HOTLINE, "roster", "export", "--format", "xlsx", "-o", str(written), "--config", CONFIG],
                        capture_output=True, timeout=60,
                        env={**os.environ, "HOTLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}"})
    assert ok.returncode == 0 and written.read_bytes().startswith(b"PK\x03\x04")


# ---- 17: Chinese first -----------------------------------------------------------------------------------

def _helps(parser: argparse.ArgumentParser, path: str) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                found.append((f"{path} {name}", helps.get(name)))
                found += _helps(sub, f"{path} {name}")
        elif action.help != argparse.SUPPRESS:
            found.append((f"{path} {'/'.join(action.option_strings) or action.dest}", action.help))
    return found


def test_every_help_text_is_chinese_first() -> None:
    helps = _helps(build_parser(), "hotline")
    assert len(helps) > 150
    wrong = [(where, text) for where, text in helps if not text or not CJK.search(text.split(" / ")[0])]
    assert wrong == []


def test_help_and_usage_errors_print_chinese_first() -> None:
    shown = subprocess.run([*HOTLINE, "replay", "--help"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and "显示帮助 / show this help" in shown.stdout
    assert "回放" in shown.stdout and "show this help message" not in shown.stdout
    wrong = subprocess.run([*HOTLINE, "alerts", "list", "--state", "nope"], capture_output=True, text=True,
                           timeout=60)
    assert wrong.returncode == 2 and "用法错误 / usage error" in wrong.stderr
