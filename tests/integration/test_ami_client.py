"""The AMI client against the fake AMI server over real loopback TCP: every robustness probe."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from hotline.config import AmiSection
from hotline.providers.asterisk.client import (
    ActionResult,
    AmiActionTimeout,
    AmiClient,
    AmiLoginFailed,
    AmiNotConnected,
)
from hotline.providers.asterisk.protocol import CRLF_SEPARATOR, Packet
from hotline.providers.asterisk.sim.server import (
    Blackhole,
    Close,
    ConnectionScript,
    FakeAmiServer,
    Pause,
    Recording,
    Replay,
    Send,
    Stall,
    event,
    list_reply,
    probe_chan_variables,
    probe_gbk_value,
    probe_half_packet_then_close,
    probe_huge_value,
    probe_line_without_colon,
    probe_utf8_split,
    render,
    replay_with_drop,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ami"
SECRET = "Top-Secret-42"
FAST: dict[str, Any] = {"ping_interval": 0.2, "ping_timeout": 0.3, "action_timeout": 1.0,
                        "reconnect_initial": 0.02, "reconnect_max": 0.1}

Make = Callable[..., Awaitable[tuple[FakeAmiServer, AmiClient]]]


@pytest.fixture
async def ami() -> AsyncIterator[Make]:
    """Start a fake server (with the given scripts) and a client for it; both stop after the test."""
    pairs: list[tuple[FakeAmiServer, AmiClient]] = []

    async def make(*script: ConnectionScript, client: dict[str, Any] | None = None,
                   secret: str = SECRET, **server: Any) -> tuple[FakeAmiServer, AmiClient]:
        srv = FakeAmiServer(script, secret=SECRET, **server)
        await srv.start()
        cli = AmiClient("127.0.0.1", srv.port, "hotline", secret, **{**FAST, **(client or {})})
        pairs.append((srv, cli))
        return srv, cli

    yield make
    for srv, cli in pairs:
        await cli.close()
        await srv.stop()


@pytest.fixture(scope="module")
def answered() -> Recording:
    return Recording.load(FIXTURES / "answered_caller_hangup.ami")


@pytest.fixture(scope="module")
def snapshot() -> Recording:
    return Recording.load(FIXTURES / "reconnect_snapshot.ami")


async def take(client: AmiClient, count: int, timeout: float = 5.0) -> list[Packet]:
    async with asyncio.timeout(timeout):
        return [await client.next_event() for _ in range(count)]


def wire(packets: list[Packet]) -> list[bytes]:
    return [p.raw + CRLF_SEPARATOR for p in packets]


def ev(name: str, n: int) -> bytes:
    return render(event(name, ("Uniqueid", f"1795413105.{n}"), timestamp=1795413105.0 + n))


# -- login --------------------------------------------------------------------------------------------


async def test_live_events_arrive_in_order_byte_for_byte(ami: Make, answered: Recording) -> None:
    server, client = await ami(ConnectionScript([Replay(answered.events)]), fully_booted=False)
    await client.connect(timeout=2)
    got = await take(client, len(answered.events))
    assert wire(got) == answered.events
    assert client.banner == "Asterisk Call Manager/11.0.0"
    login = server.connections[0].actions[0]
    assert (login["Action"], login["Username"], login["Events"]) == ("Login", "hotline", "on")
    assert login["Secret"] == SECRET


async def test_failed_login_raises_a_clear_error_and_is_not_retried(
        ami: Make, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server, client = await ami(secret="wrong-" + SECRET)
    with pytest.raises(AmiLoginFailed) as failure:
        await client.connect(timeout=2)
    message = str(failure.value)
    assert f"127.0.0.1:{server.port}" in message
    assert "'hotline'" in message and "Authentication failed" in message
    assert SECRET not in message and "wrong-" not in message
    await asyncio.sleep(0.2)  # ten reconnect intervals: a retry would have happened by now
    assert len(server.connections) == 1
    assert server.connections[0].closed
    with pytest.raises(AmiLoginFailed):
        await client.next_event()
    assert "wrong-" not in caplog.text and SECRET not in caplog.text


async def test_failed_login_against_the_recorded_asterisk_reply() -> None:
    recorded = (FIXTURES / "login_failed.ami").read_bytes()

    async def asterisk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        banner, _, reply = recorded.partition(b"\r\n")
        writer.write(banner + b"\r\n")
        login = await reader.readuntil(b"\r\n\r\n")
        action_id = next(line[10:] for line in login.split(b"\r\n") if line.startswith(b"ActionID: "))
        writer.write(reply.replace(b"login-bad", action_id))
        writer.close()

    server = await asyncio.start_server(asterisk, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = AmiClient("127.0.0.1", port, "hotline", "wrong-secret", **FAST)
    try:
        with pytest.raises(AmiLoginFailed, match="Authentication failed"):
            await client.connect(timeout=2)
    finally:
        await client.close()
        server.close()


async def test_client_keeps_trying_until_the_pbx_is_up() -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    client = AmiClient("127.0.0.1", port, "hotline", SECRET, **FAST)
    await client.start()
    await asyncio.sleep(0.2)
    assert not client.connected and client.stats.connect_attempts >= 2
    async with FakeAmiServer(secret=SECRET, port=port):
        await client.wait_connected(timeout=2)
        assert client.connected and len(client.connection_log) == 1
        await client.close()


async def test_silent_port_is_reported_as_not_an_ami_port(caplog: pytest.LogCaptureFixture) -> None:
    async with FakeAmiServer(banner=None, script=[ConnectionScript(login="silent")]) as server:
        client = AmiClient("127.0.0.1", server.port, "hotline", SECRET, **{**FAST, "action_timeout": 0.2})
        await client.start()
        await server.wait_until(lambda: len(server.connections) >= 2, timeout=3)
        await client.close()
    assert "no AMI banner within 0.2 s" in caplog.text
    assert client.connection_log == []


async def test_client_from_settings_as_a_context_manager() -> None:
    async with FakeAmiServer(secret=SECRET) as server:
        settings = AmiSection(port=server.port, secret=SECRET, ping_interval=30.0, queue_size=7)
        async with AmiClient.from_settings(settings) as client:
            assert client.connected and client.queue_size == 7
            assert (await client.send_action("Ping")).ok
        assert server.connections[0].action_names() == ["Login", "Ping", "Logoff"]


async def test_send_action_before_login_is_refused(ami: Make) -> None:
    _, client = await ami()
    with pytest.raises(AmiNotConnected):
        await client.send_action("Ping")


# -- actions ------------------------------------------------------------------------------------------


async def test_snapshot_eventlists_are_collected_and_not_delivered_as_events(
        ami: Make, snapshot: Recording) -> None:
    replies = {"CoreShowChannels": snapshot.reply("snap-channels"), "QueueStatus": snapshot.reply("snap-queues")}
    results: dict[str, ActionResult] = {}

    async def reconcile(client: AmiClient) -> None:
        results["channels"] = await client.send_action("CoreShowChannels")
        results["queues"] = await client.send_action("QueueStatus")

    _, client = await ami(ConnectionScript([Replay(snapshot.events, 0, 30)]), snapshots=replies,
                               fully_booted=False, client={"on_connect": reconcile})
    await client.connect(timeout=2)
    live = await take(client, 30)
    assert wire(live) == snapshot.events[:30]
    assert all(p.event not in ("CoreShowChannel", "QueueParams", "QueueMember", "QueueEntry") for p in live)
    channels, queues = results["channels"], results["queues"]
    assert channels.ok and channels.message == "Channels will follow"
    assert [p.event for p in channels.events] == ["CoreShowChannel"] * 12
    assert channels.complete is not None and channels.complete["ListItems"] == "12"
    assert {p.event for p in queues.events} == {"QueueParams", "QueueMember", "QueueEntry"}
    assert queues.complete is not None and len(queues.events) == int(queues.complete["ListItems"]) == 11
    ids = {p.action_id for p in [channels.response, *channels.events, channels.complete]}
    assert ids == {channels.action_id}
    assert channels.action_id != queues.action_id
    hotline = [p for p in channels.events if p["Channel"].startswith("Local/4008001234@hotline-in")]
    assert {p["ChannelStateDesc"] for p in hotline} == {"Up"}


async def test_empty_eventlist_and_unknown_action(ami: Make) -> None:
    _, client = await ami()
    await client.connect(timeout=2)
    empty = await client.send_action("CoreShowChannels")
    assert empty.events == [] and empty.complete is not None and empty.complete["ListItems"] == "0"
    unknown = await client.send_action("NoSuchAction")
    assert not unknown.ok and unknown.message == "Invalid/unknown command"


@pytest.mark.parametrize("style", ["output", "follows"])
async def test_command_output_in_both_formats(ami: Make, style: str) -> None:
    output = "System uptime: 1 hour, 2 minutes\nLast reload: 1 hour\n\nChannel: SIP/100"
    _, client = await ami(commands={"core show uptime": output}, command_format=style)
    await client.connect(timeout=2)
    result = await client.send_action("Command", {"Command": "core show uptime"})
    assert result.ok
    assert result.output == output.splitlines()


async def test_concurrent_actions_get_unique_ids_and_their_own_replies(ami: Make) -> None:
    server, client = await ami()
    await client.connect(timeout=2)
    results = await asyncio.gather(*(client.send_action("Ping") for _ in range(25)))
    assert all(r.ok and r.response["Ping"] == "Pong" for r in results)
    ids = [r.action_id for r in results]
    assert len(set(ids)) == 25
    sent = [a["ActionID"] for a in server.connections[0].actions if a["Action"] == "Ping"]
    assert set(ids) <= set(sent)


async def test_action_timeout_and_the_late_reply_is_dropped(ami: Make) -> None:
    _, client = await ami(ConnectionScript([Stall(0.4), Send(ev("AfterStall", 1))]),
                          client={"ping_interval": 30.0}, fully_booted=False)
    await client.connect(timeout=2)
    with pytest.raises(AmiActionTimeout, match=r"Ping \(ActionID .*\) within 0.1 s"):
        await client.send_action("Ping", timeout=0.1)
    (after,) = await take(client, 1)
    assert after.event == "AfterStall"  # the late Pong came first and was not taken for an event
    assert client.stats.late_replies == 1
    assert len(client.connection_log) == 1


# -- connection loss and reconnect --------------------------------------------------------------------


async def test_midstream_drop_reconnects_without_losing_or_repeating_packets(
        ami: Make, answered: Recording) -> None:
    events = answered.events
    first = ConnectionScript(probe_half_packet_then_close(events, complete=40))
    second = ConnectionScript([Replay(events, 40)])
    server, client = await ami(first, second, fully_booted=False)
    await client.connect(timeout=2)
    got = await take(client, len(events))
    assert wire(got) == events
    assert len(server.connections) == 2
    (one, two) = client.connection_log
    assert one.disconnected_at is not None and two.connected_at >= one.disconnected_at
    assert "incomplete packet" in one.reason
    assert two.disconnected_at is None
    assert client.stats.disconnects == 1 and client.stats.logins == 2


async def test_outage_with_missed_events_is_reconciled_from_the_snapshot(ami: Make, snapshot: Recording) -> None:
    monitor = Recording.load(FIXTURES / "reconnect_snapshot.monitor.ami")
    replies = {"CoreShowChannels": snapshot.reply("snap-channels"), "QueueStatus": snapshot.reply("snap-queues")}
    empty = {"CoreShowChannels": list_reply("CoreShowChannels", []), "QueueStatus": list_reply("QueueStatus", [])}
    scripts = replay_with_drop(monitor.events, drop_after=150, resume_from=400, linger=0.2,
                               snapshots=[empty, replies])
    seen: list[int] = []

    async def reconcile(client: AmiClient) -> None:
        channels = await client.send_action("CoreShowChannels")
        seen.append(len(channels.events))
        client.inject(Packet({"Event": "Reconciled", "Channels": str(len(channels.events))}))

    _, client = await ami(*scripts, fully_booted=False, client={"on_connect": reconcile})
    await client.connect(timeout=2)
    expected = 150 + (len(monitor.events) - 400) + 2
    got = await take(client, expected)
    markers = [i for i, p in enumerate(got) if p.event == "Reconciled"]
    assert seen == [0, 12] and markers == [0, 151]
    assert wire([p for p in got if p.event != "Reconciled"]) == monitor.events[:150] + monitor.events[400:]
    first, second = client.connection_log
    assert "incomplete packet" in first.reason
    assert first.disconnected_at is not None and second.connected_at >= first.disconnected_at


async def test_on_connect_runs_before_this_connections_events_are_released(
        ami: Make, answered: Recording) -> None:
    events = answered.events
    calls: list[int] = []

    async def reconcile(client: AmiClient) -> None:
        calls.append(len(client.connection_log))
        await client.send_action("CoreShowChannels")
        await asyncio.sleep(0.1)  # live events keep arriving meanwhile
        client.inject(Packet({"Event": "HotlineReconciled", "Connection": str(len(client.connection_log))}))

    first = ConnectionScript([Replay(events, 0, 20), Pause(0.3), Close()])
    second = ConnectionScript([Replay(events, 20, 60)])
    _, client = await ami(first, second, fully_booted=False, client={"on_connect": reconcile})
    await client.connect(timeout=2)
    got = await take(client, 62)
    names = [p.get("Connection") for p in got if p.event == "HotlineReconciled"]
    assert calls == [1, 2] and names == ["1", "2"]
    marker_two = next(i for i, p in enumerate(got) if p.get("Connection") == "2")
    assert marker_two == 21  # marker 1, the 20 events of connection 1, then marker 2
    assert wire([p for p in got if p.event != "HotlineReconciled"]) == events[:60]


async def test_blackhole_is_detected_by_the_ping_timeout_and_reconnects(ami: Make) -> None:
    server, client = await ami(ConnectionScript([Blackhole()]), ConnectionScript([Send(ev("Back", 1))]),
                               fully_booted=False)
    started = time.monotonic()
    await client.connect(timeout=2)
    (back,) = await take(client, 1, timeout=3)
    assert back.event == "Back"
    assert time.monotonic() - started < 2.0
    assert "no reply to Ping within 0.3 s" in client.connection_log[0].reason
    assert client.stats.ping_timeouts == 1
    await server.wait_until(lambda: server.connections[0].closed, timeout=1)


async def test_idle_connection_is_kept_alive_by_pings(ami: Make) -> None:
    server, client = await ami(ConnectionScript([Pause(1.0), Send(ev("AfterIdle", 1))]), fully_booted=False)
    await client.connect(timeout=2)
    (late,) = await take(client, 1, timeout=3)
    assert late.event == "AfterIdle"
    assert len(client.connection_log) == 1 and client.stats.ping_timeouts == 0
    assert server.connections[0].action_names().count("Ping") >= 3
    assert client.stats.pings >= 3


async def test_short_stall_keeps_the_connection_and_every_event(ami: Make) -> None:
    steps = [Stall(0.5)] + [step for n in range(8) for step in (Send(ev("Tick", n)), Pause(0.05))]
    _, client = await ami(ConnectionScript(steps), client={"ping_interval": 0.1, "ping_timeout": 1.0},
                          fully_booted=False)
    await client.connect(timeout=2)
    ticks = await take(client, 8)
    assert [p["Uniqueid"] for p in ticks] == [f"1795413105.{n}" for n in range(8)]
    assert len(client.connection_log) == 1 and client.stats.ping_timeouts == 0


async def test_long_stall_reconnects_and_events_flow_again(ami: Make) -> None:
    stalled = ConnectionScript([Stall(2.0), Send(ev("Never", 0))])
    _, client = await ami(stalled, ConnectionScript([Send(ev("Fresh", 1))]), fully_booted=False)
    await client.connect(timeout=2)
    (fresh,) = await take(client, 1, timeout=3)
    assert fresh.event == "Fresh"
    assert "Ping" in client.connection_log[0].reason


# -- malformed and unusual data ----------------------------------------------------------------------


async def test_line_without_colon_is_kept_and_the_connection_survives(ami: Make) -> None:
    _, client = await ami(ConnectionScript([Send(probe_line_without_colon()), Send(ev("After", 1))]),
                          fully_booted=False)
    await client.connect(timeout=2)
    odd, after = await take(client, 2)
    assert odd.bad_lines == ["ThisLineHasNoColonSeparator"]
    assert odd["CallerIDNum"] == "15550002"
    assert after.event == "After" and len(client.connection_log) == 1


async def test_one_mib_value_is_skipped_by_default_and_counted(ami: Make) -> None:
    _, client = await ami(ConnectionScript([Send(probe_huge_value()), Send(ev("After", 1))]),
                          fully_booted=False)
    await client.connect(timeout=2)
    (after,) = await take(client, 1)
    assert after.event == "After"
    assert client.stats.oversized == 1 and len(client.connection_log) == 1


async def test_one_mib_value_is_delivered_when_the_limit_allows(ami: Make) -> None:
    _, client = await ami(ConnectionScript([Send(probe_huge_value()), Send(ev("After", 1))]),
                          client={"max_packet_bytes": 2 << 20}, fully_booted=False)
    await client.connect(timeout=2)
    huge, after = await take(client, 2)
    assert len(huge["Data"]) == 1 << 20
    assert after.event == "After"


async def test_gbk_value_and_utf8_split_are_both_decoded(ami: Make) -> None:
    _, client = await ami(ConnectionScript([Send(probe_gbk_value()), probe_utf8_split()]), fully_booted=False)
    await client.connect(timeout=2)
    gbk, split = await take(client, 2)
    assert (gbk["CallerIDName"], gbk.encoding) == ("张三", "gb18030")
    assert (split["CallerIDName"], split.encoding) == ("张三", "utf-8")
    assert client.stats.undecodable == 0


async def test_recorded_gbk_trace_keeps_every_name(ami: Make) -> None:
    recording = Recording.load(FIXTURES / "gbk_caller_name.ami")
    _, client = await ami(ConnectionScript([Replay(recording.events)]), fully_booted=False)
    await client.connect(timeout=2)
    got = await take(client, len(recording.events))
    assert wire(got) == recording.events
    assert {p["CallerIDName"] for p in got if p.encoding == "gb18030" and "CallerIDName" in p} == {"张伟"}


async def test_skip_events_drops_noise_before_the_consumer(ami: Make, answered: Recording) -> None:
    _, client = await ami(ConnectionScript([Replay(answered.events)]), fully_booted=False,
                          client={"skip_events": ["VarSet", "CEL", "Newexten"]})
    await client.connect(timeout=2)
    noise = (b"Event: VarSet\r", b"Event: CEL\r", b"Event: Newexten\r")
    wanted = [e for e in answered.events if not e.startswith(noise)]
    got = await take(client, len(wanted))
    assert wire(got) == wanted
    assert client.stats.skipped == len(answered.events) - len(wanted) > 0


async def test_repeated_chan_variables_are_all_kept(ami: Make) -> None:
    _, client = await ami(ConnectionScript([Send(probe_chan_variables())]), fully_booted=False)
    await client.connect(timeout=2)
    (packet,) = await take(client, 1)
    assert packet["ChanVariable"] == "FROM_DID=4008001234"
    assert packet.getall("ChanVariable") == ["FROM_DID=4008001234", "QUEUE=network"]


# -- callbacks, backpressure, shutdown, secrets ---------------------------------------------------------


async def test_raising_callbacks_are_logged_and_never_stop_the_reader(
        ami: Make, answered: Recording, caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str | None] = []

    def on_event(packet: Packet) -> None:
        seen.append(packet.event)
        if len(seen) == 1:
            raise RuntimeError("boom in on_event")

    async def on_connect(client: AmiClient) -> None:
        raise RuntimeError("boom in on_connect")

    _, client = await ami(ConnectionScript([Replay(answered.events, 0, 10)]), fully_booted=False,
                          client={"on_event": on_event, "on_connect": on_connect})
    await client.connect(timeout=2)
    got = await take(client, 10)
    assert wire(got) == answered.events[:10]
    assert len(seen) == 10
    assert client.stats.callback_errors == 2
    assert "boom in on_event" in caplog.text and "boom in on_connect" in caplog.text
    assert len(client.connection_log) == 1


async def test_bounded_queue_pushes_back_instead_of_growing(ami: Make) -> None:
    total = 20_000
    burst = b"".join(ev("Burst", n) for n in range(total))
    _, client = await ami(ConnectionScript([Send(burst)]), fully_booted=False,
                          client={"queue_size": 5, "ping_interval": 0.1, "ping_timeout": 0.2})
    await client.connect(timeout=2)
    await asyncio.sleep(0.6)  # the consumer is stalled for longer than the ping timeout
    assert client.stats.backpressure_waits >= 1
    assert client.queued < total // 2  # the rest waits in TCP buffers, not in our memory
    got = await take(client, total, timeout=8)
    assert [p["Uniqueid"] for p in got[:3]] == ["1795413105.0", "1795413105.1", "1795413105.2"]
    assert got[-1]["Uniqueid"] == f"1795413105.{total - 1}"
    assert len({p["Uniqueid"] for p in got}) == total
    assert len(client.connection_log) == 1 and client.stats.ping_timeouts == 0


async def test_close_logs_off_and_ends_the_event_stream(ami: Make) -> None:
    server, client = await ami(ConnectionScript([Send(ev("One", 1))]), fully_booted=False)
    await client.connect(timeout=2)
    await client.close()
    assert server.connections[0].action_names()[-1] == "Logoff"
    assert client.connection_log[-1].reason == "closed by the client"
    assert not client.connected
    got = [p async for p in client.events()]
    assert [p.event for p in got] == ["One"]


async def test_feed_pushes_live_events_to_every_logged_in_client(ami: Make) -> None:
    server, client = await ami()
    await client.connect(timeout=2)
    other = AmiClient("127.0.0.1", server.port, "hotline", SECRET, **FAST)
    await other.connect(timeout=2)
    try:
        assert await server.feed([event("Newchannel", ("Uniqueid", "9.1"))]) == 2
        for each in (client, other):
            booted, fed = await take(each, 2)
            assert (booted.event, fed.event, fed["Uniqueid"]) == ("FullyBooted", "Newchannel", "9.1")
        snapshot = list_reply("CoreShowChannels", [[("Event", "CoreShowChannel"), ("Channel", "Local/1")]])
        server.snapshots["coreshowchannels"] = lambda: snapshot
        result = await other.send_action("CoreShowChannels")
        assert [p["Channel"] for p in result.events] == ["Local/1"]
    finally:
        await other.close()


async def test_the_secret_never_reaches_the_logs(ami: Make, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server, client = await ami(ConnectionScript([Close()]), ConnectionScript([Send(ev("Hi", 1))]),
                               fully_booted=False)
    await client.connect(timeout=2)
    await take(client, 1)
    await client.send_action("Ping")
    await client.close()
    assert len(server.connections) == 2  # two logins happened
    assert "Secret: ********" in caplog.text
    assert SECRET not in caplog.text
    assert SECRET not in repr(client) and SECRET not in str(client.stats)
    assert SECRET not in repr(server.connections[0].actions[0])


def test_recording_splits_events_from_the_recorders_replies(snapshot: Recording) -> None:
    assert snapshot.banner == "Asterisk Call Manager/11.0.0"
    assert set(snapshot.replies) == {"snap-login", "snap-channels", "snap-queues", "snap-logoff"}
    assert len(snapshot.reply("snap-channels")) == 14  # response, 12 channels, complete
    assert all(b"\r\nResponse: " not in b"\r\n" + e for e in snapshot.events)
    total = (FIXTURES / "reconnect_snapshot.ami").read_bytes().count(b"\r\n\r\n")
    assert len(snapshot.events) + sum(len(r) for r in snapshot.replies.values()) == total
