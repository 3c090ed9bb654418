"""Twilio webhook latency inside the server, with concurrent clients, beside the floor of an empty route.

Method: a child process runs hotline's API (`create_app`, the shipped config, the example roster
config/roster.yaml loaded into a fresh SQLite database, the shipped IVR script, the Twilio background
writer, lease and sweep) under uvicorn on 127.0.0.1. A pure ASGI middleware around the whole app times
each request from the moment its whole body has been received until its last response byte is handed to
the server: the time spent inside the server (form parsing, signature check, TwiML, queueing, waiting for
the event loop behind the other requests), not the network nor a slow client's body. The same figures
are also printed from the moment the app was called (after the request line and headers), which adds the
wait for the body's bytes: on a loaded machine the clients' own CPU work delays them. The
same app has one more route, `POST /bench/floor`: an empty FastAPI route taking the same form body, the
floor that FastAPI + uvicorn cost on this machine.

This process runs `--clients` concurrent clients (asyncio + httpx, one connection each). Each client
plays whole calls as Twilio would, signed with RequestValidator for the public URL: the voice webhook,
the menu digit, then, depending on the TwiML hotline answered, the staff leg's status callbacks
(initiated, ringing, in-progress, completed) and the Dial action, or the Enqueue action; then the call's
final status callback. Numbers are the roster's national-format mobiles as Twilio reports them (E.164).
Then the same clients send as many requests to the floor route. Figures: p50 / p99 / max in ms per
route, requests per second, and whether every call reached the ledger.

Usage: .venv/bin/python bench/bench_twilio_webhooks.py [--calls 400] [--clients 20]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import re
import socket
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOKEN = "bench-token"
HOTLINE_NUMBER = "+864008001234"
GOAL_MS = 50.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the server (child process) ------------------------------------------------------------------------

def serve(port: int, db_path: str, ready: Any, flush_seconds: float) -> None:
    import uvicorn
    from fastapi import FastAPI, Request, Response

    from hotline.api.app import create_app
    from hotline.clock import SystemClock
    from hotline.config import load_settings
    from hotline.runtime.assembly import open_database
    from hotline.services.roster.service import RosterService

    settings = load_settings(ROOT / "config" / "hotline.toml", env={})
    base = f"http://127.0.0.1:{port}"
    settings = replace(settings, twilio=replace(settings.twilio, auth_token=TOKEN),
                       api=replace(settings.api, public_base_url=base),
                       extra={**settings.extra, "twilio_voice": {"caller_id": HOTLINE_NUMBER,
                                                                 "flush_seconds": flush_seconds}})
    db = open_database(f"sqlite:///{db_path}")
    clock = SystemClock(settings.tz)
    RosterService(db.factory, settings, clock).load_example(ROOT / "config" / "roster.yaml")
    app: FastAPI = create_app(settings, db.factory, clock)
    timings: dict[str, list[float]] = defaultdict(list)

    @app.post("/bench/floor")
    async def floor(request: Request) -> Response:
        await request.form()
        return Response(status_code=204)

    @app.get("/bench/timings")
    def report() -> dict[str, Any]:
        return {"timings": timings, "stats": dict(app.state.twilio_calls.stats)}

    async def timed(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        called = time.perf_counter()
        started = [called]

        async def timed_receive() -> Any:
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body"):
                started[0] = time.perf_counter()  # the whole request is in: the server's time starts
            return message

        async def timed_send(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                now = time.perf_counter()
                timings[scope["path"]].append((now - started[0]) * 1000)
                timings["from headers " + scope["path"]].append((now - called) * 1000)

        await app(scope, timed_receive, timed_send)

    server = uvicorn.Server(uvicorn.Config(timed, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on", access_log=False))
    ready.set()
    server.run()


# -- the clients (this process) ------------------------------------------------------------------------

def sign(url: str, params: dict[str, str]) -> str:
    from hotline.providers.twilio.signature import sign as twilio_sign

    return twilio_sign(TOKEN, url, params)


def urls(twiml: str, route: str) -> list[str]:
    import html

    found = re.findall(r'(?:action|statusCallback|url)="([^"]+)"', twiml)
    return [html.unescape(u) for u in found if f"/twilio/{route}" in u]


class Client:
    def __init__(self, http: Any, base: str) -> None:
        self.http, self.base = http, base
        self.seq: dict[str, int] = defaultdict(int)

    async def post(self, url: str, params: dict[str, str], expect: int = 200) -> str:
        path = url.removeprefix(self.base)
        response = await self.http.post(path, data=params, headers={"X-Twilio-Signature": sign(url, params)})
        if response.status_code != expect:
            raise RuntimeError(f"{path}: HTTP {response.status_code} {response.text[:200]}")
        return str(response.text)

    async def status(self, url: str, params: dict[str, str]) -> None:
        sid = params["CallSid"]
        stamp = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
        await self.post(url, {**params, "SequenceNumber": str(self.seq[sid]), "Timestamp": stamp}, 204)
        self.seq[sid] += 1

    async def call(self, n: int, caller: str) -> None:
        sid = f"CA{n:032x}"
        p = {"AccountSid": "AC" + "0" * 32, "ApiVersion": "2010-04-01", "CallSid": sid, "From": caller,
             "Caller": caller, "To": HOTLINE_NUMBER, "Called": HOTLINE_NUMBER, "Direction": "inbound"}
        menu = await self.post(f"{self.base}/twilio/voice", {**p, "CallStatus": "ringing"})
        (gather,) = urls(menu, "gather")[:1]
        routed = await self.post(gather, {**p, "CallStatus": "in-progress", "Digits": "1"})
        if "<Dial" in routed:
            status_url, dial = urls(routed, "status")[0], urls(routed, "dial")[0]
            staff = re.findall(r"<Number[^>]*>([^<]+)</Number>", routed)[0]
            leg = {**p, "CallSid": f"CB{n:032x}", "ParentCallSid": sid, "Direction": "outbound-dial",
                   "To": staff, "Called": staff}
            for status in ("initiated", "ringing", "in-progress"):
                await self.status(status_url, {**leg, "CallStatus": status})
            await self.status(status_url, {**leg, "CallStatus": "completed", "CallDuration": "95"})
            await self.post(dial, {**p, "CallStatus": "in-progress", "DialCallStatus": "completed",
                                   "DialCallSid": leg["CallSid"], "DialCallDuration": "95"})
        else:
            queue = urls(routed, "queue")[0]
            await self.post(queue, {**p, "CallStatus": "completed", "QueueResult": "hangup", "QueueTime": "42"})
        await self.status(f"{self.base}/twilio/status", {**p, "CallStatus": "completed", "CallDuration": "111"})


async def run_clients(base: str, calls: int, clients: int) -> tuple[float, float, dict[str, Any]]:
    import httpx

    callers = [f"+86139{n:08d}" for n in range(calls)]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(calls):
        queue.put_nowait(n)

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            client = Client(http, base)
            while not queue.empty():
                n = queue.get_nowait()
                await client.call(n, callers[n])

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    calls_seconds = time.perf_counter() - started

    floor_requests = calls * 8

    async def floor_worker(count: int) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            body = {"CallSid": "CA" + "0" * 32, "From": "+8613800138004", "CallStatus": "ringing"}
            for _ in range(count):
                await http.post("/bench/floor", data=body)

    started = time.perf_counter()
    await asyncio.gather(*(floor_worker(floor_requests // clients) for _ in range(clients)))
    floor_seconds = time.perf_counter() - started
    await asyncio.sleep(2.5)  # the background writer's last flush (the server drains again when it stops)
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        report: dict[str, Any] = (await http.get("/bench/timings")).json()
    return calls_seconds, floor_seconds, report


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--flush-seconds", type=float, default=1.0, help="[twilio_voice] flush_seconds")
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        db_path = str(Path(tmp) / "bench.db")
        ctx = multiprocessing.get_context("spawn")
        ready = ctx.Event()
        server = ctx.Process(target=serve, args=(port, db_path, ready, args.flush_seconds), daemon=True)
        server.start()
        ready.wait(60)
        import httpx

        for _ in range(300):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        try:
            calls_seconds, floor_seconds, report = asyncio.run(run_clients(base, args.calls, args.clients))
        finally:
            server.terminate()
            server.join(10)
        from sqlalchemy import create_engine, text

        engine = create_engine(f"sqlite:///{db_path}")
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM calls WHERE ended_at IS NOT NULL")).scalar()
        engine.dispose()
    timings: dict[str, list[float]] = report["timings"]
    webhooks = [t for path, ts in timings.items() if path.startswith("/twilio/") for t in ts]
    floor = timings.get("/bench/floor", [])
    headers_first = [t for path, ts in timings.items() if path.startswith("from headers /twilio/") for t in ts]
    floor_headers = timings.get("from headers /bench/floor", [])
    print(f"Twilio webhooks inside the server: {args.calls} calls, {args.clients} concurrent clients, "
          f"{len(webhooks)} requests in {calls_seconds:.1f} s ({len(webhooks) / calls_seconds:.0f} req/s)")
    print(f"{'route':<24}{'requests':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    rows = sorted((p, ts) for p, ts in timings.items() if p.startswith("/twilio/"))
    rows += [("all webhooks", webhooks), ("floor: empty route", floor),
             ("webhooks, from headers", headers_first), ("floor, from headers", floor_headers)]
    for path, ts in rows:
        print(f"{path:<24}{len(ts):>9}{statistics.median(ts):>9.2f}{pct(ts, 99):>9.2f}{max(ts):>9.2f}")
    print(f"floor: {len(floor)} requests in {floor_seconds:.1f} s ({len(floor) / floor_seconds:.0f} req/s)")
    p99 = pct(webhooks, 99)
    print(f"webhook p99 {p99:.2f} ms (goal < {GOAL_MS:.0f} ms: {'met' if p99 < GOAL_MS else 'NOT met'}); "
          f"floor p99 {pct(floor, 99):.2f} ms; calls in the ledger {stored}/{args.calls}; "
          f"service stats {report['stats']}")
    return 0 if p99 < GOAL_MS and stored == args.calls else 1


if __name__ == "__main__":
    raise SystemExit(main())
