"""Dashboard summary under load: a real uvicorn serving the app in its own process (as `hotline serve`
does) on loopback, and 20 concurrent clients in this process (httpx, asyncio) asking for
`/api/dashboard/summary` with an API token, beside the floor: the same clients on `/healthz` (public, no
database). Prints p50 / p99 / max per route and the server's CPU time per request; each client opens its own
connection (a browser on a desk PC), and its first request, which also connects (all 20 at once), is shown
apart as the worst of those.

    python bench/bench_dashboard_load.py --db URL [--clients 20] [--requests 50] [--think 0.1]
                                         [--at 2026-11-30T16:00+08:00]

The database should hold a month of calls or more (bench_reports.py --big --keep NAME fills 5M calls into
.bench/NAME.db and the PostgreSQL schema NAME). The app's clock stands at --at (a busy day of the
generated calls); the summary is recomputed every [api] live_interval (2 s) in the server, in a worker
thread, while the clients keep asking.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TZ = ZoneInfo("Asia/Shanghai")
HOST = "127.0.0.1:8080"  # a Host header the app's allow-list accepts


def serve(url: str, port: int, at: datetime) -> None:
    """The server process: the app on uvicorn, the clock standing at `at`."""
    import uvicorn

    from hotline.api.app import create_app
    from hotline.clock import ManualClock
    from hotline.config import load_settings
    from hotline.runtime.assembly import open_database

    db = open_database(url)
    settings = load_settings(ROOT / "config" / "hotline.toml", env={})
    app = create_app(settings, db.factory, ManualClock(at, TZ), live={})
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def issue_token(url: str, at: datetime) -> str:
    from sqlalchemy import select

    from hotline.clock import ManualClock
    from hotline.runtime.assembly import open_database
    from hotline.services.access.accounts import AccountService
    from hotline.services.access.sessions import TokenService
    from hotline.store.access import AccountRow
    from hotline.store.base import unit_of_work

    db = open_database(url)
    clock = ManualClock(at, TZ)
    with unit_of_work(db.factory) as s:
        known = s.scalar(select(AccountRow).where(AccountRow.username == "bench-wall")) is not None
    if not known:
        AccountService(db.factory, clock).add("bench-wall", "viewer", "bench-password-1234", None)
    token, _ = TokenService(db.factory, clock).issue("bench-wall", f"bench {time.time():.0f}", "viewer")
    db.engine.dispose()
    return token


async def load(port: int, path: str, token: str, clients: int, requests: int, think: float,
               ) -> tuple[list[float], list[float]]:
    """Latencies of the requests after each client's first, sorted; and of the first ones (a new connection
    each, all clients at once), sorted. Each client has its own connection, as browsers on the desk's PCs."""
    import httpx

    latencies: list[float] = []
    firsts: list[float] = []
    headers = {"Authorization": f"Bearer {token}", "Host": HOST}

    async def client() -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as http:
            for i in range(requests + 1):
                t = time.perf_counter()
                r = await http.get(path)
                r.raise_for_status()
                (firsts if i == 0 else latencies).append(time.perf_counter() - t)
                if think:
                    await asyncio.sleep(think)

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as http:
        (await http.get(path)).raise_for_status()  # warm: the first computation
    await asyncio.gather(*(client() for _ in range(clients)))
    return sorted(latencies), sorted(firsts)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, help="database URL (SQLite file or PostgreSQL, with search_path)")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--requests", type=int, default=50, help="requests per client and route")
    ap.add_argument("--think", type=float, default=0.1, help="seconds a client waits between its requests")
    ap.add_argument("--at", default="2026-11-30T16:00:00+08:00")
    ap.add_argument("--serve-port", type=int, help=argparse.SUPPRESS)  # the server process
    args = ap.parse_args()
    at = datetime.fromisoformat(args.at)
    if args.serve_port:
        serve(args.db, args.serve_port, at)
        return
    token = issue_token(args.db, at)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, __file__, "--db", args.db, "--at", args.at,
                               "--serve-port", str(port)])
    try:
        import httpx

        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", headers={"Host": HOST}, timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.2)
        print(f"{args.clients} clients x {args.requests} requests, {args.think * 1000:.0f} ms between a client's "
              f"requests; load average {os.getloadavg()[0]:.1f}")
        print(f"  {'route':<28}{'p50':>9}{'p99':>9}{'max':>9}{'server CPU/request':>20}"
              f"{'first (connect) max':>20}")
        for path in ("/healthz", "/api/dashboard/summary"):
            before = cpu_seconds(server.pid)
            lat, firsts = asyncio.run(load(port, path, token, args.clients, args.requests, args.think))
            cpu = (cpu_seconds(server.pid) - before) / (len(lat) + len(firsts) + 1)
            p99 = lat[max(0, int(0.99 * len(lat)) - 1)]
            print(f"  {path:<28}{statistics.median(lat) * 1000:>7.1f}ms{p99 * 1000:>7.1f}ms"
                  f"{lat[-1] * 1000:>7.1f}ms{cpu * 1000:>17.2f}ms{firsts[-1] * 1000:>17.1f}ms")
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)


if __name__ == "__main__":
    main()
