"""AMI parsing throughput: the recorded traces repeated into a long stream, read in 256 KiB pieces.

Modes (each runs in its own process, so each peak RSS is its own):
  ceiling  raw split on blank lines + one dict per packet (no banner, no fallbacks, no counters)
  parser   PacketParser.feed on the same pieces
  tcp      (with --tcp) FakeAmiServer -> loopback TCP -> AmiClient -> consumer, in one event loop

Packets/s count the packets delivered (with --skip, the skipped ones are not counted).

Usage: .venv/bin/python bench/bench_parse.py [--packets 1000000] [--tcp] [--skip CEL,Newexten]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from peak_rss import peak_rss_mb  # noqa: E402  (bench/ is the script's own folder)

from hotline.providers.asterisk.client import AmiClient  # noqa: E402
from hotline.providers.asterisk.protocol import PacketParser  # noqa: E402
from hotline.providers.asterisk.sim.server import ConnectionScript, FakeAmiServer  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "ami"
READ_SIZE = 256 * 1024
SEPARATOR = b"\r\n\r\n"


def base_block() -> bytes:
    """Every recorded trace without its banner line, concatenated (about 2,300 packets, 1 MB)."""
    parts = []
    for trace in sorted(FIXTURES.glob("*.ami")):
        data = trace.read_bytes()
        parts.append(data[data.index(b"\r\n") + 2:])
    return b"".join(parts)


def pieces(block: bytes, packets: int) -> Iterator[bytes]:
    """READ_SIZE pieces of the block repeated until at least `packets` packets were covered."""
    per_block = block.count(SEPARATOR)
    rounds = -(-packets // per_block)
    for _ in range(rounds):
        for start in range(0, len(block), READ_SIZE):
            yield block[start:start + READ_SIZE]


def run_ceiling(block: bytes, packets: int) -> int:
    count = 0
    tail = b""
    for piece in pieces(block, packets):
        chunks = (tail + piece).split(SEPARATOR)
        tail = chunks.pop()
        for chunk in chunks:
            text = chunk.decode("utf-8", "surrogateescape")
            packet = dict(line.split(": ", 1) for line in text.split("\r\n") if ": " in line)
            count += packet is not None
    return count


def run_parser(block: bytes, packets: int, skip: list[str]) -> int:
    parser = PacketParser(skip_events=skip)
    count = 0
    for piece in pieces(block, packets):
        count += len(parser.feed(piece))
    return count


async def run_tcp(block: bytes, packets: int, skip: list[str]) -> int:
    """The server feeds the stream; the consumer takes every event off the client's queue."""
    per_block = block.count(SEPARATOR)
    skipped = sum(block.count(f"\r\n\r\nEvent: {name}\r\n".encode()) for name in skip)
    total = -(-packets // per_block) * (per_block - skipped)
    async with FakeAmiServer([ConnectionScript()], fully_booted=False) as server:
        client = AmiClient("127.0.0.1", server.port, "hotline", "secret", ping_interval=60.0, skip_events=skip)
        await client.connect(timeout=5)
        await server.wait_for_logins(1)

        async def produce() -> None:
            for piece in pieces(block, packets):
                await server.feed(piece)

        producer = asyncio.create_task(produce())
        count = 0
        async for packet in client.events():
            count += packet.get("Event") is not None or packet.get("Response") is not None
            if count >= total:
                break
        await producer
        await client.close()
    return count


def measure(mode: str, packets: int, skip: list[str]) -> dict[str, float]:
    block = base_block()
    wall, cpu = time.perf_counter(), time.process_time()
    if mode == "ceiling":
        count = run_ceiling(block, packets)
    elif mode == "parser":
        count = run_parser(block, packets, skip)
    else:
        count = asyncio.run(run_tcp(block, packets, skip))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rss_mb = peak_rss_mb()
    return {"packets": count, "wall_s": wall, "cpu_s": cpu, "per_s": count / wall, "per_cpu_s": count / cpu,
            "rss_mb": rss_mb}


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--packets", type=int, default=1_000_000)
    args.add_argument("--tcp", action="store_true", help="also measure the whole client over loopback TCP")
    args.add_argument("--skip", default="", help="comma-separated events to skip, e.g. CEL,Newexten,VarSet")
    args.add_argument("--mode", choices=["ceiling", "parser", "tcp"], help=argparse.SUPPRESS)
    opts = args.parse_args()
    skip = [name for name in opts.skip.split(",") if name]
    if opts.mode:
        print(json.dumps(measure(opts.mode, opts.packets, skip)))
        return
    block = base_block()
    print(f"stream: {block.count(SEPARATOR)} packets, {len(block) / 1e6:.2f} MB per round of the "
          f"{len(list(FIXTURES.glob('*.ami')))} traces; {opts.packets:,} packets in {READ_SIZE // 1024} KiB reads")
    modes = ["ceiling", "parser"] + (["tcp"] if opts.tcp else [])
    for mode in modes:
        command = [sys.executable, __file__, "--mode", mode, "--packets", str(opts.packets), "--skip", opts.skip]
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        r = json.loads(out)
        label = f"{mode}-skip" if skip and mode != "ceiling" else mode
        print(f"{label:11} {r['packets']:>10,.0f} packets  {r['per_s']:>10,.0f} /s wall  "
              f"{r['per_cpu_s']:>10,.0f} /s CPU  {r['wall_s']:6.2f} s  peak RSS {r['rss_mb']:6.1f} MB")


if __name__ == "__main__":
    main()
