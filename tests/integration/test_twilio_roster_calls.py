"""Twilio calls against the shipped roster (config/roster.yaml: national-format mobiles such as 13800138004),
signed like Twilio signs them, in the order Twilio sends them."""

from __future__ import annotations

from datetime import timedelta

from tests.integration.twilio_desk import (  # noqa: F401
    BASE,
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
