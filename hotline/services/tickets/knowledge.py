"""The knowledge base (知识库): one action drafts an article from a resolved ticket (problem, cause, solution,
specialty, tags); second line or the manager edits and publishes it; search in Chinese finds two-character
words (打印, 脱机) as well as longer ones; a ticket page gets articles suggested for its specialty and summary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from hotline.domain.tickets import Status, TicketError, check_specialty
from hotline.services.tickets.query_words import query_words, split_words
from hotline.services.tickets.records import TicketNotFound
from hotline.services.tickets.settings import TicketContext
from hotline.store.base import unit_of_work
from hotline.store.tickets import (
    ArticleRow,
    ArticleTicketRow,
    TicketEventRow,
    TicketRow,
    search_text,
    term_matches,
)

_RANKED = 500  # articles matching any word, ranked in memory
EDITABLE = ("title", "problem", "cause", "solution", "specialty", "tags")


class ArticleNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Article:
    article_id: int
    title: str
    problem: str
    cause: str
    solution: str
    specialty: str | None
    tags: tuple[str, ...]
    status: str  # draft | published
    tickets: tuple[str, ...]
    created_by: str
    created_at: datetime
    updated_at: datetime
    published_by: str | None
    published_at: datetime | None

    def as_dict(self, tz: ZoneInfo) -> dict[str, Any]:
        return {"article_id": self.article_id, "title": self.title, "problem": self.problem, "cause": self.cause,
                "solution": self.solution, "specialty": self.specialty, "tags": list(self.tags),
                "status": self.status, "tickets": list(self.tickets), "created_by": self.created_by,
                "created_at": self.created_at.astimezone(tz).isoformat(),
                "updated_at": self.updated_at.astimezone(tz).isoformat(), "published_by": self.published_by,
                "published_at": self.published_at.astimezone(tz).isoformat() if self.published_at else None}


def terms_of(query: str) -> list[str]:
    """The words a query looks up (see `query_words`: Chinese segmented, stop words dropped)."""
    return query_words(query)


def _tags(text: str | None) -> tuple[str, ...]:
    return tuple(t for t in split_words(text or "") if t)


class KnowledgeBase:
    def __init__(self, ctx: TicketContext) -> None:
        self.ctx = ctx

    def draft_from_ticket(self, ticket_id: str, by: str) -> Article:
        """A draft article from a resolved (or closed) ticket, linked back to it."""
        now = self.ctx.clock.now()
        with unit_of_work(self.ctx.factory) as s:
            t = s.get(TicketRow, ticket_id)
            if t is None:
                raise TicketNotFound(f"没有此工单 / no ticket {ticket_id!r}")
            if t.status not in (str(Status.RESOLVED), str(Status.CLOSED)) or not t.solution:
                raise TicketError(f"工单 {ticket_id} 尚未解决，不能生成知识 / only a resolved ticket drafts an "
                                  f"article (status {t.status})")
            title = (t.summary or t.solution.splitlines()[0])[:200]
            problem = "\n".join(p for p in (t.summary, t.description) if p)
            tags = ",".join(x for x in (t.specialty, str(t.ticket_type)) if x)
            row = ArticleRow(title=title, problem=problem, cause=t.cause or "", solution=t.solution,
                             specialty=t.specialty, tags=tags, status="draft", created_by=by, created_at=now,
                             updated_at=now, search_text="")
            row.search_text = search_text(row.title, row.problem, row.cause, row.solution, row.tags)
            s.add(row)
            s.flush()
            s.add(ArticleTicketRow(article_id=row.id, ticket_id=ticket_id))
            s.add(TicketEventRow(ticket_id=ticket_id, at=now, actor=by, action="kb", field="article",
                                 new=str(row.id), note="生成知识库草稿 / knowledge article drafted"))
            article_id = row.id
        return self.get(article_id)

    def edit(self, article_id: int, by: str, **values: str | None) -> Article:
        now = self.ctx.clock.now()
        check_specialty(values.get("specialty"), self.ctx.config.specialties)
        with unit_of_work(self.ctx.factory) as s:
            row = self._row(s, article_id)
            for name, value in values.items():
                if name not in EDITABLE:
                    raise TicketError(f"字段 {name!r} 不能修改 / field {name!r} cannot be edited")
                if value is not None:
                    setattr(row, name, ",".join(_tags(value)) if name == "tags" else value)
            if not row.title.strip():
                raise TicketError("知识需要标题 / an article needs a title")
            row.search_text = search_text(row.title, row.problem, row.cause, row.solution, row.tags)
            row.updated_by, row.updated_at = by, now
        return self.get(article_id)

    def publish(self, article_id: int, by: str) -> Article:
        now = self.ctx.clock.now()
        with unit_of_work(self.ctx.factory) as s:
            row = self._row(s, article_id)
            if not row.solution.strip():
                raise TicketError("知识需要解决方法才能发布 / an article needs a solution to be published")
            if row.status != "published":
                row.status, row.published_by, row.published_at = "published", by, now
        return self.get(article_id)

    def get(self, article_id: int) -> Article:
        with unit_of_work(self.ctx.factory) as s:
            return self._articles(s, [self._row(s, article_id)])[0]

    def search(self, query: str, *, specialty: str | None = None, include_drafts: bool = False,
               limit: int = 20) -> list[Article]:
        """Articles containing every word of `query`, titles first; when none does, articles containing any
        word, those matching the most (longer words weigh more: they say more) first."""
        terms = terms_of(query)
        if not terms:
            return []
        with unit_of_work(self.ctx.factory) as s:
            dialect = s.get_bind().dialect.name
            matches = [term_matches(t, dialect) for t in terms]
            for condition, cap in ((and_(*matches), limit * 5), (or_(*matches), _RANKED)):
                stmt = select(ArticleRow).where(condition)
                if not include_drafts:
                    stmt = stmt.where(ArticleRow.status == "published")
                if specialty:
                    stmt = stmt.where(ArticleRow.specialty == specialty)
                rows = list(s.scalars(stmt.order_by(ArticleRow.updated_at.desc()).limit(cap)))
                if rows or len(terms) == 1:
                    break
            # stable sorts: the most (and longest) words matched, then in the title, then newest
            rows.sort(key=lambda r: -sum(t in r.title.lower() for t in terms))
            rows.sort(key=lambda r: -sum(len(t) for t in terms if t in r.search_text))
            return self._articles(s, rows[:limit])

    def suggest(self, ticket_id: str, limit: int = 5) -> list[Article]:
        """Published articles for the ticket's specialty and summary (any word of it)."""
        with unit_of_work(self.ctx.factory) as s:
            t = s.get(TicketRow, ticket_id)
            if t is None:
                raise TicketNotFound(f"没有此工单 / no ticket {ticket_id!r}")
            summary, specialty = t.summary or t.description, t.specialty
        found = self.search(summary, specialty=specialty, limit=limit) if summary else []
        return found or (self.search(summary, limit=limit) if summary else [])

    def _row(self, s: Session, article_id: int) -> ArticleRow:
        row = s.get(ArticleRow, article_id)
        if row is None:
            raise ArticleNotFound(f"没有此知识 / no article {article_id}")
        return row

    def _articles(self, s: Session, rows: list[ArticleRow]) -> list[Article]:
        links: dict[int, list[str]] = {r.id: [] for r in rows}
        if rows:
            for link in s.scalars(select(ArticleTicketRow).where(ArticleTicketRow.article_id.in_(list(links)))):
                links[link.article_id].append(link.ticket_id)
        return [Article(r.id, r.title, r.problem, r.cause, r.solution, r.specialty, _tags(r.tags), r.status,
                        tuple(sorted(links[r.id])), r.created_by, r.created_at, r.updated_at, r.published_by,
                        r.published_at) for r in rows]
