"""A caller waiting in an `<Enqueue>` queue is taken by a staff member who calls the agent number: hotline
answers `/twilio/agent` with `<Dial><Queue url=/twilio/bridged>`, Twilio requests that URL on the caller's
call before bridging, and the ledger learns who answered (SQLite and PostgreSQL, signed requests)."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import select

from hotline.runtime.assembly import open_database
from hotline.store.calls import CallRow, row_to_call
from tests.integration.test_twilio_stale import WAITING, play_until
from tests.integration.test_twilio_webhooks import (
    BASE,
    Hotline,
    hotline,  # noqa: F401  (the fixture)
    post,
)

ACCOUNT = "AC00000000000000000000000000000001"
STAFF_SID = "CA" + "5e" * 16
CALLER = {"AccountSid": ACCOUNT, "ApiVersion": "2010-04-01", "CallSid": WAITING, "Called": "+864008001234",
          "Caller": "+8613912345678", "Direction": "inbound", "From": "+8613912345678", "To": "+864008001234"}


def calls(db_url: str) -> list[dict[str, object]]:
    db = open_database(db_url)
    with db.factory() as s:
        rows = [row_to_call(r).as_dict() | {"outcome": r.outcome, "wait_seconds": r.wait_seconds}
                for r in s.scalars(select(CallRow))]
    db.engine.dispose()
    return rows


def attr(twiml: str, tag: str, name: str) -> str:
    found = re.search(rf'<{tag}[^>]* {name}="([^"]+)"', twiml)
    assert found, twiml
    return html.unescape(found.group(1))


async def staff_calls_in(h: Hotline, at: datetime, queue: str) -> str:
    """张三 (on duty, +8613800000001) calls the agent number; returns the URL Twilio will request on the caller."""
    h.clock.set(at)
    r = await post(h, f"{BASE}/twilio/agent?queue={queue}",
                   {"AccountSid": ACCOUNT, "CallSid": STAFF_SID, "From": "+8613800000001", "To": "+864008009999",
                    "Direction": "inbound", "CallStatus": "ringing"})
    assert r.status_code == 200, r.text
    dial = re.search(r"<Dial>.*</Dial>", r.text)
    assert dial and re.search(rf"<Queue [^>]*>{queue}</Queue>", dial.group(0)), r.text
    return attr(r.text, "Queue", "url")


async def test_the_staff_member_who_takes_a_queued_caller_is_who_answered(hotline: Hotline) -> None:
    enqueued, twiml = await play_until(hotline, "caller_hangs_up_waiting", 2)
    queue = re.search(r"<Enqueue[^>]*>([^<]+)</Enqueue>", twiml)
    assert queue, twiml
    action = attr(twiml, "Enqueue", "action")

    bridged_url = await staff_calls_in(hotline, enqueued + timedelta(seconds=20), queue.group(1))
    parts = urlsplit(bridged_url)
    assert bridged_url.startswith(f"{BASE}/twilio/bridged?")
    assert dict(parse_qsl(parts.query)) == {"staff": "张三", "staff_phone": "+8613800000001"}

    bridged_at = enqueued + timedelta(seconds=21)
    hotline.clock.set(bridged_at)
    r = await post(hotline, bridged_url, {**CALLER, "CallStatus": "in-progress", "QueueSid": "QU" + "0" * 32,
                                          "QueueTime": "21", "DequeingCallSid": STAFF_SID})
    assert r.status_code == 200 and "<Say" in r.text and "<Dial" not in r.text, r.text

    ended = bridged_at + timedelta(seconds=95)
    hotline.clock.set(ended)
    r = await post(hotline, f"{BASE}/twilio/status",  # the agent number's own status callback: not a hotline call
                   {"AccountSid": ACCOUNT, "CallSid": STAFF_SID, "CallStatus": "completed", "From": "+8613800000001",
                    "To": "+864008009999", "Direction": "inbound", "CallDuration": "96"})
    assert r.status_code == 204
    r = await post(hotline, action, {**CALLER, "CallStatus": "completed", "QueueResult": "bridged",
                                     "QueueSid": "QU" + "0" * 32, "QueueTime": "21"})
    assert r.status_code == 200
    r = await post(hotline, f"{BASE}/twilio/status", {**CALLER, "CallStatus": "completed", "CallDuration": "150"})
    assert r.status_code == 204
    hotline.service.drain()

    (call,) = calls(hotline.db_url)  # the staff member's own call is not in the ledger
    assert (call["call_id"], call["outcome"], call["answered_by"]) == (WAITING, "answered", "张三")
    assert call["queue"] == queue.group(1)
    assert abs(datetime.fromisoformat(str(call["answered_at"])) - bridged_at) < timedelta(seconds=0.01)
    assert call["wait_seconds"] is not None and abs(float(str(call["wait_seconds"])) - 21.0) < 0.6


async def test_an_agent_number_without_a_queue_gets_a_clear_message_and_a_hangup(hotline: Hotline) -> None:
    r = await post(hotline, f"{BASE}/twilio/agent", {"AccountSid": ACCOUNT, "CallSid": STAFF_SID,
                                                    "From": "+8613800000001", "To": "+864008009999"})
    assert r.status_code == 200 and "<Hangup" in r.text and "<Dial" not in r.text
    assert "未指定队列" in r.text


async def test_the_agent_route_refuses_an_unsigned_request(hotline: Hotline) -> None:
    r = await post(hotline, f"{BASE}/twilio/agent?queue=servers", {"CallSid": STAFF_SID}, signature=None)
    assert r.status_code == 403
