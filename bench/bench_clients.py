"""AMI event throughput over loopback TCP: hotline's AmiClient, panoramisk 1.4 and asterisk-ami 0.1.7 side by side.

Method (as in ../shared/research/ami-clients.md, "Method"): this process runs a `FakeAmiServer` on
127.0.0.1 and starts each client in a fresh subprocess of its own, so the peak RSS and the CPU
seconds are that client's alone. The server sends its banner, answers Login with Success and then
streams the same bytes to every client: the live events of the recorded traces in tests/fixtures/ami/
(replies to the recorder's actions left out, exact bytes kept, GBK caller names included) repeated
until there are exactly --events events, written in pieces of about 256 KiB (whole events). The user
callback reads the event name and Uniqueid and counts. The time runs from just before connect to the
moment the Nth event reaches the callback; events/s is N divided by it. A run that has not seen the
Nth event after --timeout seconds is reported as stalled, with the events it got. Each client keeps
its library's defaults (asterisk-ami: 3 s socket timeout, 1 KiB reads; hotline: a 10,000-event buffer).

Peak RSS is VmHWM from /proc/self/status. On Linux a child's `ru_maxrss` starts at the parent's peak
(the kernel carries it over fork and exec), so it would read about 31 MB (this server process) for
every client; only where /proc is missing is `ru_maxrss` used.

After the timed rounds, one more (untimed) run per client checks what arrived: every event's name
in order, and each CallerIDName / ConnectedLineName whose recorded bytes are not ASCII against the
text those bytes spell (UTF-8, else GB18030). --no-check skips it.

A client library that is not installed is skipped with a note (install: pip install -e '.[bench]').

Usage: .venv/bin/python bench/bench_clients.py [--events 200000] [--rounds 3] [--timeout 120]
                                                 [--clients hotline,panoramisk,asterisk-ami] [--no-check]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from peak_rss import peak_rss_mb  # noqa: E402  (bench/ is the script's own folder)

FIXTURES = ROOT / "tests" / "fixtures" / "ami"
PIECE_SIZE = 256 * 1024
USERNAME, SECRET = "hotline", "secret"
NAME_KEYS = ("CallerIDName", "ConnectedLineName")
KILL_GRACE = 30.0  # the parent kills a child that is still running this long after its own timeout
EXAMPLES_KEPT = 3

Getter = Callable[[str], Any]


@dataclass(frozen=True)
class ClientInfo:
    label: str
    distribution: str | None  # PyPI name, None for our own client
    pinned: str | None


CLIENTS: dict[str, ClientInfo] = {
    "hotline": ClientInfo("hotline AmiClient", None, None),
    "panoramisk": ClientInfo("panoramisk", "panoramisk", "1.4"),
    "asterisk-ami": ClientInfo("asterisk-ami", "asterisk-ami", "0.1.7"),
}


# -- the stream ----------------------------------------------------------------------------------


def base_events() -> list[bytes]:
    """The live events of every recorded trace, each with its exact bytes and closing blank line."""
    from hotline.providers.asterisk.sim.server import Recording

    events: list[bytes] = []
    for trace in sorted(FIXTURES.glob("*.ami")):
        events.extend(Recording.load(trace).events)
    return events


def group(events: list[bytes]) -> list[bytes]:
    """Whole events joined into pieces of about PIECE_SIZE bytes."""
    pieces: list[bytes] = []
    current: list[bytes] = []
    size = 0
    for data in events:
        current.append(data)
        size += len(data)
        if size >= PIECE_SIZE:
            pieces.append(b"".join(current))
            current, size = [], 0
    if current:
        pieces.append(b"".join(current))
    return pieces


def stream_pieces(base: list[bytes], count: int) -> list[bytes]:
    """The base events repeated until exactly `count` events, as pieces (full rounds share their bytes)."""
    rounds, rest = divmod(count, len(base))
    return group(base) * rounds + group(base[:rest])


def decode_truth(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030")


def expectations(base: list[bytes]) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """Per base event: its name, and the (header, text) of its non-ASCII name headers."""
    wanted = {key.encode() for key in NAME_KEYS}
    result = []
    for data in base:
        name = ""
        names: list[tuple[str, str]] = []
        for line in data.split(b"\r\n"):
            key, sep, value = line.partition(b": ")
            if not sep:
                continue
            if key == b"Event" and not name:
                name = value.decode("ascii")
            elif key in wanted and not value.isascii():
                names.append((key.decode(), decode_truth(value)))
        result.append((name, tuple(names)))
    return result


# -- the client side (runs in the child process) -------------------------------------------------


@dataclass
class Checker:
    """The untimed check: event order and the non-ASCII caller names."""

    expected: list[tuple[str, tuple[tuple[str, str], ...]]]
    out_of_order: int = 0
    first_out_of_order: str | None = None
    names: int = 0
    names_ok: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)  # expected text -> how it arrived

    def see(self, index: int, name: object, get: Getter) -> None:
        want_name, want_names = self.expected[index % len(self.expected)]
        if name != want_name:
            self.out_of_order += 1
            if self.first_out_of_order is None:
                self.first_out_of_order = f"event #{index + 1}: {name!r}, expected {want_name!r}"
        for key, text in want_names:
            self.names += 1
            seen = get(key)
            if seen == text:
                self.names_ok += 1
                continue
            shown = self.examples.setdefault(f"{key} {text!r}", [])
            if len(shown) < EXAMPLES_KEPT and repr(seen) not in shown:
                shown.append(repr(seen))

    def report(self) -> dict[str, Any]:
        return {"out_of_order": self.out_of_order, "first_out_of_order": self.first_out_of_order,
                "names": self.names, "names_ok": self.names_ok, "examples": self.examples}


class Tally:
    """Counts what reached the callback and notes the time and CPU at the Nth event."""

    def __init__(self, target: int, checker: Checker | None) -> None:
        self.target = target
        self.checker = checker
        self.count = 0
        self.wall_start = self.cpu_start = 0.0
        self.wall_s: float | None = None
        self.cpu_s: float | None = None

    def start(self) -> None:
        self.wall_start, self.cpu_start = time.perf_counter(), time.process_time()

    def finish(self) -> None:
        self.wall_s = time.perf_counter() - self.wall_start
        self.cpu_s = time.process_time() - self.cpu_start

    def elapsed(self) -> float:
        return time.perf_counter() - self.wall_start


async def run_hotline(port: int, tally: Tally, timeout: float) -> str | None:
    """Our client; the consumer takes each event off `events()` (its intended use)."""
    import asyncio

    from hotline.providers.asterisk.client import AmiClient

    checker, target = tally.checker, tally.target
    tally.start()
    client = AmiClient("127.0.0.1", port, USERNAME, SECRET)
    try:
        async with asyncio.timeout(timeout):
            await client.connect()
            async for packet in client.events():
                name = packet.get("Event")
                uniqueid = packet.get("Uniqueid")  # noqa: F841 - read, as a real consumer would
                if checker is not None:
                    checker.see(tally.count, name, packet.get)
                tally.count += 1
                if tally.count >= target:
                    tally.finish()
                    break
    except TimeoutError:
        return f"stalled: no event #{tally.count + 1} within {timeout:g} s"
    finally:
        await client.close()
    if tally.wall_s is None:
        return "the event stream ended early"
    return None


async def run_panoramisk(port: int, tally: Tally, timeout: float) -> str | None:
    """panoramisk: a Manager with one callback registered for every event ("*")."""
    import asyncio

    from panoramisk import Manager

    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    checker, target = tally.checker, tally.target
    lost: list[str] = []

    def on_event(manager: Any, event: Any) -> None:
        name = event.get("Event")
        uniqueid = event.get("Uniqueid")  # noqa: F841
        if checker is not None:
            checker.see(tally.count, name, event.get)
        tally.count += 1
        if tally.count == target:
            tally.finish()
            done.set_result(None)

    def on_disconnect(manager: Any, exc: object) -> None:
        lost.append(repr(exc))

    manager = Manager(host="127.0.0.1", port=port, username=USERNAME, secret=SECRET, loop=loop,
                      on_disconnect=on_disconnect)
    manager.register_event("*", on_event)
    tally.start()
    manager.connect()
    try:
        await asyncio.wait_for(done, timeout)
    except TimeoutError:
        extra = f" (connection lost: {', '.join(lost)})" if lost else ""
        return f"stalled: no event #{tally.count + 1} within {timeout:g} s{extra}"
    finally:
        manager.close()
    return None


def run_asterisk_ami(port: int, tally: Tally, timeout: float) -> str | None:
    """asterisk-ami: its reader thread calls an event listener; the main thread waits for the Nth event."""
    from asterisk.ami import AMIClient

    done = threading.Event()
    checker, target = tally.checker, tally.target
    ended: list[str] = []

    def on_event(event: Any, source: Any) -> None:
        name = event.name
        uniqueid = event.keys.get("Uniqueid")  # noqa: F841
        if checker is not None:
            checker.see(tally.count, name, event.keys.get)
        tally.count += 1
        if tally.count == target:
            tally.finish()
            done.set()

    def on_disconnect(source: Any, error: object = None) -> None:
        ended.append(repr(error))

    client = AMIClient(address="127.0.0.1", port=port)  # library defaults: 3 s socket timeout, 1 KiB reads
    client.add_event_listener(on_event)
    client.add_listener(on_disconnect=on_disconnect)
    tally.start()
    try:
        response = client.login(username=USERNAME, secret=SECRET).response
        if response is None or response.is_error():
            return f"login failed: {response}"
        while not done.wait(0.2):
            if ended and not done.is_set():
                return f"reader thread ended after {tally.count} events: {ended[0]}"
            if tally.elapsed() > timeout:
                return f"stalled: no event #{tally.count + 1} within {timeout:g} s"
        return None
    finally:
        with contextlib.suppress(Exception):
            client.logoff()  # the server answers Goodbye and closes, so the reader thread ends at once
        client.disconnect()


def child(name: str, port: int, events: int, timeout: float, check: bool) -> dict[str, Any]:
    """One run of one client; returns what it measured (printed as JSON for the parent)."""
    checker = Checker(expectations(base_events())) if check else None
    tally = Tally(events, checker)
    error: str | None
    try:
        if name == "asterisk-ami":
            error = run_asterisk_ami(port, tally, timeout)  # a thread, no asyncio: not even imported (~9 MB RSS)
        else:
            import asyncio

            run = run_hotline if name == "hotline" else run_panoramisk
            error = asyncio.run(run(port, tally, timeout))
    except Exception as exc:  # report it; the figures of this run are then not used
        error = f"{type(exc).__name__}: {exc}"
    return {"events": tally.count, "wall_s": tally.wall_s, "cpu_s": tally.cpu_s, "error": error,
            "rss_mb": peak_rss_mb(),
            "check": checker.report() if checker is not None else None}


# -- the server side (this process) --------------------------------------------------------------


@dataclass
class Run:
    client: str
    events: int = 0
    wall_s: float | None = None
    cpu_s: float | None = None
    rss_mb: float | None = None
    error: str | None = None
    connections: int = 0
    check: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.wall_s is not None

    @property
    def per_s(self) -> float:
        assert self.wall_s is not None
        return self.events / self.wall_s


async def serve_one(name: str, pieces: list[bytes], opts: argparse.Namespace, check: bool) -> Run:
    """A fresh server streams `pieces` to the first connection; later ones (reconnects) get no events."""
    import asyncio

    from hotline.providers.asterisk.sim.server import ConnectionScript, FakeAmiServer, Send

    script = [ConnectionScript([Send(piece) for piece in pieces]), ConnectionScript()]
    async with FakeAmiServer(script, username=USERNAME, secret=SECRET, fully_booted=False) as server:
        command = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--port", str(server.port),
                   "--events", str(opts.events), "--timeout", str(opts.timeout), *(["--check"] if check else [])]
        proc = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), opts.timeout + KILL_GRACE)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return Run(name, error=f"killed: the client process did not finish within {opts.timeout + KILL_GRACE:g} s",
                       connections=len(server.connections))
        connections = len(server.connections)
    if proc.returncode != 0 or not out.strip():
        tail = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        return Run(name, error=f"client process exited with {proc.returncode}: {tail[0]}", connections=connections)
    result = json.loads(out.decode().strip().splitlines()[-1])
    return Run(name, connections=connections, **result)


def describe(run: Run, target: int) -> str:
    label = f"{CLIENTS[run.client].label:18}"
    extra = f"  ({run.connections} connections)" if run.connections != 1 else ""
    if not run.ok:
        return f"{label} FAILED after {run.events:,} of {target:,} events: {run.error}{extra}"
    assert run.wall_s is not None and run.cpu_s is not None and run.rss_mb is not None
    return (f"{label} {run.events:>9,} events  {run.per_s:>9,.0f} /s  {run.wall_s:6.2f} s  "
            f"CPU {run.cpu_s:5.2f} s  peak RSS {run.rss_mb:5.1f} MB{extra}")


def summary_line(name: str, runs: list[Run]) -> str:
    label = f"{CLIENTS[name].label:18}"
    good = [r for r in runs if r.ok]
    failed = len(runs) - len(good)
    note = f"  ({failed} of {len(runs)} runs failed, see above)" if failed else ""
    if not good:
        return f"{label} no figure: every run failed{note}"
    rates = [r.per_s for r in good]
    cpu = statistics.median(r.cpu_s for r in good if r.cpu_s is not None)
    rss = max(r.rss_mb for r in good if r.rss_mb is not None)
    spread = f"{min(rates):,.0f}-{max(rates):,.0f}"
    return f"{label} {statistics.median(rates):>9,.0f}   {spread:>17}   {rss:>11.1f}   {cpu:5.2f}{note}"


def check_line(run: Run) -> str:
    label = f"{CLIENTS[run.client].label:18}"
    if run.check is None:
        return f"{label} no check: {run.error}"
    c = run.check
    parts = [f"{run.events:,} events delivered"]
    parts.append("names in order" if not c["out_of_order"] else
                 f"{c['out_of_order']:,} names out of place, first at {c['first_out_of_order']}")
    parts.append(f"non-ASCII caller names correct: {c['names_ok']:,} of {c['names']:,}")
    for want, seen in c["examples"].items():
        parts.append(f"{want} arrived as {' / '.join(seen)}")
    if run.error:
        parts.append(f"run error: {run.error}")
    return f"{label} " + "; ".join(parts)


def installed(name: str) -> str | None:
    """A note when the client's library is missing or not the pinned version; None when usable as is."""
    import importlib.metadata

    info = CLIENTS[name]
    if info.distribution is None:
        return None
    try:
        version = importlib.metadata.version(info.distribution)
    except importlib.metadata.PackageNotFoundError:
        return f"{info.distribution} not installed: pip install -e '.[bench]'"
    info_label = f"{info.distribution} {version}"
    CLIENTS[name] = ClientInfo(info_label, info.distribution, info.pinned)
    if info.pinned and version != info.pinned:
        return f"note: {info_label} installed, the benchmark pins {info.pinned}"
    return None


async def parent(opts: argparse.Namespace) -> None:
    names = [n for n in opts.clients.split(",") if n]
    unknown = [n for n in names if n not in CLIENTS]
    if unknown:
        raise SystemExit(f"unknown client(s): {', '.join(unknown)}; choose from {', '.join(CLIENTS)}")
    usable = []
    for name in names:
        note = installed(name)
        if note:
            print(note)
        if note is None or note.startswith("note:"):
            usable.append(name)
    base = base_events()
    pieces = stream_pieces(base, opts.events)
    size = sum(map(len, pieces))
    print(f"stream: {opts.events:,} events ({len(base):,} recorded events of {len(list(FIXTURES.glob('*.ami')))} "
          f"traces, repeated), {size / 1e6:.1f} MB in {len(pieces)} writes of about {PIECE_SIZE // 1024} KiB; "
          f"{opts.rounds} rounds, timeout {opts.timeout:g} s; Python {sys.version.split()[0]}")
    runs: dict[str, list[Run]] = {name: [] for name in usable}
    for number in range(1, opts.rounds + 1):
        for name in usable:
            run = await serve_one(name, pieces, opts, check=False)
            runs[name].append(run)
            print(f"round {number}  {describe(run, opts.events)}", flush=True)
    if usable:
        print(f"\n{'client':18} {'events/s median':>15}   {'(range)':>17}   {'peak RSS MB':>11}   CPU s")
        for name in usable:
            print(summary_line(name, runs[name]))
    if opts.check and usable:
        print("\ncheck (one more run per client, untimed): event names in order; CallerIDName/ConnectedLineName "
              "with non-ASCII bytes against the text they spell (UTF-8, else GB18030)")
        for name in usable:
            print(check_line(await serve_one(name, pieces, opts, check=True)), flush=True)


def main() -> None:
    args = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    args.add_argument("--events", type=int, default=200_000, help="events per run (default 200,000)")
    args.add_argument("--rounds", type=int, default=3, help="timed runs per client (default 3)")
    args.add_argument("--timeout", type=float, default=120.0, help="seconds before a run counts as stalled")
    args.add_argument("--clients", default=",".join(CLIENTS), help="comma-separated, from: " + ", ".join(CLIENTS))
    args.add_argument("--no-check", dest="check", action="store_false", help="skip the untimed check runs")
    args.add_argument("--child", choices=list(CLIENTS), help=argparse.SUPPRESS)
    args.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args.add_argument("--check", dest="child_check", action="store_true", help=argparse.SUPPRESS)
    opts = args.parse_args()
    if opts.child:
        print(json.dumps(child(opts.child, opts.port, opts.events, opts.timeout, opts.child_check)))
        return
    import asyncio

    asyncio.run(parent(opts))


if __name__ == "__main__":
    main()
