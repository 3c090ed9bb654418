"""Asyncio AMI client: connection, login, keepalive, reconnect, actions and a bounded event buffer.

One supervisor task per client connects, reads the banner, logs in with `Events: on`, then runs a
reader and a Ping keepalive until the connection ends, and reconnects with exponential backoff and
jitter. A failed login is final (`AmiLoginFailed`). Replies that carry one of our ActionIDs go to
the waiting `send_action`; every other packet is a live event and is handed, in arrival order, to
the consumer (`events()` / `next_event()`) through a buffer of at most `queue_size` events: when it
is full the reader stops reading, so a slow consumer pushes back on TCP instead of growing memory.

Ordering after a (re)connect: `on_connect(client)` runs once the login succeeded. Events of the
earlier connections can still be taken, but the new connection's live events are held back, in
order, until `on_connect` returns; packets that `on_connect` passes to `inject()` land exactly
between the two. The secret is never logged and never appears in a repr or an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from hotline.clock import Clock, SystemClock
from hotline.providers.asterisk.protocol import HeaderItems, Packet, PacketParser, encode_action, mask_secrets

if TYPE_CHECKING:
    from hotline.config import AmiSection

logger = logging.getLogger(__name__)

OnConnect = Callable[["AmiClient"], Awaitable[None]]
OnEvent = Callable[[Packet], object]

READ_SIZE = 256 * 1024
STREAM_LIMIT = 1 << 20  # asyncio pauses the socket when 2x this is buffered
EXPIRED_IDS_KEPT = 1024
CONNECTION_LOG_KEPT = 1000
LOGOFF_TIMEOUT = 2.0


class AmiError(Exception):
    """Base class of the AMI client's own errors."""


class AmiLoginFailed(AmiError):
    """The PBX refused our username/secret; retrying would not help, so the client stops."""


class AmiNotConnected(AmiError, ConnectionError):
    """An action was sent while the client is not logged in."""


class AmiConnectionLost(AmiError, ConnectionError):
    """The connection ended while an action was waiting for its reply."""


class AmiActionTimeout(AmiError, TimeoutError):
    """An action got no complete reply within its timeout."""


class AmiClosed(AmiError):
    """The client was closed and every queued event has been read."""


class ConnectionWindow(NamedTuple):
    """One logged-in period; the gaps between windows are outages."""

    connected_at: datetime
    disconnected_at: datetime | None
    reason: str


@dataclass
class ActionResult:
    """The reply to one action: its Response packet and, for list actions, the events that followed."""

    action: str
    action_id: str
    response: Packet
    events: list[Packet] = field(default_factory=list)
    complete: Packet | None = None

    @property
    def ok(self) -> bool:
        return self.response.get("Response") in ("Success", "Follows", "Goodbye")

    @property
    def message(self) -> str | None:
        return self.response.get("Message")

    @property
    def output(self) -> list[str]:
        """Command output lines (both the `Output:` and the legacy `Follows` format)."""
        return self.response.getall("Output")


@dataclass
class AmiStats:
    """Counters for monitoring the AMI link."""

    connect_attempts: int = 0
    logins: int = 0
    disconnects: int = 0
    bytes_received: int = 0
    packets: int = 0
    events: int = 0
    action_packets: int = 0
    late_replies: int = 0
    oversized: int = 0
    undecodable: int = 0
    skipped: int = 0
    callback_errors: int = 0
    backpressure_waits: int = 0
    actions_sent: int = 0
    action_timeouts: int = 0
    pings: int = 0
    ping_timeouts: int = 0


class _PendingAction:
    """Collects the reply packets of one action until it is complete."""

    __slots__ = ("action", "action_id", "complete", "events", "future", "listing", "response")

    def __init__(self, action: str, action_id: str, future: asyncio.Future[ActionResult]) -> None:
        self.action = action
        self.action_id = action_id
        self.future = future
        self.response: Packet | None = None
        self.events: list[Packet] = []
        self.complete: Packet | None = None
        self.listing = False

    def add(self, packet: Packet) -> bool:
        """Take one reply packet; True when the reply is complete."""
        if self.response is None and "Response" in packet:
            self.response = packet
            self.listing = _starts_list(packet)
            return not self.listing
        if packet.get("EventList", "").lower() == "complete" or (
            self.listing and packet.get("Event", "").endswith("Complete")
        ):
            self.complete = packet
            return True
        self.events.append(packet)
        return False

    def result(self) -> ActionResult:
        response = self.response if self.response is not None else Packet()
        return ActionResult(self.action, self.action_id, response, self.events, self.complete)


def _starts_list(response: Packet) -> bool:
    """A successful reply announcing that events follow (`EventList: start` or "... will follow")."""
    if response.get("Response") != "Success":
        return False
    return response.get("EventList", "").lower() == "start" or "will follow" in response.get(
        "Message", ""
    ).lower()


def backoff_delay(attempt: int, initial: float, maximum: float, rng: random.Random) -> float:
    """Exponential backoff with equal jitter: between half and all of min(maximum, initial * 2**attempt)."""
    ceiling = min(maximum, initial * 2.0 ** min(attempt, 32))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class AmiClient:
    """A long-running AMI connection that reconnects on its own and queues live events."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        encoding: str = "utf-8",
        fallback_encoding: str = "gb18030",
        ping_interval: float = 20.0,
        ping_timeout: float = 10.0,
        action_timeout: float = 10.0,
        reconnect_initial: float = 1.0,
        reconnect_max: float = 60.0,
        max_packet_bytes: int = 1 << 20,
        queue_size: int = 10_000,
        skip_events: Iterable[str] = (),
        raw_only: Mapping[str, Sequence[bytes]] | None = None,
        on_connect: OnConnect | None = None,
        on_event: OnEvent | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self._secret = secret
        self.encoding = encoding
        self.fallback_encoding = fallback_encoding
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.action_timeout = action_timeout
        self.reconnect_initial = reconnect_initial
        self.reconnect_max = reconnect_max
        self.max_packet_bytes = max_packet_bytes
        self.skip_events = frozenset(skip_events)
        self.raw_only = dict(raw_only or {})
        self.on_connect = on_connect
        self.on_event = on_event
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._rng = rng if rng is not None else random.Random()
        self.stats = AmiStats()
        self.connection_log: list[ConnectionWindow] = []
        self.banner: str | None = None
        self.queue_size = max(1, queue_size)
        self._events: deque[Packet] = deque()  # live events for the consumer, bounded by queue_size
        self._releasable: int | None = None  # while on_connect runs: how many may be taken now
        self._wakeup = asyncio.Event()  # the consumer may have something to take
        self._room = asyncio.Event()  # the reader may go on
        self._reader_waiting = False
        self._pending: dict[str, _PendingAction] = {}
        self._awaited: dict[str, tuple[str, asyncio.Future[Packet]]] = {}  # ActionID -> (event, future)
        self._expired: OrderedDict[str, None] = OrderedDict()
        self._id_prefix = f"hl-{uuid.uuid4().hex[:8]}-"
        self._next_id = 0
        self._writer: asyncio.StreamWriter | None = None
        self._logged_in = False
        self._connected = asyncio.Event()
        self._stopped = asyncio.Event()
        self._closing = False
        self._fatal: AmiLoginFailed | None = None
        self._supervisor: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, ami: AmiSection, **kwargs: object) -> AmiClient:
        """Build a client from the `[ami]` settings; keyword arguments (callbacks, clock) pass through."""
        return cls(
            ami.host, ami.port, ami.username, ami.secret, encoding=ami.encoding,
            fallback_encoding=ami.fallback_encoding, ping_interval=ami.ping_interval,
            ping_timeout=ami.ping_timeout, action_timeout=ami.action_timeout,
            reconnect_initial=ami.reconnect_initial, reconnect_max=ami.reconnect_max,
            max_packet_bytes=ami.max_packet_bytes, queue_size=ami.queue_size,
            **kwargs,  # type: ignore[arg-type]
        )

    def __repr__(self) -> str:
        return f"AmiClient({self.address}, username={self.username!r}, connected={self.connected})"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def connected(self) -> bool:
        """True while logged in."""
        return self._logged_in

    @property
    def queued(self) -> int:
        """Live events received and not yet taken by the consumer."""
        return len(self._events)

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start connecting in the background (idempotent); returns at once."""
        if self._closing:
            raise AmiClosed("this AMI client was closed; create a new one")
        if self._supervisor is None:
            self._supervisor = asyncio.create_task(self._supervise(), name=f"ami-{self.address}")

    async def connect(self, timeout: float | None = None) -> None:
        """Start and wait for the first login; raises `AmiLoginFailed` at once, TimeoutError after `timeout`."""
        await self.start()
        await self.wait_connected(timeout)

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until logged in; raise `AmiLoginFailed` or `AmiClosed` if that can no longer happen."""
        async with asyncio.timeout(timeout):
            while not self._logged_in:
                self._raise_if_stopped()
                waiters = [asyncio.ensure_future(self._connected.wait()),
                           asyncio.ensure_future(self._stopped.wait())]
                try:
                    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for waiter in waiters:
                        waiter.cancel()

    async def close(self) -> None:
        """Log off (when connected), stop reconnecting and end `events()` after the queued events."""
        if self._closing:
            return
        self._closing = True
        if self._logged_in:
            with contextlib.suppress(AmiError, OSError, TimeoutError):
                await self._request("Logoff", None, min(self.action_timeout, LOGOFF_TIMEOUT))
        if self._writer is not None:
            self._writer.close()  # the reader sees EOF and the session ends by itself
        if self._supervisor is not None:
            await asyncio.wait([self._supervisor], timeout=LOGOFF_TIMEOUT)
        if self._supervisor is not None and not self._supervisor.done():
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        self._stop()

    async def __aenter__(self) -> AmiClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- events ------------------------------------------------------------------------------------

    async def next_event(self) -> Packet:
        """The next live event, waiting if needed; raises `AmiClosed` after close, or `AmiLoginFailed`."""
        events = self._events
        while True:
            if events and (self._releasable is None or self._releasable > 0):
                return self._take()
            if self._stopped.is_set() and not events:
                self._raise_if_stopped()
            self._wakeup.clear()
            await self._wakeup.wait()

    async def events(self) -> AsyncIterator[Packet]:
        """Iterate over live events until the client is closed (raises `AmiLoginFailed` if login fails)."""
        events = self._events
        while True:
            if events and self._releasable is None:
                yield self._take()  # the fast path: no coroutine per event
                continue
            try:
                packet = await self.next_event()
            except AmiClosed:
                return
            yield packet

    def _take(self) -> Packet:
        if self._releasable is not None:
            self._releasable -= 1
        packet = self._events.popleft()
        if self._reader_waiting and len(self._events) < self.queue_size:
            self._room.set()
        return packet

    def inject(self, packet: Packet) -> None:
        """Queue a packet as if it were a live event (e.g. a reconciliation marker from on_connect).

        Called from on_connect, it lands after every event of the earlier connections and before the
        new connection's live events.
        """
        if self._releasable is not None:
            self._events.insert(self._releasable, packet)
            self._releasable += 1
        else:
            self._events.append(packet)
        self._wakeup.set()

    def _stop(self) -> None:
        self._stopped.set()
        self._wakeup.set()

    def _raise_if_stopped(self) -> None:
        if self._fatal is not None:
            raise self._fatal
        if self._stopped.is_set() or self._closing:
            raise AmiClosed(f"AMI client for {self.address} is closed")

    # -- actions -----------------------------------------------------------------------------------

    async def send_action(
        self, action: str, headers: HeaderItems | None = None, timeout: float | None = None
    ) -> ActionResult:
        """Send an action and wait for its whole reply (list actions: until `EventList: Complete`)."""
        if not self._logged_in:
            raise AmiNotConnected(f"not logged in to AMI at {self.address}; cannot send {action}")
        return await self._request(action, headers, timeout)

    async def originate(self, headers: HeaderItems, *, tag: str | None = None, timeout: float | None = None,
                        answer_timeout: float = 60.0) -> tuple[ActionResult, Packet | None]:
        """An `Async: true` Originate: its reply, then (when the reply is a success) the
        `OriginateResponse` event that tells whether the call was answered (`Response: Success`) or
        not (`Response: Failure`, `Reason` 3 no answer, 5 busy, 8 congestion, 0/1 failed). The ActionID
        on the wire is the client's own, ending in `-<tag>` (e.g. the page key)."""
        if not self._logged_in:
            raise AmiNotConnected(f"not logged in to AMI at {self.address}; cannot send Originate")
        action_id = self._new_action_id(tag)
        outcome: asyncio.Future[Packet] = asyncio.get_running_loop().create_future()
        self._awaited[action_id] = ("OriginateResponse", outcome)
        try:
            result = await self._request("Originate", headers, timeout, action_id)
            if not result.ok:
                return result, None
            try:
                async with asyncio.timeout(answer_timeout):
                    return result, await outcome
            except TimeoutError:
                raise AmiActionTimeout(f"AMI {self.address}: no OriginateResponse for ActionID {action_id} "
                                       f"within {answer_timeout:g} s") from None
        finally:
            self._awaited.pop(action_id, None)
            if not outcome.done():
                outcome.cancel()
            elif not outcome.cancelled():
                outcome.exception()

    def _new_action_id(self, tag: str | None = None) -> str:
        self._next_id += 1
        suffix = "" if not tag else "-" + "".join(c if c.isprintable() else " " for c in tag)[:200]
        return f"{self._id_prefix}{self._next_id}{suffix}"

    async def _request(self, action: str, headers: HeaderItems | None, timeout: float | None,
                       action_id: str | None = None) -> ActionResult:
        writer = self._writer
        if writer is None:
            raise AmiNotConnected(f"not connected to AMI at {self.address}; cannot send {action}")
        action_id = action_id or self._new_action_id()
        data = encode_action(action, headers, action_id, self.encoding)
        pending = _PendingAction(action, action_id, asyncio.get_running_loop().create_future())
        self._pending[action_id] = pending
        limit = self.action_timeout if timeout is None else timeout
        try:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("AMI %s <- %s", self.address, mask_secrets(data).strip())
            writer.write(data)
            self.stats.actions_sent += 1
            async with asyncio.timeout(limit):
                await writer.drain()
                return await pending.future
        except TimeoutError:
            self.stats.action_timeouts += 1
            raise AmiActionTimeout(
                f"AMI {self.address}: no complete reply to {action} (ActionID {action_id}) within {limit:g} s"
            ) from None
        except AmiError:
            raise
        except OSError as exc:
            raise AmiConnectionLost(f"AMI {self.address}: {action} not sent: {_describe(exc)}") from exc
        finally:
            del self._pending[action_id]
            future = pending.future
            if not future.done() or future.cancelled():
                future.cancel()
                self._expire(action_id)
            else:
                future.exception()  # retrieved: no "exception never retrieved" warning

    def _expire(self, action_id: str) -> None:
        """Remember an abandoned ActionID so its late replies are dropped, not taken for events."""
        self._expired[action_id] = None
        while len(self._expired) > EXPIRED_IDS_KEPT:
            self._expired.popitem(last=False)

    def _fail_pending(self, reason: str) -> None:
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(AmiConnectionLost(f"AMI {self.address}: {reason}"))
        for _, waiting in self._awaited.values():
            if not waiting.done():
                waiting.set_exception(AmiConnectionLost(f"AMI {self.address}: {reason}"))

    # -- supervisor --------------------------------------------------------------------------------

    async def _supervise(self) -> None:
        failures = 0
        try:
            while not self._closing:
                try:
                    reason, logged_in = await self._session()
                except AmiLoginFailed as exc:
                    self._fatal = exc
                    logger.error("%s", exc)
                    return
                except Exception as exc:  # a bug must not end the service: log it and reconnect
                    logger.exception("AMI %s: unexpected error in the connection", self.address)
                    reason, logged_in = _describe(exc), False
                if self._closing:
                    return
                failures = 0 if logged_in else failures + 1
                delay = backoff_delay(max(0, failures - 1), self.reconnect_initial, self.reconnect_max,
                                      self._rng)
                logger.warning("AMI %s: %s; reconnecting in %.2f s", self.address, reason, delay)
                await asyncio.sleep(delay)
        finally:
            self._stop()

    async def _session(self) -> tuple[str, bool]:
        """One connection from TCP connect to its end; returns why it ended and whether we logged in."""
        self.stats.connect_attempts += 1
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port, limit=STREAM_LIMIT), self.action_timeout)
        except (OSError, TimeoutError) as exc:
            return f"cannot connect: {_describe(exc)}", False
        self._writer = writer
        tasks: list[asyncio.Task[Any]] = []
        reason = "connection ended"
        try:
            parser = PacketParser(self.encoding, self.fallback_encoding, self.max_packet_bytes,
                                  skip_events=self.skip_events, raw_only=self.raw_only)
            try:
                first = await asyncio.wait_for(self._read_banner(reader, parser), self.action_timeout)
            except TimeoutError:
                raise AmiError(f"no AMI banner within {self.action_timeout:g} s; is {self.address} "
                               "an Asterisk manager port?") from None
            read_task = asyncio.create_task(self._read_loop(reader, parser, first), name="ami-reader")
            tasks.append(read_task)
            await self._login()
            self._opened()
            keepalive = asyncio.create_task(self._keepalive(), name="ami-keepalive")
            tasks += [keepalive, asyncio.create_task(self._run_on_connect(), name="ami-on-connect")]
            done, _ = await asyncio.wait([read_task, keepalive], return_when=asyncio.FIRST_COMPLETED)
            # When the reader ended, its reason is the cause: the keepalive may have finished in the same
            # step only because the reader failed its pending ping ("connection ended").
            finished = read_task if read_task in done else done.pop()
            failure = finished.exception()
            reason = _describe(failure) if failure is not None else str(finished.result())
        except (OSError, TimeoutError, AmiError, EOFError) as exc:
            if isinstance(exc, AmiLoginFailed):
                raise
            reason = _describe(exc)
        finally:
            if self._closing:
                reason = "closed by the client"
            logged_in = self._logged_in
            await self._end_session(tasks, writer, reason)
        return reason, logged_in

    async def _read_banner(self, reader: asyncio.StreamReader, parser: PacketParser) -> list[Packet]:
        """Read until the first line has arrived; returns any packets that came with it."""
        packets: list[Packet] = []
        while parser.banner is None and not packets:
            data = await reader.read(READ_SIZE)
            if not data:
                raise EOFError("connection closed before the AMI banner")
            packets = parser.feed(data)
            if parser.started and parser.banner is None:
                logger.warning("AMI %s sent no banner line", self.address)
                break
        self.banner = parser.banner
        return packets

    async def _login(self) -> None:
        headers = [("Username", self.username), ("Secret", self._secret), ("Events", "on")]
        result = await self._request("Login", headers, self.action_timeout)
        if result.response.get("Response") == "Success":
            return
        message = result.message or "no message"
        if self._secret:
            message = message.replace(self._secret, "********")
        raise AmiLoginFailed(
            f"AMI login to {self.address} as user {self.username!r} failed: {message}. "
            "Check the username, the secret (HOTLINE_AMI_SECRET) and the permit/deny lists in manager.conf."
        )

    def _opened(self) -> None:
        """Login succeeded: open a connection window and start holding this connection's events."""
        self._logged_in = True
        self.stats.logins += 1
        self._begin_hold()
        self.connection_log.append(ConnectionWindow(self._clock.now(), None, ""))
        del self.connection_log[:-CONNECTION_LOG_KEPT]
        self._connected.set()
        logger.info("AMI %s: logged in as %r (%s)", self.address, self.username, self.banner or "no banner")

    async def _end_session(self, tasks: list[asyncio.Task[Any]], writer: asyncio.StreamWriter,
                           reason: str) -> None:
        """Close the window and the socket first (no await), then let the session's tasks finish."""
        self._fail_pending(reason)
        self._writer = None
        self._release_hold()
        if self._logged_in:
            self._logged_in = False
            self._connected.clear()
            self.stats.disconnects += 1
            last = self.connection_log[-1]
            self.connection_log[-1] = last._replace(disconnected_at=self._clock.now(), reason=reason)
            logger.info("AMI %s: disconnected: %s", self.address, reason)
        writer.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _keepalive(self) -> str:
        """Ping every ping_interval; a Ping unanswered within ping_timeout ends the connection."""
        while True:
            await asyncio.sleep(self.ping_interval)
            waits = self.stats.backpressure_waits
            try:
                await self._request("Ping", None, self.ping_timeout)
                self.stats.pings += 1
            except AmiActionTimeout:
                if self._reader_waiting or self.stats.backpressure_waits != waits:
                    continue  # our own consumer is slow: the reply is waiting in the socket
                self.stats.ping_timeouts += 1
                return f"no reply to Ping within {self.ping_timeout:g} s (PBX hung or connection half-open)"

    async def _run_on_connect(self) -> None:
        try:
            if self.on_connect is not None:
                await self.on_connect(self)
        except asyncio.CancelledError:
            raise
        except (AmiConnectionLost, AmiNotConnected) as exc:
            logger.warning("AMI %s: on_connect did not finish, the connection ended: %s", self.address, exc)
        except Exception:
            self.stats.callback_errors += 1
            logger.exception("AMI %s: on_connect callback failed; live events continue", self.address)
        finally:
            self._release_hold()

    def _begin_hold(self) -> None:
        """Hold back live events from here on; everything already in the backlog may still go out."""
        if self._releasable is None:
            self._releasable = len(self._events)

    def _release_hold(self) -> None:
        if self._releasable is not None:
            self._releasable = None
            self._wakeup.set()
            self._room.set()

    # -- reading -----------------------------------------------------------------------------------

    async def _read_loop(self, reader: asyncio.StreamReader, parser: PacketParser, first: list[Packet]) -> str:
        """Read, parse and dispatch until the server closes; returns the reason."""
        try:
            if first:
                await self._dispatch(first)
            while True:
                data = await reader.read(READ_SIZE)
                if not data:
                    partial = parser.pending_bytes
                    tail = f" ({partial} bytes of an incomplete packet discarded)" if partial else ""
                    return f"connection closed by the PBX{tail}"
                self.stats.bytes_received += len(data)
                oversized, undecodable, skipped = parser.oversized, parser.undecodable, parser.skipped
                packets = parser.feed(data)
                self.stats.oversized += parser.oversized - oversized
                self.stats.undecodable += parser.undecodable - undecodable
                self.stats.skipped += parser.skipped - skipped
                if packets:
                    await self._dispatch(packets)
        except (OSError, EOFError) as exc:
            return f"connection lost: {_describe(exc)}"
        finally:
            self._fail_pending("connection ended")

    async def _dispatch(self, packets: list[Packet]) -> None:
        """Route replies to their actions and live events to the consumer, then apply backpressure."""
        self.stats.packets += len(packets)
        pending = self._pending
        expired = self._expired
        on_event = self.on_event
        events = self._events
        before = len(events)
        awaited = self._awaited
        for packet in packets:
            action_id = packet.get("ActionID")
            if action_id is not None and action_id in awaited and packet.get("Event") == awaited[action_id][0]:
                waiting = awaited[action_id][1]
                if not waiting.done():
                    waiting.set_result(packet)
                continue
            if action_id is not None and (action_id in pending or action_id in expired):
                self._route_reply(action_id, packet)
                continue
            if on_event is not None:
                self._call_on_event(on_event, packet)
            events.append(packet)
        if len(events) != before:
            self.stats.events += len(events) - before
            self._wakeup.set()
            if len(events) >= self.queue_size and self._releasable is None:
                await self._wait_for_room()

    def _route_reply(self, action_id: str, packet: Packet) -> None:
        pending = self._pending.get(action_id)
        if pending is None:
            self.stats.late_replies += 1
            logger.debug("AMI %s: dropped a late reply for ActionID %s", self.address, action_id)
            return
        self.stats.action_packets += 1
        if pending.add(packet) and not pending.future.done():
            if pending.action == "Login" and packet.get("Response") == "Success":
                self._begin_hold()  # events in this very read already belong to the new connection
            pending.future.set_result(pending.result())

    def _call_on_event(self, on_event: OnEvent, packet: Packet) -> None:
        try:
            on_event(packet)
        except Exception:
            self.stats.callback_errors += 1
            logger.exception("AMI %s: on_event callback failed for %s (Uniqueid %s); continuing",
                             self.address, packet.get("Event"), packet.get("Uniqueid"))

    async def _wait_for_room(self) -> None:
        """The consumer is behind: stop reading until it has taken some events (TCP pushes back)."""
        self.stats.backpressure_waits += 1
        self._reader_waiting = True
        try:
            while len(self._events) >= self.queue_size and self._releasable is None:
                self._room.clear()
                await self._room.wait()
        finally:
            self._reader_waiting = False
