"""Dial() calls on the simulated PBX: the duty line (no IVR) and staff callbacks to customers.

Duty line: `Dial(Local/duty@agents/n,20)`, `Busy(5)` on BUSY. Callback: the staff phone's `;1` half
(context from-internal) runs `Dial(Local/<number>@pstn/n,30)`.
"""

from __future__ import annotations

from collections.abc import Generator

from hotline.providers.asterisk.sim import wire as w
from hotline.providers.asterisk.sim.engine import Leg, Pbx, PlannedCall, Proc, Script
from hotline.providers.asterisk.sim.flows import InboundFlow
from hotline.providers.asterisk.sim.wire import Chan

DIAL_VARS = ("DIALSTATUS", "DIALEDPEERNUMBER", "DIALEDPEERNAME", "ANSWEREDTIME", "ANSWEREDTIME_MS",
             "DIALEDTIME", "DIALEDTIME_MS", "RINGTIME", "RINGTIME_MS", "PROGRESSTIME", "PROGRESSTIME_MS")


class DialLeg(Leg):
    """Dial() from channel `src` to a Local pair; shared by the duty line and callbacks."""

    def start_dial(self, src: Chan, target: str, context: str, timeout: int,
                   name: tuple[str, str]) -> tuple[Chan, Chan]:
        data = f"Local/{target}@{context}/n,{timeout}"
        self.cel(src, "APP_START", app="Dial", appdata=data)
        self.newexten(src, "Dial", data, 2)
        for var in DIAL_VARS:
            self.varset(src, var, "")
        d1, d2 = self.pbx.local_pair(self.t, target, context, src.linkedid)
        self.newchannel(d1)
        self.newchannel(d2)
        self.varset(d1, "DIALEDPEERNUMBER", f"{target}@{context}/n")
        d1.exten = src.exten
        self.newexten(d1, "AppDial", "(Outgoing Line)")
        self.callerid(d1, *name)
        self.connected(d1, *name)
        self.varset(d2, "DIALEDPEERNUMBER", f"{target}@{context}/n")
        d2.connected(*name)
        self.callerid(d2, *name)
        self.connected(d2, *name)
        self.local_bridge(d1, d2, False)
        self.dial("DialBegin", src, d1, f"DialString: Local/{target}@{context}/n\r\n")
        return d1, d2

    def ringing(self, src: Chan, d1: Chan, d2: Chan) -> None:
        self.newexten(d2, "Ringing", "", 8)
        self.newstate(d1, w.RINGING)
        self.newexten(d2, "Wait", "600", 9)
        self.varset(src, "RINGTIME", "0")
        self.varset(src, "RINGTIME_MS", str(self.rng.randint(0, 2)))
        self.dial("DialState", src, d1, "DialStatus: RINGING\r\n")

    def no_answer(self, src: Chan, d1: Chan, d2: Chan) -> float:
        """Dial() timeout: DialEnd NOANSWER, the dialled pair goes; returns the DialEnd time."""
        t = self.dial("DialEnd", src, d1, "DialStatus: NOANSWER\r\n")
        self.hangup_request(d2, 0, soft=False)
        self.hangup(d1, 0)
        self.hangup_request(d2, 16, soft=True)
        self.hangup(d2, 0)
        self.cdr(d2, "NO ANSWER", last_app="Wait", last_data="600")
        self.varset(src, "DIALSTATUS", "NOANSWER")
        return t

    def dial_answer(self, src: Chan, d1: Chan, d2: Chan) -> tuple[float, str]:
        """The dialled side answers and is bridged with `src`; returns (answer time, bridge id)."""
        self.newexten(d2, "Answer", "", 10)
        self.newstate(d1, w.UP)
        self.varset(src, "DIALSTATUS", "ANSWER")
        self.varset(src, "DIALEDPEERNAME", d1.name)
        self.varset(src, "DIALEDPEERNUMBER", f"{d2.exten}@{d2.context}/n")
        t = self.dial("DialEnd", src, d1, "DialStatus: ANSWER\r\n")
        bridge = self.pbx.bridge_id()
        self.bridge("BridgeCreate", bridge, 0)
        self.newstate(d2, w.UP)
        d1.exten = ""
        self.newexten(d1, "AppDial", "(Outgoing Line)")
        self.bridge("BridgeEnter", bridge, 1, d1)
        self.cel(d1, "BRIDGE_ENTER", f'{{"bridge_id":"{bridge}","bridge_technology":"simple_bridge"}}', ani=True)
        return t, bridge

    def enter(self, src: Chan, d1: Chan, bridge: str) -> None:
        self.bridge("BridgeEnter", bridge, 2, src)
        self.varset(d1, "BRIDGEPEER", src.name)
        self.varset(src, "BRIDGEPEER", d1.name)

    def leave_bridge(self, src: Chan, d1: Chan, bridge: str, answered: float) -> None:
        for c in (src, d1):
            self.varset(c, "BRIDGEPEER", "")
        self.bridge("BridgeLeave", bridge, 1, src)
        talked = self.t - answered
        dialed = self.t - src.created
        for var, v in (("ANSWEREDTIME", int(talked)), ("ANSWEREDTIME_MS", int(talked * 1000)),
                       ("DIALEDTIME", int(dialed)), ("DIALEDTIME_MS", int(dialed * 1000))):
            self.varset(src, var, str(v))
        self.bridge("BridgeLeave", bridge, 0, d1)

    def drop_far(self, d1: Chan, d2: Chan, bridge: str) -> None:
        """The dialled pair goes after the bridge broke up from the calling side."""
        self.bridge("BridgeDestroy", bridge, 0)
        self.hangup_request(d2, 16, soft=False)
        self.hangup_request(d2, 16, soft=True)
        self.hangup(d2, 16)
        self.cdr(d2, "ANSWERED", last_app="Wait", last_data="600", answer=d2.answered)
        self.hangup(d1, 16)


class DutyFlow(InboundFlow, DialLeg):
    """A call to the duty line: rung directly, answered / busy / no answer."""

    def run(self) -> Proc:
        s, one, two, pbx = self.s, self.one, self.two, self.pbx
        self.arrive()
        self.newexten(two, "NoOp", f"Duty line call from {s.caller}")
        name = (s.caller, s.caller_name)
        d1, d2 = self.start_dial(two, "duty", "agents", int(pbx.cfg.duty_timeout), name)
        began = self.t
        self.reached = began
        if s.busy or pbx.duty_busy:
            self.busy(d1, d2, began)
            pbx.finish(self.plan)
            return
        pbx.duty_busy = True
        self.ringing(two, d1, d2)
        self.newstate(one, w.RINGING)
        self.dial("DialState", None, one, "DialStatus: RINGING\r\n")
        timeout = pbx.cfg.duty_timeout
        if s.answer_after is None or s.answer_after >= timeout:
            yield self.wait(timeout)
            self.plan.outcome = "timeout"
            self.plan.wait_seconds = self.no_answer(two, d1, d2) - began
            self.newexten(two, "GotoIf", "0?busy", 3)
            self.newexten(two, "Hangup", "", 4)
            self.hangup_request(two, 16, soft=True)
            self.plan.hung_up_by = "system"
            self.dial("DialEnd", None, one, "DialStatus: CANCEL\r\n")
            self.hangup_request(one, 16, soft=False)
            self.hangup(one, 16)
            self.cdr(one, "NO ANSWER", dest=two.exten, last_app="AppDial2", last_data="(Outgoing Line)")
            self.plan.ended_at = self.hangup(two, 16)
            self.cdr(two, "NO ANSWER", dest_channel=d1.name, last_app="Dial")
            self.cel(two, "LINKEDID_END", app="", appdata="")
        else:
            yield self.wait(s.answer_after)
            yield from self.talk(d1, d2, began)
        pbx.duty_busy = False
        pbx.finish(self.plan)

    def busy(self, d1: Chan, d2: Chan, began: float) -> None:
        one, two = self.one, self.two
        self.newexten(d2, "Busy", "10", 13)
        self.newstate(d2, w.BUSY)
        self.cdr(d2, "BUSY", last_app="Busy", last_data="10")
        self.dial("DialEnd", two, d1, "DialStatus: BUSY\r\n")
        self.hangup_request(d2, 0, soft=False)
        self.hangup(d1, 0)
        self.varset(two, "DIALSTATUS", "BUSY")
        self.hangup_request(d2, 16, soft=True)
        self.hangup(d2, 17)
        self.newexten(two, "GotoIf", "1?busy", 3)
        self.newexten(two, "Busy", "5", 5)
        self.cel(two, "APP_END", app="Dial", appdata=f"Local/duty@agents/n,{int(self.pbx.cfg.duty_timeout)}")
        self.newstate(two, w.BUSY)
        self.dial("DialEnd", None, one, "DialStatus: BUSY\r\n")
        t = self.hangup_request(two, 0, soft=False)
        self.plan.outcome, self.plan.hung_up_by, self.plan.wait_seconds = "busy", "caller", t - began
        self.hangup(one, 0)
        self.hangup_request(two, 16, soft=True)
        self.plan.ended_at = self.hangup(two, 17)
        self.cdr(one, "BUSY", dest=two.exten, last_app="AppDial2", last_data="(Outgoing Line)")
        self.cdr(two, "BUSY", dest_channel=d1.name, last_app="Dial")
        self.cdr(two, "BUSY", last_app="Busy", last_data="5")
        self.cel(two, "LINKEDID_END", app="", appdata="")

    def talk(self, d1: Chan, d2: Chan, began: float) -> Generator[float, None, None]:
        s, one, two = self.s, self.one, self.two
        answered, bridge = self.dial_answer(two, d1, d2)
        self.plan.outcome, self.plan.answered_by, self.plan.answered_at = "answered", "duty", answered
        self.plan.wait_seconds = answered - began
        self.newstate(two, w.UP)
        self.newstate(one, w.UP)
        self.dial("DialEnd", None, one, "DialStatus: ANSWER\r\n")
        one.goto("caller-sim", "s")
        self.handset("Wait", f"{s.talk:.0f}", 5)
        self.enter(two, d1, bridge)
        yield self.wait(s.talk)
        if s.staff_hangs_up:
            self.newexten(d2, "Hangup", "", 12)
            first = self.hangup_request(d2, 16, soft=True)
            self.plan.hung_up_by = "agent"
            self.hangup_request(d1, 16, soft=False)
            self.hangup(d2, 16)
            self.cdr(d2, "ANSWERED", last_app="Hangup", last_data="", answer=d2.answered)
            self.leave_bridge(two, d1, bridge, answered)
            self.hangup(d1, 16)
            self.bridge("BridgeDestroy", bridge, 0)
            self.newexten(two, "GotoIf", "0?busy", 3)
            self.newexten(two, "Hangup", "", 4)
            self.hangup_request(two, 16, soft=True)
            self.hangup_request(one, 16, soft=False)
            self.hangup_request(one, 16, soft=True)
            self.hangup(one, 16)
        else:
            first = self.caller_hangs_up()
            self.leave_bridge(two, d1, bridge, answered)
            self.varset(two, "DIALSTATUS", "ANSWER")
            self.hangup_request(two, 16, soft=True)
        self.plan.talk_seconds = first - answered
        self.plan.ended_at = self.hangup(two, 16)
        if s.staff_hangs_up:
            self.cdr(one, "ANSWERED", dest="s", last_app="Wait", answer=one.answered)
        self.cdr(two, "ANSWERED", dest_channel=d1.name, last_app="Dial", answer=answered)
        if not s.staff_hangs_up:
            self.drop_far(d1, d2, bridge)
        self.cel(two, "LINKEDID_END", app="", appdata="")


class CallbackFlow(DialLeg):
    """Staff extension calls a customer back through the PSTN context."""

    def __init__(self, pbx: Pbx, script: Script, start: float) -> None:
        super().__init__(pbx)
        self.s = script
        self.t = start
        cfg = pbx.cfg
        self.plan = PlannedCall(call_id="", direction="outbound", caller=cfg.staff_extension,
                                caller_name=cfg.staff_name, called=script.called)

    def run(self) -> Proc:
        s, pbx, plan = self.s, self.pbx, self.plan
        ext, staff = pbx.cfg.staff_extension, (pbx.cfg.staff_extension, pbx.cfg.staff_name)
        s1, s2 = pbx.local_pair(self.t, ext, "staff-phones", None)
        plan.started_at = self.newchannel(s1)
        plan.call_id = s1.uniqueid
        self.newchannel(s2)
        self.newexten(s1, "AppDial2", "(Outgoing Line)")
        self.callerid(s1, *staff)
        self.connected(s1, *staff)
        s2.connected(*staff)
        self.callerid(s2, *staff)
        self.connected(s2, *staff)
        self.local_bridge(s1, s2, False)
        self.dial("DialBegin", None, s1, f"DialString: {ext}@staff-phones\r\n")
        self.newexten(s2, "Answer", "", 1)
        self.newstate(s2, w.UP)
        self.newstate(s1, w.UP)
        self.dial("DialEnd", None, s1, "DialStatus: ANSWER\r\n")
        s1.goto("from-internal", s.called)
        self.newexten(s1, "NoOp", f"Callback to {s.called} by {ext}")
        c1, c2 = self.start_dial(s1, s.called, "pstn", int(pbx.cfg.callback_timeout), staff)
        began = self.t
        self.ringing(s1, c1, c2)
        self.newexten(s2, "Wait", "600", 2)
        timeout = pbx.cfg.callback_timeout
        if s.answer_after is None or s.answer_after >= timeout:
            yield self.wait(timeout)
            plan.outcome = "timeout"
            plan.wait_seconds = self.no_answer(s1, c1, c2) - began
            self.newexten(s1, "Hangup", "", 3)
            self.hangup_request(s1, 16, soft=True)
            plan.hung_up_by = "system"  # Dial() timed out: the dialplan ended the call, not the staff member
            self.hangup_request(s2, 16, soft=False)
            plan.ended_at = self.hangup(s1, 16)
            self.cdr(s1, "NO ANSWER", dest_channel=c1.name, last_app="Dial")
            self.hangup_request(s2, 16, soft=True)
            self.hangup(s2, 16)
            self.cdr(s2, "ANSWERED", last_app="Wait", last_data="600", answer=s2.answered)
            self.cel(s1, "LINKEDID_END", app="", appdata="")
        else:
            yield self.wait(s.answer_after)
            yield from self.talk(s1, s2, c1, c2, began)
        pbx.finish(plan)

    def talk(self, s1: Chan, s2: Chan, c1: Chan, c2: Chan, began: float) -> Generator[float, None, None]:
        s, plan = self.s, self.plan
        answered, bridge = self.dial_answer(s1, c1, c2)
        plan.outcome, plan.answered_by, plan.answered_at = "answered", s.called, answered
        plan.wait_seconds = answered - began
        self.enter(s1, c1, bridge)
        yield self.wait(s.talk)
        if s.staff_hangs_up:
            self.newexten(s2, "Hangup", "", 3)
            first = self.hangup_request(s2, 16, soft=True)
            plan.hung_up_by = "staff"
            self.hangup_request(s1, 16, soft=False)
            self.hangup(s2, 16)
            self.cdr(s2, "ANSWERED", last_app="Hangup", last_data="", answer=s2.answered)
            self.leave_bridge(s1, c1, bridge, answered)
            self.hangup_request(s1, 16, soft=True)
            plan.ended_at = self.hangup(s1, 16)
            self.cdr(s1, "ANSWERED", dest_channel=c1.name, last_app="Dial", answer=answered)
            self.drop_far(c1, c2, bridge)
        else:
            self.newexten(c2, "Hangup", "", 5)
            first = self.hangup_request(c2, 16, soft=True)
            plan.hung_up_by = "customer"
            self.hangup_request(c1, 16, soft=False)
            self.hangup(c2, 16)
            self.cdr(c2, "ANSWERED", last_app="Hangup", last_data="", answer=c2.answered)
            self.leave_bridge(s1, c1, bridge, answered)
            self.hangup(c1, 16)
            self.bridge("BridgeDestroy", bridge, 0)
            self.newexten(s1, "Hangup", "", 3)
            self.hangup_request(s1, 16, soft=True)
            self.hangup_request(s2, 16, soft=False)
            plan.ended_at = self.hangup(s1, 16)
            self.cdr(s1, "ANSWERED", dest_channel=c1.name, last_app="Dial", answer=answered)
            self.hangup_request(s2, 16, soft=True)
            self.hangup(s2, 16)
            self.cdr(s2, "ANSWERED", last_app="Wait", last_data="600", answer=s2.answered)
        plan.talk_seconds = first - answered
        self.cel(s1, "LINKEDID_END", app="", appdata="")
