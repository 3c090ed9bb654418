"""The paging outbox: pages are decided into a table (unique key per alert, step, person, channel)
in the engine's transaction, then claimed and delivered by whichever process gets there first.

A claim is a guarded UPDATE (pending, or `sending` with an expired lease), so two processes never
send the same page; a crash between "decided" and "sent" leaves the row pending (or its lease runs
out) and the page is sent once more. Every attempt is stored in `page_attempts`.

A delivery is bounded by a total deadline well inside the lease (half of it by default), so a slow
receiver cannot make the lease run out under a page still being sent; and a result is recorded only
by the claim that is still current (the claim's attempt number is its fence token): a late result of
a superseded claim is kept in the attempts, never as the page's status.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import Table, and_, bindparam, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from hotline.clock import Clock
from hotline.paging.base import DRY_RUN_ID_PREFIX, Page, Recipient, SendResult
from hotline.store.alerts import AlertEventRow, OutboxRow, PageAttemptRow
from hotline.store.base import chunks, claim_writer, unit_of_work

log = logging.getLogger(__name__)
NO_CHANNEL = "未尝试任何通道 / no channel tried"
DRY_RUN_DETAIL = "演练，未发送 / dry run, not sent"  # a page event's detail when a dry run took the page


class PageSender(Protocol):
    """What delivers a page: `hotline.paging.dispatcher.Dispatcher` or `DryRunSender`."""

    async def deliver(self, page: Page, order: Sequence[str] | None = None) -> list[SendResult]: ...


class DryRunSender:
    """Sends nothing and reports success on the first channel asked for (replay without --send)."""

    async def deliver(self, page: Page, order: Sequence[str] | None = None) -> list[SendResult]:
        channel = order[0] if order else "dry_run"
        return [SendResult(ok=True, channel=channel, provider_id=f"{DRY_RUN_ID_PREFIX}{page.key}")]


@dataclass(frozen=True)
class PlannedPage:
    """A page the engine decided to send."""

    key: str
    alert_id: str | None
    purpose: str  # page | breach | hole | incident
    step: str | None
    tier: str | None
    recipient: Recipient
    channel: str
    fallback: tuple[str, ...]
    subject: str
    text: str
    ack_url: str | None = None
    ack_code: str | None = None
    caller: str | None = None
    specialty: str | None = None


def page_key(alert_id: str, step: str, person: str, channel: str) -> str:
    return f"{alert_id}:{step}:{person}:{channel}"[:255]


def add_pages(session: Session, pages: Sequence[PlannedPage], now: datetime) -> list[PlannedPage]:
    """Insert the pages not yet in the outbox; returns those inserted.

    The keys already there are read first and the rest inserted with ON CONFLICT DO NOTHING (a plain
    executemany: several times faster on PostgreSQL than INSERT ... RETURNING). The unique key is the
    guarantee against sending twice; the returned list feeds the history only (and the engine holds
    the alerts' row locks, so no other process pages the same alert step at the same time).
    """
    unique = list({p.key: p for p in pages}.values())
    if not unique:
        return []
    keys = [p.key for p in unique]
    existing: set[str] = set()
    for part in chunks(keys):
        existing.update(session.scalars(select(OutboxRow.key).where(OutboxRow.key.in_(part))))
    fresh = [p for p in unique if p.key not in existing]
    if fresh:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        table = cast(Table, OutboxRow.__table__)
        session.connection().execute(insert(table).on_conflict_do_nothing(index_elements=["key"]),
                                     [_values(p, now) for p in fresh])
    return fresh


def _values(p: PlannedPage, now: datetime) -> dict[str, Any]:
    return {
        "key": p.key, "alert_id": p.alert_id, "purpose": p.purpose, "step": p.step, "tier": p.tier,
        "person": p.recipient.name, "channel": p.channel, "fallback": ",".join(p.fallback),
        "recipient": json.dumps(asdict(p.recipient), ensure_ascii=False), "subject": p.subject,
        "text": p.text, "ack_url": p.ack_url, "ack_code": p.ack_code, "caller": p.caller,
        "specialty": p.specialty, "created_at": now, "status": "pending", "attempts": 0,
        "next_attempt_at": now,
    }


def cancel_pages(session: Session, alert_id: str, now: datetime, reason: str) -> int:
    """Pages of `alert_id` not yet sent are not sent any more (the alert was cleared or resolved)."""
    result = session.execute(
        update(OutboxRow).where(OutboxRow.alert_id == alert_id, OutboxRow.status == "pending")
        .values(status="cancelled", last_error=reason, lease_until=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _recipient(text: str) -> Recipient:
    data = json.loads(text)
    data["channels"] = tuple(data.get("channels") or ())
    return Recipient(**data)


@dataclass(frozen=True)
class Claimed:
    outbox_id: int
    page: Page
    order: tuple[str, ...]
    attempts: int


@dataclass(frozen=True)
class Delivered:
    outbox_id: int
    key: str
    ok: bool
    status: str
    results: tuple[SendResult, ...]


def _delivery_event(claimed: Claimed, last: SendResult | None, ok: bool) -> dict[str, Any]:
    """The alert's `page` event of this page is changed to name the channel that delivered it (a
    fallback, maybe), or to say that no channel did."""
    planned = claimed.order[0] if claimed.order else "default"
    via = last.channel if last else planned
    if ok:
        dry = last is not None and (last.provider_id or "").startswith(DRY_RUN_ID_PREFIX)  # nothing left the machine
        detail = (DRY_RUN_DETAIL if dry else "已送达 / delivered") + (
            "" if via == planned else f" (计划 / planned: {planned})")
    else:
        detail = f"未送达 / not delivered: {last.error if last else NO_CHANNEL}"
    return {"e_alert": claimed.page.alert_id, "e_person": claimed.page.recipient.name,
            "e_step": claimed.page.extra.get("step") or None, "e_planned": planned,
            "e_channel": via if ok else planned, "e_detail": detail[:500]}


class Outbox:
    def __init__(self, factory: sessionmaker[Session], clock: Clock, *, lease: timedelta = timedelta(minutes=2),
                 max_attempts: int = 3, retry_after: timedelta = timedelta(minutes=1),
                 deadline: timedelta | None = None) -> None:
        self.factory = factory
        self.clock = clock
        self.lease = lease
        self.deadline = deadline if deadline is not None else lease / 2
        if self.deadline >= lease:
            raise ValueError(f"the delivery deadline ({self.deadline}) must be shorter than the lease ({lease})")
        self.max_attempts = max_attempts
        self.retry_after = retry_after

    def claim(self, limit: int = 200) -> list[Claimed]:
        """Take up to `limit` due pages for this process: one guarded UPDATE ... RETURNING, so a row
        another process claimed first (or sent) is not taken again."""
        now = self.clock.now()
        due = or_(and_(OutboxRow.status == "pending", OutboxRow.next_attempt_at <= now),
                  and_(OutboxRow.status == "sending", OutboxRow.lease_until < now))
        table = cast(Table, OutboxRow.__table__)
        with unit_of_work(self.factory) as s:
            ids = list(s.scalars(select(OutboxRow.id).where(due).order_by(OutboxRow.id).limit(limit)))
            if not ids:
                return []
            rows = s.execute(
                update(table).where(table.c.id.in_(ids), due)
                .values(status="sending", lease_until=now + self.lease, attempts=table.c.attempts + 1)
                .returning(*table.c)).mappings().all()
        claimed = []
        for row in sorted(rows, key=lambda r: r["id"]):
            # "default": nobody named a channel, the dispatcher's default order applies
            channel, fallback = row["channel"], [c for c in row["fallback"].split(",") if c]
            order = () if channel == "default" else (channel, *fallback)
            page = Page(key=row["key"], recipient=_recipient(row["recipient"]), subject=row["subject"],
                        text=row["text"], alert_id=row["alert_id"], caller=row["caller"], specialty=row["specialty"],
                        ack_url=row["ack_url"], ack_code=row["ack_code"], at=row["created_at"],
                        extra={"purpose": row["purpose"], "tier": row["tier"] or "", "step": row["step"] or ""})
            claimed.append(Claimed(row["id"], page, order, row["attempts"]))
        return claimed

    def record(self, claimed: Claimed, results: Sequence[SendResult], seconds: float | None = None) -> Delivered:
        """Store every attempt and the page's new status (sent, retry later, or failed for good)."""
        return self.record_all([(claimed, results, seconds)])[0]

    def record_all(self, batch: Sequence[tuple[Claimed, Sequence[SendResult], float | None]]) -> list[Delivered]:
        """`record` for several pages in one transaction (one UPDATE executed for many rows)."""
        now = self.clock.now()
        out: list[Delivered] = []
        updates: list[dict[str, Any]] = []
        attempts: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for claimed, results, seconds in batch:
            ok = bool(results) and results[-1].ok
            retryable = not ok and (not results or any(r.retryable for r in results))
            if ok:
                status = "sent"
            elif retryable and claimed.attempts < self.max_attempts:
                status = "pending"
            else:
                status = "failed"
            last = results[-1] if results else None
            attempts += [{"outbox_id": claimed.outbox_id, "at": now, "channel": r.channel, "ok": r.ok,
                          "provider_id": r.provider_id, "error": r.error, "retryable": r.retryable,
                          "seconds": seconds} for r in results]
            updates.append({"b_id": claimed.outbox_id, "b_status": status, "b_sent_at": now if ok else None,
                            "b_provider_id": last.provider_id if last else None,
                            "b_last_error": None if ok else (last.error if last else NO_CHANNEL),
                            "b_next": now + self.retry_after * claimed.attempts, "b_attempt": claimed.attempts,
                            "b_via": last.channel if ok and last else None})
            if claimed.page.alert_id and (ok or status == "failed"):
                events.append({**_delivery_event(claimed, last, ok), "e_outbox": claimed.outbox_id})
            out.append(Delivered(claimed.outbox_id, claimed.page.key, ok, status, tuple(results)))
        if not updates:
            return out
        table = cast(Table, OutboxRow.__table__)
        stmt = (update(table).where(table.c.id == bindparam("b_id"), table.c.status == "sending",
                                    table.c.attempts == bindparam("b_attempt"))
                .values(status=bindparam("b_status"), lease_until=None, sent_at=bindparam("b_sent_at"),
                        provider_id=bindparam("b_provider_id"), last_error=bindparam("b_last_error"),
                        next_attempt_at=bindparam("b_next"), delivered_via=bindparam("b_via")))
        with unit_of_work(self.factory) as s:
            claim_writer(s, "outbox")
            current = {(row.id, row.attempts) for row in s.execute(
                select(table.c.id, table.c.attempts).where(table.c.id.in_([u["b_id"] for u in updates]),
                                                           table.c.status == "sending").with_for_update())}
            conn = s.connection()
            if attempts:
                conn.execute(insert(cast(Table, PageAttemptRow.__table__)), attempts)
            fresh = [u for u in updates if (u["b_id"], u["b_attempt"]) in current]
            if fresh:
                conn.execute(stmt, fresh)
            fresh_ids = {u["b_id"] for u in fresh}  # a superseded claim's result changes no alert event either
            events = [{k: v for k, v in e.items() if k != "e_outbox"} for e in events if e["e_outbox"] in fresh_ids]
            if events:
                ev = cast(Table, AlertEventRow.__table__)
                conn.execute(update(ev).where(ev.c.alert_id == bindparam("e_alert"),
                                              or_(ev.c.type == "page", ev.c.type == "hole"),
                                              ev.c.person == bindparam("e_person"), ev.c.step == bindparam("e_step"),
                                              ev.c.channel == bindparam("e_planned"))
                             .values(channel=bindparam("e_channel"), detail=bindparam("e_detail")), events)
        for i, d in enumerate(out):
            if (d.outbox_id, updates[i]["b_attempt"]) not in current:
                log.warning("寻呼 %s 的结果来自已被取代的认领，未计入 / page %s: result of a superseded claim "
                            "(attempt %d) kept in the attempts only", d.key, d.key, updates[i]["b_attempt"])
                out[i] = Delivered(d.outbox_id, d.key, False, "superseded", d.results)
        return out

    async def drain(self, sender: PageSender, limit: int = 200, concurrency: int = 20) -> list[Delivered]:
        """Claim due pages and deliver them (`concurrency` at a time); results stored in one transaction."""
        claimed = await asyncio.to_thread(self.claim, limit)  # database work off the event loop
        if not claimed:
            return []
        gate = asyncio.Semaphore(concurrency)

        async def one(c: Claimed) -> tuple[Claimed, Sequence[SendResult], float | None]:
            async with gate:
                started = time.monotonic()
                try:
                    async with asyncio.timeout(self.deadline.total_seconds()):
                        results = await sender.deliver(c.page, c.order or None)
                except TimeoutError:
                    log.warning("寻呼 %s 超过投递时限 %.0f 秒 / page %s: delivery over its deadline (%.0f s), "
                                "retried later", c.page.key, self.deadline.total_seconds(), c.page.key,
                                self.deadline.total_seconds())
                    results = [SendResult(ok=False, channel=c.order[0] if c.order else "default", retryable=True,
                                          error=f"投递超时 / delivery over its deadline "
                                                f"({self.deadline.total_seconds():.0f} s)")]
                except Exception as e:  # a channel bug must not stop the other pages
                    log.exception("paging %s failed", c.page.key)
                    results = [SendResult(ok=False, channel=c.order[0] if c.order else "default",
                                          error=f"{type(e).__name__}: {e}", retryable=True)]
                return c, results, time.monotonic() - started

        results = await asyncio.gather(*(one(c) for c in claimed))
        return await asyncio.to_thread(self.record_all, results)
