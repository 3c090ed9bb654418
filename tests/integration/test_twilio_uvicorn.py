"""The app under a real uvicorn on loopback: Twilio-signed HTTP requests in, TwiML out, calls stored."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import replace
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import select

from hotline.api.app import create_app
from hotline.config import Settings
from hotline.providers.twilio.signature import sign
from hotline.runtime.assembly import open_database
from hotline.store.calls import CallRow

TOKEN = "12345"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_uvicorn_loopback(settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = replace(settings, twilio=replace(settings.twilio, auth_token=TOKEN),
                       api=replace(settings.api, public_base_url=base),
                       extra={**settings.extra, "twilio_voice": {"flush_seconds": 0.05,
                                                                 "fallback_phones": ["+8613800000009"]}})
    db_url = f"sqlite:///{tmp_path / 'hotline.db'}"
    db = open_database(db_url)
    app = create_app(settings, db.factory)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.01)
        sid = "CA" + "88" * 16
        call = {"CallSid": sid, "AccountSid": "AC" + "0" * 32, "From": "+8613912345678", "To": "+864008001234",
                "Direction": "inbound", "CallStatus": "ringing", "ApiVersion": "2010-04-01"}
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            voice = await client.post("/twilio/voice", data=call,
                                      headers={"X-Twilio-Signature": sign(TOKEN, f"{base}/twilio/voice", call)})
            assert voice.status_code == 200 and voice.text.startswith("<?xml")
            assert "<Response>" in voice.text and voice.elapsed.total_seconds() < 1.0
            refused = await client.post("/twilio/status", data=call, headers={"X-Twilio-Signature": "nope"})
            assert refused.status_code == 403
            done = {**call, "CallStatus": "completed", "CallDuration": "5", "SequenceNumber": "0"}
            ok = await client.post("/twilio/status", data=done,
                                   headers={"X-Twilio-Signature": sign(TOKEN, f"{base}/twilio/status", done)})
            assert ok.status_code == 204
        for _ in range(100):  # the background task writes the ledger
            with db.factory() as s:
                row = s.scalar(select(CallRow).where(CallRow.call_id == sid))
            if row is not None and row.ended_at is not None:
                break
            await asyncio.sleep(0.05)
        assert row is not None and row.provider == "twilio" and row.outcome == "ivr_abandoned"
    finally:
        server.should_exit = True
        await task
        db.engine.dispose()
