"""AMI framing and decoding (protocol.py) on the recorded traces and on hand-made edge cases."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from hotline.providers.asterisk.client import backoff_delay
from hotline.providers.asterisk.protocol import (
    Packet,
    PacketParser,
    decode_lines,
    encode_action,
    encode_packet,
    mask_secrets,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ami"
TRACES = sorted(FIXTURES.glob("*.ami"))
BANNER = b"Asterisk Call Manager/11.0.0\r\n"


def parse_all(data: bytes, **kwargs: object) -> tuple[PacketParser, list[Packet]]:
    parser = PacketParser(**kwargs)  # type: ignore[arg-type]
    return parser, parser.feed(data)


def feed_in_pieces(data: bytes, sizes: list[int], **kwargs: object) -> tuple[PacketParser, list[Packet]]:
    parser = PacketParser(**kwargs)  # type: ignore[arg-type]
    packets: list[Packet] = []
    start = 0
    for size in sizes:
        packets += parser.feed(data[start:start + size])
        start += size
    packets += parser.feed(data[start:])
    return parser, packets


# -- recorded traces ------------------------------------------------------------------------------


@pytest.mark.parametrize("trace", TRACES, ids=lambda p: p.name)
def test_every_recorded_packet_is_parsed_with_the_banner_apart(trace: Path) -> None:
    data = trace.read_bytes()
    parser, packets = parse_all(data)
    assert parser.banner == "Asterisk Call Manager/11.0.0"
    assert len(packets) == data.count(b"\r\n\r\n") == parser.packets
    assert parser.pending_bytes == 0
    assert b"".join(p.raw + b"\r\n\r\n" for p in packets) == data[len(BANNER):]
    assert all(p.bad_lines == [] and not p.undecodable for p in packets)
    assert packets[0].response in ("Success", "Error")
    assert packets[0].action_id in ("login", "snap-login", "login-bad")


@pytest.mark.parametrize("trace", TRACES[:4], ids=lambda p: p.name)
def test_random_read_sizes_give_the_same_packets(trace: Path) -> None:
    data = trace.read_bytes()
    _, whole = parse_all(data)
    rng = random.Random(trace.name)
    sizes = [rng.choice([1, 2, 3, 7, 64, 500, 4096]) for _ in range(len(data) // 300)]
    parser, pieces = feed_in_pieces(data, sizes)
    assert parser.banner == "Asterisk Call Manager/11.0.0"
    assert [p.raw for p in pieces] == [p.raw for p in whole]
    assert [p.headers for p in pieces] == [p.headers for p in whole]


def test_byte_by_byte_feeding_of_the_login_failure_trace() -> None:
    data = (FIXTURES / "login_failed.ami").read_bytes()
    parser = PacketParser()
    packets = [p for byte in data for p in parser.feed(bytes([byte]))]
    assert parser.banner == "Asterisk Call Manager/11.0.0"
    assert [dict(p) for p in packets] == [
        {"Response": "Error", "ActionID": "login-bad", "Message": "Authentication failed"}]


def test_empty_values_and_timestamps_from_a_real_event() -> None:
    _, packets = parse_all((FIXTURES / "answered_caller_hangup.ami").read_bytes())
    newchannel = next(p for p in packets if p.event == "Newchannel")
    assert newchannel["AccountCode"] == ""
    assert newchannel["CallerIDNum"] == "<unknown>"
    assert newchannel.timestamp is not None and newchannel.timestamp > 1.7e9
    assert newchannel.response is None
    assert packets[0].timestamp is None  # responses carry no Timestamp


def test_gbk_caller_name_is_decoded_per_packet_with_the_fallback() -> None:
    parser, packets = parse_all((FIXTURES / "gbk_caller_name.ami").read_bytes())
    gbk = [p for p in packets if p.encoding == "gb18030"]
    assert gbk, "the trace has GBK caller names"
    assert parser.undecodable == 0
    names = {p.get("CallerIDName") for p in gbk if "CallerIDName" in p}
    assert names == {"张伟"}
    for packet in gbk:
        assert not packet.undecodable
        assert b"\xd5\xc5\xce\xb0" in packet.raw
    utf8 = [p for p in packets if p.event == "Newchannel" and p.encoding == "utf-8"]
    assert utf8, "packets without GBK bytes stay on the primary encoding"


# -- edge cases --------------------------------------------------------------------------------------


def test_first_value_wins_and_every_value_is_kept_in_order() -> None:
    data = (b"Event: Newexten\r\nChanVariable: FROM_DID=4008001234\r\nChanVariable: QUEUE=network\r\n"
            b"Uniqueid: 1.2\r\n\r\n")
    _, (packet,) = parse_all(data)
    assert packet["ChanVariable"] == "FROM_DID=4008001234"
    assert packet.getall("ChanVariable") == ["FROM_DID=4008001234", "QUEUE=network"]
    assert packet.headers == [("Event", "Newexten"), ("ChanVariable", "FROM_DID=4008001234"),
                              ("ChanVariable", "QUEUE=network"), ("Uniqueid", "1.2")]
    assert list(packet) == ["Event", "ChanVariable", "Uniqueid"]


def test_key_without_space_and_lines_without_colon_are_kept() -> None:
    data = (b"Event: Newchannel\r\nThisLineHasNoColonSeparator\r\nCallerIDNum:15550002\r\n"
            b"Empty:\r\nUniqueid: 1.9\r\n\r\nEvent: Next\r\n\r\n")
    _, packets = parse_all(data)
    first = packets[0]
    assert first["CallerIDNum"] == "15550002"
    assert first["Empty"] == ""
    assert first["Uniqueid"] == "1.9"
    assert first.bad_lines == ["ThisLineHasNoColonSeparator"]
    assert [p.event for p in packets] == ["Newchannel", "Next"]


def test_utf8_character_split_across_reads_is_not_lost() -> None:
    data = "Event: Newchannel\r\nCallerIDName: 张三\r\n\r\n".encode()
    cut = data.index("张".encode()) + 1
    parser = PacketParser()
    assert parser.feed(data[:cut]) == []
    (packet,) = parser.feed(data[cut:])
    assert packet["CallerIDName"] == "张三"
    assert packet.encoding == "utf-8"


def test_mixed_utf8_and_gbk_lines_are_each_decoded_right() -> None:
    data = "Event: Cdr\r\nCallerIDName: 李四\r\n".encode() + b"Source: " + "张三".encode("gbk") + b"\r\n\r\n"
    _, (packet,) = parse_all(data)
    assert packet["CallerIDName"] == "李四"
    assert packet["Source"] == "张三"
    assert packet.encoding == "gb18030"


def test_undecodable_bytes_are_kept_recoverably_and_counted() -> None:
    data = b"Event: Odd\r\nName: \xff\xfe\x80\r\nUniqueid: 7\r\n\r\nEvent: After\r\n\r\n"
    parser, packets = parse_all(data)
    odd = packets[0]
    assert odd.undecodable
    assert parser.undecodable == 1
    assert odd["Uniqueid"] == "7"
    assert odd["Name"].encode("utf-8", "surrogateescape") == b"\xff\xfe\x80"
    assert odd.raw == data[:data.index(b"\r\n\r\n")]
    assert packets[1].event == "After"


def test_decode_lines_reports_the_encoding_used() -> None:
    assert decode_lines(b"A: b\r\n", "utf-8", "gb18030") == ("A: b\r\n", "utf-8", False)
    text, used, bad = decode_lines("A: 张\r\n".encode("gbk"), "utf-8", "gb18030")
    assert (text, used, bad) == ("A: 张\r\n", "gb18030", False)


def test_oversized_packet_is_skipped_without_losing_the_next_ones() -> None:
    huge = b"Event: UserEvent\r\nData: " + b"x" * 5000 + b"\r\n\r\n"
    data = b"Event: Before\r\n\r\n" + huge + b"Event: After\r\n\r\n"
    parser, packets = parse_all(data, max_packet_bytes=1000)
    assert [p.event for p in packets] == ["Before", "After"]
    assert parser.oversized == 1


@pytest.mark.parametrize("piece", [1, 3, 97, 1024])
def test_oversized_packet_arriving_in_pieces_is_skipped(piece: int) -> None:
    huge = b"Event: UserEvent\r\nData: " + b"y" * 5000 + b"\r\n\r\n"
    data = b"Event: Before\r\n\r\n" + huge + b"Event: After\r\nKey: v\r\n\r\n" + huge + b"Event: Last\r\n\r\n"
    parser, packets = feed_in_pieces(data, [piece] * (len(data) // piece), max_packet_bytes=1000)
    assert [p.event for p in packets] == ["Before", "After", "Last"]
    assert packets[1]["Key"] == "v"
    assert parser.oversized == 2
    assert parser.pending_bytes < 1000


def test_bare_lf_line_endings_are_tolerated() -> None:
    data = b"Asterisk Call Manager/2.10.4\nResponse: Success\nMessage: ok\n\nEvent: X\nA:b\n\n"
    parser, packets = parse_all(data)
    assert parser.banner == "Asterisk Call Manager/2.10.4"
    assert [dict(p) for p in packets] == [{"Response": "Success", "Message": "ok"}, {"Event": "X", "A": "b"}]


def test_banner_alone_is_not_a_packet_even_when_split() -> None:
    parser = PacketParser()
    assert parser.feed(b"Asterisk Call ") == []
    assert parser.banner is None
    assert parser.feed(b"Manager/11.0.0\r\n") == []
    assert parser.banner == "Asterisk Call Manager/11.0.0"
    assert parser.feed(b"Response: Success\r\n\r\n")[0].response == "Success"


def test_stream_without_banner_starts_with_a_packet() -> None:
    parser, packets = parse_all(b"Action: Ping\r\nActionID: 1\r\n\r\n", expect_banner=False)
    assert parser.banner is None
    assert packets[0]["Action"] == "Ping"


def test_legacy_command_output_becomes_output_headers() -> None:
    data = (b"Response: Follows\r\nPrivilege: Command\r\nActionID: c1\r\n"
            b"Channel: SIP/100\nState: Up\n\n2 active channels\n--END COMMAND--\r\n\r\n")
    _, (packet,) = parse_all(data)
    assert packet.response == "Follows"
    assert packet.action_id == "c1"
    assert packet.getall("Output") == ["Channel: SIP/100", "State: Up", "", "2 active channels"]
    assert "Channel" not in packet


def test_modern_command_output_lines_are_all_kept() -> None:
    data = b"Response: Success\r\nMessage: Command output follows\r\nOutput: a: 1\r\nOutput: b\r\n\r\n"
    _, (packet,) = parse_all(data)
    assert packet.getall("Output") == ["a: 1", "b"]


def test_packet_built_by_hand() -> None:
    packet = Packet.from_headers([("Event", "Hangup"), ("Variable", "A=1"), ("Variable", "B=2")])
    assert packet.event == "Hangup"
    assert packet["Variable"] == "A=1"
    assert packet.getall("Variable") == ["A=1", "B=2"]
    plain = Packet({"Event": "X", "ActionID": "7"})
    assert plain.headers == [("Event", "X"), ("ActionID", "7")]
    assert plain.action_id == "7" and plain.raw == b"" and plain.bad_lines == []


def test_skipped_events_are_dropped_before_decoding_and_counted() -> None:
    data = (FIXTURES / "answered_caller_hangup.ami").read_bytes() + b"Event: CEL\r\n\r\nEvent: CELX\r\n\r\n"
    _, everything = parse_all(data)
    parser, kept = parse_all(data, skip_events=["CEL", "Newexten"])
    dropped = [p for p in everything if p.event in ("CEL", "Newexten")]
    assert dropped and parser.skipped == len(dropped)
    assert [p.raw for p in kept] == [p.raw for p in everything if p.event not in ("CEL", "Newexten")]
    assert kept[-1].event == "CELX"


# -- encoding and secrets ----------------------------------------------------------------------------


def test_encode_action_puts_action_first_and_action_id_last() -> None:
    data = encode_action("Originate", [("Channel", "Local/1@x"), ("Variable", "A=1"), ("Variable", "B=2")], "id-1")
    assert data == (b"Action: Originate\r\nChannel: Local/1@x\r\nVariable: A=1\r\nVariable: B=2\r\n"
                    b"ActionID: id-1\r\n\r\n")
    assert encode_action("Ping", None, "p") == b"Action: Ping\r\nActionID: p\r\n\r\n"
    assert encode_action("Login", {"Username": "张"}, "x", "gbk").count("张".encode("gbk")) == 1


@pytest.mark.parametrize("headers", [{"Channel": "a\r\nAction: Hangup"}, {"Bad\nKey": "v"}, {"ActionID": "x"}])
def test_encode_action_refuses_header_injection(headers: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        encode_action("Ping", headers, "p")


def test_encode_packet_round_trips_through_the_parser() -> None:
    pairs = [("Event", "Newchannel"), ("CallerIDName", "张三"), ("AccountCode", "")]
    parser = PacketParser(expect_banner=False)
    (packet,) = parser.feed(encode_packet(pairs))
    assert packet.headers == pairs


def test_secrets_are_masked_everywhere_they_could_show() -> None:
    data = encode_action("Login", [("Username", "hotline"), ("Secret", "s3cr3t!"), ("Events", "on")], "l1")
    assert "s3cr3t!" not in mask_secrets(data)
    assert "Username: hotline" in mask_secrets(data)
    assert "s3cr3t!" not in mask_secrets(data.decode())
    assert "s3cr3t!" not in mask_secrets({"Secret": "s3cr3t!", "Username": "u"})
    parser = PacketParser(expect_banner=False)
    (packet,) = parser.feed(data)
    assert packet["Secret"] == "s3cr3t!"
    assert "s3cr3t!" not in repr(packet)


# -- reconnect backoff (pure) -------------------------------------------------------------------------


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(n, 1.0, 60.0, rng) for n in range(12)]
    for n, delay in enumerate(delays):
        ceiling = min(60.0, 2.0 ** n)
        assert ceiling / 2 <= delay <= ceiling
    assert max(delays) <= 60.0
    assert backoff_delay(10_000, 1.0, 60.0, rng) <= 60.0
    assert len({round(backoff_delay(3, 1.0, 60.0, rng), 6) for _ in range(10)}) > 1


def test_decoder_warnings_name_the_event_but_never_log_the_callers_number(
        caplog: pytest.LogCaptureFixture) -> None:
    data = (b"Event: Newchannel\r\nCallerIDNum: 13800138002\r\nCallerIDName: \xff\xfe\x80\r\n\r\n"
            b"Event: Hangup\r\nCallerIDNum: 13900139005\r\nbroken line without colon\r\n\r\n")
    with caplog.at_level("WARNING", logger="hotline.providers.asterisk.protocol"):
        _, packets = parse_all(data)
    assert packets[0]["CallerIDNum"] == "13800138002"  # kept in the packet, for the ledger
    assert "Event=Newchannel" in caplog.text and "undecodable" in caplog.text
    assert "Event=Hangup with 1 line(s) without a colon" in caplog.text
    assert "13800138002" not in caplog.text and "13900139005" not in caplog.text
