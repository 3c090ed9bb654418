"""Ingest benchmark: AMI events/second through parse + reconstruct + store (SQLite), printed beside
the raw parse-only ceiling (split on blank lines, one dict per packet) measured in the same run.

The stream is built from the recorded fixtures, repeated with every epoch-based id and timestamp
shifted so that each copy is a new set of calls. Each mode runs in its own process so that its peak
RSS is its own.

    python bench/bench_ingest.py [--events 1000000] [--db sqlite:///...] [--no-raw]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from peak_rss import peak_rss_mb  # noqa: E402  (bench/ is the script's own folder)

FIXTURES = ROOT / "tests" / "fixtures" / "ami"
EPOCH = re.compile(rb"\b(179541\d{4})\.(\d+)")
SCENARIOS = [
    "answered_caller_hangup", "answered_agent_hangup", "abandoned_in_queue", "queue_timeout",
    "direct_dial_answered", "busy", "ivr_hangup_before_menu", "outbound_callback", "gbk_caller_name",
    "reconnect_snapshot.monitor",
]


def fixture_events(name: str) -> bytes:
    """The events of one recording: without banner, login response and Goodbye."""
    data = (FIXTURES / f"{name}.ami").read_bytes()
    packets = data.split(b"\r\n\r\n")
    keep = [p for p in packets if p.startswith(b"Event: ") and b"Event: SuccessfulAuth" not in p
            and b"Event: FullyBooted" not in p]
    return b"\r\n\r\n".join(keep) + b"\r\n\r\n"


def build_stream(path: Path, target: int) -> int:
    """Write about `target` events; returns the number written."""
    bodies = [fixture_events(s) for s in SCENARIOS]
    per_round = sum(b.count(b"\r\n\r\n") for b in bodies)
    rounds = max(1, target // per_round)
    written = 0
    with path.open("wb") as f:
        f.write(b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: login\r\n"
                b"Message: Authentication accepted\r\n\r\n")
        for r in range(rounds):
            shift = (r + 1) * 100_000

            def bump(m: re.Match[bytes], shift: int = shift) -> bytes:
                return str(int(m.group(1)) + shift).encode() + b"." + m.group(2)

            for body in bodies:
                f.write(EPOCH.sub(bump, body))
            written += per_round
    return written


def mode_ceiling(path: Path) -> dict[str, float]:
    data = path.read_bytes()
    t0 = time.perf_counter()
    n = 0
    for chunk in data.split(b"\r\n\r\n"):
        d = {}
        for line in chunk.decode("utf-8", "surrogateescape").split("\r\n"):
            k, _, v = line.partition(": ")
            d[k] = v
        n += 1
    dt = time.perf_counter() - t0
    return {"events": n, "seconds": dt}


def mode_ingest(path: Path, db: str, keep_raw: bool) -> dict[str, float]:
    from hotline.config import load_settings
    from hotline.runtime.assembly import AmiIngest, open_database, packets_of_file
    from hotline.services.calls.ledger import Ledger

    settings = load_settings(ROOT / "config" / "hotline.toml", env={})
    database = open_database(db)
    ledger = Ledger(database.factory)
    ingest = AmiIngest(settings, ledger, batch=20_000, keep_raw=keep_raw)
    t0 = time.perf_counter()
    n = 0
    calls = 0
    rss_mid = 0.0
    for packet in packets_of_file(path, settings):
        calls += len(ingest.feed(packet))
        n += 1
        if n == 200_000:
            rss_mid = peak_rss_mb()
    calls += len(ingest.finish())
    dt = time.perf_counter() - t0
    return {"events": n, "seconds": dt, "calls": calls, "rss_at_200k_mb": rss_mid}


def child(args: argparse.Namespace) -> None:
    path = Path(args.stream)
    out = mode_ceiling(path) if args.mode == "ceiling" else mode_ingest(path, args.db, not args.no_raw)
    out["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(out))


def run_child(mode: str, stream: Path, db: str, no_raw: bool) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", mode, "--stream", str(stream), "--db", db]
    if no_raw:
        cmd.append("--no-raw")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--db", default="")
    ap.add_argument("--no-raw", action="store_true", help="do not store raw events")
    ap.add_argument("--rounds", type=int, default=3, help="alternating runs of each mode; medians are reported")
    ap.add_argument("--child", dest="mode")
    ap.add_argument("--stream")
    args = ap.parse_args()
    if args.mode:
        child(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        stream = Path(tmp) / "stream.ami"
        n = build_stream(stream, args.events)
        size = os.path.getsize(stream) / 1e6
        print(f"stream: {n:,} events, {size:.0f} MB, built from {len(SCENARIOS)} recorded scenarios; "
              f"{args.rounds} round(s), each mode in its own process, alternating")
        ceilings, ingests = [], []
        for r in range(args.rounds):
            db = args.db or f"sqlite:///{Path(tmp) / f'bench{r}.db'}"
            ceilings.append(run_child("ceiling", stream, db, args.no_raw))
            ingests.append(run_child("ingest", stream, db, args.no_raw))
    c_rates = sorted(c["events"] / c["seconds"] for c in ceilings)
    i_rates = sorted(i["events"] / i["seconds"] for i in ingests)
    c_rate, i_rate = statistics.median(c_rates), statistics.median(i_rates)
    last = ingests[-1]
    print(f"parse-only ceiling (split + dict per packet): median {c_rate:,.0f} events/s "
          f"(range {c_rates[0]:,.0f}-{c_rates[-1]:,.0f}), peak RSS {ceilings[-1]['peak_rss_mb']:.0f} MB "
          "(holds the whole stream)")
    print(f"end to end (parse + reconstruct + store, {(args.db or 'sqlite').split(':')[0]}, raw events "
          f"{'off' if args.no_raw else 'on'}): median {i_rate:,.0f} events/s (range {i_rates[0]:,.0f}-"
          f"{i_rates[-1]:,.0f}), {int(last['calls']):,} calls, peak RSS {last['peak_rss_mb']:.0f} MB "
          f"(RSS at 200k events {last['rss_at_200k_mb']:.0f} MB)")
    print(f"ratio end-to-end / ceiling (medians): {i_rate / c_rate:.2f}")


if __name__ == "__main__":
    main()
