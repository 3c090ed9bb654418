"""Bad values in signed Twilio requests are clipped or dropped at the webhook edge: the request keeps its
call, and the other requests written in the same batch are not lost (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from hotline.store.calls import RawEventRow
from tests.integration.test_twilio_roster_calls import DAY, SID
from tests.integration.twilio_desk import BASE, Desk, desk, url_in  # noqa: F401

OTHER = "CA" + "d4" * 16


async def test_infinite_queue_time_and_a_900_kb_caller_name_do_not_lose_the_batch(desk: Desk) -> None:
    desk.clock.set(DAY)
    desk.service.refresh_duty()
    # call 1: queued for network, the caller gives up; Twilio's Enqueue action says QueueTime=1e400
    menu = await desk.webhook(f"{BASE}/twilio/voice", desk.call_params(SID, "ringing"), DAY)
    queued = await desk.webhook(url_in(menu, "gather"), desk.call_params(SID, "in-progress", Digits="1"),
                                DAY + timedelta(seconds=12))
    gave_up = DAY + timedelta(seconds=54)
    await desk.webhook(url_in(queued, "queue"), desk.call_params(SID, "completed", QueueResult="hangup",
                                                                 QueueTime="1e400"), gave_up)
    await desk.status(SID, "completed", gave_up, CallDuration="54")
    # call 2, in the same batch: a 900 KB caller name (PostgreSQL's VARCHAR(128) would refuse it)
    name = "张" * 100_000  # 900 KB as Twilio form-encodes it
    await desk.webhook(f"{BASE}/twilio/voice", desk.call_params(OTHER, "ringing", CallerName=name), gave_up)
    await desk.status(OTHER, "completed", gave_up + timedelta(seconds=3), CallDuration="3")
    desk.service.drain()
    rows = {r["call_id"]: r for r in desk.rows()}
    assert set(rows) == {SID, OTHER}
    assert rows[SID]["outcome"] == "abandoned"
    assert rows[SID]["wait_seconds"] == 42.0  # from the queue to the hang-up, as it arrived
    assert rows[OTHER]["caller_name"] == "张" * 128
    with desk.db.factory() as s:
        raw = s.scalar(select(func.count()).select_from(RawEventRow))
        longest = s.scalar(select(func.max(func.length(RawEventRow.raw))))
    assert raw == 6
    assert longest is not None and longest < 10_000


async def test_a_timestamp_from_another_century_is_not_believed(desk: Desk) -> None:
    await desk.webhook(f"{BASE}/twilio/voice", desk.call_params(SID, "ringing"), DAY)
    desk.clock.set(DAY + timedelta(seconds=5))
    params = desk.call_params(SID, "completed", CallDuration="5", SequenceNumber="0",
                              Timestamp="Fri, 31 Dec 9999 23:59:59 -1200")
    assert (await desk.post(f"{BASE}/twilio/status", params)).status_code == 204
    desk.service.drain()
    (row,) = desk.rows()
    assert row["ended_at"] is not None and row["ended_at"].startswith(str(DAY.astimezone().year))
