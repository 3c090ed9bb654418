"""Channel bookkeeping for the AMI tracker: what each live channel is and which call it serves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

UNKNOWN = "<unknown>"


@dataclass(slots=True)
class Channel:
    uniqueid: str
    name: str
    linkedid: str
    created_at: float
    state: str = ""
    exten: str = ""
    caller: str | None = None
    caller_name: str | None = None
    dialled_as: str | None = None  # who a Dial() called on this channel (`agent3`, `8003`)
    answered_dest: str | None = None  # the channel this one's Dial() connected to


@dataclass(slots=True)
class CallState:
    """What the tracker remembers about one call while its channel is alive."""

    call_id: str
    outbound: bool
    channel_name: str
    queue: str | None = None
    in_queue: bool = False
    hangup_seen: bool = False
    rung: dict[str, str] = field(default_factory=dict)  # dialled channel name -> member name
    dial_target: str | None = None  # direct dial / outbound: who was dialled
    dial_failed: bool = False  # the Dial() ended unanswered (NOANSWER, BUSY, ...): the dialplan ends the call
    answered: bool = False
    staff_channels: set[str] = field(default_factory=set)  # answering side names (both Local halves)
    member_key: tuple[str, str] | None = None  # (queue, member) while connected
    # Snapshot calls answered before we connected: the answer time is learned from AgentComplete.
    pending_answer_by: str | None = None
    pending_answer_queue: str | None = None
    ended: bool = False


def value(packet: Mapping[str, str], key: str) -> str | None:
    """A header value, None when absent, empty or `<unknown>`."""
    v = packet.get(key)
    if not v or v == UNKNOWN:
        return None
    return v


def local_peer(name: str) -> str | None:
    """The other half of a Local channel (`...;1` <-> `...;2`), None for other technologies."""
    if not name.startswith("Local/"):
        return None
    if name.endswith(";1"):
        return name[:-1] + "2"
    if name.endswith(";2"):
        return name[:-1] + "1"
    return None


def local_exten(name: str) -> str | None:
    """`Local/4008001234@hotline-in-00000000;2` -> `4008001234`."""
    if not name.startswith("Local/") or "@" not in name:
        return None
    return name[6:name.index("@")]


def interface_of(channel_name: str) -> str:
    """The device a channel belongs to: `Local/agent1@agents-00000002;1` -> `Local/agent1@agents`,
    `PJSIP/8001-0000002a` -> `PJSIP/8001`."""
    base = channel_name.split(";", 1)[0]
    dash = base.rfind("-")
    return base[:dash] if dash > 0 else base


def interface_key(interface: str) -> str:
    """A queue member interface without its Local `/n` option: `Local/agent1@agents/n` -> `Local/agent1@agents`."""
    if interface.startswith("Local/") and interface.count("/") >= 2:
        return interface.rsplit("/", 1)[0]
    return interface


def dial_target(dial_string: str | None) -> str | None:
    """Who a Dial() called: `duty@agents/n` -> `duty`, `PJSIP/8002` -> `8002`."""
    if not dial_string:
        return None
    target = dial_string.split("&", 1)[0].split("@", 1)[0]
    return target.rsplit("/", 1)[-1] or None
