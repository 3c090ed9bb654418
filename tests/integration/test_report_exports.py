"""The report exports over HTTP (SQLite and PostgreSQL): answer rate as CSV and XLSX, the call ledger
as CSV, the breach count; every count checked against the fixtures' truth files, bad queries answered
with a 422 that names the parameter."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from hotline.api.app import create_app
from hotline.cli import main
from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.runtime.assembly import open_database
from tests.signin import BASE_URL, login
from tests.truth import FIXTURES, expected_outcome, truth_for

CONFIG = str(FIXTURES.parent.parent.parent / "config" / "hotline.toml")
# Recorded scenarios with distinct Uniqueids: every outcome, two specialties, an outbound callback.
TRACES = ["abandoned_in_queue.ami", "answered_agent_hangup.ami", "answered_caller_hangup.ami", "busy.ami",
          "direct_dial_answered.ami", "gbk_caller_name.ami", "ivr_hangup_before_menu.ami",
          "outbound_callback.ami", "queue_timeout.ami"]
DAY = "2026-11-23"  # the day all the traces were recorded (Asia/Shanghai)
BOM = b"\xef\xbb\xbf"
RATE_HEADERS = [
    "转人工 Offered", "接通 Answered", "接通率 Answer rate", "目标 Target", "达标 Met",
    "放弃 Abandoned", "超时 Timeout", "忙 Busy", "短时放弃 Short abandoned", "IVR挂机 IVR hang-ups",
    "失败 Failed", "平均等待(秒) Avg wait (s)", "P90等待(秒) P90 wait (s)", "平均通话(秒) Avg talk (s)",
    "服务水平 Service level", "平均应答速度(秒) ASA (s)", "放弃率 Abandon rate", "短时放弃率 Short abandon rate",
]


def replay(trace: str, db: str, capsys: pytest.CaptureFixture[str], *extra: str) -> None:
    assert main(["replay", str(FIXTURES / trace), "--json", "--db", db, "--config", CONFIG, *extra]) == 0
    capsys.readouterr()


def truth_calls() -> list[dict[str, Any]]:
    return [c for trace in TRACES for c in truth_for(trace)["calls"]]


def truth_wait(c: dict[str, Any]) -> float | None:
    """Seconds from reaching staff to answer or give-up, as the fixture recorded it."""
    if c.get("ring_seconds") is not None:
        return float(c["ring_seconds"])
    if c.get("t_queue_join") is not None and c.get("t_queue_leave") is not None:
        return float(c["t_queue_leave"] - c["t_queue_join"])
    return None


def expected_rows(settings: Settings, key: str, short: float = 0.0) -> dict[str, dict[str, Any]]:
    """Per group (and 'total'): the counts and figures computed from the truth files alone."""
    rows: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "offered": 0, "answered": 0, "abandoned": 0, "timeout": 0, "busy": 0, "ivr_abandoned": 0,
        "short_abandoned": 0, "waits": [], "talks": []})
    for c in truth_calls():
        if c["direction"] != "inbound":
            continue
        outcome = expected_outcome(c)
        if key == "specialty":
            group = settings.specialty_of_queue(c.get("queue")) or "(none)"
        else:
            group = c.get("answered_by") or "(unanswered)"
        for r in (rows[group], rows["total"]):
            if outcome == "ivr_abandoned":
                r["ivr_abandoned"] += 1
                continue
            if outcome == "abandoned" and short > 0 and (truth_wait(c) or 0) <= short:
                r["short_abandoned"] += 1
                continue
            r["offered"] += 1
            r[outcome] += 1
            if truth_wait(c) is not None:
                r["waits"].append(truth_wait(c))
            if outcome == "answered":
                r["talks"].append(float(c["talk_seconds"]))
    return dict(rows)


def parse_csv(body: bytes) -> tuple[list[str], list[list[str]]]:
    assert body.startswith(BOM), "no UTF-8 byte-order mark: Excel would show the Chinese as mojibake"
    lines = list(csv.reader(io.StringIO(body[len(BOM):].decode("utf-8"), newline="")))
    return lines[0], lines[1:]


def check_rate_row(got: dict[str, Any], want: dict[str, Any], as_text: bool) -> None:
    """`got`: one exported row by header; `want`: the truth row. CSV cells are text, XLSX cells typed."""
    def num(v: Any) -> float:
        return float(v)

    for header, key in (("转人工 Offered", "offered"), ("接通 Answered", "answered"),
                        ("放弃 Abandoned", "abandoned"), ("超时 Timeout", "timeout"), ("忙 Busy", "busy"),
                        ("IVR挂机 IVR hang-ups", "ivr_abandoned"), ("短时放弃 Short abandoned", "short_abandoned")):
        assert got[header] == (str(want[key]) if as_text else want[key]), header
    assert num(got["失败 Failed"]) == 0
    offered, answered = want["offered"], want["answered"]
    if offered == 0:
        assert got["接通率 Answer rate"] in ("", None) and got["达标 Met"] in ("", None)
    else:
        rate = answered / offered
        assert num(got["接通率 Answer rate"]) == pytest.approx(round(rate, 4), abs=1e-9)
        assert got["达标 Met"] == ("是 yes" if rate >= 0.75 else "否 no")
    assert num(got["目标 Target"]) == 0.75
    waits, talks = sorted(want["waits"]), want["talks"]
    if waits:
        assert num(got["平均等待(秒) Avg wait (s)"]) == pytest.approx(sum(waits) / len(waits), abs=0.15)
        p90 = waits[max(1, -(-9 * len(waits) // 10)) - 1]  # nearest rank
        assert num(got["P90等待(秒) P90 wait (s)"]) == pytest.approx(p90, abs=0.15)
    if talks:
        assert num(got["平均通话(秒) Avg talk (s)"]) == pytest.approx(sum(talks) / len(talks), abs=0.15)
    else:
        assert got["平均通话(秒) Avg talk (s)"] in ("", None)


@pytest.fixture
async def client(settings: Settings, db_url: str,
                 capsys: pytest.CaptureFixture[str]) -> AsyncIterator[httpx.AsyncClient]:
    for trace in TRACES:
        replay(trace, db_url, capsys)
    db = open_database(db_url)
    clock = ManualClock(datetime.fromisoformat(f"{DAY}T18:00:00+08:00"), settings.tz)
    app = create_app(settings, db.factory, clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as c:
        await login(c, db.factory, "supervisor", None)
        yield c
    db.engine.dispose()


async def test_answer_rate_csv_by_specialty_has_every_count_of_the_truth(
        client: httpx.AsyncClient, settings: Settings) -> None:
    r = await client.get("/api/reports/answer-rate.csv", params={"from": DAY, "to": DAY})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"].startswith(
        f'attachment; filename="answer-rate_specialty_{DAY}_{DAY}.csv"')
    headers, rows = parse_csv(r.content)
    assert headers == ["专业 Specialty", "专业名称 Specialty name", *RATE_HEADERS]
    want = expected_rows(settings, "specialty")
    assert [row[0] for row in rows] == ["(none)", "network", "合计 total"]
    by_group = {row[0]: dict(zip(headers, row, strict=True)) for row in rows}
    assert by_group["network"]["专业名称 Specialty name"] == "网络 Network"
    # the truth: network 6 offered (3 answered, 2 abandoned, 1 timeout); no queue: 1 answered + 1 busy
    assert (want["network"]["offered"], want["network"]["answered"]) == (6, 3)
    assert (want["total"]["offered"], want["total"]["answered"], want["total"]["ivr_abandoned"]) == (8, 4, 1)
    check_rate_row(by_group["network"], want["network"], as_text=True)
    check_rate_row(by_group["(none)"], want["(none)"], as_text=True)
    check_rate_row(by_group["合计 total"], want["total"], as_text=True)
    assert r.content.count(b"\r\n") == len(rows) + 1  # CRLF line ends, one line per row


async def test_answer_rate_xlsx_has_the_same_figures_typed(client: httpx.AsyncClient, settings: Settings) -> None:
    r = await client.get("/api/reports/answer-rate.xlsx", params={"by": "agent"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert 'filename="answer-rate_agent_start_now.xlsx"' in r.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["接通率 Answer rate", "说明 About"]
    ws = wb["接通率 Answer rate"]
    table = [list(row) for row in ws.iter_rows(values_only=True)]
    headers = table[0]
    assert headers == ["坐席 Agent", *RATE_HEADERS]
    by_group = {row[0]: dict(zip(headers, row, strict=True)) for row in table[1:]}
    want = expected_rows(settings, "agent")
    assert list(by_group) == ["(unanswered)", "agent1", "duty", "合计 total"]
    assert want["agent1"]["answered"] == 3 and want["(unanswered)"]["offered"] == 4
    for group, got in by_group.items():
        check_rate_row(got, want["total" if group == "合计 total" else str(group)], as_text=False)
        assert isinstance(got["转人工 Offered"], int)
    rate_col = headers.index("接通率 Answer rate") + 1
    assert ws.cell(row=2, column=rate_col).number_format == "0.0%"
    about = {row[0]: row[1] for row in wb["说明 About"].iter_rows(values_only=True)}
    assert about["分组 Grouped by"] == "坐席 Agent" and about["开始日期 From"] == "(全部 all)"
    assert about["时区 Timezone"] == "Asia/Shanghai" and "answered / offered" in str(about["公式 Formula"])


async def test_grouping_by_hour_and_day_and_a_range_without_calls(client: httpx.AsyncClient) -> None:
    _, rows = parse_csv((await client.get("/api/reports/answer-rate.csv", params={"by": "hour"})).content)
    # gbk_caller_name was recorded at 15:09, everything else between 13:47 and 13:51
    assert [(r[0], r[1], r[2]) for r in rows] == [("13:00", "7", "3"), ("15:00", "1", "1"), ("合计 total", "8", "4")]
    headers, rows = parse_csv((await client.get("/api/reports/answer-rate.csv", params={"by": "day"})).content)
    assert headers[0] == "日期 Day" and [r[0] for r in rows] == [DAY, "合计 total"]
    _, rows = parse_csv((await client.get("/api/reports/answer-rate.csv",
                                          params={"from": "2026-11-24", "to": "2026-11-30"})).content)
    assert rows == [["合计 total", "", "0", "0", "", "0.75", "", "0", "0", "0", "0", "0", "0", *[""] * 7]]


async def test_short_abandon_takes_quick_hang_ups_out_of_offered(
        client: httpx.AsyncClient, settings: Settings) -> None:
    r = await client.get("/api/reports/answer-rate.csv", params={"short_abandon": "10"})
    headers, rows = parse_csv(r.content)
    total = dict(zip(headers, rows[-1], strict=True))
    want = expected_rows(settings, "specialty", short=10.0)["total"]
    assert want["short_abandoned"] == 2 and want["offered"] == 6  # both abandons waited about 6.5 s
    check_rate_row(total, want, as_text=True)


async def test_calls_csv_is_the_ledger_of_the_range(client: httpx.AsyncClient, settings: Settings) -> None:
    r = await client.get("/api/calls.csv", params={"from": DAY, "to": DAY})
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    assert f'filename="calls_{DAY}_{DAY}.csv"' in r.headers["content-disposition"]
    headers, rows = parse_csv(r.content)
    assert headers[:3] == ["呼叫编号 Call ID", "方向 Direction", "主叫 Caller"]
    assert "开始时间 Started (Asia/Shanghai)" in headers
    got = {row[0]: dict(zip(headers, row, strict=True)) for row in rows}
    truth = {c["caller_uniqueid"]: c for c in truth_calls()}
    assert list(got) == sorted(got, key=lambda k: got[k]["开始时间 Started (Asia/Shanghai)"])  # oldest first
    assert set(got) == set(truth) and len(rows) == 10
    for call_id, row in got.items():
        c = truth[call_id]
        assert row["方向 Direction"] == c["direction"]
        assert row["主叫 Caller"] == c["caller_number"]
        assert row["结果 Outcome"] == expected_outcome(c)
        assert row["接听坐席 Answered by"] == (c.get("answered_by") or "")
        started = datetime.strptime(row["开始时间 Started (Asia/Shanghai)"], "%Y-%m-%d %H:%M:%S")
        recorded = datetime.fromtimestamp(c["t_start"], settings.tz).replace(tzinfo=None)
        assert abs(started - recorded) < timedelta(seconds=1.5)
    assert got["1795417753.1"]["主叫名称 Caller name"] == "张伟"  # GBK name, decoded and kept in UTF-8
    _, none = parse_csv((await client.get("/api/calls.csv", params={"from": "2026-11-24"})).content)
    assert none == []
    _, before = parse_csv((await client.get("/api/calls.csv", params={"to": "2026-11-22"})).content)
    assert before == []


@pytest.mark.parametrize(("path", "query", "param"), [
    ("/api/reports/answer-rate.csv", {"from": "2026-11-31"}, "from"),
    ("/api/reports/answer-rate.csv", {"to": "yesterday"}, "to"),
    ("/api/reports/answer-rate.csv", {"by": "fortnight"}, "by"),
    ("/api/reports/answer-rate.csv", {"short_abandon": "abc"}, "short_abandon"),
    ("/api/reports/answer-rate.xlsx", {"short_abandon": "-5"}, "short_abandon"),
    ("/api/reports/answer-rate.xlsx", {"short_abandon": "inf"}, "short_abandon"),
    ("/api/reports/answer-rate.csv", {"service_level": "-1"}, "service_level"),
    ("/api/reports/answer-rate.xlsx", {"by": "hours"}, "by"),
    ("/api/reports/answer-rate.xlsx", {"from": "2026-11-24", "to": "2026-11-23"}, "to"),
    ("/api/calls.csv", {"from": "23/11/2026"}, "from"),
    ("/api/calls.csv", {"from": "2026-11-24", "to": "2026-11-23"}, "to"),
    ("/api/reports/breaches", {"to": "x"}, "to"),
])
async def test_bad_query_values_are_422_naming_the_parameter(
        client: httpx.AsyncClient, path: str, query: dict[str, str], param: str) -> None:
    r = await client.get(path, params=query)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert f"`{param}`" in detail and f"参数 {param}" in detail


@pytest.fixture
def breached(db_url: str, capsys: pytest.CaptureFixture[str]) -> str:
    """A ledger and alerts after a caller abandoned and nobody called back for 20 minutes (the replay
    runs its own event loop, so this fixture is not async)."""
    replay("abandoned_in_queue.ami", db_url, capsys, "--run-for", "20m")
    replay("answered_caller_hangup.ami", db_url, capsys, "--run-for", "20m")
    return db_url


async def test_breaches_count_the_15_minute_rule_per_day(settings: Settings, breached: str) -> None:
    db = open_database(breached)
    clock = ManualClock(datetime.fromisoformat(f"{DAY}T18:00:00+08:00"), settings.tz)
    app = create_app(settings, db.factory, clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as c:
        await login(c, db.factory, "staff", None)
        today = (await c.get("/api/reports/breaches")).json()
        assert (today["from"], today["to"], today["count"]) == (DAY, DAY, 1)
        (breach,) = today["breaches"]
        assert breach["caller"] == "13800138002" and breach["kind"] == "missed_call"
        opened = datetime.fromisoformat(breach["opened_at"])
        assert datetime.fromisoformat(breach["breached_at"]) - opened == timedelta(minutes=15)
        assert json.dumps(today["by_kind"]) == json.dumps({"missed_call": 1, "incident": 0, "silence": 0})
        clock.set(clock.now() + timedelta(days=1))
        await login(c, db.factory, "staff", None)  # a session lasts 12 hours
        assert (await c.get("/api/reports/breaches")).json()["count"] == 0  # a new day
        assert (await c.get("/api/reports/breaches", params={"from": DAY})).json()["count"] == 1
        span = (await c.get("/api/reports/breaches", params={"from": "2026-11-01", "to": "2026-11-22"})).json()
        assert span["count"] == 0 and span["breaches"] == []
    db.engine.dispose()
