"""AMI framing and decoding: bytes from the manager port in, packets out, and actions back to bytes.

Pure code (no asyncio, no clock). A packet is a block of `Key: Value` lines ended by an empty line.
Decoding is done per packet, never per read: strict primary encoding first; if that fails, each
line is decoded on its own with the primary encoding, then the fallback, then `surrogateescape`,
so a GBK caller name never spoils the UTF-8 fields around it and the original bytes stay in `.raw`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence

logger = logging.getLogger(__name__)

CRLF_SEPARATOR = b"\r\n\r\n"
LF_SEPARATOR = b"\n\n"
END_COMMAND = "--END COMMAND--"
SECRET_MASK = "********"
_BANNER_SCAN_LIMIT = 4096
_SECRET_LINE = re.compile(r"(?im)^([ \t]*secret[ \t]*:)[^\r\n]*")
_SECRET_KEYS = frozenset({"secret"})
_ESCAPED = re.compile("[\udc80-\udcff]+")

HeaderItems = Mapping[str, str] | Sequence[tuple[str, str]]


class Packet(dict[str, str]):
    """One AMI message: a dict where the first value of a repeated key wins, plus every header in order.

    `.headers` keeps all headers (including repeated `Output`, `ChanVariable`, `Variable`), `.raw`
    the bytes as received (without the closing empty line), `.bad_lines` the lines without a colon.
    """

    raw: bytes = b""
    encoding: str = "utf-8"
    undecodable: bool = False
    _text: str | None = None
    _pairs: list[tuple[str, str]] | None = None
    _bad: list[str] | None = None

    @classmethod
    def from_headers(cls, headers: HeaderItems, raw: bytes = b"", encoding: str = "utf-8") -> Packet:
        """Build a packet by hand (tests, fake server): first value wins, all values kept in order."""
        pairs = list(headers.items()) if isinstance(headers, Mapping) else [(k, v) for k, v in headers]
        packet = cls(pairs)
        if len(packet) != len(pairs):
            _first_wins(packet, pairs)
        packet._pairs = pairs
        packet.raw = raw
        packet.encoding = encoding
        return packet

    @property
    def headers(self) -> list[tuple[str, str]]:
        """All headers in received order, duplicates included (a fresh list on each call)."""
        return list(self._all_pairs())

    def getall(self, key: str) -> list[str]:
        """Every value of `key` (exact spelling), in received order."""
        return [value for name, value in self._all_pairs() if name == key]

    def _all_pairs(self) -> list[tuple[str, str]]:
        """The ordered headers; parsed packets keep only their text until somebody asks."""
        if self._pairs is None:
            if self._text is None:
                return list(self.items())
            self._pairs = split_headers(self._text)[0]
        return self._pairs

    @property
    def bad_lines(self) -> list[str]:
        """Lines that had no colon; kept so nothing is silently dropped."""
        if self._bad is None:
            self._bad = []
        return self._bad

    @property
    def event(self) -> str | None:
        return self.get("Event")

    @property
    def response(self) -> str | None:
        return self.get("Response")

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")

    @property
    def timestamp(self) -> float | None:
        """The `Timestamp` header as epoch seconds (None when absent or not a number)."""
        value = self.get("Timestamp")
        if value is None:
            return None
        try:
            return float(value)
        except ValueError:
            return None

    def __repr__(self) -> str:
        shown = {k: (SECRET_MASK if k.lower() in _SECRET_KEYS else v) for k, v in self.items()}
        return f"Packet({shown!r})"


class RawEvent(Packet):
    """An event kept only as bytes (for the raw-event record): its headers are not parsed, only the
    `Event` name is set. Produced for the event names given as `raw_only` to the parser."""

    def header(self, key: bytes) -> str | None:
        """One header read straight from the bytes (e.g. `b"Linkedid"`), None when absent."""
        raw = self.raw
        i = raw.find(b"\n" + key + b": ")
        if i < 0:
            return None
        i += len(key) + 3
        j = raw.find(b"\r", i)
        return raw[i:j if j >= 0 else None].decode("utf-8", "replace")


class PacketParser:
    """Incremental AMI parser: `feed(bytes)` returns the packets completed by those bytes.

    Handles the banner line, `\\r\\n` or bare `\\n` line endings (decided by the first line), packets
    larger than `max_packet_bytes` (skipped up to the next separator and counted), and the legacy
    `Response: Follows` command format (its output lines become `Output` headers). Events named in
    `skip_events` (e.g. CEL, Newexten on a `read=all` account) are counted in `.skipped` and dropped
    before any decoding, which is the cheapest way to keep up with a busy PBX.
    """

    def __init__(
        self,
        encoding: str = "utf-8",
        fallback: str = "gb18030",
        max_packet_bytes: int = 1 << 20,
        *,
        expect_banner: bool = True,
        skip_events: Iterable[str] = (),
        raw_only: Mapping[str, Sequence[bytes]] | None = None,
    ) -> None:
        self.encoding = encoding
        self.fallback = fallback
        self.max_packet_bytes = max_packet_bytes
        self.banner: str | None = None
        self.packets = 0
        self.undecodable = 0
        self.oversized = 0
        self.skipped = 0
        self.skip_events = frozenset(name.encode() for name in skip_events)
        # Event name -> byte strings that, when present, make the packet worth parsing after all.
        self.raw_only = {name.encode(): tuple(unless) for name, unless in (raw_only or {}).items()}
        self._names: dict[bytes, str] = {}
        # Hot path: one C-level startswith over every raw-only event's first line, then, for events kept
        # only when they hold some bytes (VarSet of a variable we read), one regex search.
        self._raw_heads = tuple(b"Event: " + name + b"\r\n" for name in self.raw_only)
        self._raw_unless = {
            name: re.compile(b"|".join(re.escape(u) for u in unless)) if unless else None
            for name, unless in self.raw_only.items()
        }
        self._expect_banner = expect_banner
        self._started = False
        self._separator = CRLF_SEPARATOR
        self._newline = "\r\n"
        self._buffer = b""
        self._discarding = False
        self._discarded_bytes = 0

    @property
    def started(self) -> bool:
        """True once the first line has arrived (banner read or known to be absent)."""
        return self._started

    @property
    def pending_bytes(self) -> int:
        """Bytes of an incomplete packet held until more data arrives."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Packet]:
        """Add received bytes; return every packet they complete, in order."""
        buffer = self._buffer + data if self._buffer else data
        if not self._started:
            buffer = self._start(buffer)
            if not self._started:
                self._buffer = buffer
                return []
        if self._discarding:
            buffer = self._discard(buffer)
            if self._discarding:
                return []
        chunks = buffer.split(self._separator)
        self._buffer = chunks.pop()
        packets = self._parse_chunks(chunks)
        if len(self._buffer) > self.max_packet_bytes:
            self._begin_discard()
        return packets

    def _parse_chunks(self, chunks: list[bytes]) -> list[Packet]:
        """Turn complete packet bytes into packets; this loop is the hot path."""
        packets: list[Packet] = []
        append = packets.append
        encoding = self.encoding
        not_utf8 = encoding != Packet.encoding
        limit = self.max_packet_bytes
        fast_build = self._fast_build if self._newline == "\r\n" else None
        skip = self.skip_events
        raw_heads = self._raw_heads if self._newline == "\r\n" else ()
        raw_unless = self._raw_unless
        names = self._names
        for chunk in chunks:
            if not chunk or len(chunk) > limit:
                if chunk:
                    self._count_oversized(len(chunk))
                continue
            if skip and chunk.startswith(b"Event: "):
                end = chunk.find(b"\n", 7)
                if chunk[7:end if end > 0 else None].rstrip() in skip:
                    self.skipped += 1
                    continue
            if raw_heads and chunk.startswith(raw_heads):
                name = chunk[7:chunk.find(b"\r", 7)]
                unless = raw_unless[name]
                if unless is None or unless.search(chunk) is None:
                    event = RawEvent(Event=names.get(name) or self._name(name))
                    event.raw = chunk
                    append(event)
                    continue
            try:
                text = chunk.decode(encoding)
            except UnicodeDecodeError:
                append(self._slow_packet(chunk))
                continue
            packet = fast_build(text) if fast_build is not None else None
            if packet is None:
                append(self._careful_build(text, chunk, encoding, False))
                continue
            packet.raw = chunk
            if not_utf8:
                packet.encoding = encoding
            append(packet)
        self.packets += len(packets)
        return packets

    def _name(self, name: bytes) -> str:
        text = self._names[name] = name.decode("ascii", "replace")
        return text

    def _slow_packet(self, chunk: bytes) -> Packet:
        """Decode line by line with fallbacks, then build the packet."""
        text, used, undecodable = decode_lines(chunk, self.encoding, self.fallback)
        if undecodable:
            self.undecodable += 1
            # Not the bytes themselves: they hold caller numbers (CallerIDNum); the raw store keeps them.
            logger.warning("AMI packet %s of %d bytes with bytes undecodable as %s or %s (kept with "
                           "surrogateescape)", _event_of(chunk), len(chunk), self.encoding, self.fallback)
        packet = self._fast_build(text) if self._newline == "\r\n" else None
        if packet is None:
            return self._careful_build(text, chunk, used, undecodable)
        packet.raw = chunk
        packet.encoding = used
        packet.undecodable = undecodable
        return packet

    @staticmethod
    def _fast_build(text: str) -> Packet | None:
        """The common case: every line is `Key: Value`; None when a line is not (or legacy Follows)."""
        if text.startswith("Response: Follows"):
            return None
        pairs = [line.split(": ", 1) for line in text.split("\r\n")]
        try:
            packet = Packet(pairs)
        except ValueError:
            return None
        if len(packet) != len(pairs):
            _first_wins(packet, pairs)
        packet._text = text
        return packet

    def _careful_build(self, text: str, raw: bytes, encoding: str, undecodable: bool) -> Packet:
        """Lines without a colon or space, bare `\n` endings, the legacy Follows body."""
        pairs, bad = split_headers(text, self._newline)
        packet = Packet(pairs)
        if len(packet) != len(pairs):
            _first_wins(packet, pairs)
        packet._pairs = pairs
        if bad:
            packet._bad = bad
            logger.warning("AMI packet %s with %d line(s) without a colon, kept in bad_lines", _event_of(raw),
                           len(bad))
        packet.raw = raw
        packet.encoding = encoding
        packet.undecodable = undecodable
        return packet

    def _start(self, buffer: bytes) -> bytes:
        """Read the first line: it decides the line ending and may be the banner."""
        end = buffer.find(b"\n")
        if end < 0:
            if len(buffer) > _BANNER_SCAN_LIMIT:
                self._started = True
            return buffer
        self._started = True
        line = buffer[:end]
        if not line.endswith(b"\r"):
            self._separator, self._newline = LF_SEPARATOR, "\n"
        if self._expect_banner and b":" not in line:
            self.banner = line.rstrip(b"\r").decode(self.encoding, "replace")
            return buffer[end + 1:]
        return buffer

    def _begin_discard(self) -> None:
        self._discarding = True
        self._discarded_bytes = len(self._buffer)
        self._buffer = self._buffer[-(len(self._separator) - 1):]

    def _discard(self, buffer: bytes) -> bytes:
        """Drop bytes of an oversized packet until its separator; return what follows it."""
        end = buffer.find(self._separator)
        if end < 0:
            self._discarded_bytes += len(buffer) - len(self._buffer)
            self._buffer = buffer[-(len(self._separator) - 1):]
            return b""
        self._discarded_bytes += end
        self._discarding = False
        self._buffer = b""
        self._count_oversized(self._discarded_bytes)
        return buffer[end + len(self._separator):]

    def _count_oversized(self, size: int) -> None:
        self.oversized += 1
        logger.warning("skipped an AMI packet of about %d bytes (max_packet_bytes is %d)",
                       size, self.max_packet_bytes)


def _first_wins(packet: Packet, pairs: Sequence[Sequence[str]]) -> None:
    """Repeated keys: make the plain lookup return the first value, as documented."""
    seen: set[str] = set()
    for key, value in pairs:
        if key not in seen:
            seen.add(key)
            packet[key] = value


def decode_lines(raw: bytes, encoding: str, fallback: str) -> tuple[str, str, bool]:
    """Decode line by line: primary, then fallback, then primary with surrogateescape.

    Returns the text, the encoding that had to be used (primary or fallback) and whether any line
    could only be kept with surrogateescape (its original bytes stay recoverable).
    """
    text = raw.decode(encoding, "surrogateescape")
    used = encoding
    undecodable = False
    parts: list[str] = []
    done = 0
    for match in _ESCAPED.finditer(text):
        if match.start() < done:
            continue  # this line was already handled
        start = text.rfind("\n", 0, match.start()) + 1
        end = text.find("\n", match.end())
        end = len(text) if end < 0 else end
        line = text[start:end]
        try:
            line = line.encode(encoding, "surrogateescape").decode(fallback)
            used = fallback
        except UnicodeDecodeError:
            undecodable = True
        parts += (text[done:start], line)
        done = end
    parts.append(text[done:])
    return "".join(parts), used, undecodable


def split_headers(text: str, newline: str = "\r\n") -> tuple[list[tuple[str, str]], list[str]]:
    """Split packet text into (key, value) pairs and lines without a colon.

    Accepts `Key:Value` without the space and empty values; the legacy `Response: Follows` body
    (lines up to `--END COMMAND--`) becomes `Output` headers.
    """
    segments = text.split(newline)
    output: list[str] = []
    if text.startswith("Response: Follows"):
        segments, output = _split_follows(segments, newline)
    pairs: list[tuple[str, str]] = []
    bad: list[str] = []
    for line in segments:
        line = line.rstrip("\r")
        if ": " in line:  # same rule as the parser's fast path: the first ": " separates
            key, value = line.split(": ", 1)
            pairs.append((key, value))
            continue
        key, colon, value = line.partition(":")
        if colon:
            pairs.append((key, value))
        elif line.strip():
            bad.append(line)
    pairs.extend(("Output", line) for line in output)
    return pairs, bad


def _split_follows(segments: list[str], newline: str) -> tuple[list[str], list[str]]:
    """Legacy Command reply: header lines, then raw output lines ending in `--END COMMAND--`."""
    for index, segment in enumerate(segments):
        if index > 0 and ("\n" in segment or END_COMMAND in segment):
            body = newline.join(segments[index:]).replace("\r\n", "\n")
            lines = body.split("\n")
            while lines and lines[-1].strip() in ("", END_COMMAND):
                lines.pop()
            return segments[:index], lines
    return segments, []


def encode_packet(headers: HeaderItems, encoding: str = "utf-8") -> bytes:
    """Render headers as one AMI packet (`Key: Value` lines and the closing empty line)."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    lines: list[str] = []
    for key, value in items:
        _check_header(key, value)
        lines.append(f"{key}: {value}\r\n")
    lines.append("\r\n")
    return "".join(lines).encode(encoding)


def encode_action(
    action: str, headers: HeaderItems | None, action_id: str, encoding: str = "utf-8"
) -> bytes:
    """Render an action: `Action` first, the given headers in order, `ActionID` last."""
    items = list(headers.items() if isinstance(headers, Mapping) else headers or [])
    for key, _ in items:
        if key.lower() in ("action", "actionid"):
            raise ValueError(f"header {key!r} is set by encode_action itself; pass it as an argument")
    return encode_packet([("Action", action), *items, ("ActionID", action_id)], encoding)


def _check_header(key: str, value: str) -> None:
    """Refuse line breaks and colons in keys: they would inject extra headers or packets."""
    if not key or ":" in key or any(c in key for c in "\r\n") or any(c in value for c in "\r\n"):
        raise ValueError(f"AMI header {key!r} has a line break or an invalid key")


def mask_secrets(data: str | bytes | HeaderItems) -> str:
    """Text safe for logs: the value of every `Secret` header replaced by asterisks."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    if isinstance(data, str):
        return _SECRET_LINE.sub(lambda m: f"{m.group(1)} {SECRET_MASK}", data)
    items: Iterable[tuple[str, str]] = data.items() if isinstance(data, Mapping) else data
    return ", ".join(f"{k}: {SECRET_MASK if k.lower() in _SECRET_KEYS else v}" for k, v in items)


_EVENT = re.compile(rb"^(Event|Response): ?([\w-]{1,64})", re.MULTILINE)


def _event_of(chunk: bytes) -> str:
    """'Event: Newchannel' of a packet, for a log line that must not carry its values."""
    found = _EVENT.search(chunk)
    return f"{found.group(1).decode()}={found.group(2).decode()}" if found else "(no Event line)"
