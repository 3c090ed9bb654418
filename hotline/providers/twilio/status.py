"""Twilio webhook requests -> provider-neutral CallEvents: one call per (parent) CallSid.

`TwilioTracker` is pure: requests in arrival order in, CallEvents out; the live service and
`hotline replay` both feed it. Duplicated deliveries and retries (same request digest, or a status
callback's CallSid + SequenceNumber seen before) change nothing. Status callbacks of one call leg are
released in SequenceNumber order; a gap is waited for until `hold` has passed (see `tick`). A call's
ENDED is held back while a staff attempt is still open (the Dial/Enqueue action arrives later), so the
ledger announces a completed call only once its outcome is known.

Event times are on hotline's clock, one time base per call: a request is dated when it arrived; a status
callback that arrived late by when Twilio's `Timestamp` says, moved onto hotline's clock (see
`TwilioClock`), and never before its call started.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from hotline.domain.calls import AttemptResult, CallEvent, Direction, EventKind, Party
from hotline.domain.numbers import same_number
from hotline.providers.twilio.webhook import PROVIDER, Webhook

FINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
_DIAL_RESULTS = {"busy": AttemptResult.BUSY, "no-answer": AttemptResult.TIMEOUT,
                 "failed": AttemptResult.FAILED, "canceled": AttemptResult.ABANDONED}
_QUEUE_RESULTS = {"hangup": AttemptResult.ABANDONED, "leave": AttemptResult.TIMEOUT,
                  "queue-full": AttemptResult.BUSY, "error": AttemptResult.FAILED,
                  "system-shutdown": AttemptResult.FAILED}
_OUTBOUND_RESULTS = {"busy": AttemptResult.BUSY, "no-answer": AttemptResult.FAILED,
                     "failed": AttemptResult.FAILED, "canceled": AttemptResult.FAILED}
_SEEN_LIMIT = 100_000
# Query key of a final status hotline made up for a call whose own final callback never came (the value
# says from what: "rest" = Twilio's Call resource, "silence" = nothing heard for too long).
RECONCILED = "reconciled"


@dataclass
class _Call:
    call_id: str
    outbound: bool = False
    attempt_at: datetime | None = None  # when the open staff attempt (queue or dial) began
    attempt_open: bool = False
    staff: dict[str, str] = field(default_factory=dict)  # phone -> staff name, of the open dial
    answered: bool = False
    answered_by: str | None = None
    legs_talking: set[str] = field(default_factory=set)  # answered staff legs not yet completed
    end: CallEvent | None = None  # held ENDED
    end_since: datetime | None = None
    hung_up: bool = False  # a HANGUP_REQUEST was emitted
    system_hangup: bool = False  # hotline's last answer was `<Hangup/>`
    ended: bool = False  # already completed: late requests add events, never a second STARTED/ENDED
    last_at: datetime | None = None  # when a request about this call last arrived
    started_at: datetime | None = None  # of its STARTED: nothing of the call is dated before it


@dataclass
class _Leg:
    """Status callbacks of one call leg, released in SequenceNumber order."""

    next_seq: int = 0
    held: dict[int, Webhook] = field(default_factory=dict)
    since: datetime | None = None


def twilio_stamp(hook: Webhook) -> datetime | None:
    """A status callback's `Timestamp` (RFC 2822, whole seconds, Twilio's clock), or None."""
    stamp = hook.params.get("Timestamp")
    if stamp:
        try:
            return parsedate_to_datetime(stamp).astimezone(hook.at.tzinfo)
        except (TypeError, ValueError):
            pass
    return None


class TwilioClock:
    """Dates status callbacks on hotline's clock, the one time base of every call.

    Every other request is dated when it arrived. A status callback that arrived promptly is too (its
    arrival has millisecond precision and the same network latency as the other requests). One that
    arrived late (retried, delayed: more than `late` after what its `Timestamp` says, once moved onto
    hotline's clock) is dated by its `Timestamp` plus the offset between the clocks: the least
    (arrival - Timestamp) of recent callbacks, i.e. latency plus skew (plus under 1 s of the Timestamp's
    truncation). So skew never flows into waits and talk times, and a late delivery is not dated late.
    """

    def __init__(self, window: int = 64, late: timedelta = timedelta(seconds=2)) -> None:
        self.offsets: deque[float] = deque(maxlen=window)
        self.late = late

    def time(self, hook: Webhook) -> datetime:
        stamp = twilio_stamp(hook)
        if stamp is None:
            return hook.at
        self.offsets.append((hook.at - stamp).total_seconds())
        mapped = stamp + timedelta(seconds=min(self.offsets))
        return hook.at if hook.at - mapped <= self.late else mapped


def callback_time(hook: Webhook) -> datetime:
    """A status callback's time by its `Timestamp` (in the arrival time's zone); else the arrival time.
    (Made-up final statuses of the stale-call sweep carry the end time that way.)"""
    return twilio_stamp(hook) or hook.at


def _staff_name(staff: Mapping[str, str], phone: str) -> str | None:
    """The name of the dialled staff phone Twilio reports (E.164 `To`), whatever form the map holds
    (sessions recorded before numbers were dialled in E.164 hold national ones)."""
    if phone in staff:
        return staff[phone]
    for number, name in staff.items():
        if same_number(number, phone):
            return name
    return None


def _seconds(value: str | None) -> float:
    try:
        return max(0.0, float(value or 0))
    except ValueError:
        return 0.0


def _seq(hook: Webhook) -> int | None:
    try:
        return int(hook.params["SequenceNumber"])
    except (KeyError, ValueError):
        return None


class TwilioTracker:
    """Keeps per-call state across webhook requests and turns them into CallEvents."""

    def __init__(self, hold: timedelta = timedelta(seconds=30)) -> None:
        self.hold = hold
        self.calls: dict[str, _Call] = {}
        self.legs: dict[str, _Leg] = {}
        self.parents: dict[str, str] = {}  # staff leg CallSid -> the hotline call's CallSid
        self.seen: OrderedDict[str, None] = OrderedDict()
        self.finished: OrderedDict[str, None] = OrderedDict()  # calls whose ENDED was released
        self.stats = {"requests": 0, "duplicates": 0, "reordered": 0}
        self.clock = TwilioClock()

    # -- entry points -------------------------------------------------------------------------------

    def feed(self, hook: Webhook) -> list[CallEvent]:
        """Events caused by one request (possibly none, or events of requests held before it)."""
        self.stats["requests"] += 1
        if not hook.call_sid or self._duplicate(hook.digest()):
            self.stats["duplicates"] += 1
            return []
        out: list[CallEvent] = []
        if hook.route == "status":
            self._status_in_order(hook, out)
        else:
            self._action(hook, out)
        self._release_ends(out)
        return out

    def tick(self, now: datetime) -> list[CallEvent]:
        """Give up waiting: held callbacks and ENDs older than `hold` are released."""
        return self._release(now)

    def last_heard(self, call_id: str) -> datetime | None:
        """When a request about an unfinished call last arrived (None: not a call this tracker holds)."""
        call = self.calls.get(call_id)
        return call.last_at if call is not None else None

    def finish(self) -> list[CallEvent]:
        """End of a replayed session: release everything still held."""
        return self._release(None)

    def _release(self, now: datetime | None) -> list[CallEvent]:
        """Release held callbacks, and close the attempts of ended calls, older than `hold` at `now`
        (everything when `now` is None); then the ENDs that no longer wait for anything."""
        out: list[CallEvent] = []
        for sid, leg in list(self.legs.items()):
            if leg.held and (now is None or (leg.since is not None and now - leg.since >= self.hold)):
                self._drain_leg(sid, leg, out, force=True)
        for call in list(self.calls.values()):
            ended_long_ago = call.end is not None and call.end_since is not None and (
                now is not None and now - call.end_since >= self.hold)
            if now is None or ended_long_ago:
                call.attempt_open = False
                call.legs_talking.clear()
        self._release_ends(out)
        return out

    # -- bookkeeping --------------------------------------------------------------------------------

    def _duplicate(self, digest: str) -> bool:
        if digest in self.seen:
            return True
        self.seen[digest] = None
        while len(self.seen) > _SEEN_LIMIT:
            self.seen.popitem(last=False)
        return False

    def _event(self, call: _Call, kind: EventKind, at: datetime, **values: Any) -> CallEvent:
        return CallEvent(call.call_id, kind, at, provider=PROVIDER, **values)

    def _call(self, hook: Webhook, out: list[CallEvent]) -> _Call:
        """The call of a request; a call seen for the first time gets its STARTED."""
        sid = hook.parent_sid
        call = self.calls.get(sid)
        if call is not None:
            call.last_at = hook.at
            return call
        if sid in self.finished:
            return _Call(sid, ended=True)  # a late request: its events fix up the completed call
        call = self.calls[sid] = _Call(sid, last_at=hook.at)
        p = hook.params
        direction = p.get("Direction", "inbound")
        call.outbound = direction.startswith("outbound") or "customer" in hook.query
        at = self._time(hook) if hook.route == "status" else hook.at
        call.started_at = at
        if call.outbound:
            out.append(self._event(call, EventKind.STARTED, at, direction=Direction.OUTBOUND,
                                   caller=hook.query.get("staff_phone") or p.get("To"),
                                   caller_name=hook.query.get("staff"), called=hook.query.get("customer")))
        else:
            out.append(self._event(call, EventKind.STARTED, at, direction=Direction.INBOUND,
                                   caller=p.get("From") or p.get("Caller"), caller_name=p.get("CallerName"),
                                   called=p.get("To") or p.get("Called")))
        return call

    def _release_ends(self, out: list[CallEvent]) -> None:
        for sid, call in list(self.calls.items()):
            if call.end is None or call.attempt_open or call.legs_talking:
                continue
            if any(leg.held for leg_sid, leg in self.legs.items() if self._owner(leg_sid) == sid):
                continue
            out.append(call.end)
            del self.calls[sid]
            self.finished[sid] = None
            while len(self.finished) > _SEEN_LIMIT:
                self.finished.popitem(last=False)
            for leg_sid in [s for s in self.legs if self._owner(s) == sid]:
                del self.legs[leg_sid]
                self.parents.pop(leg_sid, None)

    def _time(self, hook: Webhook, call: _Call | None = None) -> datetime:
        """A status callback's time on hotline's clock (see TwilioClock), never before its call started.
        The stale-call sweep's made-up final status carries its own end time."""
        at = callback_time(hook) if hook.query.get(RECONCILED) else self.clock.time(hook)
        if call is not None and call.started_at is not None:
            at = max(at, call.started_at)
        return at

    def _owner(self, leg_sid: str) -> str:
        return self.parents.get(leg_sid, leg_sid)

    # -- IVR and action webhooks ------------------------------------------------------------------

    def _action(self, hook: Webhook, out: list[CallEvent]) -> None:
        call = self._call(hook, out)
        if hook.route == "bridged":  # a staff member took the caller from the queue (`<Queue url>`)
            who = hook.query.get("staff") or hook.params.get("DequeingCallSid") or None
            self._answered(call, hook.at, who, out)
        elif hook.route == "dial":
            self._dial_done(call, hook, out)
        elif hook.route == "queue":
            self._queue_done(call, hook, out)
        self._decision(call, hook, out)

    def _decision(self, call: _Call, hook: Webhook, out: list[CallEvent]) -> None:
        """What hotline answered: menu variables and a new staff attempt (queue or dial)."""
        # hotline answered with <Hangup/> while the caller was still there (not after a `<Record>` the caller
        # ended by hanging up, `Digits=hangup`, nor to an action request of a call already completed)
        caller_gone = hook.params.get("Digits") == "hangup" or hook.params.get("CallStatus") in FINAL_STATUSES
        call.system_hangup = bool(hook.decision.get("hangup")) and not caller_gone
        variables: Mapping[str, Any] = hook.decision.get("variables") or {}
        menu, specialty = variables.get("menu"), variables.get("specialty")
        if menu or specialty:
            out.append(self._event(call, EventKind.MENU, hook.at, menu=menu, specialty=specialty))
        routed: Mapping[str, Any] = hook.decision.get("routed") or {}
        kind = routed.get("kind")
        if kind not in ("queue", "dial"):
            return
        call.attempt_at, call.attempt_open = hook.at, True
        call.staff = {str(k): str(v) for k, v in (routed.get("staff") or {}).items()}
        if call.outbound and not call.staff and hook.query.get("customer"):
            call.staff = {hook.query["customer"]: hook.query["customer"]}
        out.append(self._event(call, EventKind.QUEUE if kind == "queue" else EventKind.STAFF_REACHED, hook.at,
                               queue=routed.get("queue"), specialty=routed.get("specialty")))

    def _answered(self, call: _Call, at: datetime, who: str | None, out: list[CallEvent]) -> None:
        if call.answered:
            return
        call.answered, call.answered_by = True, who
        out.append(self._event(call, EventKind.ANSWERED, at, answered_by=who))

    def _dial_done(self, call: _Call, hook: Webhook, out: list[CallEvent]) -> None:
        p = hook.params
        status = p.get("DialCallStatus", "")
        call.attempt_open = False
        caller_gone = p.get("CallStatus") in FINAL_STATUSES
        if status in ("completed", "answered"):
            if not call.answered:
                who = self._only_staff(call) or p.get("DialCallSid")
                at = hook.at - timedelta(seconds=_seconds(p.get("DialCallDuration")))
                self._answered(call, max(at, call.attempt_at or at), who, out)
            call.legs_talking.clear()
            party = (Party.CUSTOMER if call.outbound else Party.CALLER) if caller_gone else \
                (Party.STAFF if call.outbound else Party.AGENT)
            out.append(self._event(call, EventKind.TALK_ENDED, hook.at, party=party))
            return
        result = _DIAL_RESULTS.get(status)
        if caller_gone:  # the caller hung up while staff were being rung
            result = AttemptResult.ABANDONED
            call.hung_up = True
            out.append(self._event(call, EventKind.HANGUP_REQUEST, hook.at,
                                   party=Party.STAFF if call.outbound else Party.CALLER))
        if result is not None and not call.answered:
            out.append(self._event(call, EventKind.ATTEMPT_ENDED, hook.at, result=result))

    def _only_staff(self, call: _Call) -> str | None:
        if call.answered_by:
            return call.answered_by
        names = set(call.staff.values())
        return names.pop() if len(names) == 1 else None

    def _queue_done(self, call: _Call, hook: Webhook, out: list[CallEvent]) -> None:
        p = hook.params
        result = p.get("QueueResult", "")
        call.attempt_open = False
        if result in ("bridged", "redirected-from-bridged"):
            start = call.attempt_at or hook.at
            at = start + timedelta(seconds=_seconds(p.get("QueueTime")))
            self._answered(call, min(at, hook.at), hook.decision.get("answered_by"), out)
            # The caller's call completed: the caller hung up; still in progress: staff did.
            party = Party.CALLER if p.get("CallStatus") in FINAL_STATUSES else Party.AGENT
            out.append(self._event(call, EventKind.TALK_ENDED, hook.at, party=party))
        elif result in _QUEUE_RESULTS and not call.answered:
            at = hook.at
            if call.attempt_at is not None and "QueueTime" in p:  # Twilio's own measure of the wait
                at = min(at, call.attempt_at + timedelta(seconds=_seconds(p.get("QueueTime"))))
            if result == "hangup":
                call.hung_up = True
                out.append(self._event(call, EventKind.HANGUP_REQUEST, at, party=Party.CALLER))
            out.append(self._event(call, EventKind.ATTEMPT_ENDED, at, result=_QUEUE_RESULTS[result]))

    # -- status callbacks -------------------------------------------------------------------------

    def _status_in_order(self, hook: Webhook, out: list[CallEvent]) -> None:
        sid = hook.call_sid
        if hook.params.get("ParentCallSid"):
            self.parents[sid] = hook.params["ParentCallSid"]
        seq = _seq(hook)
        if seq is None:
            self._status(hook, out)
            return
        leg = self.legs.setdefault(sid, _Leg())
        if seq < leg.next_seq or seq in leg.held:
            self.stats["duplicates"] += 1  # a retried callback with a new digest (e.g. other Timestamp)
            return
        leg.held[seq] = hook
        if seq != leg.next_seq:
            self.stats["reordered"] += 1
            leg.since = leg.since or hook.at
        self._drain_leg(sid, leg, out, force=False)

    def _drain_leg(self, sid: str, leg: _Leg, out: list[CallEvent], force: bool) -> None:
        while leg.held:
            if leg.next_seq not in leg.held:
                if not force:
                    return
                leg.next_seq = min(leg.held)
            hook = leg.held.pop(leg.next_seq)
            leg.next_seq += 1
            self._status(hook, out)
        leg.since = None

    def _status(self, hook: Webhook, out: list[CallEvent]) -> None:
        if hook.params.get("ParentCallSid"):
            self._leg_status(hook, out)
            return
        call = self._call(hook, out)
        status = hook.params.get("CallStatus", "")
        at = self._time(hook, call)
        if status not in FINAL_STATUSES or call.end is not None or call.ended:
            return
        reconciled = bool(hook.query.get(RECONCILED))
        if call.outbound and status in _OUTBOUND_RESULTS:
            out.append(self._event(call, EventKind.ATTEMPT_ENDED, at, result=_OUTBOUND_RESULTS[status]))
        elif status in ("busy", "failed"):
            out.append(self._event(call, EventKind.ATTEMPT_ENDED, at, result=_DIAL_RESULTS[status]))
        elif not reconciled and not call.answered and not call.attempt_open and not call.hung_up:
            # (a made-up final status does not know who hung up)
            party = Party.STAFF if call.outbound else Party.CALLER
            if call.system_hangup:
                party = Party.SYSTEM
            out.append(self._event(call, EventKind.HANGUP_REQUEST, at, party=party))
        call.end, call.end_since = self._event(call, EventKind.ENDED, at, estimated=reconciled), hook.at
        if reconciled:
            # Found by the stale-call sweep: the requests still awaited (Dial/Enqueue action, staff legs)
            # were lost, so nothing is waited for.
            call.attempt_open = False
            call.legs_talking.clear()

    def _leg_status(self, hook: Webhook, out: list[CallEvent]) -> None:
        """A dialled staff (or customer) leg: who answered, and when the talk ended."""
        call = self.calls.get(hook.parent_sid)
        if call is None:
            return
        call.last_at = hook.at
        status = hook.params.get("CallStatus", "")
        at = self._time(hook, call)
        leg_sid = hook.call_sid
        if status in ("in-progress", "answered"):
            phone = hook.params.get("To", "")
            self._answered(call, at, _staff_name(call.staff, phone) or phone or None, out)
            call.legs_talking.add(leg_sid)
        elif status in FINAL_STATUSES and leg_sid in call.legs_talking:
            call.legs_talking.discard(leg_sid)
