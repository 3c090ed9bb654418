"""Inbound hotline calls on the simulated PBX: arrival, IVR menu, queues (with overflow) and hang-ups.

Mirrors the lab dialplan of tests/fixtures/ami: a Local pair `Local/<did>@hotline-in-XXXXXXXX;1/;2`
where `;1` is the caller's handset and `;2` runs the hotline dialplan.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass

from hotline.providers.asterisk.sim import wire as w
from hotline.providers.asterisk.sim.engine import Leg, Pbx, PlannedCall, Proc, Script
from hotline.providers.asterisk.sim.wire import Chan

GREETING = "hello-world&queue-thankyou"
MENU_PROMPT = "vm-press&digits/1&digits/2&digits/3"
TRANSFER_PROMPT = "pls-hold-while-try"


@dataclass
class Ring:
    """One queue member being rung for the call: the Local pair the queue dialled."""

    member: str
    one: Chan
    two: Chan
    start: float


class InboundFlow(Leg):
    """A call to a hotline number, from the first Newchannel to the last Cdr."""

    def __init__(self, pbx: Pbx, script: Script, start: float) -> None:
        super().__init__(pbx)
        self.s = script
        self.t = start
        self.enc = script.encoding
        did = script.called
        self.plan = PlannedCall(call_id="", direction="inbound", caller=script.caller,
                                caller_name=script.caller_name, called=did)
        self.one, self.two = pbx.local_pair(start, did, "hotline-in", None)
        self.legs: list[tuple[str, float, bool]] = []  # dialled member channel, ring start, answered
        self.reached: float | None = None
        self.queue_data = ""
        self.caller_request: float | None = None

    # -- shared pieces ----------------------------------------------------------------------------

    def arrive(self) -> None:
        """The caller's channel appears (caller ID arrives late, as in the traces)."""
        one, two, s = self.one, self.two, self.s
        self.newchannel(one)
        self.plan.started_at = self.newchannel(two)
        self.plan.call_id = two.uniqueid
        self.newexten(one, "AppDial2", "(Outgoing Line)")
        self.callerid(one, s.caller, s.caller_name)
        self.connected(one, s.caller, s.caller_name)
        two.connected(s.caller, s.caller_name)
        self.callerid(two, s.caller, s.caller_name)
        self.connected(two, s.caller, s.caller_name)
        self.local_bridge(one, two, True)
        self.dial("DialBegin", None, one, f"DialString: {s.called}@hotline-in\r\n")

    def handset(self, app: str, data: str, priority: int) -> None:
        self.newexten(self.one, app, data, priority)

    def caller_hangs_up(self) -> float:
        """The caller's handset hangs up; returns the time of the HangupRequest on the call channel."""
        one = self.one
        self.handset("Hangup", "", 6)
        self.hangup_request(one, 16, soft=True)
        t = self.hangup_request(self.two, 16, soft=False)
        self.hangup(one, 16)
        self.cdr(one, "ANSWERED", dest="s", last_app="Hangup", last_data="", answer=one.answered)
        if self.plan.hung_up_by is None:
            self.plan.hung_up_by = "caller"
        self.caller_request = t
        return t

    def end_call_channel(self, cause: int = 16, *, timeout_leg: bool = False) -> None:
        """The hotline channel goes away: hangup, its Cdrs (one per dialled member) and LINKEDID_END."""
        two = self.two
        self.hangup_request(two, cause, soft=True)
        self.plan.ended_at = self.hangup(two, cause)
        self.end_cdrs(timeout_leg)

    def system_hangup(self, priority: int) -> None:
        """The dialplan ends the call (`Hangup()`): the PBX hung up."""
        one, two = self.one, self.two
        self.newexten(two, "Hangup", "", priority)
        self.hangup_request(two, 16, soft=True)
        if self.plan.hung_up_by is None:
            self.plan.hung_up_by = "system"
        self.hangup_request(one, 16, soft=False)
        self.hangup_request(one, 16, soft=True)
        self.hangup(one, 16)
        self.cdr(one, "ANSWERED", dest="s", last_app="Wait", answer=one.answered)
        self.end_call_channel(16, timeout_leg=self.plan.outcome == "timeout")

    # -- the hotline: IVR then queue ----------------------------------------------------------------

    def run(self) -> Proc:
        s, one, two = self.s, self.one, self.two
        self.arrive()
        self.newexten(two, "NoOp", f"Hotline inbound call from {s.caller}")
        self.newexten(two, "Answer", "", 2)
        self.newstate(two, w.UP)
        self.newstate(one, w.UP)
        self.dial("DialEnd", None, one, "DialStatus: ANSWER\r\n")
        up = self.t
        one.goto("caller-sim", "s")
        self.handset("Wait", f"{s.digit_after:.0f}", 3)
        leave = up + s.ivr_hangup if s.ivr_hangup is not None else math.inf
        yield self.wait(0.5)
        self.cel(two, "APP_START", app="Playback", appdata=GREETING)
        self.newexten(two, "Playback", GREETING, 3)
        greeting_end = self.t + self.rng.uniform(3.0, 3.2)
        if leave < greeting_end:
            yield from self.ivr_abandon(leave, "PLAYBACKSTATUS")
            return
        yield self.wait(greeting_end - self.t)
        self.varset(two, "PLAYBACKSTATUS", "SUCCESS")
        self.newexten(two, "BackGround", MENU_PROMPT, 4)
        prompt_end = self.t + self.rng.uniform(2.4, 2.7)
        digit_at = up + s.digit_after if s.menu is not None else math.inf
        first = min(leave, digit_at)
        if first >= prompt_end:
            yield self.wait(prompt_end - self.t)
            self.varset(two, "BACKGROUNDSTATUS", "SUCCESS")
            self.newexten(two, "WaitExten", "10", 5)
            if first >= prompt_end + 10:  # nothing pressed: the dialplan says goodbye
                yield self.wait(prompt_end + 10 - self.t)
                self.plan.outcome = "ivr_abandoned"
                self.system_hangup(7)
                self.pbx.finish(self.plan)
                return
        if leave < digit_at:
            yield from self.ivr_abandon(leave, "BACKGROUNDSTATUS" if two.app == "BackGround" else None)
            return
        yield from self.choose(digit_at, leave)

    def ivr_abandon(self, at: float, status_var: str | None) -> Generator[float, None, None]:
        yield self.wait(at - self.t)
        self.caller_hangs_up()
        if status_var is not None:
            self.varset(self.two, status_var, "SUCCESS")
        self.plan.outcome = "ivr_abandoned"
        self.end_call_channel()
        self.pbx.finish(self.plan)

    def choose(self, at: float, leave: float) -> Proc:
        """The caller presses the menu digit: set queue and specialty, play the transfer prompt, queue."""
        s, two, cfg = self.s, self.two, self.pbx.cfg
        digit = s.menu or "1"
        yield self.wait(at - self.t)
        self.handset("SendDTMF", digit, 4)
        yield self.wait(0.1)
        self.ev("DTMFBegin", w.DTMF, w.block(two) + f"Digit: {digit}\r\nDirection: Received\r\n")
        yield self.wait(0.1)
        self.ev("DTMFEnd", w.DTMF, w.block(two) + f"Digit: {digit}\r\nDurationMs: 100\r\nDirection: Received\r\n")
        self.cel(two, "DTMF", f'{{"digit":"{digit}","duration_ms":100}}')
        if two.app == "BackGround":
            self.varset(two, "BACKGROUNDSTATUS", "SUCCESS")
        queue = cfg.menu[digit]
        specialty = cfg.specialties.get(queue, queue)
        self.plan.specialty = specialty
        two.goto("hotline-in", digit)
        self.newexten(two, "Set", f"HOTLINE_QUEUE={queue}", 1)
        self.varset(two, "HOTLINE_QUEUE", queue)
        self.newexten(two, "Set", f"HOTLINE_SPECIALTY={specialty}", 2)
        self.varset(two, "HOTLINE_SPECIALTY", specialty)
        self.newexten(two, "Playback", TRANSFER_PROMPT, 3)
        prompt_end = self.t + self.rng.uniform(1.6, 1.9)
        if leave < prompt_end:
            yield from self.ivr_abandon(leave, "PLAYBACKSTATUS")
            return
        yield self.wait(prompt_end - self.t)
        self.varset(two, "PLAYBACKSTATUS", "SUCCESS")
        self.newexten(two, "Goto", "queue,1", 4)
        two.goto("hotline-in", "queue")
        first_timeout = s.queue_timeout if s.overflow is None else max(20, s.queue_timeout // 4)
        result = yield from self.queue(queue, first_timeout, 1, final=s.overflow is None)
        if result == "timeout" and s.overflow is not None:
            self.newexten(two, "GotoIf", "1?overflow", 2)
            result = yield from self.queue(s.overflow, s.queue_timeout, 3, final=True)
        if result == "timeout":
            self.plan.outcome = "timeout"
            self.cel(two, "APP_START", app="Playback", appdata="vm-goodbye")
            self.newexten(two, "Playback", "vm-goodbye", two.priority + 1)
            yield self.wait(self.rng.uniform(0.85, 0.9))
            self.varset(two, "PLAYBACKSTATUS", "SUCCESS")
            self.system_hangup(two.priority + 1)
        self.pbx.finish(self.plan)

    # -- queue ----------------------------------------------------------------------------------------

    def queue(self, q: str, timeout: int, priority: int, final: bool) -> Generator[float, None, str]:
        """Queue(q,,,,timeout): ring members until one answers, the caller leaves or time runs out."""
        s, two, pbx, cfg = self.s, self.two, self.pbx, self.pbx.cfg
        data = self.queue_data = f"{q},,,,{timeout}"
        self.plan.queue = q
        self.cel(two, "APP_START", app="Queue", appdata=data)
        self.newexten(two, "Queue", data, priority)
        for var in ("ANSWEREDTIME", "ANSWEREDTIME_MS", "DIALEDTIME", "DIALEDTIME_MS", "QUEUEWAIT", "QUEUEWAIT_MS"):
            self.varset(two, var, "")
        waiting = pbx.waiting[q]
        waiting.append(self.plan.call_id)
        pos = len(waiting)
        join = self.ev("QueueCallerJoin", w.AGENT, w.block(two) + f"Queue: {q}\r\nPosition: {pos}\r\nCount: {pos}\r\n")
        if self.reached is None:
            self.reached = join
        give_up = self.reached + s.patience
        deadline = join + timeout
        self.cel(two, "STREAM_BEGIN", '{"class":"default"}')
        self.moh(two, True)
        rounds = 0
        while True:
            if self.t >= give_up:
                yield from self.abandon(q, [], join, pos)
                return "abandoned"
            if self.t >= deadline:
                self.queue_timeout(q, join, pos)
                return "timeout"
            free = pbx.free_members(q)
            if not free:
                yield self.wait(min(self.t + cfg.retry, deadline, give_up) - self.t)
                continue
            rings = [self.ring(q, m) for m in free]
            start = self.t
            answers = final and s.answer_after is not None and rounds >= s.rings_unanswered
            ring_end = start + cfg.member_timeout
            answer_at = start + min(s.answer_after or 0.0, cfg.member_timeout - 0.5) if answers else math.inf
            what = min((answer_at, 0), (give_up, 1), (deadline, 2), (ring_end, 3))
            yield self.wait(what[0] - self.t)
            if what[1] == 0:
                yield from self.answer(q, rings, join, pos)
                return "answered"
            if what[1] == 1:
                yield from self.abandon(q, rings, join, pos)
                return "abandoned"
            self.ring_out(q, rings)
            rounds += 1
            if what[1] == 3:
                yield self.wait(min(self.t + cfg.retry, deadline, give_up) - self.t)

    def ring(self, q: str, member: str) -> Ring:
        """Dial one member (`Local/<member>@agents/n`): AgentCalled, DialBegin, ringing."""
        s, two, pbx = self.s, self.two, self.pbx
        pbx.members[member].busy_with = self.plan.call_id
        pbx.rr[q] = pbx.cfg.queues[q].index(member)
        a1, a2 = pbx.local_pair(self.t, member, "agents", self.one.linkedid)
        self.newchannel(a1)
        self.newchannel(a2)
        self.newexten(a1, "AppQueue", "(Outgoing Line)")
        self.callerid(a1, s.caller, s.caller_name)
        self.varset(a1, "DIALEDPEERNUMBER", f"{member}@agents/n")
        self.varset(a2, "DIALEDPEERNUMBER", f"{member}@agents/n")
        a2.connected(s.caller, s.caller_name)
        self.callerid(a2, s.caller, s.caller_name)
        self.connected(a2, s.caller, s.caller_name)
        self.local_bridge(a1, a2, False)
        dest = w.block(a1, "Dest", exten="queue", conn=(s.caller, s.caller_name))
        self.ev("AgentCalled", w.AGENT, w.block(two) + dest + w.queue_member_tail(q, member))
        self.dial("DialBegin", two, a1, f"DialString: Local/{member}@agents/n\r\n")
        self.newexten(a2, "Ringing", "", 5)
        a1.exten = "queue"
        self.newstate(a1, w.RINGING)
        self.newexten(a1, "AppQueue", "(Outgoing Line)")
        self.connected(a1, s.caller, s.caller_name)
        self.newexten(a2, "Wait", "600", 6)
        self.member_status(member, 2)
        self.dial("DialState", two, a1, "DialStatus: RINGING\r\n")
        return Ring(member, a1, a2, self.t)

    def drop(self, ring: Ring, cause: int, disposition: str, *, status: str = "CANCEL") -> None:
        """A member's ring ends without an answer: DialEnd (CANCEL often twice) and its channels go."""
        self.dial("DialEnd", self.two, ring.one, f"DialStatus: {status}\r\n")
        if status != "CANCEL" or self.rng.random() < 0.7:
            self.dial("DialEnd", self.two, ring.one, "DialStatus: CANCEL\r\n")
        self.hangup_request(ring.two, cause, soft=False)
        self.hangup(ring.one, cause)
        self.hangup_request(ring.two, 16, soft=True)
        self.hangup(ring.two, cause)
        self.cdr(ring.two, disposition, dest=ring.member, last_app="Wait", last_data="600")
        self.pbx.members[ring.member].busy_with = None
        self.member_status(ring.member, 1)
        self.legs.append((ring.one.name, ring.start, False))

    def ring_out(self, q: str, rings: list[Ring]) -> None:
        """Member ring timeout (or Queue() timeout while ringing): AgentRingNoAnswer, RingTime in ms."""
        for r in rings:
            ms = min(round((self.t - r.start) * 1000), int(self.pbx.cfg.member_timeout * 1000))
            self.ev("AgentRingNoAnswer", w.AGENT, w.block(self.two) + w.block(r.one, "Dest")
                    + w.queue_member_tail(q, r.member) + f"RingTime: {ms}\r\n")
        for r in rings:
            self.drop(r, 0, "FAILED", status="NOANSWER")

    def leave(self, q: str) -> None:
        waiting = self.pbx.waiting[q]
        pos = waiting.index(self.plan.call_id) + 1
        waiting.remove(self.plan.call_id)
        tail = f"Queue: {q}\r\nPosition: {pos}\r\nCount: {len(waiting)}\r\n"
        self.ev("QueueCallerLeave", w.AGENT, w.block(self.two) + tail)
        self.varset(self.two, "QUEUEPOSITION", str(pos))

    def caller_abandon_event(self, q: str, join: float, pos: int) -> None:
        now = self.pbx.waiting[q].index(self.plan.call_id) + 1
        self.varset(self.two, "ABANDONED", "TRUE")
        self.ev("QueueCallerAbandon", w.AGENT, w.block(self.two) + f"Queue: {q}\r\nPosition: {now}\r\n"
                f"OriginalPosition: {pos}\r\nHoldTime: {int(self.t - join)}\r\n")

    def queue_vars(self, join: float, answered: float | None) -> None:
        wait = self.t - join
        self.varset(self.two, "QUEUEWAIT", str(int(wait)))
        self.varset(self.two, "QUEUEWAIT_MS", str(int(wait * 1000)))
        if answered is None:
            dialed = self.t - self.two.created
            for var, v in (("DIALEDTIME", int(dialed)), ("DIALEDTIME_MS", int(dialed * 1000)),
                           ("ANSWEREDTIME", 0), ("ANSWEREDTIME_MS", 0)):
                self.varset(self.two, var, str(v))

    def queue_timeout(self, q: str, join: float, pos: int) -> None:
        """Queue() returns TIMEOUT: Asterisk still sends QueueCallerAbandon, then QueueCallerLeave."""
        self.caller_abandon_event(q, join, pos)
        self.queue_vars(join, None)
        self.cel(self.two, "STREAM_END")
        self.moh(self.two, False)
        self.leave(q)
        self.varset(self.two, "QUEUESTATUS", "TIMEOUT")
        self.cel(self.two, "APP_END")
        if self.reached is not None:
            self.plan.wait_seconds = self.t - self.reached
        self.plan.outcome = "timeout"

    def abandon(self, q: str, rings: list[Ring], join: float, pos: int) -> Generator[float, None, None]:
        """The caller hangs up while waiting in the queue."""
        t = self.caller_hangs_up()
        self.moh(self.two, False)
        for r in rings:
            self.drop(r, 0, "FAILED")
        self.queue_vars(join, None)
        self.caller_abandon_event(q, join, pos)
        self.leave(q)
        self.cel(self.two, "APP_END")
        self.plan.outcome = "abandoned"
        self.plan.wait_seconds = t - (self.reached or join)
        self.end_call_channel()
        yield self.t

    def answer(self, q: str, rings: list[Ring], join: float, pos: int) -> Generator[float, None, None]:
        """One ringing member answers; the others are cancelled; talk; someone hangs up."""
        s, two, pbx = self.s, self.two, self.pbx
        r = self.rng.choice(rings)
        self.newexten(r.two, "Answer", "", 10)
        self.newstate(r.two, w.UP)
        self.newstate(r.one, w.UP)
        self.dial("DialEnd", two, r.one, "DialStatus: ANSWER\r\n")
        for other in rings:
            if other is not r:
                self.drop(other, 26, "NO ANSWER")
        self.legs.append((r.one.name, r.start, True))
        self.cel(two, "STREAM_END")
        self.moh(two, False)
        self.leave(q)
        self.queue_vars(join, 0.0)
        hold = int(self.t - join)
        tail = w.queue_member_tail(q, r.member) + f"HoldTime: {hold}\r\nRingTime: {int(self.t - r.start)}\r\n"
        answered = self.ev("AgentConnect", w.AGENT, w.block(two) + w.block(r.one, "Dest") + tail)
        self.plan.outcome, self.plan.answered_by, self.plan.answered_at = "answered", r.member, answered
        self.plan.wait_seconds = answered - (self.reached or join)
        bridge = pbx.bridge_id()
        self.bridge("BridgeCreate", bridge, 0)
        self.bridge("BridgeEnter", bridge, 1, r.one)
        self.cel(r.one, "BRIDGE_ENTER", f'{{"bridge_id":"{bridge}","bridge_technology":"simple_bridge"}}', ani=True)
        self.bridge("BridgeEnter", bridge, 2, two)
        self.varset(r.one, "BRIDGEPEER", two.name)
        self.varset(two, "BRIDGEPEER", r.one.name)
        self.member_status(r.member, 2)
        yield self.wait(0.5)
        self.newexten(r.two, "Wait", f"{s.talk:.0f}", 11)
        yield self.wait(s.talk - 0.5)
        yield from self.end_talk(q, r, bridge, hold, answered)

    def end_talk(self, q: str, r: Ring, bridge: str, hold: int, answered: float) -> Generator[float, None, None]:
        s, two, pbx = self.s, self.two, self.pbx
        complete = (f"Queue: {q}\r\nInterface: Local/{r.member}@agents/n\r\nMemberName: {r.member}\r\n"
                    f"HoldTime: {hold}\r\nTalkTime: {int(self.t - answered)}\r\n")
        reason = "agent" if s.staff_hangs_up else "caller"
        if s.staff_hangs_up:
            self.newexten(r.two, "Hangup", "", 12)
            self.hangup_request(r.two, 16, soft=True)
            self.plan.hung_up_by = "agent"
            self.hangup(r.two, 16)
            self.cdr(r.two, "ANSWERED", dest=r.member, last_app="Hangup", last_data="", answer=r.two.answered)
            self.hangup_request(r.one, 16, soft=False)
        else:
            self.caller_hangs_up()
        if not s.bare_complete:
            t = self.ev("AgentComplete", w.AGENT, w.block(two) + w.block(r.one, "Dest") + complete
                        + f"Reason: {reason}\r\n")
            self.plan.talk_seconds = t - answered
        member = pbx.members[r.member]
        member.calls[q] = member.calls.get(q, 0) + 1
        member.last_call = int(self.t)
        for c in (two, r.one):
            self.varset(c, "BRIDGEPEER", "")
        self.bridge("BridgeLeave", bridge, 1, two)
        self.bridge("BridgeLeave", bridge, 0, r.one)
        if not s.staff_hangs_up:
            self.hangup_request(r.two, 16, soft=False)
            self.hangup(r.one, 16)
            self.hangup_request(r.two, 16, soft=True)
            self.hangup(r.two, 16)
            self.cdr(r.two, "ANSWERED", dest=r.member, last_app="Wait", last_data="600", answer=r.two.answered)
        else:
            self.hangup(r.one, 16)
        self.bridge("BridgeDestroy", bridge, 0)
        talked, dialed = self.t - answered, self.t - two.created
        for var, v in (("ANSWEREDTIME", int(talked)), ("ANSWEREDTIME_MS", int(talked * 1000)),
                       ("DIALEDTIME", int(dialed)), ("DIALEDTIME_MS", int(dialed * 1000))):
            self.varset(two, var, str(v))
        self.cel(two, "APP_END")
        if s.staff_hangs_up:
            self.hangup_request(two, 16, soft=True)
            self.hangup_request(self.one, 16, soft=False)
            self.hangup_request(self.one, 16, soft=True)
            self.hangup(self.one, 16)
            self.cdr(self.one, "ANSWERED", dest="s", last_app="Wait", answer=self.one.answered)
            self.plan.ended_at = self.hangup(two, 16)
            self.end_cdrs()
        else:
            self.end_call_channel()
        member.busy_with = None
        self.member_status(r.member, 1)
        if s.bare_complete:
            yield self.wait(self.rng.uniform(0.0005, 0.004))
            t = self.ev("AgentComplete", w.AGENT, complete + f"Reason: {reason}\r\n")
            self.plan.talk_seconds = t - answered
        yield self.t

    def end_cdrs(self, timeout_leg: bool = False) -> None:
        """The hotline channel's Cdrs: one per dialled member (or one for the IVR), then LINKEDID_END."""
        two = self.two
        if not self.legs:
            self.cdr(two, "ANSWERED", answer=two.answered)
        for name, start, answered in self.legs:
            self.cdr(two, "ANSWERED" if answered else "NO ANSWER", dest="queue", dest_channel=name,
                     last_app="Queue", last_data=self.queue_data, start=start, answer=start)
        if timeout_leg:
            self.cdr(two, "ANSWERED", dest="queue", last_app="Hangup", last_data="", start=self.t, answer=self.t)
        self.cel(two, "LINKEDID_END", app="", appdata="")
