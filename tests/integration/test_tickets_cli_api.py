"""`hotline tickets ...` and /api/tickets on SQLite and PostgreSQL, on tickets opened by replaying the shared
traces: list, show (calls, clocks, timeline), assign, escalate, resolve, close, reopen, edit, screen pop."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx
import pytest

from hotline.api.app import create_app
from hotline.cli import main
from hotline.cli.table import width
from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.runtime.assembly import open_database
from tests.conftest import FIXTURES, ROOT
from tests.signin import BASE_URL, login

CONFIG = str(ROOT / "config" / "hotline.toml")


def run(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> list[dict[str, Any]]:
    assert main([*argv, "--config", CONFIG]) == code
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


@pytest.fixture
def url(capsys: pytest.CaptureFixture[str], db_url: str) -> str:
    for trace in ("outbound_callback.ami", "answered_caller_hangup.ami"):
        run(capsys, "replay", str(FIXTURES / trace), "--json", "--run-for", "20m", "--db", db_url)
    return db_url


def test_cli_lists_shows_and_walks_a_ticket_through_its_life(capsys: pytest.CaptureFixture[str], url: str) -> None:
    listed = run(capsys, "tickets", "list", "--json", "--db", url)
    assert sorted(str(t["caller"]) for t in listed) == ["13800138000", "13800138011"]
    mine = run(capsys, "tickets", "list", "--json", "--assignee", "张伟", "--db", url)
    (cb,) = mine
    assert cb["calls"] == ["1795413068.1", "1795413082.6"]
    by_number = run(capsys, "tickets", "list", "--json", "--caller", "+86 138 0013 8011", "--db", url)
    assert [t["ticket_id"] for t in by_number] == [cb["ticket_id"]]
    tid = str(cb["ticket_id"])
    (shown,) = run(capsys, "tickets", "show", tid, "--json", "--db", url)
    assert [c["clock"] for c in shown["clocks"]] == ["response", "repair_start", "resolution"]
    assert shown["timeline"][0]["action"] == "open"
    (edited,) = run(capsys, "tickets", "edit", tid, "--by", "张伟", "--summary", "打印机脱机", "--priority",
                    "important", "--json", "--db", url)
    assert (edited["summary"], edited["priority"]) == ("打印机脱机", "important")
    (assigned,) = run(capsys, "tickets", "assign", tid, "8002", "--by", "张伟", "--json", "--db", url)
    assert assigned["assignee"] == "李娜"  # extension 8002 in the roster
    (up,) = run(capsys, "tickets", "escalate", tid, "--reason", "一线无法处理", "--to", "陈静", "--by", "李娜",
                "--json", "--db", url)
    assert (up["tier"], up["assignee"], up["status"]) == ("second_line", "陈静", "escalated")
    run(capsys, "tickets", "close", tid, "--by", "陈静", "--db", url, code=1)  # not resolved yet
    (res,) = run(capsys, "tickets", "resolve", tid, "--solution", "重新安装打印机驱动", "--cause", "驱动损坏",
                 "--by", "陈静", "--json", "--db", url)
    assert (res["status"], res["solution"], res["cause"]) == ("resolved", "重新安装打印机驱动", "驱动损坏")
    (closed,) = run(capsys, "tickets", "close", tid, "--by", "陈静", "--confirmed-by", "王先生", "--json", "--db", url)
    assert (closed["status"], closed["confirmed_by"]) == ("closed", "王先生")
    (again,) = run(capsys, "tickets", "reopen", tid, "--by", "张伟", "--reason", "问题复现", "--json", "--db", url)
    assert again["status"] == "in_progress" and again["reopened"] == 1
    run(capsys, "tickets", "show", "GD20991231-0001", "--db", url, code=1)
    (entry,) = run(capsys, "tickets", "caller", "+86 138 0013 8011", "--name", "王先生", "--org", "财务部",
                   "--json", "--db", url)
    assert entry == {"caller_key": "+8613800138011", "number": "13800138011", "name": "王先生",
                     "organisation": "财务部", "notes": None}
    run(capsys, "tickets", "caller", "not-a-number", "--db", url, code=1)
    for short in ("110", "8001"):  # a short code, an extension: no outside caller
        assert main(["tickets", "caller", short, "--name", "报警", "--db", url, "--config", CONFIG]) == 1
        assert "不是外部电话号码" in capsys.readouterr().err
    run(capsys, "tickets", "list", "--caller", "abc", "--db", url, code=1)
    main(["tickets", "show", tid, "--config", CONFIG, "--db", url])
    text = capsys.readouterr().out
    assert "时间线 timeline" in text and "一线无法处理" in text and "问题复现" in text
    # what a person reads: the names of the type, priority, specialty and SLA clocks, Chinese first
    assert "类型 type: 故障 incident" in text and "专业 specialty: 网络 / Network (network)" in text
    assert "SLA 首次响应 response" in text
    assert "层级 tier: 一线 first_line → 二线 second_line" in text and "升级 escalate" in text
    assert "状态 status: 已关闭 closed → 处理中 in_progress" in text
    assert "优先级 priority: 一般 normal → 重要 important" in text
    clocks = [line for line in text.splitlines() if line.startswith("  SLA ")]
    assert len({width(line[:line.index("期限 due")]) for line in clocks}) == 1, clocks  # one column, Chinese or not


async def test_api_screen_pop_and_actions(settings: Settings, url: str) -> None:
    db = open_database(url)
    clock = ManualClock(datetime.fromisoformat("2026-11-23T14:30:00+08:00"), settings.tz)
    app = create_app(settings, db.factory, clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        await login(client, db.factory, "staff", "王芳")  # tickets are staff work; 王芳 acts
        pop = (await client.get("/api/tickets/screen-pop", params={"number": "+8613800138000"})).json()
        assert pop["number"] == "13800138000" and pop["open_ticket"]["calls"] == ["1795412859.1"]
        assert pop["caller"]["number"] == "13800138000" and len(pop["history"]) == 1
        tid = pop["open_ticket"]["ticket_id"]
        assert (await client.get("/api/tickets/screen-pop", params={"number": "x"})).status_code == 400
        listed = (await client.get("/api/tickets", params={"tier": "first_line"})).json()
        assert len(listed) == 2
        r = await client.post(f"/api/tickets/{tid}/start", json={})  # who acts is the signed-in person
        assert r.status_code == 200 and r.json()["status"] == "in_progress"
        assert r.json()["timeline"][-1]["actor"] == "王芳"
        assert (await client.post("/api/tickets/GD20991231-0001/start", json={})).status_code == 404
        r = await client.post(f"/api/tickets/{tid}/escalate", json={"by": "王芳", "reason": "需要二线"})
        assert r.status_code == 200 and r.json()["tier"] == "second_line" and r.json()["assignee"]
        assert r.json()["timeline"][-1]["action"] == "status"
        r = await client.post(f"/api/tickets/{tid}/close", json={"by": "王芳"})
        assert r.status_code == 409 and "尚未解决" in r.json()["detail"]
        r = await client.patch(f"/api/tickets/{tid}", json={"by": "王芳", "ticket_type": "complaint"})
        assert r.status_code == 200 and "complaint" in [c["clock"] for c in r.json()["clocks"]]
        r = await client.post(f"/api/tickets/{tid}/resolve", json={"by": "王芳", "solution": "更换网线"})
        assert r.json()["status"] == "resolved"
        assert (await client.get("/api/tickets/GD1-1")).status_code == 404
        assert (await client.get("/api/tickets", params={"state": "bogus"})).status_code == 400
        await login(client, db.factory, "supervisor", "周强")  # the caller directory: supervisors write it
        assert (await client.put("/api/callers/110", json={"notes": "x"})).status_code == 400
        assert (await client.get("/api/tickets", params={"caller": "abc"})).status_code == 400
        r = await client.put("/api/callers/13800138000", json={"notes": "VIP，财务总监"})
        assert r.status_code == 200 and r.json()["notes"] == "VIP，财务总监"
        pop = (await client.get("/api/tickets/screen-pop", params={"number": "13800138000"})).json()
        assert pop["caller"]["notes"] == "VIP，财务总监"
    db.engine.dispose()


def test_escalate_says_whom_it_paged_and_refuses_a_name_off_the_roster(capsys: pytest.CaptureFixture[str],
                                                                      url: str) -> None:
    (cb,) = run(capsys, "tickets", "list", "--json", "--assignee", "张伟", "--db", url)
    tid = str(cb["ticket_id"])
    assert main(["tickets", "escalate", tid, "--reason", "一线无法处理", "--to", "路人甲", "--by", "张伟",
                 "--db", url, "--config", CONFIG]) == 1
    err = capsys.readouterr().err
    assert "路人甲" in err and "不在值班表人员中" in err
    assert main(["tickets", "escalate", tid, "--reason", "一线无法处理", "--to", "8002", "--by", "张伟",
                 "--db", url, "--config", CONFIG]) == 0  # an extension names 李娜
    err = capsys.readouterr().err
    assert "通知 李娜" in err and "the hand-off page to 李娜 is in the outbox" in err


def test_the_ticket_list_reads_as_a_table(capsys: pytest.CaptureFixture[str], url: str) -> None:
    assert main(["tickets", "list", "--db", url, "--config", CONFIG]) == 0
    header, *rows, total = capsys.readouterr().out.splitlines()
    assert total == "共 2 张 / 2 tickets" and len(rows) == 2
    at = header.index("专业 specialty")
    for row in rows:  # columns line up by display width, Chinese cells included
        assert width(row[:row.index("网络")]) == width(header[:at]), row  # the configured name, not 'network'
        assert "新建 new" in row and "一线" in row


async def test_kb_from_the_cli_and_the_api(capsys: pytest.CaptureFixture[str], settings: Settings, url: str) -> None:
    (cb,) = run(capsys, "tickets", "list", "--json", "--assignee", "张伟", "--db", url)
    tid = str(cb["ticket_id"])
    run(capsys, "kb", "draft", tid, "--by", "陈静", "--db", url, code=1)  # not resolved yet
    run(capsys, "tickets", "edit", tid, "--by", "张伟", "--summary", "打印机脱机", "--db", url)
    run(capsys, "tickets", "resolve", tid, "--by", "张伟", "--solution", "取消脱机使用打印机", "--db", url)
    (draft,) = run(capsys, "kb", "draft", tid, "--by", "陈静", "--json", "--db", url)
    assert (draft["title"], draft["status"], draft["tickets"]) == ("打印机脱机", "draft", [tid])
    aid = str(draft["article_id"])
    assert run(capsys, "kb", "search", "打印", "--json", "--db", url) == []
    (edited,) = run(capsys, "kb", "edit", aid, "--by", "陈静", "--cause", "误点脱机", "--tags", "打印机 脱机",
                    "--json", "--db", url)
    assert edited["cause"] == "误点脱机" and edited["tags"] == ["打印机", "脱机"]
    run(capsys, "kb", "edit", aid, "--by", "陈静", "--specialty", "printers", "--db", url, code=1)  # not configured
    (published,) = run(capsys, "kb", "publish", aid, "--by", "周强", "--json", "--db", url)
    assert published["status"] == "published" and published["published_by"] == "周强"
    found = run(capsys, "kb", "search", "打印", "--json", "--db", url)
    assert [a["article_id"] for a in found] == [draft["article_id"]]
    main(["kb", "show", aid, "--config", CONFIG, "--db", url])
    assert "误点脱机" in capsys.readouterr().out
    run(capsys, "kb", "show", "999", "--db", url, code=1)

    db = open_database(url)
    app = create_app(settings, db.factory, ManualClock(datetime.fromisoformat("2026-11-24T09:00:00+08:00")))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        await login(client, db.factory, "supervisor", "陈静")  # knowledge articles: supervisors edit them
        found = (await client.get("/api/kb", params={"q": "脱机"})).json()
        assert [a["title"] for a in found] == ["打印机脱机"]
        assert (await client.get(f"/api/tickets/{tid}/suggestions")).json()[0]["article_id"] == draft["article_id"]
        r = await client.patch(f"/api/kb/{aid}", json={"by": "陈静", "title": "打印机显示脱机"})
        assert r.status_code == 200 and r.json()["title"] == "打印机显示脱机"
        assert (await client.get("/api/kb/999")).status_code == 404
        other = (await client.get("/api/tickets", params={"state": "all"})).json()
        unresolved = next(t["ticket_id"] for t in other if t["ticket_id"] != tid)
        r = await client.post(f"/api/tickets/{unresolved}/kb-draft", json={"by": "陈静"})
        assert r.status_code == 409
    db.engine.dispose()
