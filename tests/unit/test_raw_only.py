"""Events the tracker never reads are kept as bytes only (fast path), yet stored with their call."""

from __future__ import annotations

from hotline.config import Settings
from hotline.providers.asterisk.protocol import PacketParser, RawEvent
from hotline.providers.asterisk.tracker import TrackerConfig


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
