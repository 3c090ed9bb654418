"""The alert state machine: a missed call (or incident, or a silent hotline) opens an alert; the
escalation chain pages tier after tier; the deadline records a breach; reaching the caller clears it.

Pure: every function takes the time as an argument and returns the changed alert. The service asks
`next_action` what is due, does it (roster lookup, outbox) and reports back with `step_paged`,
`step_skipped` or `breached`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from hotline.domain.calls import Call, Direction, Outcome
from hotline.domain.rules import Chain, Step


class AlertKind(StrEnum):
    MISSED_CALL = "missed_call"  # a caller did not reach staff
    INCIDENT = "incident"  # a declared major incident: report to the maintenance lead
    SILENCE = "silence"  # the hotline itself went quiet (AMI down, webhooks silent, empty queue)


class AlertState(StrEnum):
    OPEN = "open"
    ACKED = "acked"  # someone took it; escalation held until ack_until, the deadline still runs
    CLEARED = "cleared"  # the caller was reached (or the condition ended)
    RESOLVED = "resolved"  # closed by hand, with a reason


ACTIVE = frozenset({AlertState.OPEN, AlertState.ACKED})

# The rule kind (monitors/*.yaml) that drives each alert kind.
# the tiers an escalation chain pages, as staff read them
ALERT_TIER_ZH = {"first_line": "一线", "second_line": "二线", "manager": "项目经理", "vendor": "厂商"}
RULE_OF_KIND = {AlertKind.MISSED_CALL: "no_answer", AlertKind.INCIDENT: "incident", AlertKind.SILENCE: "silence"}


class AlertClosed(Exception):
    """An action on an alert that is already cleared or resolved."""


@dataclass(slots=True)
class Alert:
    alert_id: str
    kind: AlertKind
    opened_at: datetime
    deadline_at: datetime
    window: str  # onsite | remote | holiday when it opened
    caller: str | None = None  # normalised number; the subject for silence alerts
    caller_name: str | None = None
    specialty: str | None = None
    title: str | None = None  # incidents and silence alerts: what happened
    ack_code: str | None = None  # short code for SMS reply / DTMF
    state: AlertState = AlertState.OPEN
    missed_calls: int = 1
    last_missed_at: datetime | None = None
    # Escalation position: the next page is step `step_index`, repetition `repeat_no`, due `step_due_at`;
    # `step_base_at` is when that step's first page was due (repeats and later steps count from it).
    step_index: int = 0
    repeat_no: int = 0
    step_base_at: datetime | None = None
    step_due_at: datetime | None = None
    acked_at: datetime | None = None
    acked_by: str | None = None
    ack_until: datetime | None = None
    breached_at: datetime | None = None
    cleared_at: datetime | None = None
    cleared_by: str | None = None  # "callback:<call id>", "repeat:<call id>", "condition_ended"
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution: str | None = None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def returned_within(self) -> timedelta | None:
        """From the missed call to reaching the caller: the 'returned within N minutes' figure."""
        if self.cleared_at is None:
            return None
        return self.cleared_at - self.opened_at


@dataclass(frozen=True, slots=True)
class StepDue:
    """Page the step's tier now (repetition `repeat_no` of step `index`)."""

    index: int
    repeat_no: int
    due_at: datetime
    step: Step

    @property
    def key(self) -> str:
        """Unique within the alert: part of the outbox key."""
        return f"s{self.index}r{self.repeat_no}"


@dataclass(frozen=True, slots=True)
class BreachDue:
    due_at: datetime
    key: str = "breach"


Action = StepDue | BreachDue


def open_alert(alert_id: str, kind: AlertKind, at: datetime, window: str, chain: Chain, *,
               caller: str | None = None, caller_name: str | None = None, specialty: str | None = None,
               title: str | None = None, ack_code: str | None = None) -> Alert:
    """A new alert at `at`; its first step is due `steps[0].after` later and its deadline runs."""
    first = at + chain.steps[0].after if chain.steps else None
    return Alert(alert_id=alert_id, kind=kind, opened_at=at, deadline_at=at + chain.deadline, window=window,
                 caller=caller, caller_name=caller_name, specialty=specialty, title=title, ack_code=ack_code,
                 last_missed_at=at, step_base_at=first, step_due_at=first)


def next_due(alert: Alert) -> datetime | None:
    """When this alert next needs the engine (a page or the breach); None when nothing is left."""
    if not alert.active:
        return None
    times = [t for t in (alert.step_due_at, None if alert.breached_at else alert.deadline_at) if t is not None]
    return min(times) if times else None


def next_action(alert: Alert, chain: Chain, now: datetime) -> Action | None:
    """The earliest action due at `now`, or None. Call again after reporting each one."""
    if not alert.active:
        return None
    step_due = alert.step_due_at
    breach_due = None if alert.breached_at else alert.deadline_at
    if breach_due is not None and breach_due <= now and (step_due is None or breach_due < step_due):
        return BreachDue(breach_due)
    if step_due is not None and step_due <= now and alert.step_index < len(chain.steps):
        return StepDue(alert.step_index, alert.repeat_no, step_due, chain.steps[alert.step_index])
    if breach_due is not None and breach_due <= now:
        return BreachDue(breach_due)
    return None


def _advance(alert: Alert, chain: Chain, skipped: bool) -> Alert:
    """Move the escalation position past the current page (a repeat, or the next step)."""
    i, k = alert.step_index, alert.repeat_no
    step = chain.steps[i]
    base = alert.step_base_at or alert.opened_at
    nxt = chain.steps[i + 1] if i + 1 < len(chain.steps) else None
    next_step_at = None if nxt is None else (base if skipped else base + (nxt.after - step.after))
    repeat_at = base + step.every * (k + 1)
    if not skipped and k < step.repeat and (next_step_at is None or repeat_at < next_step_at):
        alert.repeat_no, alert.step_due_at = k + 1, repeat_at
    elif nxt is None or next_step_at is None:
        alert.step_index, alert.repeat_no, alert.step_due_at = i + 1, 0, None
    else:
        alert.step_index, alert.repeat_no = i + 1, 0
        alert.step_base_at = alert.step_due_at = next_step_at
    _hold_for_ack(alert)
    return alert


def _hold_for_ack(alert: Alert) -> None:
    if alert.ack_until is not None and alert.step_due_at is not None and alert.step_due_at < alert.ack_until:
        shift = alert.ack_until - alert.step_due_at
        alert.step_due_at = alert.ack_until
        if alert.step_base_at is not None:
            alert.step_base_at += shift


def step_paged(alert: Alert, chain: Chain, action: StepDue) -> Alert:
    """The step's tier was paged (its pages are in the outbox)."""
    _check_position(alert, action)
    return _advance(alert, chain, skipped=False)


def step_skipped(alert: Alert, chain: Chain, action: StepDue) -> Alert:
    """The step's tier had nobody on duty: move on to the next step at once, not after its wait."""
    _check_position(alert, action)
    return _advance(alert, chain, skipped=True)


def _check_position(alert: Alert, action: StepDue) -> None:
    if (alert.step_index, alert.repeat_no) != (action.index, action.repeat_no):
        raise ValueError(f"alert {alert.alert_id} is at step {alert.step_index}/{alert.repeat_no}, "
                         f"not {action.index}/{action.repeat_no}")


def breached(alert: Alert, at: datetime) -> Alert:
    """The deadline passed with nobody having reached the caller. Counts even when acknowledged."""
    if alert.breached_at is None:
        alert.breached_at = at
    return alert


def acknowledge(alert: Alert, chain: Chain, by: str, at: datetime) -> Alert:
    """Someone takes the alert: no escalation to the next tier before `at + ack_timeout`."""
    if not alert.active:
        raise AlertClosed(f"alert {alert.alert_id} is already {alert.state}")
    alert.state = AlertState.ACKED
    alert.acked_at, alert.acked_by = at, by
    alert.ack_until = at + chain.ack_timeout
    _hold_for_ack(alert)
    return alert


def resolve(alert: Alert, by: str, reason: str, at: datetime) -> Alert:
    """Closed by hand with a reason (e.g. 'wrong number', 'reached by mobile')."""
    if not alert.active:
        raise AlertClosed(f"alert {alert.alert_id} is already {alert.state}")
    if not reason.strip():
        raise ValueError("a reason is needed to resolve an alert by hand / 手动关闭需填写原因")
    alert.state = AlertState.RESOLVED
    alert.resolved_at, alert.resolved_by, alert.resolution = at, by, reason.strip()
    alert.step_due_at = None
    return alert


def clear(alert: Alert, at: datetime, by: str) -> Alert:
    """The caller was reached (or the silence ended): no further page."""
    if not alert.active:
        raise AlertClosed(f"alert {alert.alert_id} is already {alert.state}")
    alert.state = AlertState.CLEARED
    alert.cleared_at, alert.cleared_by = at, by
    alert.step_due_at = None
    return alert


def join(alert: Alert, at: datetime) -> Alert:
    """Another missed call from the same number while the alert is open: counted, deadline unchanged."""
    alert.missed_calls += 1
    if alert.last_missed_at is None or at > alert.last_missed_at:
        alert.last_missed_at = at
    return alert


_DIGITS = re.compile(r"\D+")
# A Chinese fixed-line number after the country code (area code 10, 2x or 3xx, then 7-8 digits): dialled
# with a trunk 0 at home. Mobiles (1xx), 400/800 and short service numbers have no trunk 0.
_CN_LANDLINE = re.compile(r"(?:10|2\d)\d{8}|(?!400|800)[3-9]\d{2}\d{7,8}")


def normalize_number(number: str | None, dial_prefixes: tuple[str, ...] = ()) -> str | None:
    """The national form of a number: digits only, without an outside-line prefix, and a +86/0086 country
    code turned into the national form ('9 138-0013-8011', '+8613800138011' and '13800138011' are one caller;
    E.164 landlines get their trunk 0 back: '+861088886666' is '01088886666')."""
    if not number:
        return None
    digits = _DIGITS.sub("", number)
    for prefix in sorted(dial_prefixes, key=len, reverse=True):
        if prefix and digits.startswith(prefix) and len(digits) - len(prefix) >= 7:
            digits = digits[len(prefix):]
            break
    national: str | None = None
    if digits.startswith("0086"):
        national = digits[4:]
    elif digits.startswith("86") and (number.lstrip().startswith("+") or len(digits) == 13):
        national = digits[2:]
    if national:
        digits = "0" + national if _CN_LANDLINE.fullmatch(national) else national
    return digits or None


def reaches(call: Call, alert: Alert, dial_prefixes: tuple[str, ...] = ()) -> str | None:
    """How `call` reached the alert's caller ('callback' or 'repeat'), or None if it did not. A call still
    in progress reaches the caller from the moment it is answered (staff bridged / the customer picked up)."""
    if alert.kind is not AlertKind.MISSED_CALL or not alert.active or alert.caller is None:
        return None
    if call.answered_at is None or call.answered_at < alert.opened_at:
        return None
    if call.outcome is not None and call.outcome is not Outcome.ANSWERED:
        return None
    if call.direction is Direction.OUTBOUND and normalize_number(call.called, dial_prefixes) == alert.caller:
        return "callback"
    if call.direction is Direction.INBOUND and normalize_number(call.caller, dial_prefixes) == alert.caller:
        return "repeat"
    return None
