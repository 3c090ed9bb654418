"""Twilio rendering: the TwiML the IVR webhook returns, one request at a time.

The webhook route calls `step` (or `respond`) with the form parameters Twilio posts plus the query
parameters of our own action URLs (`node`, `tries`, `event`), and the current service window kind.
Nodes that speak without waiting (say, set, window, callback) are chained into one response.
Action URLs: `<twilio_path>/<script>?node=<id>[&tries=<n>][&event=<e>]`, events:
`gather` (menu digit), `timeout` (no digit), `wait` (queue waitUrl), `queue_done` (Enqueue action),
`dial_done` (Dial action), `recorded` (Record action).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from twilio.twiml.voice_response import Gather, VoiceResponse

from hotline.ivr.context import IvrContext
from hotline.ivr.model import (
    Callback,
    Dial,
    Fallback,
    Hangup,
    Menu,
    Prompt,
    Queue,
    Say,
    Script,
    SetVars,
    Voicemail,
    Window,
)
from hotline.ivr.prompts import parts

PAUSE_MAX = 60  # seconds of silence per wait response, so the wait message comes back in time


@dataclass
class Step:
    """One webhook response: the TwiML, the node the caller is now at, and call variables set on the way
    (specialty, menu digit, queue, tier, callback, survey_score) for the call ledger."""

    twiml: str
    node_id: str
    variables: dict[str, str] = field(default_factory=dict)


class _Run:
    def __init__(self, script: Script, ctx: IvrContext, window_kind: str,
                 on_duty: Mapping[str, str]) -> None:
        self.script, self.ctx, self.window_kind, self.on_duty = script, ctx, window_kind, on_duty
        self.response = VoiceResponse()
        self.variables: dict[str, str] = {}
        self.visited: set[str] = set()
        self.at = script.start

    def url(self, node_id: str, **query: str | int) -> str:
        return f"{self.ctx.twilio_path}/{self.script.name}?" + urlencode({"node": node_id, **query})

    def speak(self, node_id: str, role: str, prompt: Prompt | None, into: VoiceResponse | Gather | None = None
              ) -> None:
        if prompt is None:
            return
        target = self.response if into is None else into
        for part in parts(self.script, self.ctx, node_id, role, prompt):
            if part.recorded and self.ctx.sounds_url:
                target.play(f"{self.ctx.sounds_url}/{part.sound}.wav")
            else:
                voice, code = self.ctx.voice_for(part.language, self.script.voices)
                target.say(part.text, voice=voice or None, language=code or None)

    def enter(self, node_id: str | None) -> None:
        """Add the verbs of a node, following nodes that do not wait for the caller."""
        while node_id:
            if node_id in self.visited or node_id not in self.script.nodes:  # a loop: next request
                self.response.redirect(self.url(node_id), method="POST")
                return
            self.visited.add(node_id)
            self.at = node_id
            node_id = self._verbs(node_id)
        if node_id is None:
            return
        self.response.hangup()

    def _verbs(self, node_id: str) -> str | None:
        """Verbs of one node; returns the node to continue with, or None when the response is complete."""
        node = self.script.nodes[node_id]
        if isinstance(node, Say):
            self.speak(node_id, "", node.prompt)
            return node.next
        if isinstance(node, SetVars):
            self.variables.update(node.set)
            return node.next
        if isinstance(node, Window):
            return node.branches.get(self.window_kind, node.default) or ""
        if isinstance(node, Callback):
            self.speak(node_id, "", node.prompt)
            self.variables["callback"] = "requested"
            return node.next
        if isinstance(node, Menu):
            self.gather(node, 0)
        elif isinstance(node, Queue):
            self.queue(node)
        elif isinstance(node, Dial):
            return self.dial(node)
        elif isinstance(node, Voicemail):
            self.speak(node_id, "", node.prompt)
            self.response.record(action=self.url(node_id, event="recorded"), method="POST",
                                 max_length=node.max_length, play_beep=True)
            self.response.redirect(self.url(node.next), method="POST")  # nothing recorded
        elif isinstance(node, Hangup):
            self.speak(node_id, "", node.prompt)
            self.response.hangup()
        return None

    def gather(self, menu: Menu, tries: int) -> None:
        gather = self.response.gather(input="dtmf", num_digits=1, timeout=menu.timeout, method="POST",
                                      action=self.url(menu.id, tries=tries, event="gather"))
        self.speak(menu.id, "", menu.prompt, gather)
        self.response.redirect(self.url(menu.id, tries=tries, event="timeout"), method="POST")

    def miss(self, menu: Menu, fallback: Fallback | None, tries: int) -> None:
        """A wrong digit or no digit: say so, then ask again or, when retries are used up, go on."""
        tries += 1
        role = "invalid" if fallback is menu.on_invalid else "timeout"
        self.speak(menu.id, role, fallback.prompt if fallback else None)
        if tries > menu.retries:
            self.enter(fallback.next if fallback else "")
        else:
            self.gather(menu, tries)

    def queue(self, node: Queue) -> None:
        name = self.ctx.specialty_queues.get(node.specialty, node.specialty)
        self.variables.update(specialty=node.specialty, queue=name)
        self.speak(node.id, "", node.prompt)
        self.response.enqueue(name, action=self.url(node.id, event="queue_done"), method="POST",
                              wait_url=self.url(node.id, event="wait"), wait_url_method="POST")

    def wait(self, node: Queue, queue_time: int) -> None:
        """waitUrl: silence, then the wait-again message every `again_after`, then leave for escalation."""
        if node.max_wait is not None and queue_time >= node.max_wait:
            self.response.leave()
            return
        if queue_time >= node.again_after:
            self.speak(node.id, "again", node.again_prompt)
            pause = node.again_after
        else:
            pause = node.again_after - queue_time
        if node.max_wait is not None:
            pause = min(pause, node.max_wait - queue_time)
        self.response.pause(length=max(1, min(pause, PAUSE_MAX)))

    def dial(self, node: Dial) -> str | None:
        number = self.on_duty.get(node.tier)
        self.variables["tier"] = node.tier
        if not number:
            return node.next or ""  # nobody on duty: escalate at once
        self.speak(node.id, "", node.prompt)
        self.response.dial(number, timeout=node.timeout, method="POST",
                           action=self.url(node.id, event="dial_done"))
        return None


def step(script: Script, node_id: str | None, params: Mapping[str, str], window_kind: str,
         ctx: IvrContext, on_duty: Mapping[str, str] | None = None) -> Step:
    """The response to one webhook request: `params` are Twilio's form fields plus our query fields.

    `node_id` None starts the script; `window_kind` is onsite, remote or holiday; `on_duty` maps a tier
    to the phone number of its on-duty person.
    """
    run = _Run(script, ctx, window_kind, on_duty or {})
    event = params.get("event", "")
    node = script.nodes.get(node_id) if node_id else None
    if node is not None:
        run.at = node.id
    if node is None:  # the start, or a node that an edited script no longer has
        run.enter(script.start)
    elif not event:
        run.enter(node.id)
    elif isinstance(node, Menu) and event in ("gather", "timeout"):
        tries = _int(params.get("tries"))
        digits = params.get("Digits", "") if event == "gather" else ""
        option = next((o for o in node.options if o.digit == digits), None)
        if option is not None:
            run.variables.update(option.set, menu=option.digit)
            run.enter(option.next)
        else:
            run.miss(node, node.on_invalid if digits else node.on_timeout, tries)
    elif isinstance(node, Queue) and event == "wait":
        run.wait(node, _int(params.get("QueueTime")))
    elif isinstance(node, Queue) and event == "queue_done":
        _after_attempt(run, node.next, params.get("QueueResult", "") in ("bridged", "hangup", "redirected"))
    elif isinstance(node, Dial) and event == "dial_done":
        _after_attempt(run, node.next, params.get("DialCallStatus", "") == "completed")
    elif isinstance(node, Voicemail) and event == "recorded":
        run.enter(node.next)
    else:
        run.enter(node.id)
    return Step(str(run.response), run.at, run.variables)


def respond(script: Script, node_id: str | None, params: Mapping[str, str], window_kind: str,
            ctx: IvrContext, on_duty: Mapping[str, str] | None = None) -> str:
    """TwiML for one webhook request (see `step`, which also returns the call variables set)."""
    return step(script, node_id, params, window_kind, ctx, on_duty).twiml


def render_twiml(script: Script, ctx: IvrContext, window_kind: str = "onsite",
                 on_duty: Mapping[str, str] | None = None) -> dict[str, str]:
    """The TwiML returned on entering each node, by node id (window nodes resolved for `window_kind`)."""
    return {node_id: respond(script, node_id, {}, window_kind, ctx, on_duty) for node_id in script.nodes}


def _after_attempt(run: _Run, next_id: str | None, reached: bool) -> None:
    if reached or not next_id:
        run.response.hangup()
    else:
        run.enter(next_id)


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0
