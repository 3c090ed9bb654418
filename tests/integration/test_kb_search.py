"""The knowledge base on SQLite (FTS5 trigram + LIKE for shorter words) and PostgreSQL (LIKE): drafted
from resolved tickets, edited, published, and found by two-, three- and four-character Chinese words."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.domain.calls import Call, Direction
from hotline.domain.tickets import TicketError
from hotline.runtime.assembly import open_database
from hotline.services.roster.service import RosterService
from hotline.services.tickets.build import Tickets, build_tickets
from hotline.store.base import unit_of_work
from tests.conftest import ROOT

T0 = datetime.fromisoformat("2026-12-03T10:00:00+08:00")
CASES = [  # caller, specialty, summary, solution, cause
    ("13800138000", "applications", "财务室打印机脱机", "在打印机属性中取消“脱机使用打印机”，重启打印服务",
     "打印服务卡死"),
    ("13800138001", "network", "VPN 无法连接", "重新下发 VPN 证书", "证书过期"),
    ("13800138002", "applications", "邮箱密码重置", "在自助门户重置密码并同步手机端", "密码过期"),
]


@pytest.fixture
def kb(settings: Settings, db_url: str) -> Iterator[tuple[Tickets, list[str]]]:
    yield from desk_with_tickets(settings, db_url)


@pytest.fixture
def sqlite_kb(settings: Settings, tmp_path: Path) -> Iterator[tuple[Tickets, list[str]]]:
    yield from desk_with_tickets(settings, f"sqlite:///{tmp_path / 'kb.db'}")


@pytest.fixture
def printer_kb(settings: Settings, db_url: str) -> Iterator[tuple[Tickets, list[str]]]:
    """CASES and a printer that cannot connect, all published."""
    cases = [*CASES, ("13800138003", "applications", "三楼打印机连接不上", "重新添加网络打印机端口",
                      "打印机 IP 地址变更")]
    for t, ids in desk_with_tickets(settings, db_url, cases):
        for tid in ids:
            t.kb.publish(t.kb.draft_from_ticket(tid, "陈静").article_id, "周强")
        yield t, ids


def desk_with_tickets(settings: Settings, url: str,
                      cases: list[tuple[str, str, str, str, str]] = CASES) -> Iterator[tuple[Tickets, list[str]]]:
    db = open_database(url)
    clock = ManualClock(T0, settings.tz)
    RosterService(db.factory, settings, clock).load_example(ROOT / "config" / "roster.yaml")
    t = build_tickets(settings, db.factory, clock)
    clock.set(T0 + timedelta(hours=1))  # the calls below came in the hour before
    ids = []
    for i, (caller, specialty, summary, solution, cause) in enumerate(cases):
        at = T0 + timedelta(minutes=i)
        call = Call(f"k{i}", "asterisk", Direction.INBOUND, at, caller=caller, called="4008001234",
                    specialty=specialty, answered_at=at + timedelta(seconds=5), answered_by="8001")
        call.ended_at = at + timedelta(minutes=3)
        t.opener.on_call(call)
        (view,) = t.desk.find(caller=f"+86{caller}")
        t.desk.edit(view.ticket.ticket_id, "张伟", summary=summary)
        t.desk.resolve(view.ticket.ticket_id, solution, "张伟", cause=cause)
        ids.append(view.ticket.ticket_id)
    yield t, ids
    db.engine.dispose()


def titles(articles: list) -> list[str]:  # type: ignore[type-arg]
    return [a.title for a in articles]


def test_draft_edit_publish_and_search_by_short_and_long_words(kb: tuple[Tickets, list[str]]) -> None:
    t, ids = kb
    drafts = [t.kb.draft_from_ticket(tid, "陈静") for tid in ids]
    printer = drafts[0]
    assert (printer.title, printer.cause, printer.specialty, printer.status) == (
        "财务室打印机脱机", "打印服务卡死", "applications", "draft")
    assert printer.tickets == (ids[0],) and "applications" in printer.tags
    assert t.kb.search("打印") == []  # drafts are not found
    assert titles(t.kb.search("打印", include_drafts=True)) == ["财务室打印机脱机"]
    for d in drafts:
        t.kb.publish(d.article_id, "周强")
    assert titles(t.kb.search("打印")) == ["财务室打印机脱机"]  # two characters (LIKE)
    assert titles(t.kb.search("脱机")) == ["财务室打印机脱机"]
    assert titles(t.kb.search("打印机")) == ["财务室打印机脱机"]  # three (FTS5 trigram on SQLite)
    assert titles(t.kb.search("无法连接")) == ["VPN 无法连接"]  # four
    assert titles(t.kb.search("vpn")) == ["VPN 无法连接"]  # case-insensitive
    assert titles(t.kb.search("密码")) == ["邮箱密码重置"]
    assert titles(t.kb.search("打印 脱机")) == ["财务室打印机脱机"]  # every word
    assert set(titles(t.kb.search("打印机 证书"))) == {"财务室打印机脱机", "VPN 无法连接"}  # none has both: any
    assert titles(t.kb.search("密码", specialty="network")) == []
    assert t.kb.search("%") == [] and t.kb.search("_") == [] and t.kb.search("  ") == []
    # an edit re-indexes: the new word is found, the old one is not
    t.kb.edit(printer.article_id, "陈静", solution="更换打印机驱动程序", tags="打印机, 驱动")
    assert titles(t.kb.search("驱动程序")) == ["财务室打印机脱机"]
    assert t.kb.search("属性") == [] and titles(t.kb.search("卡死")) == ["财务室打印机脱机"]
    assert t.kb.get(printer.article_id).tags == ("打印机", "驱动")
    assert [a.title for a in t.kb.suggest(ids[0])] == ["财务室打印机脱机"]
    assert [c.action for c in t.desk.timeline(ids[0])][-1] == "kb"


def test_only_resolved_tickets_draft_articles(kb: tuple[Tickets, list[str]]) -> None:
    t, ids = kb
    t.desk.reopen(ids[1], "李娜", "问题复现")
    with pytest.raises(TicketError, match="尚未解决"):
        t.kb.draft_from_ticket(ids[1], "李娜")


def test_sqlite_answers_three_character_words_from_the_trigram_index(sqlite_kb: tuple[Tickets, list[str]]) -> None:
    t, ids = sqlite_kb
    t.kb.publish(t.kb.draft_from_ticket(ids[0], "陈静").article_id, "周强")
    with unit_of_work(t.desk.ctx.factory) as s:
        hits = s.execute(text("SELECT rowid FROM kb_fts WHERE kb_fts MATCH '\"打印机\"'")).all()
        short = s.execute(text("SELECT rowid FROM kb_fts WHERE kb_fts MATCH '\"打印\"'")).all()
    assert len(hits) == 1 and short == []  # the trigram index cannot look up 2 characters: hence LIKE


def test_unsegmented_chinese_queries_are_cut_into_words(printer_kb: tuple[Tickets, list[str]]) -> None:
    """Callers and staff type 打印机无法连接, not 打印机 无法 连接: jieba cuts it into words; no article has all
    three, so the articles with any of them come back, the one matching most (and the longest words) first."""
    t, _ = printer_kb
    found = titles(t.kb.search("打印机无法连接"))
    assert found[0] == "三楼打印机连接不上"  # 打印机 + 连接
    assert set(found) == {"三楼打印机连接不上", "VPN 无法连接", "财务室打印机脱机"}
    assert titles(t.kb.search("打印机脱机")) == ["财务室打印机脱机"]  # both words: only that article
    assert titles(t.kb.search("邮箱密码忘了怎么办"))[0] == "邮箱密码重置"  # 怎么办 dropped, 忘 matches nothing
    assert titles(t.kb.search("VPN无法连接")) == ["VPN 无法连接"]  # Latin and Chinese in one run
    (printer,) = t.desk.find(state="all", caller="+8613800138003")
    assert titles(t.kb.suggest(printer.ticket.ticket_id))[0] == "三楼打印机连接不上"
