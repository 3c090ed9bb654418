"""`hotline serve` as a process: the listener takes a recorded missed call from a fake AMI server over
TCP, the ledger and the monitor fill, and the API on loopback shows both."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

import httpx

from hotline.providers.asterisk.sim.server import ConnectionScript, FakeAmiServer, Recording, Replay
from hotline.runtime.assembly import open_database
from tests.signin import PASSWORD, add_account
from tests.truth import FIXTURES

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def serve_env(tmp_path: Path, ami_port: int, api_port: int, link_key: str | None) -> dict[str, str]:
    env = {**os.environ, "HOTLINE_AMI_PORT": str(ami_port), "HOTLINE_AMI_SECRET": "pw",
           "HOTLINE_API_PORT": str(api_port), "HOTLINE_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}"}
    env.pop("HOTLINE_API_LINK_KEY", None)
    if link_key:
        env["HOTLINE_API_LINK_KEY"] = link_key
    return env


async def test_serve_records_the_call_opens_the_alert_and_serves_them(tmp_path: Path) -> None:
    rec = Recording.load(FIXTURES / "abandoned_in_queue.ami")
    server = FakeAmiServer([ConnectionScript([Replay(rec.events)])], secret="pw")
    await server.start()
    api_port = free_port()
    db = open_database(f"sqlite:///{tmp_path / 'serve.db'}")
    add_account(db.factory, "ops", "supervisor")
    db.engine.dispose()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hotline", "serve", "--config", str(ROOT / "config" / "hotline.toml"),
        env=serve_env(tmp_path, server.port, api_port, "k" * 32), cwd=str(ROOT),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    calls: list[dict[str, object]] = []
    alerts: list[dict[str, object]] = []
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}") as http:
            async with asyncio.timeout(60):
                # The recorded call is hours old: its alert pages at once and is already past its deadline.
                while not (calls and alerts and alerts[0]["paged"] and alerts[0]["breached"]):
                    await asyncio.sleep(0.3)
                    try:
                        if "hotline_session" not in http.cookies:
                            signed = await http.post("/login", json={"username": "ops", "password": PASSWORD})
                            http.headers["X-CSRF-Token"] = signed.json()["csrf_token"]
                        calls = (await http.get("/api/calls")).json()
                        alerts = (await http.get("/api/alerts/unreturned")).json()
                    except httpx.TransportError:
                        continue
                history: list[dict[str, object]] = []
                while not any(h["type"] == "page" for h in history):  # the page went out (dry run)
                    await asyncio.sleep(0.3)
                    alert_id = alerts[0]["alert_id"]
                    history = (await http.get(f"/api/alerts/{alert_id}")).json()["history"]
            health = (await http.get("/healthz")).json()
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        await server.stop()
    assert len(calls) == 1 and calls[0]["outcome"] == "abandoned" and calls[0]["caller"] == "13800138002"
    assert len(alerts) == 1
    assert "13800138002" in json.dumps(alerts[0])
    assert health["listener"]["connected"] is True
    # The shipped config pages in dry run: the first-line page is printed, nothing is sent.
    # The caller's number is masked in that output (a terminal or a log); the recipient's own contact is not. (The
    # fixture's caller has 李娜's mobile: this once passed only on the days 李娜 was on duty, by her contact.)
    printed = out.decode()
    assert "[演练 / dry run]" in printed and "138****8002" in printed
    assert not [line for line in printed.splitlines() if line.startswith("  ") and "13800138002" in line]
    assert "pw" not in err.decode().replace("pwd", "")


async def test_serve_without_a_link_key_is_a_clear_config_error(tmp_path: Path) -> None:
    server = FakeAmiServer([], secret="pw")
    await server.start()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hotline", "serve", "--config", str(ROOT / "config" / "hotline.toml"),
        env=serve_env(tmp_path, server.port, free_port(), None), cwd=str(ROOT),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        _out, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        await server.stop()
    assert proc.returncode == 2
    assert "HOTLINE_API_LINK_KEY" in err.decode()


async def test_serve_on_the_network_without_accounts_refuses_in_one_line(tmp_path: Path) -> None:
    env = serve_env(tmp_path, free_port(), free_port(), "k" * 32)
    env["HOTLINE_API_HOST"] = "0.0.0.0"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hotline", "serve", "--no-listen", "--config", str(ROOT / "config" / "hotline.toml"),
        env=env, cwd=str(ROOT), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    lines = [line for line in err.decode().splitlines() if "refusing to start" in line]
    assert lines == [lines[0]] and "api.host = 0.0.0.0 is not loopback and no account exists" in lines[0]
    assert "hotline users add" in lines[0] and out == b""
