"""`hotline kb search|show|draft|edit|publish`: the knowledge base (知识库) from the command line."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from hotline.cli import COMMON
from hotline.cli.subcommands import add_command
from hotline.config import Settings
from hotline.domain.tickets import TicketError

if TYPE_CHECKING:  # the services load when a command runs, not for `--help` (bench/bench_cli_startup.py)
    from hotline.services.tickets.knowledge import Article, KnowledgeBase


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    k = sub.add_parser("kb", parents=[COMMON], help="知识库 / knowledge base")
    ksub = k.add_subparsers(dest="kb", required=True)

    command = functools.partial(add_command, ksub)

    s = command("search", "搜索（两个字的词也可以：打印、脱机）/ search (two-character words too)", cmd_search)
    s.add_argument("query", help="关键词 / words, separated by spaces")
    s.add_argument("--specialty", help="专业 / specialty")
    s.add_argument("--drafts", action="store_true", help="包括草稿 / drafts too")
    s.add_argument("--limit", type=int, default=20, help="最多条数 / at most this many")
    sh = command("show", "查看 / one article", cmd_show)
    sh.add_argument("article_id", type=int, help="文章编号 / article id")
    d = command("draft", "由工单生成草稿 / draft from a resolved ticket", cmd_draft)
    d.add_argument("ticket_id", help="工单号 / ticket number")
    d.add_argument("--by", required=True, help="操作人 / who does it")
    e = command("edit", "编辑 / edit a draft or an article", cmd_edit)
    e.add_argument("article_id", type=int, help="文章编号 / article id")
    e.add_argument("--by", required=True, help="操作人 / who does it")
    for name in ("title", "problem", "cause", "solution", "specialty", "tags"):
        e.add_argument(f"--{name}", help="字段内容 / the field's new text")
    pb = command("publish", "发布 / publish", cmd_publish)
    pb.add_argument("article_id", type=int, help="文章编号 / article id")
    pb.add_argument("--by", required=True, help="操作人 / who does it")


def _kb(args: argparse.Namespace, settings: Settings) -> KnowledgeBase:
    from hotline.clock import SystemClock
    from hotline.runtime.assembly import open_database
    from hotline.services.tickets.build import build_tickets

    db = open_database(args.db or settings.database_url)
    return build_tickets(settings, db.factory, SystemClock(settings.tz)).kb


def _print(article: Article, args: argparse.Namespace, settings: Settings) -> None:
    if args.json:
        print(json.dumps(article.as_dict(settings.tz), ensure_ascii=False))
        return
    print(f"[{article.article_id}] {article.title}  ({article.status}, {article.specialty or '-'}, "
          f"标签 tags: {', '.join(article.tags) or '-'})")
    print(f"  问题 problem: {article.problem or '-'}\n  原因 cause: {article.cause or '-'}\n"
          f"  解决方法 solution: {article.solution or '-'}\n  工单 tickets: {', '.join(article.tickets) or '-'}")


def _act(args: argparse.Namespace, settings: Settings, act: Callable[[KnowledgeBase], Article]) -> int:
    from hotline.services.tickets.knowledge import ArticleNotFound
    from hotline.services.tickets.records import TicketNotFound

    try:
        article = act(_kb(args, settings))
    except (ArticleNotFound, TicketNotFound, TicketError) as e:
        print(f"错误 / error: {e}", file=sys.stderr)
        return 1
    _print(article, args, settings)
    return 0


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    found = _kb(args, settings).search(args.query, specialty=args.specialty, include_drafts=args.drafts,
                                       limit=args.limit)
    for article in found:
        _print(article, args, settings)
    if not args.json:
        print(f"共 {len(found)} 条 / {len(found)} articles")
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    return _act(args, settings, lambda kb: kb.get(args.article_id))


def cmd_draft(args: argparse.Namespace, settings: Settings) -> int:
    return _act(args, settings, lambda kb: kb.draft_from_ticket(args.ticket_id, args.by))


def cmd_edit(args: argparse.Namespace, settings: Settings) -> int:
    values = {n: getattr(args, n) for n in ("title", "problem", "cause", "solution", "specialty", "tags")}
    return _act(args, settings, lambda kb: kb.edit(args.article_id, args.by, **values))


def cmd_publish(args: argparse.Namespace, settings: Settings) -> int:
    return _act(args, settings, lambda kb: kb.publish(args.article_id, args.by))
