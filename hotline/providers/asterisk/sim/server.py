"""A fake AMI server on a real loopback TCP socket, for tests, the demo and benchmarks.

It speaks enough AMI for hotline: the banner, Login (accepting or refusing, and closing after a
refusal like Asterisk), Ping, Logoff, CoreShowChannels and QueueStatus from canned replies, Command
(both output formats) and custom actions. Each connection follows a `ConnectionScript`: the steps
it runs after login (replay recorded packets, pause, stall, go silent, send broken bytes, close).
`feed()` pushes live events to every logged-in client, so a traffic generator can drive it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hotline.providers.asterisk.protocol import (
    CRLF_SEPARATOR,
    HeaderItems,
    Packet,
    PacketParser,
    encode_packet,
)

logger = logging.getLogger(__name__)

BANNER = "Asterisk Call Manager/11.0.0"
ReplyItem = bytes | HeaderItems
Reply = Sequence[ReplyItem]
SnapshotSource = Reply | Callable[[], Reply]
ActionHandler = Callable[[Packet], Reply]

_ACTION_ID_LINE = re.compile(rb"(?m)^ActionID:[^\r\n]*\r?\n")
_LIST_MESSAGES = {"coreshowchannels": "Channels will follow", "queuestatus": "Queue status will follow"}
_LIST_COMPLETE = {"coreshowchannels": "CoreShowChannelsComplete", "queuestatus": "QueueStatusComplete"}


# -- script steps -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Send:
    """Write bytes; `splits` cuts them at those offsets into separate writes `gap` seconds apart."""

    data: bytes
    splits: tuple[int, ...] = ()
    gap: float = 0.05


@dataclass(frozen=True)
class Pause:
    seconds: float


@dataclass(frozen=True)
class Replay:
    """Send recorded packets `packets[start:stop]`, all at once or `interval` seconds apart."""

    packets: Sequence[bytes]
    start: int = 0
    stop: int | None = None
    interval: float = 0.0


@dataclass(frozen=True)
class Close:
    """Close the connection, after writing `data` (e.g. half a packet) with nothing in between.

    `abort=True` resets the connection instead of a clean FIN.
    """

    data: bytes = b""
    abort: bool = False


@dataclass(frozen=True)
class Stall:
    """Answer no action for `seconds`; the waiting actions are answered afterwards, in order."""

    seconds: float


@dataclass(frozen=True)
class Blackhole:
    """From now on send nothing and answer nothing, but keep the socket open (a hung PBX)."""


Step = Send | Pause | Replay | Close | Stall | Blackhole


@dataclass(frozen=True)
class ConnectionScript:
    """What the server does on one connection: how it answers Login and the steps that follow."""

    steps: Sequence[Step] = ()
    login: Literal["accept", "reject", "silent"] = "accept"
    snapshots: Mapping[str, SnapshotSource] | None = None


# -- recorded traces --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recording:
    """A recorded `.ami` trace split into live events and the replies to the recorder's actions."""

    banner: str | None
    events: list[bytes]
    replies: dict[str, list[bytes]]

    @classmethod
    def load(cls, path: str | Path) -> Recording:
        """Read a trace; each packet keeps its exact bytes (GBK names included) and its separator."""
        parser = PacketParser(expect_banner=True)
        packets = parser.feed(Path(path).read_bytes())
        reply_ids = {p["ActionID"] for p in packets if "Response" in p and "ActionID" in p}
        events: list[bytes] = []
        replies: dict[str, list[bytes]] = {}
        for packet in packets:
            raw = packet.raw + CRLF_SEPARATOR
            action_id = packet.get("ActionID")
            if action_id in reply_ids and action_id is not None:
                replies.setdefault(action_id, []).append(raw)
            elif "Response" not in packet:
                events.append(raw)
        return cls(parser.banner, events, replies)

    def reply(self, action_id: str) -> list[bytes]:
        """The recorded reply (Response and list events) to one of the recorder's actions."""
        return list(self.replies[action_id])


def replay_with_drop(
    events: Sequence[bytes],
    drop_after: int,
    resume_from: int | None = None,
    *,
    half_packet: bool = True,
    linger: float = 0.0,
    snapshots: Sequence[Mapping[str, SnapshotSource] | None] = (),
) -> list[ConnectionScript]:
    """Two connection scripts: replay `events[:drop_after]`, wait `linger` s, then drop (mid-packet when
    `half_packet`); after the reconnect replay from `resume_from` (default `drop_after`; larger means
    events missed during the outage). `snapshots[i]` are the canned list replies for connection i.
    """
    half = events[drop_after][: len(events[drop_after]) // 2] if half_packet and drop_after < len(events) else b""
    first: list[Step] = [Replay(events, 0, drop_after), Pause(linger), Close(data=half)]
    resume = drop_after if resume_from is None else resume_from
    per_conn = [*snapshots, None, None][:2]
    return [ConnectionScript(first, snapshots=per_conn[0]),
            ConnectionScript([Replay(events, resume)], snapshots=per_conn[1])]


# -- building packets -------------------------------------------------------------------------------


def render(item: ReplyItem, action_id: str | None = None, encoding: str = "utf-8") -> bytes:
    """One packet as bytes; with `action_id`, its ActionID line is replaced (or added after line 1)."""
    if isinstance(item, bytes):
        data = item if item.endswith(CRLF_SEPARATOR) else item + CRLF_SEPARATOR
        if action_id is None:
            return data
        line = f"ActionID: {action_id}\r\n".encode(encoding)
        if _ACTION_ID_LINE.search(data):
            return _ACTION_ID_LINE.sub(lambda _: line, data, count=1)
        first = data.find(b"\r\n") + 2
        return data[:first] + line + data[first:]
    pairs = list(item.items()) if isinstance(item, Mapping) else list(item)
    if action_id is not None:
        pairs = [(k, v) for k, v in pairs if k != "ActionID"]
        pairs.insert(1 if pairs else 0, ("ActionID", action_id))
    return encode_packet(pairs, encoding)


def list_reply(action: str, items: Sequence[HeaderItems], message: str | None = None) -> list[ReplyItem]:
    """A whole EventList reply: `Response: Success` + `EventList: start`, the items, the Complete event."""
    key = action.lower()
    complete = _LIST_COMPLETE.get(key, f"{action}Complete")
    head: list[tuple[str, str]] = [("Response", "Success"), ("EventList", "start"),
                                   ("Message", message or _LIST_MESSAGES.get(key, "Results will follow"))]
    tail: list[tuple[str, str]] = [("Event", complete), ("EventList", "Complete"),
                                   ("ListItems", str(len(items)))]
    return [head, *items, tail]


def event(name: str, *headers: tuple[str, str], timestamp: float | None = None) -> list[tuple[str, str]]:
    """An event's headers as Asterisk orders them: Event, Privilege, Timestamp, then the rest."""
    stamp = time.time() if timestamp is None else timestamp
    return [("Event", name), ("Privilege", "call,all"), ("Timestamp", f"{stamp:.6f}"), *headers]


# -- robustness probes (the scenarios of the AMI client evaluation) ---------------------------------


def probe_half_packet_then_close(packets: Sequence[bytes], complete: int = 3) -> list[Step]:
    """`complete` whole packets, then half of the next one, then close."""
    whole = b"".join(packets[:complete])
    nxt = packets[complete]
    return [Send(whole), Close(data=nxt[: len(nxt) // 2])]


def probe_line_without_colon() -> bytes:
    """A packet with a line lacking a colon and a `Key:Value` line without the space."""
    return (b"Event: Newchannel\r\nPrivilege: call,all\r\nThisLineHasNoColonSeparator\r\n"
            b"CallerIDNum:15550002\r\nUniqueid: 1795413105.9\r\n\r\n")


def probe_gbk_value(name: str = "张三") -> bytes:
    """A Newchannel whose CallerIDName is GBK bytes (the rest is ASCII)."""
    return (b"Event: Newchannel\r\nPrivilege: call,all\r\nCallerIDName: " + name.encode("gbk")
            + b"\r\nUniqueid: 1795413105.10\r\n\r\n")


def probe_utf8_split(name: str = "张三") -> Send:
    """A valid UTF-8 name sent in two writes, cut in the middle of its first character."""
    data = ("Event: Newchannel\r\nPrivilege: call,all\r\nCallerIDName: " + name
            + "\r\nUniqueid: 1795413105.11\r\n\r\n").encode("utf-8")
    cut = data.index(name.encode("utf-8")) + 1
    return Send(data, splits=(cut,))


def probe_huge_value(size: int = 1 << 20) -> bytes:
    """A packet with one header value of `size` bytes."""
    return b"Event: UserEvent\r\nPrivilege: user,all\r\nUserEvent: Huge\r\nData: " + b"x" * size + b"\r\n\r\n"


def probe_chan_variables() -> bytes:
    """A packet with two `ChanVariable` headers."""
    return (b"Event: Newexten\r\nPrivilege: dialplan,all\r\nChannel: Local/4008001234@hotline-in-0001;2\r\n"
            b"ChanVariable: FROM_DID=4008001234\r\nChanVariable: QUEUE=network\r\n"
            b"Uniqueid: 1795413105.12\r\n\r\n")


# -- the server -------------------------------------------------------------------------------------


@dataclass(eq=False)
class FakeAmiConnection:
    """One client connection as the server sees it (for assertions in tests)."""

    index: int
    script: ConnectionScript
    writer: asyncio.StreamWriter
    actions: list[Packet] = field(default_factory=list)
    logged_in: bool = False
    events_on: bool = True
    silent: bool = False
    closed: bool = False
    answering: asyncio.Event = field(default_factory=asyncio.Event)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.answering.set()

    def action_names(self) -> list[str]:
        return [a.get("Action", "") for a in self.actions]

    async def send(self, data: bytes, splits: Sequence[int] = (), gap: float = 0.05) -> None:
        """Write bytes (in pieces `gap` seconds apart when `splits` is given); nothing when closed."""
        async with self.lock:
            start = 0
            for cut in (*splits, len(data)):
                if self.closed:
                    return
                self.writer.write(data[start:cut])
                await self.writer.drain()
                if cut != len(data):
                    await asyncio.sleep(gap)
                start = cut

    async def send_and_close(self, data: bytes, abort: bool = False) -> None:
        """Write `data` and close, with no other write in between (a packet cut by the drop)."""
        async with self.lock:
            if data and not self.closed:
                self.writer.write(data)
                with contextlib.suppress(ConnectionError):
                    await self.writer.drain()
            if not self.closed:
                self.close(abort)

    def close(self, abort: bool = False) -> None:
        """Stop serving: send FIN after the pending bytes (the socket is released when the client
        closes too, so unread client bytes never turn it into a reset), or reset at once."""
        self.closed = True
        if abort:
            self.writer.transport.abort()
        elif self.writer.can_write_eof():
            self.writer.write_eof()
        else:
            self.writer.close()


class FakeAmiServer:
    """An AMI server on 127.0.0.1 (port 0: any free port) following per-connection scripts."""

    def __init__(
        self,
        script: Sequence[ConnectionScript] = (),
        *,
        username: str = "hotline",
        secret: str = "secret",
        banner: str | None = BANNER,
        snapshots: Mapping[str, SnapshotSource] | None = None,
        commands: Mapping[str, str] | None = None,
        command_format: Literal["output", "follows"] = "output",
        actions: Mapping[str, ActionHandler] | None = None,
        fully_booted: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.script = list(script)
        self.username = username
        self._secret = secret
        self.banner = banner
        self.snapshots = {k.lower(): v for k, v in (snapshots or {}).items()}
        self.commands = dict(commands or {})
        self.command_format = command_format
        self.actions = {k.lower(): v for k, v in (actions or {}).items()}
        self.fully_booted = fully_booted
        self.host = host
        self.port = port
        self.connections: list[FakeAmiConnection] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()

    def __repr__(self) -> str:
        return f"FakeAmiServer({self.host}:{self.port}, connections={len(self.connections)})"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the listening socket and every connection, and stop their tasks."""
        if self._server is not None:
            self._server.close()
        for conn in self.connections:
            conn.closed = True
            conn.writer.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        await asyncio.sleep(0)  # let the connection handlers see their sockets closed

    async def __aenter__(self) -> FakeAmiServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- helpers for tests and generators ----------------------------------------------------------

    @property
    def live(self) -> list[FakeAmiConnection]:
        """Connections that receive live events now."""
        return [c for c in self.connections if c.logged_in and c.events_on and not c.silent and not c.closed]

    async def feed(self, packets: bytes | Sequence[ReplyItem]) -> int:
        """Send live events to every logged-in client with events on; returns how many got them."""
        data = packets if isinstance(packets, bytes) else b"".join(render(p) for p in packets)
        targets = self.live
        for conn in targets:
            with contextlib.suppress(ConnectionError):
                await conn.send(data)
        return len(targets)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until `predicate()` holds; it is checked after every connection, action and close."""
        async with asyncio.timeout(timeout):
            while True:
                self._changed.clear()
                if predicate():
                    return
                await self._changed.wait()

    async def wait_for_logins(self, count: int, timeout: float = 5.0) -> None:
        await self.wait_until(lambda: sum(c.logged_in for c in self.connections) >= count, timeout)

    # -- connection handling -----------------------------------------------------------------------

    def _script_for(self, index: int) -> ConnectionScript:
        if not self.script:
            return ConnectionScript()
        return self.script[min(index, len(self.script) - 1)]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = FakeAmiConnection(len(self.connections), self._script_for(len(self.connections)), writer)
        self.connections.append(conn)
        self._changed.set()
        inbox: asyncio.Queue[Packet] = asyncio.Queue()
        answerer = self._spawn(self._answer_all(conn, inbox), f"fake-ami-answer-{conn.index}")
        try:
            if self.banner is not None:
                await conn.send(f"{self.banner}\r\n".encode())
            await self._read_actions(conn, reader, inbox)
        except (ConnectionError, OSError):
            pass
        finally:
            answerer.cancel()
            conn.closed = True
            writer.close()
            self._changed.set()

    async def _read_actions(self, conn: FakeAmiConnection, reader: asyncio.StreamReader,
                            inbox: asyncio.Queue[Packet]) -> None:
        """Read actions until the client closes; they are answered in order by another task."""
        parser = PacketParser(expect_banner=False)
        while True:
            data = await reader.read(65536)
            if not data:
                return
            if conn.closed:
                continue  # we sent FIN: whatever the client still says is dropped unread
            for action in parser.feed(data):
                conn.actions.append(action)
                inbox.put_nowait(action)
            self._changed.set()

    async def _answer_all(self, conn: FakeAmiConnection, inbox: asyncio.Queue[Packet]) -> None:
        try:
            while not conn.closed:
                await self._answer(conn, await inbox.get())
        except (ConnectionError, OSError):
            pass

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _answer(self, conn: FakeAmiConnection, action: Packet) -> None:
        name = action.get("Action", "").lower()
        action_id = action.get("ActionID")
        if name == "login":
            await self._login(conn, action, action_id)
            return
        if not conn.logged_in:
            await self._reply(conn, action_id, [[("Response", "Error"), ("Message", "Authentication Required")]])
            return
        await conn.answering.wait()
        if name == "logoff":
            await self._reply(conn, action_id, [[("Response", "Goodbye"), ("Message", "Thanks for all the fish.")]])
            conn.close()
        else:
            await self._reply(conn, action_id, self._reply_for(conn, name, action))

    def _reply_for(self, conn: FakeAmiConnection, name: str, action: Packet) -> Reply:
        if name == "ping":
            return [[("Response", "Success"), ("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}")]]
        if name in self.actions:
            return self.actions[name](action)
        snapshots = conn.script.snapshots if conn.script.snapshots is not None else self.snapshots
        source = {k.lower(): v for k, v in snapshots.items()}.get(name)
        if source is not None:
            return source() if callable(source) else source
        if name in _LIST_COMPLETE:
            return list_reply(action.get("Action", name), [])
        if name == "command":
            return [self._command(action.get("Command", ""), action.get("ActionID"))]
        if name == "events":
            conn.events_on = action.get("EventMask", "on").lower() != "off"
            return [[("Response", "Success"), ("Events", "On" if conn.events_on else "Off")]]
        return [[("Response", "Error"), ("Message", "Invalid/unknown command")]]

    def _command(self, command: str, action_id: str | None) -> ReplyItem:
        output = self.commands.get(command)
        known = output is not None
        if output is None:
            output = f"No such command '{command}' (type 'core show help {command}' for other possible commands)"
        lines = output.splitlines()
        if self.command_format == "follows":
            body = "".join(f"{line}\n" for line in lines)
            id_line = f"ActionID: {action_id}\r\n" if action_id is not None else ""
            return f"Response: Follows\r\nPrivilege: Command\r\n{id_line}{body}--END COMMAND--\r\n\r\n".encode()
        status = "Success" if known else "Error"
        return [("Response", status), ("Message", "Command output follows"), *(("Output", ln) for ln in lines)]

    async def _login(self, conn: FakeAmiConnection, action: Packet, action_id: str | None) -> None:
        mode = conn.script.login
        if mode == "silent":
            return
        accepted = (mode == "accept" and action.get("Username") == self.username
                    and action.get("Secret") == self._secret)
        if not accepted:
            await self._reply(conn, action_id, [[("Response", "Error"), ("Message", "Authentication failed")]])
            conn.close()
            return
        await self._reply(conn, action_id, [[("Response", "Success"), ("Message", "Authentication accepted")]])
        conn.logged_in = True
        conn.events_on = action.get("Events", "on").lower() != "off"
        self._changed.set()
        if self.fully_booted and conn.events_on:
            booted = [("Event", "FullyBooted"), ("Privilege", "system,all"), ("Uptime", "17"),
                      ("LastReload", "17"), ("Status", "Fully Booted")]
            await conn.send(render(booted))
        self._spawn(self._run_steps(conn), f"fake-ami-script-{conn.index}")

    async def _reply(self, conn: FakeAmiConnection, action_id: str | None, reply: Reply) -> None:
        await conn.send(b"".join(render(item, action_id) for item in reply))

    async def _run_steps(self, conn: FakeAmiConnection) -> None:
        try:
            for step in conn.script.steps:
                if conn.closed or not await self._run_step(conn, step):
                    return
        except (ConnectionError, OSError):
            pass

    async def _run_step(self, conn: FakeAmiConnection, step: Step) -> bool:
        """Run one step; False when the script is over (closed or silent)."""
        if isinstance(step, Send):
            await conn.send(step.data, step.splits, step.gap)
        elif isinstance(step, Pause):
            await asyncio.sleep(step.seconds)
        elif isinstance(step, Replay):
            await self._replay(conn, step)
        elif isinstance(step, Stall):
            conn.answering.clear()
            await asyncio.sleep(step.seconds)
            conn.answering.set()
        elif isinstance(step, Blackhole):
            conn.silent = True
            conn.answering.clear()
            return False
        elif isinstance(step, Close):
            await conn.send_and_close(step.data, step.abort)
            self._changed.set()
            return False
        return True

    async def _replay(self, conn: FakeAmiConnection, step: Replay) -> None:
        packets = step.packets[step.start:step.stop]
        if step.interval <= 0:
            await conn.send(b"".join(packets))
            return
        for packet in packets:
            await conn.send(packet)
            await asyncio.sleep(step.interval)
