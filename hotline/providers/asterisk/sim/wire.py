"""AMI wire format for the simulated PBX: channels and the header blocks Asterisk 22 puts in events.

Header names and their order follow the recorded traces in tests/fixtures/ami exactly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

UNKNOWN = "<unknown>"
CALL = "call,all"
DIALPLAN = "dialplan,all"
AGENT = "agent,all"
CDR = "cdr,all"
DTMF = "dtmf,all"

DOWN, RING, RINGING, UP, BUSY = 0, 4, 5, 6, 7
STATE_DESC = {DOWN: "Down", RING: "Ring", RINGING: "Ringing", UP: "Up", BUSY: "Busy"}
CAUSE_TXT = {0: "Unknown", 16: "Normal Clearing", 17: "User busy", 19: "No answer",
             26: "Answered elsewhere"}


@dataclass(slots=True, eq=False)
class Chan:
    """One Asterisk channel as the simulator knows it; mutable like the real thing."""

    name: str
    uniqueid: str
    linkedid: str
    context: str
    exten: str
    created: float
    state: int = DOWN
    priority: int = 1
    cid_num: str = UNKNOWN
    cid_name: str = UNKNOWN
    conn_num: str = UNKNOWN
    conn_name: str = UNKNOWN
    answered: float | None = None
    app: str = ""
    appdata: str = ""

    def goto(self, context: str, exten: str, priority: int = 1) -> None:
        self.context, self.exten, self.priority = context, exten, priority

    def caller(self, num: str, name: str) -> None:
        self.cid_num, self.cid_name = num, name

    def connected(self, num: str, name: str) -> None:
        self.conn_num, self.conn_name = num, name


def block(c: Chan, p: str = "", *, exten: str | None = None, conn: tuple[str, str] | None = None) -> str:
    """The standard channel snapshot (`Channel` .. `Linkedid`), optionally prefixed (`Dest`)."""
    cn, cname = conn if conn is not None else (c.conn_num, c.conn_name)
    return (
        f"{p}Channel: {c.name}\r\n{p}ChannelState: {c.state}\r\n{p}ChannelStateDesc: {STATE_DESC[c.state]}\r\n"
        f"{p}CallerIDNum: {c.cid_num}\r\n{p}CallerIDName: {c.cid_name}\r\n"
        f"{p}ConnectedLineNum: {cn}\r\n{p}ConnectedLineName: {cname}\r\n"
        f"{p}Language: en\r\n{p}AccountCode: \r\n{p}Context: {c.context}\r\n"
        f"{p}Exten: {c.exten if exten is None else exten}\r\n{p}Priority: {c.priority}\r\n"
        f"{p}Uniqueid: {c.uniqueid}\r\n{p}Linkedid: {c.linkedid}\r\n"
    )


def bridge_block(bridge_id: str, n: int) -> str:
    return (
        f"BridgeUniqueid: {bridge_id}\r\nBridgeType: basic\r\nBridgeTechnology: simple_bridge\r\n"
        f"BridgeCreator: {UNKNOWN}\r\nBridgeName: {UNKNOWN}\r\nBridgeNumChannels: {n}\r\n"
        "BridgeVideoSourceMode: none\r\n"
    )


def cel_block(c: Chan, event: str, t: float, *, extra: str = "", ani: bool = False, app: str | None = None,
              appdata: str | None = None, exten: str | None = None) -> str:
    """Body of a `CEL` event (cel_manager) for channel `c`."""
    num = "" if c.cid_num == UNKNOWN else c.cid_num
    name = "" if c.cid_name == UNKNOWN else c.cid_name
    return (
        f"EventName: {event}\r\nAccountCode: \r\nCallerIDnum: {num}\r\nCallerIDname: {name}\r\n"
        f"CallerIDani: {num if ani else ''}\r\nCallerIDrdnis: \r\nCallerIDdnid: \r\n"
        f"Exten: {c.exten if exten is None else exten}\r\nContext: {c.context}\r\nChannel: {c.name}\r\n"
        f"Application: {c.app if app is None else app}\r\nAppData: {c.appdata if appdata is None else appdata}\r\n"
        f"EventTime: {clock(t)}\r\nAMAFlags: DOCUMENTATION\r\nUniqueID: {c.uniqueid}\r\n"
        f"LinkedID: {c.linkedid}\r\nUserfield: \r\nPeer: \r\nPeerAccount: \r\nExtra: {extra}\r\n"
    )


def cdr_block(c: Chan, *, dest: str, dest_context: str, dest_channel: str, last_app: str, last_data: str,
              start: float, answer: float | None, end: float, disposition: str) -> str:
    """Body of a `Cdr` event (cdr_manager) for one leg of channel `c`."""
    billable = int(end - answer) if answer is not None else 0
    return (
        f"AccountCode: \r\nSource: {c.cid_num}\r\nDestination: {dest}\r\nDestinationContext: {dest_context}\r\n"
        f'CallerID: "{c.cid_name}" <{c.cid_num}>\r\nChannel: {c.name}\r\nDestinationChannel: {dest_channel}\r\n'
        f"LastApplication: {last_app}\r\nLastData: {last_data}\r\nStartTime: {clock(start)}\r\n"
        f"AnswerTime: {clock(answer) if answer is not None else ''}\r\nEndTime: {clock(end)}\r\n"
        f"Duration: {int(end - start)}\r\nBillableSeconds: {billable}\r\nDisposition: {disposition}\r\n"
        f"AMAFlags: DOCUMENTATION\r\nUniqueID: {c.uniqueid}\r\nUserField: \r\n"
    )


def member_block(queue: str, member: str, *, status: int, calls: int, last_call: int, login: int) -> str:
    """Body of a `QueueMemberStatus` event for a static Local member."""
    iface = f"Local/{member}@agents/n"
    return (
        f"Queue: {queue}\r\nMemberName: {member}\r\nInterface: {iface}\r\nStateInterface: {iface}\r\n"
        f"Membership: static\r\nPenalty: 0\r\nCallsTaken: {calls}\r\nLastCall: {last_call}\r\nLastPause: 0\r\n"
        f"LoginTime: {login}\r\nInCall: 0\r\nStatus: {status}\r\nPaused: 0\r\nPausedReason: \r\n"
        "Ringinuse: 0\r\nWrapuptime: 0\r\n"
    )


def queue_member_tail(queue: str, member: str) -> str:
    return f"Queue: {queue}\r\nInterface: Local/{member}@agents/n\r\nMemberName: {member}\r\n"


def packet(event: str, privilege: str, ts: float, body: str) -> str:
    """One complete event packet (ends with the empty line)."""
    return f"Event: {event}\r\nPrivilege: {privilege}\r\nTimestamp: {ts:.6f}\r\n{body}\r\n"


def clock(t: float) -> str:
    """`2026-11-23 05:47:39`: the lab PBX wrote CDR/CEL times in UTC."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))
