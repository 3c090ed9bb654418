"""The Twilio voice use case: answer webhooks from memory, and put every Twilio call into the call ledger.

`answer` builds the TwiML of a webhook from the IVR script and the in-memory duty board (no database, no
network) and queues the request; `drain` (run by a background task) turns queued requests into CallEvents
with `TwilioTracker` and writes them through the Ledger. `replay_session` feeds a recorded session the same
way. `DutyBoard` keeps on-duty phones and the service window in memory, refreshed from the roster.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import threading
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, Protocol
from urllib.parse import urlencode

from hotline.clock import Clock
from hotline.domain.alerts import AlertClosed
from hotline.domain.calls import Call
from hotline.domain.numbers import mask
from hotline.providers.twilio.callback import CallStatus, StatusUnavailable, e164
from hotline.providers.twilio.rest_client import TWILIO_API_BASE_URL
from hotline.providers.twilio.status import FINAL_STATUSES, RECONCILED, TwilioTracker
from hotline.providers.twilio.verbs import (
    ZH_LANGUAGE,
    ZH_VOICE,
    adapt,
    connect_twiml,
    dequeue_twiml,
    ends_call,
    fallback_twiml,
    message_twiml,
    parse_twiml,
    staff_verb,
)
from hotline.providers.twilio.webhook import Webhook
from hotline.services.calls.batched import BatchedIngest
from hotline.services.calls.ledger import Ledger
from hotline.services.calls.twilio_journal import Journal
from hotline.services.monitor.engine import MonitorService
from hotline.store.alerts import AlertEventRow
from hotline.store.base import unit_of_work
from hotline.store.text_values import clean_text

log = logging.getLogger(__name__)

STATUS_EVENTS = ("initiated", "ringing", "answered", "completed")
# The IVR event each webhook route stands for (see hotline.ivr.twiml).
ROUTE_EVENTS = {"voice": "", "gather": "gather", "dial": "dial_done", "queue": "queue_done", "wait": "wait",
                "recorded": "recorded"}
_CALL_MEMORY = 10_000
FALLBACK = "fallback"  # query key of the Dial action of the IVR-failure fallback


class IvrStep(Protocol):
    twiml: str
    node_id: str
    variables: dict[str, str]


class Ivr(Protocol):
    """The loaded IVR script, rendering one webhook response at a time (hotline.ivr.twiml.step)."""

    path: str  # URL path prefix of the IVR's own action URLs

    def step(self, node_id: str | None, params: Mapping[str, str], window_kind: str,
             on_duty: Mapping[str, str]) -> IvrStep: ...


class DutyRoster(Protocol):
    """Who is on duty (people with `name` and `mobile`/`extension`) and the current service window."""

    def people(self, at: datetime, tier: str, specialty: str | None = None) -> Sequence[Any]: ...

    def classify(self, at: datetime) -> str: ...


class CallPlacer(Protocol):
    def place(self, *, to: str, from_: str, url: str, status_callback: str,
              status_events: Sequence[str]) -> str: ...


class CallStatusSource(Protocol):
    """Twilio's word on a call (RestCallPlacer.status); raises StatusUnavailable when it has none."""

    def status(self, call_sid: str) -> CallStatus: ...


@dataclass(frozen=True)
class Staff:
    name: str
    phone: str


class CallbackUnavailable(RuntimeError):
    """Outbound callbacks are not configured (no Twilio account, token or caller id)."""


class StaffUnknown(ValueError):
    """The staff member is not in the roster, or has no number Twilio can ring."""


@dataclass(frozen=True)
class VoiceConfig:
    """The `[twilio_voice]` section (all optional) plus the public base URL."""

    base_url: str
    script: str = "default"
    caller_id: str = ""  # the hotline's Twilio number: From of outbound callbacks
    fallback_phones: tuple[str, ...] = ()  # rung when the roster has nobody (and in the static fallback)
    tiers: tuple[str, ...] = ("first_line", "second_line", "manager")
    queue_limit: int = 10_000
    flush_seconds: float = 1.0
    roster_refresh_seconds: float = 60.0
    hold_seconds: float = 30.0
    callback_timeout: int = 30
    country_code: str = "+86"  # of national numbers (alert callers, roster mobiles) dialled through Twilio
    api_base_url: str = TWILIO_API_BASE_URL  # Twilio's REST API (a local fake in tests)
    # A call whose final status callback never came (hotline was down, the request was lost): after this
    # long without a request about it, Twilio's Call resource is asked (again every as long) ...
    stale_check_seconds: float = 1800.0
    # ... and without Twilio's answer it is ended as last heard, estimated, once it has been silent past
    # Twilio's default call time limit (4 h = 14,400 s).
    stale_end_seconds: float = 15_000.0
    sweep_seconds: float = 60.0  # how often open calls are looked at
    lease_seconds: float = 30.0  # single active instance: the lease's length (renewed every third of it)
    voice: str = ZH_VOICE  # [twilio] voice and language: hotline's own Chinese <Say>s
    language: str = ZH_LANGUAGE
    # Requests are written to this file before they are answered and fed again at start if the ledger may
    # not have them (a kill -9): "" = next to a SQLite database file (PostgreSQL: give a path); "off" = none.
    journal: str = ""

    @classmethod
    def from_section(cls, base_url: str, section: Mapping[str, Any], *, voice: str = ZH_VOICE,
                     language: str = ZH_LANGUAGE) -> VoiceConfig:
        known = set(cls.__dataclass_fields__) - {"base_url", "voice", "language"}
        unknown = sorted(set(section) - known)
        if unknown:
            raise ValueError(f"[twilio_voice] unknown keys {unknown} (known: {', '.join(sorted(known))})")
        values: dict[str, Any] = {}
        for key, value in section.items():
            default = getattr(cls, key)
            if isinstance(default, tuple):
                if not isinstance(value, list | tuple):
                    raise ValueError(f"[twilio_voice] {key} must be a list, got {value!r}")
                values[key] = tuple(str(v) for v in value)
            else:
                try:
                    values[key] = type(default)(value)
                except (TypeError, ValueError):
                    raise ValueError(f"[twilio_voice] {key} must be a {type(default).__name__}, "
                                     f"got {value!r}") from None
        return cls(base_url=base_url.rstrip("/"), voice=voice, language=language, **values)

    def url(self, route: str, **query: str) -> str:
        tail = f"?{urlencode(query)}" if query else ""
        return f"{self.base_url}/twilio/{route}{tail}"


def _field(person: Any, key: str) -> Any:
    return person.get(key) if isinstance(person, Mapping) else getattr(person, key, None)


def _phone(person: Any) -> str | None:
    """The number to ring: the mobile, else a phone, else the extension."""
    value = _field(person, "mobile") or _field(person, "phone") or _field(person, "extension")
    return str(value) if value else None


def _e164_or_none(number: str, country_code: str) -> str | None:
    try:
        return e164(number, country_code)
    except ValueError:
        return None


def _name(person: Any) -> str:
    return str(_field(person, "name") or "?")


class DutyBoard:
    """On-duty phones per (specialty, tier) and the service window, in memory for the webhooks."""

    def __init__(self, roster: DutyRoster | None, specialties: Iterable[str], tiers: Sequence[str],
                 fallback: Sequence[str] = (), window: str = "onsite", country_code: str = "+86") -> None:
        self.roster = roster
        self.specialties = [None, *specialties]
        self.tiers = list(tiers)
        self.country_code = country_code
        self._undialable: set[tuple[str, str]] = set()
        self.fallback = [Staff(number, number) for p in fallback if (number := self._dialable(p, "fallback"))]
        self.window = window
        self._board: dict[tuple[str | None, str], list[Staff]] = {}

    def refresh(self, at: datetime) -> None:
        """Ask the roster (may read the database: call it off the event loop)."""
        if self.roster is None:
            return
        board: dict[tuple[str | None, str], list[Staff]] = {}
        for specialty in self.specialties:
            for tier in self.tiers:
                people = self.roster.people(at, tier, specialty)
                board[(specialty, tier)] = [Staff(_name(p), number) for p in people
                                            if (number := self._dialable(_phone(p), _name(p)))]
        self.window = self.roster.classify(at)
        self._board = board

    def _dialable(self, phone: str | None, who: str) -> str | None:
        """The E.164 form Twilio dials and reports back in its callbacks (`To`); None for an extension or
        a number that is not one (such a person cannot be rung through Twilio)."""
        if not phone:
            return None
        number = _e164_or_none(phone, self.country_code)
        if number is None and (who, phone) not in self._undialable:  # once, not at every refresh
            self._undialable.add((who, phone))
            log.warning("%s: %s cannot be rung through Twilio (not a phone number in E.164)", who, mask(phone))
        return number

    def name_of(self, phone: str) -> str | None:
        """The on-duty person whose number this is (numbers compared in E.164), or None."""
        want = _e164_or_none(phone, self.country_code)
        if want is None:
            return None
        for people in self._board.values():
            for person in people:
                if person.phone == want:
                    return person.name
        return None

    def staff(self, tier: str, specialty: str | None) -> list[Staff]:
        """Phones to ring at once for a tier: the specialty's, else the tier's, else the fallback phones."""
        found = self._board.get((specialty, tier)) or self._board.get((None, tier))
        if found:
            return found
        return self.fallback if tier == self.tiers[0] else []


@dataclass
class _Live:
    """What the webhooks remember of a call between requests (the specialty chosen in the menu)."""

    specialty: str | None = None


class TwilioCalls:
    """Webhook in, TwiML out; requests queued for the ledger."""

    def __init__(self, config: VoiceConfig, ledger: Ledger, ivr: Ivr | None, duty: DutyBoard, clock: Clock,
                 placer: CallPlacer | None = None, status_source: CallStatusSource | None = None,
                 journal: Journal | None = None) -> None:
        self.journal = journal  # requests written here before they are answered (see twilio_journal)
        self.queue_lock = threading.Lock()
        self.config, self.ledger, self.ivr, self.duty, self.clock = config, ledger, ivr, duty, clock
        self.placer = placer
        self.status_source = status_source
        self.asked: dict[str, datetime] = {}  # call_id -> when Twilio was last asked about it
        self.tracker = TwilioTracker(hold=timedelta(seconds=config.hold_seconds))
        self.pending: deque[Webhook] = deque()
        self.live: OrderedDict[str, _Live] = OrderedDict()
        self.agent_calls: OrderedDict[str, None] = OrderedDict()  # CallSids of staff calls to the agent number
        self.lock = threading.Lock()
        self.stats = {"answered": 0, "recorded": 0, "dropped": 0, "errors": 0}

    # -- webhooks (event loop, memory only) ---------------------------------------------------------

    def answer(self, route: str, query: Mapping[str, str], params: Mapping[str, str]) -> str:
        """The TwiML for a voice webhook; the request is queued for the ledger."""
        at = self.clock.now()
        self.stats["answered"] += 1
        if route == "connect":
            return self._connect(at, query, params)
        if route == "agent":
            return self._agent(query, params)
        if route == "bridged":
            self._queue(Webhook(at, route, dict(params), dict(query)))
            return message_twiml({"zh": "正在为您接通值班工程师。", "en": "Connecting you to the engineer on duty."},
                                 voice=self.config.voice, language=self.config.language)
        sid = params.get("CallSid", "")
        live = self._live(sid)
        try:
            if query.get(FALLBACK):  # the Dial action of the fallback: the IVR is not asked again
                twiml, decision = self._fallback(route, query, live)
            else:
                twiml, decision = self._ivr_response(route, query, params, live)
        except Exception:
            self.stats["errors"] += 1
            log.exception("IVR failed for call %s on %s; answering with the fallback", sid, route)
            twiml, decision = self._fallback(route, query, live)
        if route != "wait":
            self._queue(Webhook(at, route, dict(params), dict(query), decision))
        return twiml

    def _fallback(self, route: str, query: Mapping[str, str], live: _Live) -> tuple[str, dict[str, Any]]:
        """No IVR: ring the first line (or the fallback phones) with a Dial action and leg status callbacks;
        the Dial action of that fallback ends the call."""
        voice, language = self.config.voice, self.config.language
        if route == "dial" and query.get(FALLBACK):
            return message_twiml({"zh": "感谢您的来电,再见!", "en": "Thank you for calling. Goodbye!"},
                                 hangup=True, voice=voice, language=language), {"hangup": True}
        tier = self.duty.tiers[0]
        staff = self.duty.staff(tier, live.specialty)
        twiml = fallback_twiml([s.phone for s in staff], voice=voice, language=language,
                               action=self.config.url("dial", **{FALLBACK: "1"}), status_url=self.config.url("status"))
        decision = {"fallback": True, "routed": {"kind": "dial", "tier": tier, "specialty": live.specialty,
                                                 "staff": {s.phone: s.name for s in staff}}}
        return twiml, decision

    def record(self, route: str, query: Mapping[str, str], params: Mapping[str, str]) -> None:
        """A status callback: only queued (not those of staff calls to the agent number)."""
        if params.get("CallSid", "") in self.agent_calls:
            return
        self._queue(Webhook(self.clock.now(), route, dict(params), dict(query)))

    def _agent(self, query: Mapping[str, str], params: Mapping[str, str]) -> str:
        """A staff member calls the agent number (`/twilio/agent?queue=<name>`): take the longest-waiting
        caller of that queue. The staff call itself is not a hotline call and is not recorded."""
        queue = query.get("queue", "")
        if not queue:
            log.error("/twilio/agent without ?queue=<name>: configure the agent number's webhook with the queue")
            return message_twiml({"zh": "未指定队列,请联系管理员。", "en": "No queue is configured for this number."},
                                 hangup=True, voice=self.config.voice, language=self.config.language)
        sid, phone = params.get("CallSid", ""), params.get("From", "")
        self.agent_calls[sid] = None
        while len(self.agent_calls) > _CALL_MEMORY:
            self.agent_calls.popitem(last=False)
        name = self.duty.name_of(phone) or phone
        return dequeue_twiml(queue, self.config.url("bridged", staff=name, staff_phone=phone),
                             say={"zh": f"正在为您接入{queue}队列中等待最久的来电。",
                                  "en": f"Connecting you to the longest-waiting caller in {queue}."},
                             voice=self.config.voice, language=self.config.language)

    def _live(self, sid: str) -> _Live:
        live = self.live.get(sid)
        if live is None:
            live = self.live[sid] = _Live()
            while len(self.live) > _CALL_MEMORY:
                self.live.popitem(last=False)
        return live

    def _ivr_response(self, route: str, query: Mapping[str, str], params: Mapping[str, str],
                      live: _Live) -> tuple[str, dict[str, Any]]:
        if self.ivr is None:
            raise RuntimeError("no IVR script loaded")
        event = query.get("event") or ROUTE_EVENTS.get(route, "")
        node = query.get("node") or None
        ivr_params = {**params, **query, "event": event}
        on_duty = {}
        for tier in self.duty.tiers:
            phones = self.duty.staff(tier, live.specialty)
            if phones:
                on_duty[tier] = phones[0].phone
        step = self.ivr.step(node, ivr_params, self.duty.window, on_duty)
        live.specialty = step.variables.get("specialty") or live.specialty
        decision: dict[str, Any] = {"node": step.node_id, "window": self.duty.window}
        if step.variables:
            decision["variables"] = dict(step.variables)
        response = parse_twiml(step.twiml)  # parsed once: read for the verb, then adapted in place
        verb = staff_verb(response) if route != "wait" else None
        staff: list[Staff] = []
        if verb is not None and verb[0] == "queue":
            decision["routed"] = {"kind": "queue", "queue": verb[1], "specialty": live.specialty}
        elif verb is not None:
            tier = step.variables.get("tier", self.duty.tiers[0])
            staff = self.duty.staff(tier, live.specialty)
            decision["routed"] = {"kind": "dial", "tier": tier, "specialty": live.specialty,
                                  "staff": {s.phone: s.name for s in staff}}
        twiml = adapt(response, ivr_path=self.ivr.path, base_url=self.config.base_url,
                      staff=[(s.phone, s.name) for s in staff], status_url=self.config.url("status"))
        if ends_call(response):  # hotline hangs up: the final status is not the caller's doing
            decision["hangup"] = True
        return twiml, decision

    def _connect(self, at: datetime, query: Mapping[str, str], params: Mapping[str, str]) -> str:
        customer = query.get("customer", "")
        who = {k: query[k] for k in ("customer", "staff", "staff_phone") if k in query}
        twiml = connect_twiml(customer, caller_id=self.config.caller_id or None,
                              action_url=self.config.url("dial", **who), timeout=self.config.callback_timeout,
                              say={"zh": f"正在为您回拨客户 {customer}。", "en": f"Calling back {customer}."},
                              voice=self.config.voice, language=self.config.language)
        decision = {"routed": {"kind": "dial", "staff": {customer: customer}}}
        self._queue(Webhook(at, "connect", dict(params), dict(query), decision))
        return twiml

    def _queue(self, hook: Webhook) -> None:
        if len(self.pending) >= self.config.queue_limit:
            self.stats["dropped"] += 1
            log.error("twilio webhook queue full (%d): request for call %s not recorded",
                      self.config.queue_limit, hook.call_sid)
            return
        with self.queue_lock:
            if self.journal is not None:
                try:
                    self.journal.append(hook)
                except OSError:
                    log.exception("Twilio journal not written; request for call %s kept in memory only",
                                  hook.call_sid)
            self.pending.append(hook)
        self.stats["recorded"] += 1

    # -- outbound callbacks ---------------------------------------------------------------------------

    def place_callback(self, staff: Staff, customer: str) -> str:
        """Click-to-call: Twilio rings the staff phone, then (on `/twilio/connect`) the customer. Both numbers
        are dialled in E.164; the status callbacks put the call into the ledger as outbound."""
        if self.placer is None:
            raise CallbackUnavailable("Twilio 未配置，无法外呼回电 / outbound callbacks need [twilio] account_sid "
                                      "(config/hotline.toml) and HOTLINE_TWILIO_AUTH_TOKEN (environment)")
        if not self.config.caller_id:
            raise CallbackUnavailable("未设置回电主叫号码 / outbound callbacks need [twilio_voice] caller_id "
                                      "(the hotline's Twilio number)")
        country = self.config.country_code
        staff_phone, customer = e164(staff.phone, country), e164(customer, country)
        who = {"customer": customer, "staff": staff.name, "staff_phone": staff_phone}
        return self.placer.place(to=staff_phone, from_=self.config.caller_id, url=self.config.url("connect", **who),
                                 status_callback=self.config.url("status", **who), status_events=STATUS_EVENTS)

    # -- background: requests -> ledger (database) ----------------------------------------------------

    def drain(self, force: bool = False) -> list[Call]:
        """Queued requests -> events -> ledger, written in one transaction; returns calls completed.
        The ledger keeps what it could not write and retries (see Ledger.flush): a request taken from the
        queue is never lost to a database fault, and one request that cannot be read does not stop the others."""
        with self.lock:
            hooks: list[Webhook] = []
            with self.queue_lock:
                while self.pending:
                    hooks.append(self.pending.popleft())
                if self.journal is not None:
                    self.journal.cut()
            rows: dict[str, dict[str, object]] = {}
            for hook in hooks:
                try:
                    self.ledger.apply(self.tracker.feed(_storable(hook)))
                except Exception:
                    self.stats["errors"] += 1
                    log.exception("Twilio request for call %s not understood; kept in the raw events only",
                                  hook.call_sid)
                row = _raw_row(hook)
                rows[str(row["digest"])] = row  # a retry within the batch: stored once
            self.ledger.add_raw(rows.values())
            self.ledger.apply(self.tracker.tick(self.clock.now()))
            completed = self.ledger.flush(force=force)
            if self.journal is not None and not self.ledger.pending:
                self.journal.stored()
            return completed

    def recover_journal(self) -> int:
        """At start: queue again the requests a previous run answered but may not have stored."""
        if self.journal is None:
            return 0
        with self.queue_lock:
            hooks = self.journal.recover()
            self.pending.extendleft(reversed(hooks))
        return len(hooks)

    def sweep_stale(self) -> int:
        """Open Twilio calls nobody has heard of for `stale_check_seconds`: ask Twilio's Call resource; a
        final status there is fed in as that call's final status callback (marked `reconciled=rest`).
        Past `stale_end_seconds` of silence without Twilio's word, the call ends when it was last heard
        (`reconciled=silence`), estimated. Returns how many calls were ended. Runs off the event loop."""
        now = self.clock.now()
        check = timedelta(seconds=self.config.stale_check_seconds)
        give_up = timedelta(seconds=self.config.stale_end_seconds)
        with self.lock:
            quiet = [(cid, heard) for cid, call in self.ledger.open.items() if call.provider == "twilio"
                     and (heard := self.tracker.last_heard(cid) or _last_known(call)) <= now - check]
        self.asked = {cid: at for cid, at in self.asked.items() if cid in self.ledger.open}
        ended = 0
        for cid, heard in quiet:
            asked = self.asked.get(cid)
            if self.status_source is not None and (asked is None or now - asked >= check):
                self.asked[cid] = now
                try:
                    found = self.status_source.status(cid)
                except StatusUnavailable as e:
                    log.warning("stale Twilio call %s: %s", cid, e)
                else:
                    if found.status in FINAL_STATUSES:
                        self._queue(_final(cid, found.status, found.end_time or now, "rest", now))
                        ended += 1
                        continue
                    log.info("Twilio call %s silent since %s is still %s", cid, heard.isoformat(), found.status)
            if now - heard >= give_up:
                log.warning("Twilio call %s: no final status since %s; ended as last heard (estimated)", cid,
                            heard.isoformat())
                self._queue(_final(cid, "completed", heard, "silence", now))
                ended += 1
        return ended

    def refresh_duty(self) -> None:
        try:
            self.duty.refresh(self.clock.now())
        except Exception:
            log.exception("roster refresh failed; webhooks keep the last duty board")


def _storable(hook: Webhook) -> Webhook:
    """The request with text the ledger can keep (lone surrogates, NUL); the raw row keeps the original."""
    params = {k: clean_text(v) or "" for k, v in hook.params.items()}
    query = {k: clean_text(v) or "" for k, v in hook.query.items()}
    if params == hook.params and query == hook.query:
        return hook
    return dataclasses.replace(hook, params=params, query=query)


def _raw_row(hook: Webhook) -> dict[str, object]:
    """The raw_events row of a request; text that UTF-8 cannot carry (lone surrogates) is kept escaped."""
    try:
        return hook.raw_row()
    except UnicodeEncodeError:
        line = hook.line().encode("utf-8", "backslashreplace")
        status = hook.params.get("CallStatus", "")
        return {"provider": "twilio", "call_id": hook.parent_sid or None, "first_at": hook.at,
                "last_at": hook.at, "events": 1, "names": f"{hook.route}:{status}" if status else hook.route,
                "digest": hashlib.sha1(line).hexdigest(), "raw": line}


def _last_known(call: Call) -> datetime:
    """The newest time the ledger knows of a call (for calls the tracker does not hold, e.g. after a restart)."""
    times = (call.started_at, call.staff_reached_at, call.answered_at, call.attempt_ended_at, call.hangup_at,
             call.talk_ended_at)
    return max(t for t in times if t is not None)


def _final(call_id: str, status: str, end: datetime, source: str, now: datetime) -> Webhook:
    """The final status callback Twilio would have sent, made up from what `source` found."""
    params = {"CallSid": call_id, "CallStatus": status, "Timestamp": format_datetime(end.astimezone(UTC))}
    return Webhook(now, "status", params, {RECONCILED: source})


class StaffDirectory(Protocol):
    """Everyone in the roster by name (`RosterService.people()`): people with `mobile`."""

    def people(self) -> Mapping[str, Any]: ...


def staff_by_name(directory: StaffDirectory, name: str) -> Staff:
    """The roster person called `name` and the mobile Twilio rings; StaffUnknown when there is none."""
    person = directory.people().get(name)
    if person is None:
        raise StaffUnknown(f"值班表中没有 {name!r} / nobody called {name!r} in the roster "
                           "(names as in `hotline roster people`)")
    phone = _field(person, "mobile") or _field(person, "phone")
    if not phone:
        extension = _field(person, "extension")
        ext = f"（分机 {extension} 无法经 Twilio 拨打）/ (extension {extension} cannot be rung through Twilio)" \
            if extension else ""
        raise StaffUnknown(f"{name} 在值班表中没有手机号 / {name} has no mobile in the roster {ext}; "
                           "add `mobile` to the person in the roster file and import it again")
    return Staff(name, str(phone))


def callback_from_alert(calls: TwilioCalls, monitor: MonitorService, directory: StaffDirectory,
                        alert_id: str, by: str) -> str:
    """Ring `by`'s mobile, then the caller of an open missed-call alert; the alert history records it.
    Returns the CallSid. The callback clears the alert when the customer answers (MonitorService.on_call).
    Raises AlertNotFound, AlertClosed, StaffUnknown / ValueError, CallbackUnavailable or CallNotPlaced."""
    alert = monitor.alert(alert_id)
    if not alert.active:
        raise AlertClosed(f"告警已关闭（{alert.state}），无需回电 / alert {alert_id} is already {alert.state}")
    if not alert.caller:
        raise ValueError(f"告警没有来电号码 / alert {alert_id} has no caller number to call back")
    staff = staff_by_name(directory, by)
    try:
        e164(staff.phone, calls.config.country_code)
    except ValueError as e:
        raise StaffUnknown(f"{by} 的手机号无法拨打 / {by}'s mobile cannot be dialled: {e}") from None
    sid = calls.place_callback(staff, alert.caller)
    with unit_of_work(monitor.factory) as s:
        s.add(AlertEventRow(alert_id=alert_id, at=monitor.clock.now(), type="callback", person=by, channel="twilio",
                            detail=f"{by} 发起回电 / callback placed by {by}: {sid}"))
    log.info("callback %s placed by %s for alert %s", sid, by, alert_id)
    return sid


class SessionIngest(BatchedIngest):
    """A recorded session fed request by request, as `AmiIngest` feeds AMI packets (replay with --run-for):
    events into the ledger, each request kept as a raw event, the ledger written every `batch` requests."""

    def __init__(self, ledger: Ledger, batch: int = 5000) -> None:
        super().__init__(ledger, batch)
        self.tracker = TwilioTracker()

    def feed(self, hook: Webhook) -> list[Call]:
        self.ledger.apply(self.tracker.feed(hook))
        self.ledger.add_raw([hook.raw_row()])
        return self.counted()

    def finish(self) -> list[Call]:
        """End of the session: what the tracker still holds is released and everything written."""
        self.ledger.apply(self.tracker.finish())
        return self.flush(force=True)


def replay_session(hooks: Iterable[Webhook], ledger: Ledger, batch: int = 5000) -> list[Call]:
    """Feed a recorded session into the ledger (as the live service would); returns completed calls."""
    ingest = SessionIngest(ledger, batch)
    completed: list[Call] = []
    for hook in hooks:
        completed.extend(ingest.feed(hook))
    completed.extend(ingest.finish())
    return completed
