"""Builds what a real Asterisk would answer to CoreShowChannels / QueueStatus at a point of a recorded
stream: the channels up at that moment (from Newchannel/Hangup/BridgeEnter/BridgeLeave/Newexten),
and the callers still waiting in a queue."""

from __future__ import annotations

from collections.abc import Sequence

from hotline.providers.asterisk.protocol import PacketParser

MEMBERS = {"network": ["agent1", "agent2"], "servers": ["agent1", "agent2", "agent3"], "apps": ["agent3", "agent4"]}
CHANNEL_FIELDS = ("Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName",
                  "ConnectedLineNum", "ConnectedLineName", "Language", "AccountCode", "Context", "Exten",
                  "Priority", "Uniqueid", "Linkedid")


def _duration(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def snapshot_at(events: Sequence[bytes], upto: int) -> dict[str, list[list[tuple[str, str]]]]:
    """The list items (without ActionID/EventList lines) of both actions after `events[:upto]`."""
    parser = PacketParser(expect_banner=False)
    chans: dict[str, dict[str, str]] = {}
    created: dict[str, float] = {}
    bridge: dict[str, str] = {}
    waiting: dict[str, tuple[str, float, dict[str, str]]] = {}
    now = 0.0
    for raw in events[:upto]:
        for p in parser.feed(raw):
            ts = float(p.get("Timestamp") or now)
            now = max(now, ts)
            uid = p.get("Uniqueid")
            ev = p.get("Event")
            if ev == "Newchannel" and uid:
                chans[uid] = {k: p.get(k, "") for k in CHANNEL_FIELDS}
                created[uid] = ts
            elif ev == "Hangup" and uid:
                chans.pop(uid, None)
                bridge.pop(uid, None)
                waiting.pop(uid, None)
            elif uid in chans and ev in ("Newstate", "Newexten", "NewCallerid", "BridgeEnter", "QueueCallerJoin"):
                for k in CHANNEL_FIELDS:
                    if p.get(k):
                        chans[uid][k] = p[k]
                if ev == "Newexten":
                    chans[uid]["Application"] = p.get("Application", "")
                    chans[uid]["ApplicationData"] = p.get("AppData", "")
                if ev == "BridgeEnter":
                    bridge[uid] = p.get("BridgeUniqueid", "")
                if ev == "QueueCallerJoin":
                    waiting[uid] = (p.get("Queue", ""), ts, dict(chans[uid]))
            if ev == "BridgeLeave" and uid:
                bridge.pop(uid, None)
            if ev in ("QueueCallerLeave", "AgentConnect") and uid:
                waiting.pop(uid, None)
    channels = []
    for uid, c in chans.items():
        item = [(k, c.get(k, "")) for k in CHANNEL_FIELDS]
        item += [("Application", c.get("Application", "")), ("ApplicationData", c.get("ApplicationData", "")),
                 ("Duration", _duration(now - created[uid])), ("BridgeId", bridge.get(uid, ""))]
        channels.append(item)
    queues: list[list[tuple[str, str]]] = []
    for queue, members in MEMBERS.items():
        for m in members:
            loc = f"Local/{m}@agents/n"
            queues.append([("Queue", queue), ("Name", m), ("Location", loc), ("StateInterface", loc)])
        for uid, (q, joined, c) in waiting.items():
            if q == queue:
                queues.append([("Queue", q), ("Channel", c["Channel"]), ("Uniqueid", uid),
                               ("CallerIDNum", c["CallerIDNum"]), ("Wait", str(int(now - joined)))])
    # Event names: CoreShowChannel for channels; QueueMember / QueueEntry by their fields.
    return {
        "CoreShowChannels": [[("Event", "CoreShowChannel"), *i] for i in channels],
        "QueueStatus": [[("Event", "QueueEntry" if any(k == "Wait" for k, _ in i) else "QueueMember"), *i]
                        for i in queues],
    }
