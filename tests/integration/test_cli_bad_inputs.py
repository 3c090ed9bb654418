"""Bad input a new user gives the commands, on SQLite and PostgreSQL: an `-o` into a folder that does not exist,
an analysis file that is not YAML or not UTF-8, a Twilio session saved as GBK, a report issued for a month not
over, a deadline without an offset or not a time, a specialty not configured (CLI and API). Each is one clear
line, Chinese first, naming the file, key or value, with README's exit status; nothing half-written is left."""

from __future__ import annotations

import errno
import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select

from hotline.api.app import create_app
from hotline.cli import arguments, main
from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.runtime.assembly import open_database
from hotline.services.reports.monthly import build_monthly
from hotline.services.reports.monthly_issue import issue_monthly
from hotline.store.calls import CallRow
from tests.conftest import ROOT
from tests.signin import BASE_URL, login

CONFIG = str(ROOT / "config" / "hotline.toml")
SESSIONS = ROOT / "tests" / "fixtures" / "twilio"
CST = ZoneInfo("Asia/Shanghai")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        code = main([*argv, "--config", CONFIG])
    except SystemExit as e:  # argparse's usage errors
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def complaint(capsys: pytest.CaptureFixture[str], db: str) -> str:
    """A complaint ticket opened through the CLI; its number."""
    code, out, err = run(capsys, "complaints", "open", "010-12345678", "--summary", "网络多次中断未处理", "--by",
                         "刘洋", "--json", "--db", db)
    assert code == 0, err
    return str(json.loads(out)["ticket_id"])


# ---- -o into a folder that does not exist ---------------------------------------------------------------

def test_every_output_file_in_a_missing_folder_is_a_usage_error_naming_it(
        capsys: pytest.CaptureFixture[str], db_url: str, tmp_path: Path) -> None:
    tid = complaint(capsys, db_url)
    missing = tmp_path / "nodir"
    commands = [
        ["complaints", "export", tid, "--format", "xlsx", "-o", str(missing / "c.xlsx"), "--db", db_url],
        *(["report", "monthly", "--month", "2026-11", "--format", kind, "-o", str(missing / f"m.{kind}"),
           "--db", db_url] for kind in ("xlsx", "pdf", "html", "json")),
        ["roster", "export", "--format", "csv", "-o", str(missing / "r.csv"), "--db", db_url],
        ["roster", "fairness", "--month", "2026-11", "-o", str(missing / "f.csv"), "--db", db_url],
    ]
    for argv in commands:
        code, _, err = run(capsys, *argv)
        assert code == 2, (argv, err)
        assert f"{missing} 不存在 / does not exist" in err and "Traceback" not in err, err
    assert not missing.exists()
    code, _, err = run(capsys, "complaints", "export", tid, "--format", "xlsx", "-o", str(tmp_path), "--db", db_url)
    assert code == 2 and "是文件夹" in err and "is a folder" in err


def test_an_output_file_is_written_whole_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "m.json"
    arguments.write_output(out, b"{}")
    assert out.read_bytes() == b"{}"

    def full(src: object, dst: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("hotline.cli.arguments.os.replace", full)
    with pytest.raises(arguments.OutputFileError, match=r"无法写入输出文件 .*/m\.json: No space left"):
        arguments.write_output(out, b'{"new": 1}')
    assert out.read_bytes() == b"{}" and [p.name for p in tmp_path.iterdir()] == ["m.json"]  # no .part left


# ---- report issue --analysis: a file that is not YAML, not UTF-8, not there --------------------------------

@pytest.mark.parametrize(("content", "expected"), [
    ("complaints.replied_in_time:\n  cause: [临时调度\n  action: 改约须电话告知\n".encode(),
     ["bad.yaml: 第 3 行不是有效的 YAML / not valid YAML at line 3"]),
    ("# 分析\ncomplaints.replied_in_time:\n  cause: 临时调度\n".encode("gbk"),
     ["bad.yaml: 第 1 行不是 UTF-8 文本", "请将文件另存为 UTF-8", "save the file as UTF-8"]),
    (b"- just\n- a list\n", ["bad.yaml: 每项应为", "expected `indicator.key"]),
    (None, ["bad.yaml: 找不到分析文件 / analysis file not found"]),
])
def test_a_bad_analysis_file_is_named_with_its_problem(
        capsys: pytest.CaptureFixture[str], db_url: str, tmp_path: Path, content: bytes | None,
        expected: list[str]) -> None:
    path = tmp_path / "bad.yaml"
    if content is not None:
        path.write_bytes(content)
    code, _, err = run(capsys, "report", "issue", "--month", "2026-11", "--by", "周强", "--analysis", str(path),
                       "--db", db_url)
    assert code == 2, err
    assert err.startswith("错误 / error: ") and "Traceback" not in err and "Errno" not in err, err
    for text in expected:
        assert text in err, err


# ---- replay: a Twilio session saved as GBK, Chinese-first errors, nothing stored from a bad session -------

def test_a_gbk_session_is_named_not_a_traceback(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(("# 录音会话 张伟\n" + (SESSIONS / "busy.jsonl").read_text(encoding="utf-8")).encode("gbk"))
    code, _, err = run(capsys, "replay", str(path))
    assert code == 2, err
    assert f"{path}: 第 1 行不是 UTF-8 文本" in err and "save the file as UTF-8" in err


def test_session_errors_are_chinese_first_with_file_and_line(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "z.jsonl"
    path.write_text('{"route": "voice", "params": {"CallSid": "CA1"}}\n', encoding="utf-8")
    code, _, err = run(capsys, "replay", str(path))
    assert code == 2
    assert f"{path}:1: 缺少键 'at'" in err and "/ missing key 'at'" in err


def test_a_session_with_a_bad_line_stores_none_of_its_calls(
        capsys: pytest.CaptureFixture[str], db_url: str, tmp_path: Path) -> None:
    """The replay stores in batches of 5000 requests: a bad line after the first batch once left that batch
    stored; now every line is checked first."""
    path = tmp_path / "cut.jsonl"
    busy = (SESSIONS / "busy.jsonl").read_text(encoding="utf-8").splitlines()
    sid = json.loads(busy[0])["params"]["CallSid"]
    lines = [line.replace(sid, f"CA{n:032d}") for n in range(1001) for line in busy]  # 5005 requests
    path.write_text("\n".join([*lines, '{"at": "2024-05-06T22:16:00+08:00"']) + "\n", encoding="utf-8")
    code, _, err = run(capsys, "replay", str(path), "--db", db_url)
    assert code == 2 and f"{path}:{len(lines) + 1}: 不是 JSON / not JSON" in err, err
    db = open_database(db_url)
    try:
        with db.factory() as s:
            assert s.scalar(select(func.count()).select_from(CallRow)) == 0
    finally:
        db.engine.dispose()


# ---- report issue / monthly for a month that is not over ----------------------------------------------------

def test_issuing_a_month_not_over_is_refused_and_stores_nothing(
        capsys: pytest.CaptureFixture[str], db_url: str, settings: Settings) -> None:
    now = datetime.now(CST)
    future = f"{now.year + 1}-05"
    current = f"{now:%Y-%m}"
    for month, says in ((future, "尚未开始"), (current, "尚未结束")):
        code, _, err = run(capsys, "report", "issue", "--month", month, "--by", "周强", "--db", db_url)
        assert code == 1, err  # the desk refuses
        assert f"{month} {says}" in err and "can be issued once the month is over" in err, err
    code, out, _ = run(capsys, "report", "issued", "--db", db_url)
    assert code == 0 and future not in out and current not in out
    code, out, err = run(capsys, "report", "monthly", "--month", future, "--db", db_url)
    assert code == 0 and json.loads(out)["month"] == future
    assert f"注意 / note: {future} 尚未开始" in err and "has not started yet" in err


def test_the_month_ends_at_midnight_desk_time(db_url: str, settings: Settings) -> None:
    """2026-11 is over at 2026-12-01 00:00 in Asia/Shanghai (2026-11-30 16:00 UTC), not before."""
    from hotline.services.reports.monthly_issue import MonthNotOver

    db = open_database(db_url)
    try:
        first = datetime(2026, 11, 1).date()
        with pytest.raises(MonthNotOver, match="2026-11 尚未结束"):
            issue_monthly(db.factory, settings, first, datetime.fromisoformat("2026-11-30T23:59:59+08:00"),
                          "周强", {})
        over = datetime.fromisoformat("2026-11-30T16:00:00+00:00")
        missed = {row["key"]: {"cause": "原因", "action": "措施"}
                  for row in build_monthly(db.factory, settings, first, over)["analysis"]}
        doc = issue_monthly(db.factory, settings, first, over, "周强", missed)
        assert doc["issued"]["version"] == 1
    finally:
        db.engine.dispose()


# ---- complaints agree --due ---------------------------------------------------------------------------------

def test_a_due_time_without_offset_is_desk_time_and_a_bad_one_is_a_usage_error(
        capsys: pytest.CaptureFixture[str], db_url: str) -> None:
    tid = complaint(capsys, db_url)
    due = (datetime.now(CST) + timedelta(days=2)).replace(hour=17, minute=0, second=0, microsecond=0)
    code, out, err = run(capsys, "complaints", "agree", tid, "--due", f"{due:%Y-%m-%dT%H:%M}", "--by", "刘洋",
                         "--json", "--db", db_url)
    assert code == 0, err
    assert json.loads(out)["complaint"]["agreed_due_at"] == due.isoformat()  # +08:00, the desk's time
    code, out, _ = run(capsys, "tickets", "show", tid, "--db", db_url)  # the timeline says it in desk time
    assert code == 0 and f"约定解决时间 agreed due: - → {due:%Y-%m-%d} 17:00" in out, out
    assert "投诉来源 source: - → 人工登记 hand" in out
    for bad in ("明天", f"{due:%Y-%m-%d}", f"{due:%Y%m%d}", f"{due:%Y-%m-%dT%H}"):  # no day-alone midnight
        code, _, err = run(capsys, "complaints", "agree", tid, "--due", bad, "--by", "刘洋", "--db", db_url)
        assert code == 2 and f"--due {bad!r} 不是时间" in err and "YYYY-MM-DDTHH:MM" in err, (bad, err)


# ---- tickets edit --specialty -------------------------------------------------------------------------------

def test_an_unknown_specialty_is_refused_on_the_cli_naming_the_known_ones(
        capsys: pytest.CaptureFixture[str], db_url: str, settings: Settings) -> None:
    tid = complaint(capsys, db_url)
    code, _, err = run(capsys, "tickets", "edit", tid, "--by", "刘洋", "--specialty", "foo", "--db", db_url)
    assert code == 1, err
    assert "专业 'foo' 未配置 / unknown specialty 'foo'" in err
    assert f"(known: {', '.join(sorted(settings.specialties))})" in err
    code, out, _ = run(capsys, "tickets", "show", tid, "--json", "--db", db_url)
    assert code == 0 and json.loads(out)["specialty"] != "foo"
    code, out, err = run(capsys, "tickets", "edit", tid, "--by", "刘洋", "--specialty", "network", "--json",
                         "--db", db_url)
    assert code == 0 and json.loads(out)["specialty"] == "network", err
    code, _, err = run(capsys, "complaints", "open", "13800138004", "--summary", "打印机无法使用", "--specialty",
                       "printers", "--by", "刘洋", "--db", db_url)
    assert code == 1 and "unknown specialty 'printers'" in err


async def test_an_unknown_specialty_is_refused_by_the_api(
        capsys: pytest.CaptureFixture[str], db_url: str, settings: Settings) -> None:
    tid = complaint(capsys, db_url)
    db = open_database(db_url)
    app = create_app(settings, db.factory, ManualClock(datetime.now(CST), settings.tz))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        await login(client, db.factory, "staff", "王芳")
        r = await client.patch(f"/api/tickets/{tid}", json={"by": "王芳", "specialty": "foo"})
        assert r.status_code == 422, r.text
        assert "unknown specialty 'foo'" in r.json()["detail"] and "network" in r.json()["detail"]
        assert (await client.get(f"/api/tickets/{tid}")).json()["specialty"] != "foo"
        for bad in ({"priority": "super-urgent"}, {"ticket_type": "吐槽"}):  # the same kind of mistake, the same answer
            r = await client.patch(f"/api/tickets/{tid}", json=bad)
            assert r.status_code == 422 and "取值无效" in r.json()["detail"], r.text
        for path, body in ((f"/api/tickets/{tid}", {"colour": "red"}),  # a field no route knows: named, not dropped
                           (f"/api/tickets/{tid}/escalate", {"reason": "x", "to": "王小明"})):
            r = await (client.patch if path.endswith(tid) else client.post)(path, json=body)
            assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] in ("colour", "to"), r.text
        assert (await client.get(f"/api/tickets/{tid}")).json()["tier"] == "first_line"  # nothing escalated
        r = await client.patch(f"/api/tickets/{tid}", json={"by": "王芳", "specialty": "servers"})
        assert r.status_code == 200 and r.json()["specialty"] == "servers"
    db.engine.dispose()


def test_a_roster_time_that_is_no_time_is_a_usage_error(capsys: pytest.CaptureFixture[str], db_url: str) -> None:
    open_database(db_url).engine.dispose()
    code, _, err = run(capsys, "roster", "who", "--at", "明天早上", "--db", db_url)
    assert code == 2 and "错误 / error: '明天早上' 不是时间" in err, err
    code, out, _ = run(capsys, "roster", "who", "--at", "2026-12-03T10:00", "--db", db_url)  # desk time
    assert code == 0 and out.startswith("2026-12-03 10:00 onsite"), out  # Thursday 10:00: on-site hours


@pytest.mark.parametrize("command", [["ivr", "render", str(ROOT / "ivr_scripts" / "default.yaml"), "--target",
                                      "asterisk"], ["ivr", "pbx"], ["ivr", "sounds"]])
def test_an_output_folder_that_is_a_file_is_a_usage_error(command: list[str], tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x", encoding="utf-8")
    for out in (a_file, a_file / "sub"):
        code, _, err = run(capsys, *command, "--out", str(out))
        assert code == 2 and f"{a_file} 是文件，不是文件夹" in err, err
