"""AMI events -> provider-neutral call events.

One small interpreter per situation (channel life, queue, dial, bridge/agent, hangup), each a
method named for the AMI event it reads. The tracker keeps only what live channels need and
forgets a call shortly after its channel is gone, so memory stays flat on a PBX that runs for months.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hotline.domain.calls import AttemptResult, CallEvent, Direction, EventKind, Party, Transfer
from hotline.providers.asterisk.channels import (
    CallState,
    Channel,
    dial_target,
    interface_of,
    local_exten,
    local_peer,
    value,
)

Packet = Mapping[str, str]
DEFAULT_TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class TrackerConfig:
    """What the tracker must know about the PBX (built from Settings by the entry point)."""

    numbers: frozenset[str]
    queues: Mapping[str, str] = field(default_factory=dict)  # queue -> specialty
    staff_extensions: frozenset[str] = frozenset()
    outbound_contexts: frozenset[str] = frozenset()
    tz: ZoneInfo = DEFAULT_TZ
    specialty_variable: str = "HOTLINE_SPECIALTY"
    queue_variable: str = "HOTLINE_QUEUE"
    menu_variable: str = "HOTLINE_MENU"  # the rendered IVR: the valid key, or "" after an invalid one

    def specialty(self, queue: str | None) -> str | None:
        return None if queue is None else self.queues.get(queue, queue)

    def raw_only(self) -> dict[str, tuple[bytes, ...]]:
        """Events the tracker never reads: the parser keeps them as bytes only (for the raw record).
        A VarSet is parsed only when it sets a variable the tracker reads."""
        reads = tuple(f"Variable: {v}\r".encode() for v in
                      (self.specialty_variable, self.queue_variable, self.menu_variable, "QUEUESTATUS"))
        return {**{name: () for name in IGNORED_EVENTS}, "VarSet": reads}


# Frequent events no interpreter reads (most of a `read=all` stream).
IGNORED_EVENTS = ("CEL", "Newexten", "Newstate", "QueueMemberStatus", "MusicOnHoldStart", "MusicOnHoldStop",
                  "DTMFBegin", "NewConnectedLine", "DialState", "LocalBridge", "BridgeCreate", "BridgeLeave",
                  "RTCPSent", "RTCPReceived", "VarSet", "AgentRingNoAnswer", "ChannelTalkingStart",
                  "ChannelTalkingStop", "DeviceStateChange", "ExtensionStatus", "PeerStatus", "ContactStatus")
_QUEUE_FAILED = {"FULL", "JOINEMPTY", "JOINUNAVAIL"}
_QUEUE_TIMEOUT = {"TIMEOUT", "LEAVEEMPTY", "LEAVEUNAVAIL"}
_DIAL_RESULTS = {
    "BUSY": AttemptResult.BUSY,
    "NOANSWER": AttemptResult.TIMEOUT,
    "CHANUNAVAIL": AttemptResult.FAILED,
    "CONGESTION": AttemptResult.FAILED,
}
SHUTDOWN_CAUSE = "4"  # SoftHangupRequest Cause: AST_SOFTHANGUP_SHUTDOWN (core restart / stop)
_BRIDGES_LIMIT = 4096  # bridges remembered at most (each is dropped at its BridgeDestroy)
_RECENT_LIMIT = 1024  # ended calls remembered for late AgentComplete events


class Tracker:
    """Feed AMI packets in stream order; get back the call events they mean."""

    def __init__(self, config: TrackerConfig) -> None:
        self.config = config
        self.channels: dict[str, Channel] = {}  # uniqueid -> channel
        self.calls: dict[str, CallState] = {}  # call_id -> state
        self.call_of_name: dict[str, str] = {}  # call/peer channel name -> call_id
        self.staff_of_name: dict[str, str] = {}  # answering staff channel name -> call_id
        self.members: OrderedDict[tuple[str, str], str] = OrderedDict()  # (queue, member) -> call_id
        # Who entered each bridge until it is destroyed (a member that left stays): an AttendedTransfer without
        # TransferTargetChannel names the consultation bridge, whose other member is the target.
        self.bridged: OrderedDict[str, list[str]] = OrderedDict()
        # The call a packet without any channel field was matched to (a bare AgentComplete), for the
        # raw record; whoever reads it sets it back to None.
        self.matched_without_channel: str | None = None
        self._last_ts: float = 0.0
        self._last_ts_text: str | None = None
        self._out: list[CallEvent] = []
        self._handlers: dict[str, Callable[[Packet], None]] = {
            "Newchannel": self._newchannel,
            "NewCallerid": self._newcallerid,
            "VarSet": self._varset,
            "DTMFEnd": self._dtmf,
            "QueueCallerJoin": self._queue_join,
            "AgentCalled": self._agent_called,
            "QueueCallerAbandon": self._queue_abandon,
            "QueueCallerLeave": self._queue_leave,
            "AgentConnect": self._agent_connect,
            "AgentComplete": self._agent_complete,
            "DialBegin": self._dial_begin,
            "DialEnd": self._dial_end,
            "BlindTransfer": self._blind_transfer,
            "AttendedTransfer": self._attended_transfer,
            "BridgeEnter": self._bridge_enter,
            "BridgeDestroy": self._bridge_destroy,
            "HangupRequest": self._hangup_request,
            "SoftHangupRequest": self._hangup_request,
            "Hangup": self._hangup,
        }

    # -- public -----------------------------------------------------------------------------------

    def feed(self, packet: Packet) -> list[CallEvent]:
        """Interpret one AMI packet; returns the call events it produced (often none)."""
        ts = packet.get("Timestamp")
        if ts:
            self._last_ts_text = ts  # parsed only when needed (hot path)
        name = packet.get("Event")
        handler = self._handlers.get(name) if name is not None else None
        if handler is None:
            return []
        handler(packet)
        if not self._out:
            return []
        out, self._out = self._out, []
        return out

    @property
    def last_ts(self) -> float:
        """The newest event time seen (epoch seconds): the reference for snapshot durations."""
        text, self._last_ts_text = self._last_ts_text, None
        if text:
            try:
                t = float(text)
            except ValueError:
                t = self._last_ts
            if t > self._last_ts:
                self._last_ts = t
        return self._last_ts

    # -- helpers ----------------------------------------------------------------------------------

    def _epoch(self, packet: Packet) -> float:
        """The packet's Timestamp (epoch seconds); the newest time seen when it has none or a bad one."""
        ts = packet.get("Timestamp")
        if ts:
            try:
                return float(ts)
            except ValueError:
                pass
        return self.last_ts

    def _at(self, packet: Packet) -> datetime:
        return datetime.fromtimestamp(self._epoch(packet), self.config.tz)

    def _emit(self, call_id: str, kind: EventKind, at: datetime, **kw: object) -> None:
        self._out.append(CallEvent(call_id=call_id, kind=kind, at=at, **kw))  # type: ignore[arg-type]

    def _call_for_channel(self, packet: Packet) -> CallState | None:
        uid = packet.get("Uniqueid")
        if uid is not None:
            call = self.calls.get(uid)
            if call is not None:
                return call
        name = packet.get("Channel")
        if name is not None:
            cid = self.call_of_name.get(name)
            if cid is not None and (call := self.calls.get(cid)) is not None and call.channel_name == name:
                return call
        return None

    def _register_call(self, chan: Channel, outbound: bool) -> CallState:
        call = CallState(call_id=chan.uniqueid, outbound=outbound, channel_name=chan.name)
        self.calls[chan.uniqueid] = call
        self.call_of_name[chan.name] = chan.uniqueid
        peer = local_peer(chan.name)
        if peer is not None:
            self.call_of_name[peer] = chan.uniqueid
        return call

    # -- channel life -----------------------------------------------------------------------------

    def _newchannel(self, p: Packet) -> None:
        uid = p.get("Uniqueid")
        name = p.get("Channel")
        if not uid or not name:
            return
        chan = Channel(
            uniqueid=uid, name=name, linkedid=p.get("Linkedid") or uid, created_at=self._epoch(p),
            state=p.get("ChannelState", ""), exten=p.get("Exten", ""),
            caller=value(p, "CallerIDNum"), caller_name=value(p, "CallerIDName"),
        )
        self.channels[uid] = chan
        # An incoming channel (state Ring) for a hotline number is an inbound call. The other half of a
        # Local pair is created Down and is only the caller's side of the lab's simulated handset.
        if chan.state == "4" and chan.exten in self.config.numbers:
            self._register_call(chan, outbound=False)
            self._emit(uid, EventKind.STARTED, self._at(p), direction=Direction.INBOUND,
                       caller=chan.caller, caller_name=chan.caller_name, called=chan.exten)

    def _newcallerid(self, p: Packet) -> None:
        uid = p.get("Uniqueid")
        chan = self.channels.get(uid) if uid else None
        if chan is not None:
            chan.caller = value(p, "CallerIDNum") or chan.caller
            chan.caller_name = value(p, "CallerIDName") or chan.caller_name
        call = self._call_for_channel(p)
        if call is not None and not call.outbound and value(p, "CallerIDNum"):
            self._emit(call.call_id, EventKind.CALLER_ID, self._at(p),
                       caller=value(p, "CallerIDNum"), caller_name=value(p, "CallerIDName"))

    def _varset(self, p: Packet) -> None:
        var = p.get("Variable")
        if var == self.config.specialty_variable or var == self.config.queue_variable:
            call = self._call_for_channel(p)
            val = value(p, "Value")
            if call is None or call.outbound or not val:
                return
            specialty = val if var == self.config.specialty_variable else self.config.specialty(val)
            self._emit(call.call_id, EventKind.MENU, self._at(p), specialty=specialty)
        elif var == self.config.menu_variable:
            call = self._call_for_channel(p)
            if call is None or call.outbound or call.queue is not None or call.dial_target is not None:
                return
            self._emit(call.call_id, EventKind.MENU, self._at(p), menu=value(p, "Value") or "")
        elif var == "QUEUESTATUS":
            call = self._call_for_channel(p)
            status = p.get("Value", "")
            if call is None or call.answered:
                return
            if status in _QUEUE_FAILED:
                self._emit(call.call_id, EventKind.ATTEMPT_ENDED, self._at(p), result=AttemptResult.FAILED)
            elif status in _QUEUE_TIMEOUT and not call.hangup_seen:
                self._emit(call.call_id, EventKind.ATTEMPT_ENDED, self._at(p), result=AttemptResult.TIMEOUT)

    def _dtmf(self, p: Packet) -> None:
        if p.get("Direction") != "Received":
            return
        call = self._call_for_channel(p)
        if call is None or call.outbound or call.queue is not None or call.dial_target is not None:
            return
        digit = p.get("Digit")
        if digit:
            self._emit(call.call_id, EventKind.MENU, self._at(p), menu=digit)

    # -- queues -----------------------------------------------------------------------------------

    def _queue_join(self, p: Packet) -> None:
        call = self._call_for_channel(p)
        queue = p.get("Queue")
        if call is None or not queue:
            return
        call.queue = queue
        call.in_queue = True
        self._emit(call.call_id, EventKind.QUEUE, self._at(p), queue=queue,
                   specialty=self.config.specialty(queue))

    def _agent_called(self, p: Packet) -> None:
        call = self._call_for_channel(p)
        dest = p.get("DestChannel")
        member = p.get("MemberName")
        if call is not None and dest and member:
            call.rung[dest] = member

    def _queue_abandon(self, p: Packet) -> None:
        # Asterisk also sends QueueCallerAbandon when Queue() times out: it is a real abandon only
        # when the caller's side asked to hang up first.
        call = self._call_for_channel(p)
        if call is None or call.answered:
            return
        result = AttemptResult.ABANDONED if call.hangup_seen else AttemptResult.TIMEOUT
        self._emit(call.call_id, EventKind.ATTEMPT_ENDED, self._at(p), result=result)

    def _queue_leave(self, p: Packet) -> None:
        call = self._call_for_channel(p)
        if call is not None:
            call.in_queue = False

    def _agent_connect(self, p: Packet) -> None:
        call = self._call_for_channel(p)
        if call is None:
            return
        member = p.get("MemberName") or call.rung.get(p.get("DestChannel", ""))
        queue = p.get("Queue") or call.queue
        self._answer(call, member, queue, self._at(p), p.get("DestChannel"))

    def _answer(self, call: CallState, member: str | None, queue: str | None, at: datetime,
                staff_channel: str | None, estimated: bool = False) -> None:
        call.answered = True
        if staff_channel:
            self._bind_staff(call, staff_channel)
        if queue and member:
            key = (queue, member)
            call.member_key = key
            self.members[key] = call.call_id
            self.members.move_to_end(key)
            while len(self.members) > _RECENT_LIMIT:
                _key, old_id = self.members.popitem(last=False)
                old = self.calls.get(old_id)
                if old is not None and old.ended:
                    self._forget(old)
        self._emit(call.call_id, EventKind.ANSWERED, at, answered_by=member, queue=queue, estimated=estimated)

    def _bind_staff(self, call: CallState, name: str) -> None:
        call.staff_channels.add(name)
        self.staff_of_name[name] = call.call_id
        peer = local_peer(name)
        if peer is not None:
            call.staff_channels.add(peer)
            self.staff_of_name[peer] = call.call_id

    def _agent_complete(self, p: Packet) -> None:
        call = self._call_for_channel(p)
        if call is None:
            # Seen under load: no channel fields at all. Match by queue + member.
            key = (p.get("Queue", ""), p.get("MemberName", ""))
            cid = self.members.get(key)
            call = self.calls.get(cid) if cid else None
            if call is not None:
                self.matched_without_channel = call.call_id
        if call is None:
            return
        at = self._at(p)
        if call.pending_answer_by is not None:
            self._answer_from_complete(call, p, at)
        reason = p.get("Reason", "")
        party = Party.CALLER if reason == "caller" else Party.AGENT if reason == "agent" else None
        if reason != "transfer":  # a transfer ended the member's leg, not the talk: TRANSFERRED says so
            # the member named: under load a transferring member's AgentComplete (reason "agent") can come
            # after the AttendedTransfer, and must not end the colleague's leg (hotline/domain/calls.py)
            self._emit(call.call_id, EventKind.TALK_ENDED, at, party=party, answered_by=p.get("MemberName") or None)
        if call.member_key is not None:
            self.members.pop(call.member_key, None)
            call.member_key = None
        if call.ended:
            self._forget(call)

    def _answer_from_complete(self, call: CallState, p: Packet, at: datetime) -> None:
        """A call answered before we connected: Asterisk's whole-second TalkTime/HoldTime date it."""
        # Asterisk's whole-second figures: within about one second of the truth.
        talk = _seconds(p.get("TalkTime"))
        hold = _seconds(p.get("HoldTime"))
        answered_at = at - timedelta(seconds=talk)
        self._emit(call.call_id, EventKind.STAFF_REACHED, answered_at - timedelta(seconds=hold),
                   queue=call.pending_answer_queue, specialty=self.config.specialty(call.pending_answer_queue),
                   estimated=True)
        member, queue = call.pending_answer_by, call.pending_answer_queue
        call.pending_answer_by = None
        self._answer(call, member, queue, answered_at, None, estimated=True)

    # -- dial -------------------------------------------------------------------------------------

    def _dial_begin(self, p: Packet) -> None:
        dest_chan = self.channels.get(p.get("DestUniqueid") or "")
        if dest_chan is not None:
            dest_chan.dialled_as = dial_target(p.get("DialString")) or value(p, "DestExten")
        name = p.get("Channel")
        if not name:
            return  # an Originate's own dial: not a call leg of ours
        call = self._call_for_channel(p)
        if call is None:
            call = self._maybe_outbound(p)
            if call is None:
                return
        if call.in_queue:
            return  # queue member rings are read from AgentCalled / AgentConnect
        if call.dial_target is not None and call.answered:
            return
        target = dial_target(p.get("DialString")) or value(p, "DestExten")
        call.dial_target = target
        dest = p.get("DestChannel")
        if dest:
            call.rung[dest] = target or dest
        self._emit(call.call_id, EventKind.STAFF_REACHED, self._at(p))

    def _maybe_outbound(self, p: Packet) -> CallState | None:
        """A staff phone dialling out (a callback) becomes an outbound call."""
        caller = value(p, "CallerIDNum")
        if caller not in self.config.staff_extensions:
            return None
        uid = p.get("Uniqueid")
        name = p.get("Channel")
        if not uid or not name:
            return None
        chan = self.channels.get(uid)
        if chan is None:
            chan = Channel(uniqueid=uid, name=name, linkedid=p.get("Linkedid") or uid, created_at=self.last_ts)
            self.channels[uid] = chan
        call = self._register_call(chan, outbound=True)
        called = dial_target(p.get("DialString")) or value(p, "Exten")
        started = datetime.fromtimestamp(chan.created_at, self.config.tz)
        self._emit(uid, EventKind.STARTED, started, direction=Direction.OUTBOUND,
                   caller=caller, caller_name=value(p, "CallerIDName"), called=called)
        return call

    def _dial_end(self, p: Packet) -> None:
        if not p.get("Channel"):
            return
        if p.get("DialStatus") == "ANSWER" and (src := self.channels.get(p.get("Uniqueid") or "")) is not None:
            src.answered_dest = p.get("DestChannel")
        call = self._call_for_channel(p)
        if call is None or call.in_queue or call.dial_target is None:
            return
        status = p.get("DialStatus", "")
        dest = p.get("DestChannel", "")
        if status == "ANSWER":
            if not call.answered:
                self._answer(call, call.rung.get(dest) or call.dial_target, None, self._at(p), dest or None)
        elif status in _DIAL_RESULTS and not call.answered:
            call.dial_failed = True
            self._emit(call.call_id, EventKind.ATTEMPT_ENDED, self._at(p), result=_DIAL_RESULTS[status])
        elif status == "CANCEL" and not call.answered and call.hangup_seen:
            self._emit(call.call_id, EventKind.ATTEMPT_ENDED, self._at(p), result=AttemptResult.ABANDONED)

    # -- transfers --------------------------------------------------------------------------------

    def _transferred_call(self, p: Packet) -> CallState | None:
        """The inbound call whose caller (the transferee) staff handed on, if the transfer succeeded."""
        if p.get("Result") != "Success":
            return None
        cid = self.call_of_name.get(p.get("TransfereeChannel", ""))
        call = self.calls.get(cid) if cid else None
        if call is None or call.outbound or call.ended or not call.answered:
            return None
        return call

    def _release_staff(self, call: CallState) -> None:
        """The staff member who transferred is gone from the call: their hang-up ends nothing."""
        for name in call.staff_channels:
            if self.staff_of_name.get(name) == call.call_id:
                del self.staff_of_name[name]
        call.staff_channels = set()

    def _blind_transfer(self, p: Packet) -> None:
        # The caller's own channel goes on in the dialplan (a colleague's Dial(), another queue): the next
        # leg is read from those as for a new attempt.
        call = self._transferred_call(p)
        if call is None:
            return
        self._release_staff(call)
        call.answered = False
        call.dial_target = None
        call.rung = {}
        self._emit(call.call_id, EventKind.TRANSFERRED, self._at(p), transfer=Transfer.BLIND)

    def _bridge_enter(self, p: Packet) -> None:
        bridge, name = p.get("BridgeUniqueid"), p.get("Channel")
        if bridge and name:
            self.bridged.setdefault(bridge, []).append(name)
            if len(self.bridged) > _BRIDGES_LIMIT:  # a BridgeDestroy lost with a connection
                self.bridged.popitem(last=False)

    def _bridge_destroy(self, p: Packet) -> None:
        self.bridged.pop(p.get("BridgeUniqueid") or "", None)

    def _consulted(self, p: Packet) -> str | None:
        """The colleague of the consultation: Asterisk leaves TransferTargetChannel out when that channel has
        already left the consultation bridge (merged into the caller's) as the event is sent; it is then the
        consultation bridge's member that is not the transferer."""
        members = self.bridged.get(p.get("SecondBridgeUniqueid") or "", [])
        others = {name for name in members if name != p.get("SecondTransfererChannel")}
        return others.pop() if len(others) == 1 else None

    def _attended_transfer(self, p: Packet) -> None:
        # After the consultation the colleague (TransferTargetChannel) is put through to the caller.
        call = self._transferred_call(p)
        target = p.get("TransferTargetChannel") or self._consulted(p)
        if call is None or not target:
            return
        self._release_staff(call)
        who = self._staff_behind(target)
        for name in self._channel_chain(target):
            self._bind_staff(call, name)
        self._emit(call.call_id, EventKind.TRANSFERRED, self._at(p), transfer=Transfer.ATTENDED, answered_by=who)

    def _channel_named(self, name: str) -> Channel | None:
        for chan in self.channels.values():  # live channels only; read on a transfer, which is rare
            if chan.name == name:
                return chan
        return None

    def _channel_chain(self, name: str) -> list[str]:
        """A transfer target and what it leads to: a Local channel's other half and the phone that
        half's Dial() connected to (`Local/8003@ctx;1` -> `;2` -> `Local/agent3@agents;1`)."""
        chain = [name]
        peer = local_peer(name)
        if peer is not None:
            chain.append(peer)
            far = self._channel_named(peer)
            if far is not None and far.answered_dest:
                chain.append(far.answered_dest)
        return chain

    def _staff_behind(self, name: str) -> str:
        """Who a transfer target is: the extension the PBX dialled, else the channel's own extension."""
        chain = self._channel_chain(name)
        for chan_name in reversed(chain):
            chan = self._channel_named(chan_name)
            if chan is not None and chan.dialled_as:
                return chan.dialled_as
        last = chain[-1]
        return local_exten(last) or interface_of(last).rsplit("/", 1)[-1]

    # -- hangup -----------------------------------------------------------------------------------

    def _hangup_request(self, p: Packet) -> None:
        name = p.get("Channel")
        if not name:
            return
        shutdown = p.get("Event") == "SoftHangupRequest" and p.get("Cause") == SHUTDOWN_CAUSE
        cid = self.call_of_name.get(name)
        if cid is not None and (call := self.calls.get(cid)) is not None:
            on_call_channel = name == call.channel_name
            if shutdown:
                party = Party.PBX  # `core restart` / `core stop`: the PBX hung up every channel
            elif call.outbound and call.dial_failed and on_call_channel and p.get("Event") == "SoftHangupRequest":
                party = Party.SYSTEM  # the customer did not answer: Dial() timed out and the dialplan hung up
            elif call.outbound:
                party = Party.STAFF
            elif on_call_channel and p.get("Event") == "SoftHangupRequest":
                party = Party.SYSTEM  # the dialplan hung up (Hangup(), end of script)
            else:
                party = Party.CALLER  # a hangup queued from the caller's end
            call.hangup_seen = True
            self._emit(cid, EventKind.HANGUP_REQUEST, self._at(p), party=party)
            return
        cid = self.staff_of_name.get(name)
        if cid is not None and (call := self.calls.get(cid)) is not None:
            staff_side = Party.CUSTOMER if call.outbound else Party.AGENT
            self._emit(cid, EventKind.HANGUP_REQUEST, self._at(p), party=Party.PBX if shutdown else staff_side)

    def _hangup(self, p: Packet) -> None:
        uid = p.get("Uniqueid")
        name = p.get("Channel")
        if uid:
            self.channels.pop(uid, None)
        call = self.calls.get(uid) if uid else None
        if call is None or call.ended:
            if name and name in self.staff_of_name:
                cid = self.staff_of_name[name]
                owner = self.calls.get(cid)
                if owner is None or owner.ended:
                    del self.staff_of_name[name]
            return
        at = self._at(p)
        if call.pending_answer_by is not None:
            # Answered before we connected and no AgentComplete came: answered, time unknown.
            member, queue = call.pending_answer_by, call.pending_answer_queue
            call.pending_answer_by = None
            self._answer(call, member, queue, at, None, estimated=True)
        call.ended = True
        self._emit(call.call_id, EventKind.ENDED, at)
        if call.member_key is None:
            self._forget(call)

    def _forget(self, call: CallState) -> None:
        self.calls.pop(call.call_id, None)
        for name in (call.channel_name, local_peer(call.channel_name)):
            if name is not None and self.call_of_name.get(name) == call.call_id:
                del self.call_of_name[name]
        for name in call.staff_channels:
            if self.staff_of_name.get(name) == call.call_id:
                del self.staff_of_name[name]


def _seconds(v: str | None) -> float:
    try:
        return float(v) if v else 0.0
    except ValueError:
        return 0.0
