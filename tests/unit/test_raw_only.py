"""Events the tracker never reads are kept as bytes only (fast path), yet stored with their call."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from hotline.config import Settings
from hotline.providers.asterisk.pipeline import AmiPipeline
from hotline.providers.asterisk.protocol import PacketParser, RawEvent
from hotline.providers.asterisk.sim.traffic import TrafficGenerator
from hotline.providers.asterisk.tracker import TrackerConfig
from hotline.runtime.assembly import tracker_config


def test_raw_only_events_are_not_parsed_but_interesting_varsets_are(settings: Settings) -> None:
    cfg = TrackerConfig(numbers=frozenset({"4008001234"}))
    parser = PacketParser(expect_banner=False, raw_only=cfg.raw_only())
    data = (b"Event: CEL\r\nTimestamp: 1.5\r\nEventName: CHAN_START\r\nLinkedID: 9.0\r\n\r\n"
            b"Event: VarSet\r\nChannel: X\r\nVariable: MENU\r\nValue: 1\r\nLinkedid: 9.0\r\n\r\n"
            b"Event: VarSet\r\nChannel: X\r\nVariable: HOTLINE_SPECIALTY\r\nValue: network\r\n\r\n"
            b"Event: Newchannel\r\nChannel: X\r\nUniqueid: 9.1\r\n\r\n")
    cel, menu, specialty, newchannel = parser.feed(data)
    assert type(cel) is RawEvent and dict(cel) == {"Event": "CEL"}
    assert cel.header(b"LinkedID") == "9.0" and cel.header(b"EventName") == "CHAN_START"
    assert type(menu) is RawEvent and menu.header(b"Value") == "1"
    assert type(specialty) is not RawEvent and specialty["Value"] == "network"
    assert type(newchannel) is not RawEvent and newchannel["Uniqueid"] == "9.1"
    assert cel.raw.startswith(b"Event: CEL\r\n")


class _RawSink:
    """Keeps what the pipeline hands to the ledger: the call events and the raw rows."""

    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []

    def apply(self, events: object) -> None:
        pass

    def add_raw(self, rows: Iterable[dict[str, object]]) -> None:
        self.rows.extend(rows)

    def end_missing(self, provider: str, alive: set[str], at: datetime) -> object:
        return None

    def open_started(self, provider: str) -> dict[str, datetime]:
        return {}


def test_an_agent_complete_without_channel_fields_is_stored_with_its_call(settings: Settings) -> None:
    # Seen under load (fixtures README): AgentComplete with only Queue/Interface/MemberName/...; the
    # tracker matches it by queue + member, and the raw record of that call must hold it too.
    gen = TrafficGenerator(seed=11, start_epoch=1795412800.0, calls_per_hour=900, bare_agent_complete=1.0)
    packets, plan = gen.generate(120)
    parser = PacketParser(fallback=settings.ami.fallback_encoding, expect_banner=False,
                          raw_only=tracker_config(settings).raw_only())
    sink = _RawSink()
    pipeline = AmiPipeline(tracker_config(settings), sink)
    bare = 0
    for data in packets:
        for packet in parser.feed(data):
            if packet.get("Event") == "AgentComplete":
                assert "Channel" not in packet and "Uniqueid" not in packet and "Linkedid" not in packet
                bare += 1
            pipeline.packet(packet, packet.raw)
    answered_in_queue = {p.call_id for p in plan if p.outcome == "answered" and p.queue}
    assert bare == len(answered_in_queue) > 10
    stored: dict[str, int] = {}
    for row in sink.rows:
        raw = row["raw"]
        assert isinstance(raw, bytes)
        n = raw.count(b"Event: AgentComplete\r\n")
        if n:
            stored[str(row["call_id"])] = stored.get(str(row["call_id"]), 0) + n
    assert stored == dict.fromkeys(answered_in_queue, 1)
