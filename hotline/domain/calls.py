"""Calls and provider-neutral call events: how events change a call, and what its outcome is.

Providers (Asterisk AMI, Twilio webhooks) turn their raw traffic into `CallEvent`s; `apply` folds
them into a `Call`. Pure: no I/O, no clock reads.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    ANSWERED = "answered"  # staff were bridged with the caller
    ABANDONED = "abandoned"  # the caller hung up while waiting for staff
    TIMEOUT = "timeout"  # nobody answered before the queue or dial timeout
    BUSY = "busy"
    IVR_ABANDONED = "ivr_abandoned"  # the caller left the IVR before reaching staff
    FAILED = "failed"
    DROPPED = "dropped"  # the PBX dropped the call (restart, shutdown) before staff answered: nobody's doing


# Outcomes of calls that were put through to staff: the denominator of the answer rate.
OFFERED = frozenset({Outcome.ANSWERED, Outcome.ABANDONED, Outcome.TIMEOUT, Outcome.BUSY})
# Outcomes where the caller did not reach staff: candidates for a missed-call alert.
MISSED = frozenset({Outcome.ABANDONED, Outcome.TIMEOUT, Outcome.BUSY, Outcome.IVR_ABANDONED, Outcome.FAILED,
                    Outcome.DROPPED})


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Party(StrEnum):
    """Who hung up first."""

    CALLER = "caller"
    AGENT = "agent"
    SYSTEM = "system"
    STAFF = "staff"  # outbound: the staff member who placed the call
    CUSTOMER = "customer"  # outbound: the customer called back
    PBX = "pbx"  # the PBX itself dropped the call (restart or shutdown): neither caller nor staff


class EventKind(StrEnum):
    STARTED = "started"  # a call exists (caller, called, direction)
    CALLER_ID = "caller_id"  # caller number/name learned late
    MENU = "menu"  # IVR choice: digit and/or specialty
    STAFF_REACHED = "staff_reached"  # queue join or dial to staff started (first one counts)
    QUEUE = "queue"  # joined a (further) queue: overflow keeps one call
    ANSWERED = "answered"  # staff bridged with the caller
    ATTEMPT_ENDED = "attempt_ended"  # queue/dial attempt ended without answer: result in `result`
    HANGUP_REQUEST = "hangup_request"  # first party to hang up: `party`
    TALK_ENDED = "talk_ended"  # the conversation ended (queue AgentComplete, dial hangup)
    TRANSFERRED = "transferred"  # staff handed the caller on: `transfer` blind/attended, `answered_by` the target
    ENDED = "ended"  # the call's channel is gone


class Transfer(StrEnum):
    """How staff handed a caller on."""

    BLIND = "blind"  # sent on at once (Asterisk BlindTransfer): the next leg starts unanswered
    ATTENDED = "attended"  # after a consultation (Asterisk AttendedTransfer): the colleague already talks


class AttemptResult(StrEnum):
    TIMEOUT = "timeout"
    BUSY = "busy"
    ABANDONED = "abandoned"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class CallEvent:
    """One thing that happened to a call, in provider-neutral terms."""

    call_id: str
    kind: EventKind
    at: datetime
    provider: str = "asterisk"
    direction: Direction | None = None
    caller: str | None = None
    caller_name: str | None = None
    called: str | None = None
    queue: str | None = None
    specialty: str | None = None
    menu: str | None = None
    party: Party | None = None
    answered_by: str | None = None
    result: AttemptResult | None = None
    transfer: Transfer | None = None
    # Set when a value is estimated (e.g. from a reconnect snapshot, whole-second precision).
    estimated: bool = False


@dataclass(slots=True)
class Leg:
    """One stretch of a call with one staff member (or offered to one queue after a transfer)."""

    who: str | None
    queue: str | None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    transfer: Transfer | None = None  # how the leg began: None for the first leg

    def talk_seconds(self) -> float | None:
        if self.answered_at is None or self.ended_at is None:
            return None
        return max(0.0, (self.ended_at - self.answered_at).total_seconds())

    def as_dict(self) -> dict[str, Any]:
        return {"who": self.who, "queue": self.queue, "answered": _iso(self.answered_at),
                "ended": _iso(self.ended_at), "talk": _round(self.talk_seconds()),
                "transfer": str(self.transfer) if self.transfer else None}


@dataclass(slots=True)
class Call:
    """One hotline call as the ledger keeps it."""

    call_id: str
    provider: str
    direction: Direction
    started_at: datetime
    caller: str | None = None
    caller_name: str | None = None
    called: str | None = None
    queue: str | None = None
    specialty: str | None = None
    menu: str | None = None
    staff_reached_at: datetime | None = None
    answered_at: datetime | None = None
    answered_by: str | None = None
    attempt_result: AttemptResult | None = None
    attempt_ended_at: datetime | None = None
    hangup_at: datetime | None = None
    hung_up_by: Party | None = None
    talk_ended_at: datetime | None = None
    ended_at: datetime | None = None
    queues: list[str] = field(default_factory=list)
    legs: list[Leg] = field(default_factory=list)  # answered calls: one per staff member the caller reached
    estimated: bool = False

    @property
    def transferred(self) -> bool:
        return len(self.legs) > 1

    @property
    def complete(self) -> bool:
        return self.ended_at is not None

    @property
    def outcome(self) -> Outcome | None:
        """The outcome, once the call has ended (None while in progress)."""
        if self.ended_at is None:
            return None
        return classify(self)

    @property
    def wait_seconds(self) -> float | None:
        """From reaching staff to answer, abandon or timeout; None when staff was never reached."""
        if self.staff_reached_at is None:
            return None
        end: datetime | None
        if self.answered_at is not None:
            end = self.answered_at
        elif self.attempt_result is AttemptResult.ABANDONED or (
            self.attempt_result is None and self.hung_up_by in (Party.CALLER, Party.CUSTOMER)
        ):
            end = self.hangup_at or self.attempt_ended_at or self.ended_at
        else:
            end = self.attempt_ended_at or self.hangup_at or self.ended_at
        if end is None:
            return None
        return max(0.0, (end - self.staff_reached_at).total_seconds())

    @property
    def talk_seconds(self) -> float | None:
        """The caller's talk time with staff, over every leg of a transferred call."""
        if self.answered_at is None:
            return None
        end = self.talk_ended_at or self.hangup_at or self.ended_at
        if not self.transferred:
            if end is None:
                return None
            return max(0.0, (end - self.answered_at).total_seconds())
        total = 0.0
        for leg in self.legs:
            if leg.answered_at is None:
                continue
            leg_end = leg.ended_at or end
            if leg_end is None:
                return None
            total += max(0.0, (leg_end - leg.answered_at).total_seconds())
        return total

    def leg_dicts(self) -> list[dict[str, Any]]:
        """The legs as `replay --json` prints them; an open last leg ends where the call's talk ended."""
        end = self.talk_ended_at or self.hangup_at or self.ended_at
        out = []
        for i, leg in enumerate(self.legs):
            if leg.ended_at is None and i == len(self.legs) - 1 and self.ended_at is not None:
                leg = dataclasses.replace(leg, ended_at=end if leg.answered_at is not None else self.ended_at)
            out.append(leg.as_dict())
        return out

    def as_dict(self) -> dict[str, Any]:
        """The ledger row in the shape `hotline replay --json` prints."""
        outcome = self.outcome
        return {
            "type": "call",
            "call_id": self.call_id,
            "provider": self.provider,
            "direction": str(self.direction),
            "caller": self.caller,
            "caller_name": self.caller_name,
            "called": self.called,
            "queue": self.queue,
            "specialty": self.specialty,
            "menu": self.menu,
            "outcome": str(outcome) if outcome else None,
            "answered_by": self.answered_by,
            "hung_up_by": str(self.hung_up_by) if self.hung_up_by else None,
            "wait_seconds": _round(self.wait_seconds),
            "talk_seconds": _round(self.talk_seconds),
            "started_at": _iso(self.started_at),
            "answered_at": _iso(self.answered_at),
            "ended_at": _iso(self.ended_at),
            "estimated": self.estimated,
            "legs": self.leg_dicts(),
        }


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 3)


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def classify(call: Call) -> Outcome:
    """The outcome of an ended call. Answered only when staff were bridged with the caller."""
    if call.answered_at is not None:
        return Outcome.ANSWERED
    if call.hung_up_by is Party.PBX:
        return Outcome.DROPPED  # not an abandon, a timeout nor an IVR hang-up: kept out of those figures
    if call.staff_reached_at is None:
        if call.attempt_result is AttemptResult.FAILED:
            return Outcome.FAILED
        if call.attempt_result is AttemptResult.BUSY:
            return Outcome.BUSY
        return Outcome.IVR_ABANDONED
    result = call.attempt_result
    if result is AttemptResult.BUSY:
        return Outcome.BUSY
    if result is AttemptResult.FAILED:
        return Outcome.FAILED
    if result is AttemptResult.TIMEOUT:
        return Outcome.TIMEOUT
    if result is AttemptResult.ABANDONED:
        return Outcome.ABANDONED
    # Staff were being rung when the call ended with no recorded attempt result.
    if call.hung_up_by in (Party.CALLER, Party.CUSTOMER, None):
        return Outcome.ABANDONED
    return Outcome.TIMEOUT if call.hung_up_by is Party.SYSTEM else Outcome.FAILED


def start(event: CallEvent) -> Call:
    """A new call from its STARTED event."""
    return Call(
        call_id=event.call_id,
        provider=event.provider,
        direction=event.direction or Direction.INBOUND,
        started_at=event.at,
        caller=event.caller,
        caller_name=event.caller_name,
        called=event.called,
        estimated=event.estimated,
    )


def apply(call: Call, event: CallEvent) -> Call:
    """Fold one event into the call (in place) and return it. Later duplicates change nothing."""
    k = event.kind
    if event.estimated:
        call.estimated = True
    if k is EventKind.STARTED:
        if event.at < call.started_at:
            call.started_at = event.at
        call.caller = call.caller or event.caller
        call.caller_name = call.caller_name or event.caller_name
        call.called = call.called or event.called
    elif k is EventKind.CALLER_ID:
        if event.caller:
            call.caller = event.caller
        if event.caller_name:
            call.caller_name = event.caller_name
    elif k is EventKind.MENU:
        if call.transferred:
            return call  # a transfer through the menu's extensions: the call keeps its first specialty
        # "" = the IVR said the last key was no menu choice (an invalid key): no menu until a valid one
        call.menu = None if event.menu == "" else (event.menu or call.menu)
        call.specialty = event.specialty or call.specialty
    elif k in (EventKind.STAFF_REACHED, EventKind.QUEUE):
        if call.staff_reached_at is None or event.at < call.staff_reached_at:
            call.staff_reached_at = event.at
        if event.queue and call.answered_at is not None:
            # Transferred to another queue: a leg offered there; queue and specialty stay the first ones.
            if event.queue not in call.queues:
                call.queues.append(event.queue)
            if call.legs and call.legs[-1].answered_at is None:
                call.legs[-1].queue = event.queue
            return call
        if event.queue:
            # Overflow to another queue keeps one call: `queue` is where it ended up, `queues` the path;
            # the specialty stays the caller's menu choice (or the first queue's).
            call.queue = event.queue
            if event.queue not in call.queues:
                call.queues.append(event.queue)
        if event.specialty and call.specialty is None:
            call.specialty = event.specialty
        # A new attempt (overflow to another queue) supersedes the previous attempt's result.
        if call.attempt_ended_at is not None and event.at >= call.attempt_ended_at:
            call.attempt_result = None
            call.attempt_ended_at = None
    elif k is EventKind.ANSWERED:
        if call.answered_at is None:
            call.answered_at = event.at
            call.answered_by = event.answered_by
            if event.queue:
                call.queue = event.queue
            call.legs.append(Leg(who=event.answered_by, queue=call.queue, answered_at=event.at))
        elif call.legs and call.legs[-1].answered_at is None:
            leg = call.legs[-1]  # the leg a blind transfer began is answered
            leg.answered_at = event.at
            leg.who = event.answered_by or leg.who
            leg.queue = event.queue or leg.queue
    elif k is EventKind.TRANSFERRED:
        _transfer(call, event)
    elif k is EventKind.ATTEMPT_ENDED:
        if call.answered_at is None and event.result is not None and (
            call.attempt_ended_at is None or event.at >= call.attempt_ended_at
        ):
            call.attempt_result = event.result
            call.attempt_ended_at = event.at
    elif k is EventKind.HANGUP_REQUEST:
        if call.hangup_at is None or event.at < call.hangup_at:
            call.hangup_at = event.at
            call.hung_up_by = event.party
        if event.party is Party.PBX and call.ended_at is None:
            call.hung_up_by = Party.PBX  # a restart cuts every channel at once: the PBX ended the call
    elif k is EventKind.TALK_ENDED:
        if call.legs and call.legs[-1].answered_at is None:
            pass  # a transferred caller waits for the next leg: no talk is ending
        elif _earlier_leg(call, event):
            pass  # the member who transferred the caller finished their own leg: the colleague still talks
        elif call.talk_ended_at is None:
            call.talk_ended_at = event.at
            if event.party is not None and call.hung_up_by is not Party.PBX:
                call.hung_up_by = event.party
    elif k is EventKind.ENDED and call.ended_at is None:
        call.ended_at = event.at
    return call


def _earlier_leg(call: Call, event: CallEvent) -> bool:
    """A talk's end that names a staff member other than the one the caller was transferred to: the end of
    an earlier leg, reported after the transfer (Asterisk's AgentComplete of the transferring member can
    follow its AttendedTransfer, with reason "agent", when the PBX is busy)."""
    if not call.legs or event.answered_by is None:
        return False
    current = call.legs[-1]
    return current.transfer is not None and current.who is not None and event.answered_by != current.who


def _transfer(call: Call, event: CallEvent) -> None:
    """Staff handed the caller on: the current leg ends; what ended it was the transfer, not a hang-up."""
    if call.answered_at is None or call.ended_at is not None or not call.legs:
        return
    current = call.legs[-1]
    if current.ended_at is None:
        current.ended_at = event.at if current.answered_at is not None else None
    # The transferring side's hang-up (the attended transfer completes with it) ended a leg, not the call.
    call.hangup_at = None
    call.hung_up_by = None
    call.talk_ended_at = None
    attended = event.transfer is Transfer.ATTENDED
    call.legs.append(Leg(who=event.answered_by, queue=event.queue,
                         answered_at=event.at if attended else None, transfer=event.transfer))


def replace(call: Call, **changes: Any) -> Call:
    return dataclasses.replace(call, **changes)
