"""A Twilio-only desk as deployed: `hotline serve --no-listen` as a process on loopback, behind a reverse proxy
whose public URL has a path prefix; requests signed as Twilio signs them."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from twilio.request_validator import HMAC_SHA256

from hotline.api.app import create_app
from hotline.api.twilio import lifespan as twilio_lifespan
from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.providers.twilio.signature import sign
from hotline.runtime.assembly import open_database
from hotline.services.calls.instance_lease import LeaseHeld, SingleInstance
from tests.integration.test_serve import ROOT, free_port
from tests.integration.twilio_desk import BASE as TWILIO_BASE
from tests.integration.twilio_desk import NIGHT, PUBLIC_HOST, Desk, desk, desk_settings  # noqa: F401

TOKEN = "12345"
BASE = "https://hotline.example.com/desk"
PARAMS = {"AccountSid": "AC" + "0" * 31 + "1", "CallSid": "CA" + "e5" * 16, "CallStatus": "ringing",
          "From": "13800138004", "Caller": "13800138004", "To": "+864008001234", "Called": "+864008001234",
          "Direction": "inbound"}


@dataclass
class Served:
    proc: asyncio.subprocess.Process
    http: httpx.AsyncClient


def desk_env(tmp_path: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update(HOTLINE_API_PORT=str(port), HOTLINE_DATABASE_URL=f"sqlite:///{tmp_path / 'desk.db'}",
               HOTLINE_API_PUBLIC_BASE_URL=BASE, HOTLINE_TWILIO_AUTH_TOKEN=TOKEN)
    return env  # no HOTLINE_API_LINK_KEY: a Twilio-only desk


async def start(tmp_path: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hotline", "serve", "--no-listen", "--config", str(ROOT / "config" / "hotline.toml"),
        env=desk_env(tmp_path, free_port()), cwd=str(ROOT), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)


async def wait_healthy(http: httpx.AsyncClient, proc: asyncio.subprocess.Process) -> None:
    async with asyncio.timeout(60):
        while True:
            if proc.returncode is not None:
                _out, err = await proc.communicate()
                raise AssertionError(f"serve --no-listen exited {proc.returncode}: {err.decode()[-2000:]}")
            try:
                if (await http.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.3)


async def stop(proc: asyncio.subprocess.Process) -> tuple[str, str]:
    if proc.returncode is None:
        proc.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    return out.decode(), err.decode()


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hotline", "serve", "--no-listen", "--config", str(ROOT / "config" / "hotline.toml"),
        env=desk_env(tmp_path, port), cwd=str(ROOT), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        try:
            await wait_healthy(http, proc)
            yield Served(proc, http)
        finally:
            await stop(proc)


async def test_twilio_only_desk_serves_without_a_link_key_with_or_without_the_proxy_prefix(served: Served) -> None:
    url = f"{BASE}/twilio/voice"
    headers = {"X-Twilio-Signature": sign(TOKEN, url, PARAMS)}
    kept = await served.http.post("/desk/twilio/voice", data=PARAMS, headers=headers)  # the proxy keeps /desk
    assert kept.status_code == 200, kept.text
    assert "<Response>" in kept.text and "<Gather" in kept.text
    stripped = await served.http.post("/twilio/voice", data=PARAMS, headers=headers)  # the proxy strips it
    assert stripped.status_code == 200, stripped.text
    forged = await served.http.post("/desk/twilio/voice", data=PARAMS, headers={"X-Twilio-Signature": "x"})
    assert forged.status_code == 403


SHARED_KEY = "sk-secret-of-the-webhook-key"
KEY_HEADER = "key=webhooks_sharedkey_0123456789abcdef,algorithm=HMAC_SHA256"


async def test_a_proxy_that_keeps_the_prefix_is_served_and_checked_for_the_public_url(desk: Desk) -> None:
    params = desk.call_params("CA" + "e6" * 16, "ringing")
    response = await desk.post(f"{TWILIO_BASE}/twilio/voice", params, path_prefix="/desk")
    assert response.status_code == 200 and "<Gather" in response.text
    other = await desk.post("https://hotline.example.com/twilio/voice", params, path_prefix="/desk")
    assert other.status_code == 403  # signed for a URL without the prefix: not what Twilio requested


async def test_sharedkey_signatures_are_checked_with_the_shared_key(desk: Desk) -> None:
    url = f"{TWILIO_BASE}/twilio/voice"
    params = desk.call_params("CA" + "e7" * 16, "ringing")
    signature = sign(SHARED_KEY, url, params, HMAC_SHA256)
    headers = {"X-Twilio-Signature": signature, "X-Twilio-Webhooks-Signature-Settings": KEY_HEADER}
    refused = await desk.client.post("/twilio/voice", data=params, headers=headers)
    assert refused.status_code == 403
    assert "HOTLINE_TWILIO_WEBHOOK_SHARED_KEY" in refused.json()["detail"]  # says what to configure
    settings = desk.app.state.settings
    desk.app.state.settings = replace(settings, twilio=replace(settings.twilio, webhook_shared_key=SHARED_KEY))
    accepted = await desk.client.post("/twilio/voice", data=params, headers=headers)
    assert accepted.status_code == 200 and "<Gather" in accepted.text
    forged = {**headers, "X-Twilio-Signature": sign(TOKEN, url, params, HMAC_SHA256)}  # the auth token is not it
    assert (await desk.client.post("/twilio/voice", data=params, headers=forged)).status_code == 403
    sha384 = {**headers, "X-Twilio-Webhooks-Signature-Settings": "key=k,algorithm=HMAC_SHA384"}
    unknown = await desk.client.post("/twilio/voice", data=params, headers=sha384)
    assert unknown.status_code == 403 and "HMAC_SHA384" in unknown.json()["detail"]


async def test_a_second_instance_on_the_same_database_refuses_to_start(served: Served, tmp_path: Path) -> None:
    second = await start(tmp_path)  # same database file as `served`
    _out, err = await stop_when_exited(second)
    assert second.returncode not in (0, None)
    assert "another hotline instance serves the Twilio webhooks" in err
    assert (await served.http.get("/healthz")).status_code == 200  # the first one serves on


async def stop_when_exited(proc: asyncio.subprocess.Process) -> tuple[str, str]:
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    except TimeoutError:
        await stop(proc)
        raise AssertionError("the second instance started") from None
    return out.decode(), err.decode()


async def test_one_active_instance_per_database_and_a_standby_takes_over_when_it_stops(
        settings: Settings, db_url: str) -> None:
    db = open_database(db_url)
    clock = ManualClock(NIGHT, ZoneInfo("Asia/Shanghai"))
    first = create_app(desk_settings(settings), db.factory, clock)
    second = create_app(desk_settings(settings), db.factory, clock)
    try:
        async with twilio_lifespan(first):
            with pytest.raises(LeaseHeld, match="another hotline instance"):
                async with twilio_lifespan(second):
                    pass
        async with twilio_lifespan(second):  # the first stopped gracefully: the standby starts at once
            assert second.state.twilio_lease.active
        crashed = SingleInstance(db.factory, clock, 30, holder="crashed")
        crashed.acquire()  # never released: a crash
        with pytest.raises(LeaseHeld, match="crashed"):
            async with twilio_lifespan(first):
                pass
        clock.set(NIGHT + timedelta(seconds=31))  # its lease ran out
        async with twilio_lifespan(first):
            assert not crashed.renew()  # came back: it finds its lease taken and stops answering
            crashed_app = create_app(desk_settings(settings), db.factory, clock)
            crashed_app.state.twilio_lease = crashed
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=crashed_app),
                                         base_url=PUBLIC_HOST) as client:
                params = {"CallSid": "CA" + "e8" * 16, "From": "13800138004", "To": "+864008001234"}
                url = f"{TWILIO_BASE}/twilio/voice"
                response = await client.post("/twilio/voice", data=params,
                                             headers={"X-Twilio-Signature": sign(TOKEN, url, params)})
            assert response.status_code == 503
    finally:
        db.engine.dispose()
