"""The simulated PBX's engine: a small discrete-event scheduler, shared PBX state and event helpers.

Calls run as generator processes that yield the absolute time they next wake up. Channels, Uniqueids
and queue positions are handed out in simulated time order, as a real Asterisk would.
"""

from __future__ import annotations

import heapq
import random
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field

from hotline.providers.asterisk.sim import wire as w
from hotline.providers.asterisk.sim.wire import Chan

Proc = Generator[float, None, None]


@dataclass
class PlannedCall:
    """The generator's own truth about one call (same meaning as the fixtures' truth files)."""

    call_id: str
    direction: str
    caller: str
    caller_name: str
    called: str
    queue: str | None = None
    specialty: str | None = None
    outcome: str = "failed"
    answered_by: str | None = None
    hung_up_by: str | None = None
    wait_seconds: float | None = None
    talk_seconds: float | None = None
    started_at: float = 0.0
    answered_at: float | None = None
    ended_at: float | None = None


@dataclass
class Script:
    """What the caller and staff will do on one call; the PBX decides what actually happens."""

    kind: str
    caller: str
    caller_name: str
    encoding: str = "utf-8"
    menu: str | None = None  # IVR digit
    digit_after: float = 4.0  # seconds after the IVR answers
    ivr_hangup: float | None = None  # caller leaves the IVR this long after it answered
    patience: float = 900.0  # caller hangs up after this long waiting for staff
    rings_unanswered: int = 0  # member rings let ring out before one is answered
    answer_after: float | None = None  # ring seconds of the answering ring (None: nobody answers)
    talk: float = 60.0
    staff_hangs_up: bool = False  # agent / duty / staff ends the talk (else caller / customer)
    overflow: str | None = None  # queue reached when the first one times out
    queue_timeout: int = 120
    bare_complete: bool = False  # AgentComplete without channel fields
    busy: bool = False  # the duty phone rejects the call
    called: str = ""


@dataclass
class PbxConfig:
    queues: dict[str, list[str]]  # queue -> members, in member order
    strategies: dict[str, str]
    menu: dict[str, str]  # digit -> queue
    specialties: dict[str, str]  # queue -> specialty
    hotline: str = "4008001234"
    duty_line: str = "4008005678"
    staff_extension: str = "8001"
    staff_name: str = "Agent One"
    member_timeout: float = 15.0
    retry: float = 2.0
    duty_timeout: float = 20.0
    callback_timeout: float = 30.0
    jitter: float = 0.02  # share of Cdr/CEL events stamped a few hundred microseconds early


@dataclass
class Member:
    queues: list[str]
    busy_with: str | None = None  # call id while ringing or talking
    calls: dict[str, int] = field(default_factory=dict)
    last_call: int = 0


class Pbx:
    """Shared state of the simulated PBX plus the scheduler that interleaves calls."""

    def __init__(self, rng: random.Random, start: float, config: PbxConfig) -> None:
        self.rng = rng
        self.start = start
        self.cfg = config
        self.login = int(start) - 3600
        self.members: dict[str, Member] = {}
        for q, names in config.queues.items():
            for m in names:
                self.members.setdefault(m, Member(queues=[])).queues.append(q)
        self.waiting: dict[str, list[str]] = {q: [] for q in config.queues}
        self.rr: dict[str, int] = {q: -1 for q in config.queues}
        self.duty_busy = False
        self.local_seq = 0
        self.uid_seq = 0
        self._procs: list[tuple[float, int, Proc]] = []
        self._out: list[tuple[float, int, bytes]] = []
        self._seq = 0
        self.on_finish: Callable[[PlannedCall], None] | None = None

    # -- resources --------------------------------------------------------------------------------

    def local_pair(self, t: float, exten: str, context: str, linkedid: str | None) -> tuple[Chan, Chan]:
        """A new `Local/exten@context-XXXXXXXX;1/;2` pair (one global hex counter, as chan_local)."""
        base = f"Local/{exten}@{context}-{self.local_seq:08x}"
        self.local_seq += 1
        u1 = f"{int(t)}.{self.uid_seq}"
        u2 = f"{int(t)}.{self.uid_seq + 1}"
        self.uid_seq += 2
        link = linkedid or u1
        one = Chan(name=base + ";1", uniqueid=u1, linkedid=link, context=context, exten=exten, created=t)
        two = Chan(name=base + ";2", uniqueid=u2, linkedid=link, context=context, exten=exten, created=t,
                   state=w.RING)
        return one, two

    def bridge_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def free_members(self, queue: str) -> list[str]:
        """Members of `queue` that may be rung now (ringinuse=no), in the order the strategy rings them."""
        names = self.cfg.queues[queue]
        free = [m for m in names if self.members[m].busy_with is None]
        if self.cfg.strategies.get(queue, "rrmemory") == "ringall":
            return free
        start = self.rr[queue] + 1
        ordered = names[start:] + names[:start]
        nxt = [m for m in ordered if self.members[m].busy_with is None]
        return nxt[:1]

    # -- scheduler --------------------------------------------------------------------------------

    def spawn(self, proc: Proc) -> None:
        try:
            t = next(proc)
        except StopIteration:
            return
        self._push(t, proc)

    def _push(self, t: float, proc: Proc) -> None:
        self._seq += 1
        heapq.heappush(self._procs, (t, self._seq, proc))

    def emit(self, t: float, event: str, privilege: str, body: str, encoding: str = "utf-8") -> None:
        ts = t
        if event in ("Cdr", "CEL") and self.rng.random() < self.cfg.jitter:
            ts = t - self.rng.uniform(0.0001, 0.0006)
        self._seq += 1
        data = w.packet(event, privilege, ts, body).encode(encoding, "replace")
        heapq.heappush(self._out, (t, self._seq, data))

    def finish(self, plan: PlannedCall) -> None:
        if self.on_finish is not None:
            self.on_finish(plan)

    def run(self) -> Iterator[tuple[float, bytes]]:
        """Run every process to its end, yielding packets in time order as soon as they are final."""
        procs, out = self._procs, self._out
        while procs:
            t, _, proc = heapq.heappop(procs)
            while out and out[0][0] <= t:
                pt, _, data = heapq.heappop(out)
                yield pt, data
            try:
                nt = proc.send(None)
            except StopIteration:
                continue
            self._push(max(nt, t), proc)
        while out:
            pt, _, data = heapq.heappop(out)
            yield pt, data


class Leg:
    """A process with its own clock cursor and helpers that emit one AMI event each."""

    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx
        self.rng = pbx.rng
        self.t = 0.0
        self.enc = "utf-8"

    def wait(self, seconds: float) -> float:
        self.t += max(seconds, 0.0)
        return self.t

    def ev(self, event: str, privilege: str, body: str) -> float:
        """Emit one event a few microseconds after the previous one; returns its timestamp."""
        self.t += self.rng.uniform(4e-6, 45e-6)
        self.pbx.emit(self.t, event, privilege, body, self.enc)
        return self.t

    def cel(self, c: Chan, name: str, extra: str = "", *, ani: bool = False, app: str | None = None,
            appdata: str | None = None) -> None:
        self.ev("CEL", w.CALL, w.cel_block(c, name, self.t, extra=extra, ani=ani, app=app, appdata=appdata))

    def newchannel(self, c: Chan) -> float:
        self.cel(c, "CHAN_START", app="", appdata="")
        return self.ev("Newchannel", w.CALL, w.block(c))

    def newstate(self, c: Chan, state: int) -> None:
        c.state = state
        if state == w.UP and c.answered is None:
            c.answered = self.t
            self.cel(c, "ANSWER")
        self.ev("Newstate", w.CALL, w.block(c))

    def newexten(self, c: Chan, app: str, data: str = "", priority: int | None = None) -> None:
        if priority is not None:
            c.priority = priority
        c.app, c.appdata = app, data
        self.ev("Newexten", w.DIALPLAN,
                w.block(c) + f"Extension: {c.exten}\r\nApplication: {app}\r\nAppData: {data}\r\n")

    def varset(self, c: Chan, var: str, value: str) -> None:
        self.ev("VarSet", w.DIALPLAN, w.block(c) + f"Variable: {var}\r\nValue: {value}\r\n")

    def callerid(self, c: Chan, num: str, name: str) -> None:
        c.caller(num, name)
        self.ev("NewCallerid", w.CALL,
                w.block(c) + "CID-CallingPres: 0 (Presentation Allowed, Not Screened)\r\n")

    def connected(self, c: Chan, num: str, name: str) -> None:
        c.connected(num, name)
        self.ev("NewConnectedLine", w.CALL, w.block(c))

    def local_bridge(self, one: Chan, two: Chan, optimize: bool) -> None:
        self.ev("LocalBridge", w.CALL, w.block(one, "LocalOne") + w.block(two, "LocalTwo")
                + f"Context: {one.context}\r\nExten: {one.exten}\r\nLocalOptimization: "
                f"{'Yes' if optimize else 'No'}\r\n")

    def dial(self, event: str, src: Chan | None, dest: Chan, tail: str) -> float:
        """DialBegin / DialState / DialEnd; `src` None for an Originate's own dial."""
        body = (w.block(src) if src is not None else "") + w.block(dest, "Dest")
        return self.ev(event, w.CALL, body + tail)

    def hangup_request(self, c: Chan, cause: int, soft: bool) -> float:
        event = "SoftHangupRequest" if soft else "HangupRequest"
        return self.ev(event, w.CALL, w.block(c) + f"Cause: {cause}\r\n")

    def hangup(self, c: Chan, cause: int, dialstatus: str = "") -> float:
        """Hangup plus its CEL HANGUP / CHAN_END; returns the Hangup event's timestamp."""
        t = self.ev("Hangup", w.CALL, w.block(c) + f"Cause: {cause}\r\nCause-txt: {w.CAUSE_TXT[cause]}\r\n")
        extra = f'{{"hangupcause":{cause},"hangupsource":"","dialstatus":"{dialstatus}"}}'
        self.cel(c, "HANGUP", extra, ani=c.context != "hotline-in")
        self.cel(c, "CHAN_END", ani=c.context != "hotline-in")
        return t

    def bridge(self, event: str, bridge_id: str, n: int, c: Chan | None = None) -> None:
        self.ev(event, w.CALL, w.bridge_block(bridge_id, n) + (w.block(c) if c is not None else ""))

    def moh(self, c: Chan, start: bool) -> None:
        if start:
            self.ev("MusicOnHoldStart", w.CALL, w.block(c) + "Class: default\r\n")
        else:
            self.ev("MusicOnHoldStop", w.CALL, w.block(c))

    def cdr(self, c: Chan, disposition: str, *, dest: str | None = None, dest_channel: str = "",
            last_app: str | None = None, last_data: str | None = None, start: float | None = None,
            answer: float | None = None) -> None:
        self.ev("Cdr", w.CDR, w.cdr_block(
            c, dest=c.exten if dest is None else dest, dest_context=c.context, dest_channel=dest_channel,
            last_app=c.app if last_app is None else last_app, last_data=c.appdata if last_data is None else last_data,
            start=c.created if start is None else start, answer=answer, end=self.t, disposition=disposition))

    def member_status(self, member: str, status: int) -> None:
        m = self.pbx.members[member]
        for q in m.queues:
            self.ev("QueueMemberStatus", w.AGENT, w.member_block(
                q, member, status=status, calls=m.calls.get(q, 0), last_call=m.last_call, login=self.pbx.login))
