"""Twilio calls against the shipped roster (config/roster.yaml: national-format mobiles such as 13800138004),
signed like Twilio signs them, in the order Twilio sends them."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from tests.conftest import ROOT
from tests.integration.twilio_desk import (  # noqa: F401
    BASE,
    CALLER,
    NIGHT,
    NIGHT_MOBILE,
    NIGHT_STAFF,
    Desk,
    desk,
    dial_staff,
    numbers_in,
    url_in,
)

SID = "CA" + "a1" * 16
LEG = "CA" + "c1" * 16
E164 = "+86" + NIGHT_MOBILE


async def test_staff_numbers_are_dialled_in_e164_and_answered_by_resolves_to_the_name(desk: Desk) -> None:
    twiml = await dial_staff(desk, SID)
    assert numbers_in(twiml) == [E164]  # 13800138004 in the roster, +8613800138004 for Twilio
    status_url = url_in(twiml, "status")
    t = NIGHT + timedelta(seconds=10)
    for status in ("initiated", "ringing"):
        await desk.status(LEG, status, t, url=status_url, parent=SID, to=E164)
    await desk.status(LEG, "in-progress", t + timedelta(seconds=6), url=status_url, parent=SID, to=E164)
    end = t + timedelta(seconds=101)
    await desk.status(LEG, "completed", end, url=status_url, parent=SID, to=E164, CallDuration="95")
    await desk.webhook(url_in(twiml, "dial"), desk.call_params(SID, "in-progress", DialCallStatus="completed",
                       DialCallSid=LEG, DialCallDuration="95", DialBridged="true"), end)
    await desk.status(SID, "completed", end + timedelta(seconds=1), CallDuration="111")
    desk.service.drain()
    (row,) = desk.rows()
    assert row["outcome"] == "answered"
    assert row["answered_by"] == NIGHT_STAFF


async def test_ivr_failure_fallback_dials_the_duty_phone_in_e164(desk: Desk) -> None:
    desk.service.ivr = None
    params = desk.call_params(SID, "ringing")
    twiml = await desk.webhook(f"{BASE}/twilio/voice", params, NIGHT)
    assert numbers_in(twiml) == [E164]


def chinese_says(twiml: str) -> list[str]:
    """The attributes of every `<Say>` holding Chinese text."""
    says = re.findall(r"<Say([^>]*)>([^<]*)</Say>", twiml)
    return [attrs for attrs, text in says if re.search(r"[\u4e00-\u9fff]", text)]


def assert_mandarin(twiml: str) -> None:
    found = chinese_says(twiml)
    assert found, twiml
    for attrs in found:
        assert 'voice="Polly.Zhiyu"' in attrs and 'language="cmn-CN"' in attrs, twiml


async def test_every_chinese_say_hotline_writes_has_the_mandarin_voice(desk: Desk) -> None:
    agent = {**desk.call_params("CA" + "b2" * 16, "ringing"), "From": E164, "Caller": E164}
    # a staff member calls the agent number: the greeting, then the bridged message on the caller's call
    greeting = await desk.webhook(f"{BASE}/twilio/agent?queue=network", agent, NIGHT)
    assert_mandarin(greeting)
    bridged = await desk.webhook(url_in(greeting, "bridged"), desk.call_params(SID, "in-progress"), NIGHT)
    assert_mandarin(bridged)
    # the agent number configured without its queue
    assert_mandarin(await desk.webhook(f"{BASE}/twilio/agent", agent, NIGHT))
    # click-to-call: the staff member picked up, the customer is dialled
    connect = f"{BASE}/twilio/connect?customer=%2B8613912345678&staff=%E5%88%98%E6%B4%8B&staff_phone=%2B8613800138004"
    outbound = {**desk.call_params("CA" + "b3" * 16, "in-progress"), "Direction": "outbound-api"}
    assert_mandarin(await desk.webhook(connect, outbound, NIGHT))
    # the IVR script cannot be served: the fallback
    desk.service.ivr = None
    assert_mandarin(await desk.webhook(f"{BASE}/twilio/voice", desk.call_params("CA" + "b4" * 16, "ringing"), NIGHT))


def test_the_documented_fallback_generator_prints_the_mandarin_voice() -> None:
    doc = (ROOT / "docs" / "twilio.md").read_text(encoding="utf-8")
    command = re.search(r'`python -c "([^"]+)"`', doc)
    assert command is not None
    printed = subprocess.run([sys.executable, "-c", command.group(1)], capture_output=True, text=True, check=True,
                             cwd=ROOT).stdout
    assert_mandarin(printed)
    assert "<Number>+8613800000001</Number>" in printed


async def answered_by_staff(desk: Desk, twiml: str, start: datetime, *, talk: int = 95) -> datetime:
    """The leg to the night staff rings, is answered 6 s later and talks `talk` s; then the Dial action
    and the caller's final status. Returns when the call ended."""
    status_url = url_in(twiml, "status")
    t = start + timedelta(seconds=1)
    for status in ("initiated", "ringing"):
        await desk.status(LEG, status, t, url=status_url, parent=SID, to=E164)
    await desk.status(LEG, "in-progress", t + timedelta(seconds=6), url=status_url, parent=SID, to=E164)
    end = t + timedelta(seconds=6 + talk)
    await desk.status(LEG, "completed", end, url=status_url, parent=SID, to=E164, CallDuration=str(talk))
    after = await desk.webhook(url_in(twiml, "dial"), desk.call_params(
        SID, "in-progress", DialCallStatus="completed", DialCallSid=LEG, DialCallDuration=str(talk),
        DialBridged="true"), end)
    assert "<Dial" not in after  # the fallback's Dial action ends the call; it does not ring again
    await desk.status(SID, "completed", end, CallDuration=str(talk + 7))
    return end


async def test_ivr_failure_fallback_call_answered_by_staff_is_recorded_as_answered(desk: Desk) -> None:
    desk.service.ivr = None
    twiml = await desk.webhook(f"{BASE}/twilio/voice", desk.call_params(SID, "ringing"), NIGHT)
    await answered_by_staff(desk, twiml, NIGHT)
    desk.service.drain()
    (row,) = desk.rows()
    assert row["outcome"] == "answered"
    assert row["answered_by"] == NIGHT_STAFF
    assert row["staff_reached_at"] is not None
    assert row["talk_seconds"] == pytest.approx(95, abs=1)


DAY = NIGHT + timedelta(hours=11, minutes=45)  # Tuesday 10:00, on-site hours: the menu queues callers
DAY_STAFF, DAY_MOBILE = "李娜", "+8613800138002"  # first line day shift that week (13800138002)


async def queued_and_taken(desk: Desk, *, caller_status: str) -> None:
    """A caller queued for network is taken by the day staff through the agent number, they talk 80 s,
    then one side hangs up: Twilio requests the Enqueue action with the caller's `CallStatus`."""
    menu = await desk.webhook(f"{BASE}/twilio/voice", desk.call_params(SID, "ringing"), DAY)
    menu = await desk.webhook(url_in(menu, "gather"), desk.call_params(SID, "in-progress", Digits="1"),
                              DAY + timedelta(seconds=12))
    assert "<Enqueue" in menu
    agent = {**desk.call_params(LEG, "ringing"), "From": DAY_MOBILE, "Caller": DAY_MOBILE}
    greeting = await desk.webhook(f"{BASE}/twilio/agent?queue=network", agent, DAY + timedelta(seconds=40))
    await desk.webhook(url_in(greeting, "bridged"), desk.call_params(SID, "in-progress", QueueTime="28"),
                       DAY + timedelta(seconds=41))
    end = DAY + timedelta(seconds=121)
    await desk.webhook(url_in(menu, "queue"), desk.call_params(SID, caller_status, QueueResult="bridged",
                                                               QueueTime="28"), end)
    await desk.status(SID, "completed", end + timedelta(seconds=1), CallDuration="122")


async def test_caller_hanging_up_a_dequeued_call_is_the_one_who_hung_up(desk: Desk) -> None:
    desk.clock.set(DAY)
    desk.service.refresh_duty()
    await queued_and_taken(desk, caller_status="completed")
    desk.service.drain()
    (row,) = desk.rows()
    assert (row["outcome"], row["answered_by"], row["hung_up_by"]) == ("answered", DAY_STAFF, "caller")


async def test_staff_hanging_up_a_dequeued_call_is_the_one_who_hung_up(desk: Desk) -> None:
    desk.clock.set(DAY)
    desk.service.refresh_duty()
    await queued_and_taken(desk, caller_status="in-progress")
    desk.service.drain()
    (row,) = desk.rows()
    assert (row["outcome"], row["answered_by"], row["hung_up_by"]) == ("answered", DAY_STAFF, "agent")


async def test_a_call_hotline_hung_up_is_not_hung_up_by_the_caller(desk: Desk) -> None:
    desk.service.ivr = None
    twiml = await desk.webhook(f"{BASE}/twilio/voice", desk.call_params(SID, "ringing"), NIGHT)
    end = NIGHT + timedelta(seconds=31)
    goodbye = await desk.webhook(url_in(twiml, "dial"), desk.call_params(SID, "in-progress",
                                 DialCallStatus="no-answer"), end)
    assert goodbye.rstrip().endswith("<Hangup /></Response>")
    await desk.status(SID, "completed", end + timedelta(seconds=3), CallDuration="34")
    desk.service.drain()
    (row,) = desk.rows()
    assert (row["outcome"], row["hung_up_by"]) == ("timeout", "system")


async def test_twilio_calls_in_progress_are_on_the_open_calls_api(desk: Desk) -> None:
    twiml = await dial_staff(desk, SID)
    desk.service.drain()  # what the background writer does every flush_seconds
    async with desk.signed_in("staff", NIGHT_STAFF) as staff:  # staff see the caller's full number
        response = await staff.get("/api/calls/open")
        assert response.status_code == 200
        (call,) = response.json()
        assert (call["call_id"], call["provider"], call["caller"], call["specialty"]) == (SID, "twilio", CALLER,
                                                                                            "network")
        assert call["started_at"].endswith("+08:00") and call["ended_at"] is None
        await answered_by_staff(desk, twiml, NIGHT + timedelta(seconds=9))
        desk.service.drain()
        assert (await staff.get("/api/calls/open")).json() == []


SKEW = timedelta(seconds=3)  # Twilio's clock runs 3 s behind hotline's
LATENCY = timedelta(milliseconds=300)  # a callback arrives 0.3 s after what it reports


async def test_a_short_call_never_ends_before_it_started_whatever_the_clock_skew(desk: Desk) -> None:
    await desk.webhook(f"{BASE}/twilio/voice", desk.call_params(SID, "ringing"), NIGHT)
    hung_up = NIGHT + timedelta(seconds=1, milliseconds=500)  # the caller hangs up during the greeting
    await desk.status(SID, "completed", hung_up + LATENCY, twilio_at=hung_up - SKEW, CallDuration="2")
    desk.service.drain()
    (row,) = desk.rows()
    assert row["outcome"] == "ivr_abandoned"
    assert datetime.fromisoformat(row["ended_at"]) >= datetime.fromisoformat(row["started_at"])


async def test_wait_and_talk_are_measured_on_one_clock(desk: Desk) -> None:
    twiml = await dial_staff(desk, SID)  # staff reached at NIGHT + 9 s (the gather request)
    status_url = url_in(twiml, "status")
    legs = [("initiated", 10), ("ringing", 10), ("in-progress", 16), ("completed", 111)]
    for status, second in legs:
        happened = NIGHT + timedelta(seconds=second)
        await desk.status(LEG, status, happened + LATENCY, twilio_at=happened - SKEW, url=status_url, parent=SID,
                          to=E164, CallDuration="95")
    end = NIGHT + timedelta(seconds=111) + LATENCY
    await desk.webhook(url_in(twiml, "dial"), desk.call_params(SID, "in-progress", DialCallStatus="completed",
                       DialCallSid=LEG, DialCallDuration="95"), end)
    await desk.status(SID, "completed", end + LATENCY, twilio_at=end - SKEW, CallDuration="112")
    desk.service.drain()
    (row,) = desk.rows()
    # answered at 16 s, the caller's call completed at 111.3 s: both callbacks arrived 0.3 s late, as did
    # the others, so the differences hold whatever the skew of Twilio's whole-second Timestamps
    assert row["wait_seconds"] == pytest.approx(7.3, abs=0.05)  # 16.3 - 9 (the gather request)
    assert row["talk_seconds"] == pytest.approx(95.3, abs=0.05)
