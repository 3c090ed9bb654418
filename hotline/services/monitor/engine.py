"""The no-answer monitor: completed calls open, join and clear alerts; the engine fires due
escalation steps and breaches into the paging outbox. Every cycle is short, idempotent and runs in
one transaction; the database is the truth (a restart recomputes everything from stored alerts).
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hotline.clock import DEFAULT_TZ, Clock
from hotline.domain import alerts as machine
from hotline.domain.alerts import (
    ALERT_TIER_ZH,
    RULE_OF_KIND,
    Alert,
    AlertKind,
    AlertState,
    BreachDue,
    StepDue,
    normalize_number,
    reaches,
)
from hotline.domain.calls import Call, Direction, Outcome
from hotline.domain.rules import Chain, RuleBook
from hotline.paging.base import Recipient
from hotline.paging.texts import page_subject, page_text
from hotline.services.monitor.ack_links import AckLinks
from hotline.services.monitor.outbox import PlannedPage, add_pages, cancel_pages, page_key
from hotline.services.roster.duty import DutyRoster
from hotline.store.alerts import (
    AlertCallRow,
    AlertEventRow,
    AlertRow,
    AlertStepRow,
    active_alert_id_by_code,
    alert_to_row,
    is_active,
    row_to_alert,
)
from hotline.store.base import chunks, claim_writer, unit_of_work

log = logging.getLogger(__name__)

DEFAULT_CHANNEL = "default"  # nobody said which channel: the dispatcher's default order


class AlertNotFound(LookupError):
    pass


@dataclass(frozen=True)
class MonitorOptions:
    tz: ZoneInfo = DEFAULT_TZ
    dial_prefixes: tuple[str, ...] = ()  # outside-line prefixes staff dial before a callback number
    default_channels: tuple[str, ...] = ()  # when neither the step nor the person names a channel
    specialty_names: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # name -> (zh, en)
    batch: int = 1000  # alerts per engine transaction (bench_alerts: 1000 keeps PostgreSQL p99 under 1 s)


@dataclass(frozen=True)
class EventLine:
    """One line of the alert history, in the shape `hotline replay --json` prints."""

    id: int
    type: str
    alert_id: str
    caller: str | None
    tier: str | None
    person: str | None
    channel: str | None
    at: datetime
    step: str | None = None
    detail: str | None = None
    kind: str = "missed_call"

    def as_dict(self, tz: ZoneInfo) -> dict[str, object]:
        return {"type": self.type, "alert_id": self.alert_id, "caller": self.caller, "tier": self.tier,
                "person": self.person, "channel": self.channel, "at": self.at.astimezone(tz).isoformat(),
                "step": self.step, "detail": self.detail, "kind": self.kind}


DueListener = Callable[[datetime], None]


Values = dict[str, object]


def _event_row(alert: Alert, at: datetime, type_: str, *, tier: str | None = None, person: str | None = None,
               channel: str | None = None, step: str | None = None, detail: str | None = None) -> Values:
    """An `alert_events` row's values (plain: the engine writes them in one executemany)."""
    return {"alert_id": alert.alert_id, "at": at, "type": type_, "tier": tier, "person": person,
            "channel": channel, "step": step, "detail": detail}


def _step_row(alert: Alert, step: str, tier: str, due_at: datetime, done_at: datetime, result: str) -> Values:
    return {"alert_id": alert.alert_id, "step": step, "tier": tier, "due_at": due_at, "done_at": done_at,
            "result": result}


@dataclass
class _Cycle:
    """What one engine transaction decided, written at its end in a few statements: the steps done,
    the pages (inserted unless their key is already in the outbox) and the history, in order."""

    done: set[tuple[str, str]]
    steps: list[Values] = field(default_factory=list)
    items: list[tuple[PlannedPage | None, Values]] = field(default_factory=list)

    @classmethod
    def of(cls, s: Session, alert_ids: Sequence[str]) -> _Cycle:
        done: set[tuple[str, str]] = set()
        for part in chunks(alert_ids):
            done.update((a, st) for a, st in s.execute(select(AlertStepRow.alert_id, AlertStepRow.step)
                                                        .where(AlertStepRow.alert_id.in_(part))))
        return cls(done)

    def event(self, row: Values) -> None:
        self.items.append((None, row))

    def page(self, page: PlannedPage, row: Values) -> None:
        self.items.append((page, row))

    def write(self, s: Session, now: datetime) -> None:
        inserted = {p.key for p in add_pages(s, [p for p, _ in self.items if p is not None], now)}
        events = [row for page, row in self.items if page is None or page.key in inserted]
        conn = s.connection()
        if self.steps:
            conn.execute(insert(cast(Table, AlertStepRow.__table__)), self.steps)
        if events:
            conn.execute(insert(cast(Table, AlertEventRow.__table__)), events)  # in order: ids follow
        self.steps, self.items = [], []


class MonitorService:
    def __init__(self, factory: sessionmaker[Session], rules: RuleBook, roster: DutyRoster, clock: Clock, *,
                 links: AckLinks | None = None, options: MonitorOptions | None = None,
                 new_id: Callable[[], str] | None = None) -> None:
        self.factory = factory
        self.rules = rules
        self.roster = roster
        self.clock = clock
        self.links = links
        self.options = options or MonitorOptions()
        self.new_id = new_id or (lambda: uuid.uuid4().hex[:16])
        self.due_listeners: list[DueListener] = []  # told when an alert becomes due earlier (scheduler)
        self._duty: dict[tuple[datetime, str, str | None], Sequence[Recipient]] = {}  # one engine cycle's lookups

    def _people(self, at: datetime, tier: str, specialty: str | None) -> Sequence[Recipient]:
        """Who is on duty, asked once per (time, tier, specialty) within an engine cycle."""
        key = (at, tier, specialty)
        if key not in self._duty:
            if len(self._duty) > 256:
                self._duty.clear()
            self._duty[key] = self.roster.people(at, tier, specialty)
        return self._duty[key]

    # ---- calls in --------------------------------------------------------------------------------

    def on_call(self, call: Call) -> None:
        """Ledger listener: an answered call may clear alerts; a missed call opens or joins one."""
        outcome = call.outcome
        if outcome is None:
            return
        now = self.clock.now()
        due: datetime | None = None
        self._duty.clear()
        try:
            with unit_of_work(self.factory) as s:
                if outcome is Outcome.ANSWERED:
                    self._clear_by_call(s, call)
                elif self.rules.no_answer.opens_alert(call):
                    due = self._missed(s, call, now)
        except IntegrityError:
            log.info("call %s was taken by another process", call.call_id)
            return
        if due is not None:
            self.tell_due(due)

    def on_answered(self, call: Call) -> None:
        """Ledger listener for calls answered and still in progress: a callback or repeat call reaches the
        caller when it is answered, so the alert clears then (no page or breach while staff talk)."""
        if call.answered_at is None:
            return
        try:
            with unit_of_work(self.factory) as s:
                self._clear_by_call(s, call)
        except IntegrityError:
            log.info("call %s was taken by another process", call.call_id)

    def _number(self, number: str | None) -> str | None:
        return normalize_number(number, self.options.dial_prefixes)

    def _active(self, s: Session, kind: AlertKind, caller: str) -> list[AlertRow]:
        stmt = (select(AlertRow).where(AlertRow.kind == str(kind), AlertRow.caller == caller,
                                       is_active())
                .order_by(AlertRow.opened_at).with_for_update())
        return list(s.scalars(stmt))

    def _clear_by_call(self, s: Session, call: Call) -> None:
        number = self._number(call.called if call.direction is Direction.OUTBOUND else call.caller)
        if number is None:
            return
        for row in self._active(s, AlertKind.MISSED_CALL, number):
            alert = row_to_alert(row)
            how = reaches(call, alert, self.options.dial_prefixes)
            if how is None:
                continue
            at = call.answered_at or call.ended_at or self.clock.now()
            machine.clear(alert, at, f"{how}:{call.call_id}")
            cancel_pages(s, alert.alert_id, at, f"cleared by {how} / 已回复")
            staff = call.caller if call.direction is Direction.OUTBOUND else call.answered_by
            self._event(s, alert, at, "clear", person=staff, detail=f"{how} {call.call_id}")
            alert_to_row(alert, row)

    def _missed(self, s: Session, call: Call, now: datetime) -> datetime | None:
        if s.get(AlertCallRow, call.call_id) is not None:
            return None  # seen before (a replay of the same trace, or another process)
        at = call.ended_at or now
        number = self._number(call.caller)
        existing = self._active(s, AlertKind.MISSED_CALL, number) if number else []
        if existing:
            row = existing[0]
            alert = machine.join(row_to_alert(row), at)
            s.add(AlertCallRow(alert_id=alert.alert_id, call_id=call.call_id, at=at, outcome=str(call.outcome)))
            self._event(s, alert, at, "join", detail=f"{call.outcome} {call.call_id}")
            alert_to_row(alert, row)
            return None
        row = self.open_in(s, AlertKind.MISSED_CALL, at, caller=number, caller_name=call.caller_name,
                           specialty=call.specialty, detail=f"{call.outcome} {call.call_id}")
        s.add(AlertCallRow(alert_id=row.alert_id, call_id=call.call_id, at=at, outcome=str(call.outcome)))
        self._run(s, row, now)
        # the steps due by now have put their pages in the outbox: the scheduler's run delivers them at once
        # and plans the next step (an answered call or a join wakes nothing)
        return now

    def open_in(self, s: Session, kind: AlertKind, at: datetime, *, caller: str | None = None,
                caller_name: str | None = None, specialty: str | None = None, title: str | None = None,
                detail: str | None = None) -> AlertRow:
        """A new alert of `kind` at `at`, in the caller's transaction (steps run at the next tick)."""
        window = self.roster.classify(at)
        rule = self.rules.rule(RULE_OF_KIND[kind])
        chain = rule.chain(window, specialty)
        alert = machine.open_alert(self.new_id(), kind, at, window, chain, caller=caller,
                                   caller_name=caller_name, specialty=specialty, title=title,
                                   ack_code=self._ack_code(s))
        row = alert_to_row(alert, None)
        s.add(row)
        s.flush()
        self._event(s, alert, at, "alert", detail=detail or title)
        return row

    def _ack_code(self, s: Session) -> str:
        for digits in (4, 4, 4, 5, 6, 8):
            code = str(secrets.randbelow(10**digits)).zfill(digits)
            if active_alert_id_by_code(s, code) is None:
                return code
        return uuid.uuid4().hex[:8]

    # ---- the engine ------------------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> int:
        """One engine cycle: every due step and breach up to `now` (default: the clock's now), in one
        transaction per batch. Returns the number of actions taken (late steps fire at once, once)."""
        now = now or self.clock.now()
        self._duty.clear()
        actions, more = self.tick_batch(now)
        while more:
            done, more = self.tick_batch(now)
            actions += done
        return actions

    def tick_batch(self, now: datetime | None = None) -> tuple[int, bool]:
        """One transaction of the engine cycle (up to `options.batch` alerts due at `now`): the actions
        taken, and whether more alerts may be due."""
        now = now or self.clock.now()
        with unit_of_work(self.factory) as s, s.no_autoflush:
            claim_writer(s, AlertRow.__tablename__)
            rows = list(s.scalars(
                select(AlertRow).where(AlertRow.next_due_at <= now).order_by(AlertRow.next_due_at)
                .limit(self.options.batch).with_for_update(skip_locked=True)))
            cycle = _Cycle.of(s, [r.alert_id for r in rows])
            actions = sum(self._run(s, row, now, cycle) for row in rows)
            cycle.write(s, now)
        return actions, len(rows) == self.options.batch

    def next_due(self) -> datetime | None:
        """When the engine next has work (the earliest due step or deadline of any open alert)."""
        with unit_of_work(self.factory) as s:
            return s.scalar(select(func.min(AlertRow.next_due_at)))

    def chain_of(self, alert: Alert) -> Chain:
        return self.rules.rule(RULE_OF_KIND[alert.kind]).chain(alert.window, alert.specialty)

    def _run(self, s: Session, row: AlertRow, now: datetime, cycle: _Cycle | None = None) -> int:
        """Every action of one alert due at `now`; pages and history go through `cycle`."""
        own = cycle is None
        cycle = cycle or _Cycle.of(s, [row.alert_id])
        alert = row_to_alert(row)
        chain = self.chain_of(alert)
        done = 0
        while (action := machine.next_action(alert, chain, now)) is not None and done < 1000:
            if isinstance(action, BreachDue):
                self._breach(cycle, alert, chain, action, now)
            else:
                self._step(cycle, alert, chain, action, now)
            done += 1
        alert_to_row(alert, row)
        if own:
            cycle.write(s, now)
        return done

    def _step(self, cycle: _Cycle, alert: Alert, chain: Chain, action: StepDue, now: datetime) -> None:
        if (alert.alert_id, action.key) in cycle.done:
            machine.step_paged(alert, chain, action)  # done before a crash: move on, page nobody again
            return
        tier = action.step.tier
        people = self._people(now, tier, alert.specialty)
        if not people:
            cycle.steps.append(_step_row(alert, action.key, tier, action.due_at, now, "skipped"))
            cycle.event(_event_row(alert, now, "skip", tier=tier, step=action.key,
                                   detail="无人值班 / nobody on duty"))
            self._hole(cycle, alert, chain, action, now)
            machine.step_skipped(alert, chain, action)
            return
        for person in people:
            for channel, fallback in self._channels(action.step.channels, person):
                page = self._page(alert, "page", action.key, tier, person, channel, fallback, now)
                cycle.page(page, _event_row(alert, now, "page", tier=tier, person=person.name, channel=channel,
                                            step=action.key))
        cycle.steps.append(_step_row(alert, action.key, tier, action.due_at, now, "paged"))
        machine.step_paged(alert, chain, action)

    def _hole(self, cycle: _Cycle, alert: Alert, chain: Chain, action: StepDue, now: datetime) -> None:
        """Tell the manager tier that the roster has a hole (unless the hole is theirs)."""
        tier = action.step.tier
        if chain.hole_tier == tier:
            return
        people = self._people(now, chain.hole_tier, alert.specialty)
        tier_zh = ALERT_TIER_ZH.get(tier, tier)
        subject = f"值班表空缺：{tier_zh} / Roster hole: {tier}"
        text = (f"{now.astimezone(self.options.tz):%Y-%m-%d %H:%M} {tier_zh}无人值班，告警 {alert.alert_id}"
                f"（来电 {alert.caller or '-'}）的这一步已跳过，请补排班。\n\n"
                f"Nobody is on duty in tier {tier} at {now.astimezone(self.options.tz):%Y-%m-%d %H:%M}: "
                f"the step of alert {alert.alert_id} (caller {alert.caller or '-'}) was skipped. "
                f"Please fill the roster.")
        for p in people:
            for c, fb in self._channels((), p):
                page = self._page(alert, "hole", f"hole-{action.key}", chain.hole_tier, p, c, fb, now,
                                  subject=subject, text=text)
                cycle.page(page, _event_row(alert, now, "hole", tier=chain.hole_tier, person=p.name, channel=c,
                                            step=action.key, detail=f"{tier} empty"))

    def _breach(self, cycle: _Cycle, alert: Alert, chain: Chain, action: BreachDue, now: datetime) -> None:
        machine.breached(alert, action.due_at)
        cycle.steps.append(_step_row(alert, "breach", "-", action.due_at, now, "breached"))
        cycle.event(_event_row(alert, action.due_at, "breach", detail=f"deadline {chain.deadline}"))
        opened = alert.opened_at.astimezone(self.options.tz)
        minutes = int(chain.deadline.total_seconds() // 60)
        subject = f"热线超时未回复（{minutes}分钟）/ Hotline deadline breached ({minutes} min)"
        text = (f"来电 {alert.caller or '未知号码'}（{opened:%H:%M}）已超过 {minutes} 分钟无人回复，"
                f"告警 {alert.alert_id}。"
                f"\n\nCaller {alert.caller or 'unknown'} ({opened:%H:%M}) has not been reached within "
                f"{minutes} minutes (alert {alert.alert_id}).")
        if alert.kind is not AlertKind.MISSED_CALL:
            subject = f"未按时处理：{alert.title or alert.kind} / Deadline breached: {alert.title or alert.kind}"
            text = f"告警 {alert.alert_id} 超过 {minutes} 分钟未处理。\n\nAlert {alert.alert_id} passed its deadline."
        for tier in chain.breach_tiers:
            for p in self._people(now, tier, alert.specialty):
                for c, fb in self._channels(chain.breach_channels, p):
                    page = self._page(alert, "breach", "breach", tier, p, c, fb, now, subject=subject, text=text)
                    cycle.page(page, _event_row(alert, now, "page", tier=tier, person=p.name, channel=c,
                                                step="breach"))

    def _channels(self, step_channels: Sequence[str], person: Recipient) -> list[tuple[str, tuple[str, ...]]]:
        """(channel, fallbacks) per page: the step's channels each, else the person's preference."""
        if step_channels:
            return [(c, ()) for c in step_channels]
        preferred = person.channels or self.options.default_channels
        if preferred:
            return [(preferred[0], tuple(preferred[1:]))]
        return [(DEFAULT_CHANNEL, ())]

    def _page(self, alert: Alert, purpose: str, step: str, tier: str, person: Recipient, channel: str,
              fallback: tuple[str, ...], now: datetime, *, subject: str | None = None,
              text: str | None = None) -> PlannedPage:
        ack_url = self.links.url(alert.alert_id, person.name, now) if self.links else None
        zh, en = self.options.specialty_names.get(alert.specialty or "", (alert.specialty, alert.specialty))
        if subject is None or text is None:
            subject, text = self._texts(alert, zh, en, ack_url)
        return PlannedPage(key=page_key(alert.alert_id, step, person.name, channel), alert_id=alert.alert_id,
                           purpose=purpose, step=step, tier=tier, recipient=person, channel=channel,
                           fallback=fallback, subject=subject, text=text, ack_url=ack_url,
                           ack_code=alert.ack_code, caller=alert.caller, specialty=alert.specialty)

    def _texts(self, alert: Alert, zh: str | None, en: str | None, ack_url: str | None) -> tuple[str, str]:
        local = alert.opened_at.astimezone(self.options.tz)
        if alert.kind is AlertKind.MISSED_CALL:
            text = page_text(caller=alert.caller, at=local, specialty_zh=zh, specialty_en=en, ack_url=ack_url,
                             ack_code=alert.ack_code)
            if alert.missed_calls > 1:
                text += f"\n\n已来电 {alert.missed_calls} 次 / called {alert.missed_calls} times"
            return page_subject(zh, en), text
        label = "重大事件 / Major incident" if alert.kind is AlertKind.INCIDENT else "热线静默 / Hotline silent"
        lines = [f"{label}: {alert.title or '-'}", f"{local:%Y-%m-%d %H:%M}"]
        if ack_url:
            lines.append(f"确认 / Acknowledge: {ack_url}")
        if alert.ack_code:
            lines.append(f"确认码 / code: {alert.ack_code}")
        return f"{label}: {alert.title or '-'}", "\n".join(lines)

    def _event(self, s: Session, alert: Alert, at: datetime, type_: str, *, tier: str | None = None,
               person: str | None = None, channel: str | None = None, step: str | None = None,
               detail: str | None = None) -> None:
        s.add(AlertEventRow(**_event_row(alert, at, type_, tier=tier, person=person, channel=channel, step=step,
                                         detail=detail)))

    def tell_due(self, due: datetime) -> None:
        """Tell the due listeners (the scheduler) that the engine has work at `due`."""
        for listener in self.due_listeners:
            try:
                listener(due)
            except Exception:
                log.exception("due listener failed")

    # ---- people act -----------------------------------------------------------------------------

    def _locked(self, s: Session, alert_id: str) -> AlertRow:
        claim_writer(s, AlertRow.__tablename__)
        row = s.scalars(select(AlertRow).where(AlertRow.alert_id == alert_id).with_for_update()).first()
        if row is None:
            raise AlertNotFound(f"没有此告警 / no alert {alert_id!r}")
        return row

    def acknowledge(self, alert_id: str, by: str, via: str = "api") -> Alert:
        """`by` takes the alert: escalation to the next tier waits `ack_timeout`; the deadline runs on."""
        now = self.clock.now()
        with unit_of_work(self.factory) as s:
            row = self._locked(s, alert_id)
            alert = row_to_alert(row)
            machine.acknowledge(alert, self.chain_of(alert), by, now)
            self._event(s, alert, now, "ack", person=by, channel=via)
            alert_to_row(alert, row)
        return alert

    def acknowledge_code(self, code: str, by: str, via: str) -> Alert:
        """Acknowledge by the short code of an SMS reply or a voice page's keypad."""
        with unit_of_work(self.factory) as s:
            alert_id = active_alert_id_by_code(s, code)
        if alert_id is None:
            raise AlertNotFound(f"确认码无效或告警已关闭 / no open alert with code {code!r}")
        return self.acknowledge(alert_id, by, via)

    def resolve(self, alert_id: str, by: str, reason: str) -> Alert:
        """Closed by hand with a reason; nothing more is paged."""
        now = self.clock.now()
        with unit_of_work(self.factory) as s:
            row = self._locked(s, alert_id)
            alert = row_to_alert(row)
            machine.resolve(alert, by, reason, now)
            cancel_pages(s, alert_id, now, f"resolved by {by}")
            self._event(s, alert, now, "resolve", person=by, detail=reason)
            alert_to_row(alert, row)
        return alert

    def clear_condition(self, s: Session, row: AlertRow, at: datetime, by: str) -> Alert:
        """A silence condition ended, or an incident was reported: the alert clears (caller's session)."""
        alert = row_to_alert(row)
        machine.clear(alert, at, by)
        cancel_pages(s, alert.alert_id, at, by)
        self._event(s, alert, at, "clear", detail=by)
        alert_to_row(alert, row)
        return alert

    # ---- reading --------------------------------------------------------------------------------

    def alert(self, alert_id: str) -> Alert:
        with unit_of_work(self.factory) as s:
            row = s.get(AlertRow, alert_id)
            if row is None:
                raise AlertNotFound(f"没有此告警 / no alert {alert_id!r}")
            return row_to_alert(row)

    def alerts(self, state: str | None = None, limit: int = 500) -> list[Alert]:
        """Alerts newest first; state: open (open or acked), acked, cleared, resolved, breached, or all."""
        stmt = select(AlertRow).order_by(AlertRow.opened_at.desc()).limit(limit)
        if state in (None, "open"):
            stmt = stmt.where(is_active())
        elif state == "breached":
            stmt = stmt.where(AlertRow.breached_at.is_not(None))
        elif state != "all":
            stmt = stmt.where(AlertRow.state == str(AlertState(state)))
        with unit_of_work(self.factory) as s:
            return [row_to_alert(r) for r in s.scalars(stmt)]

    def calls_cleared_by(self, call_id: str) -> list[str]:
        """The missed calls whose alert the call `call_id` cleared (a callback or a repeat call reached the
        caller): the tickets capability links them to the caller's ticket."""
        with unit_of_work(self.factory) as s:
            return list(s.scalars(
                select(AlertCallRow.call_id).join(AlertRow, AlertRow.alert_id == AlertCallRow.alert_id)
                .where(AlertRow.cleared_by.in_([f"callback:{call_id}", f"repeat:{call_id}"]))
                .order_by(AlertCallRow.at)))

    def last_event_id(self) -> int:
        """The id of the newest alert event (0: none yet): what a replay's own history comes after."""
        with unit_of_work(self.factory) as s:
            return int(s.scalar(select(func.max(AlertEventRow.id))) or 0)

    def alerts_of_calls(self, call_ids: Collection[str], after_event: int = 0) -> set[str]:
        """The alerts the calls `call_ids` opened or joined, and those they cleared (a callback, a repeat
        call) among the alerts with history after event `after_event`: a replay's own alerts."""
        ids = list(dict.fromkeys(call_ids))
        calls = set(ids)
        found: set[str] = set()
        with unit_of_work(self.factory) as s:
            for part in chunks(ids):
                found.update(s.scalars(select(AlertCallRow.alert_id).where(AlertCallRow.call_id.in_(part))))
            recent = select(AlertEventRow.alert_id).where(AlertEventRow.id > after_event).distinct()
            for alert_id, cleared_by in s.execute(select(AlertRow.alert_id, AlertRow.cleared_by)
                                                  .where(AlertRow.alert_id.in_(recent),
                                                         AlertRow.cleared_by.is_not(None))):
                how, _, call_id = str(cleared_by).partition(":")
                if how in ("callback", "repeat") and call_id in calls:
                    found.add(alert_id)
        return found

    def events(self, alert_id: str | None = None, after_id: int = 0,
               alert_ids: Collection[str] | None = None) -> list[EventLine]:
        """The alert history in time order (all alerts, one, or those of `alert_ids`)."""
        stmt = (select(AlertEventRow, AlertRow.caller, AlertRow.kind)
                .join(AlertRow, AlertRow.alert_id == AlertEventRow.alert_id)
                .where(AlertEventRow.id > after_id).order_by(AlertEventRow.at, AlertEventRow.id))
        if alert_id is not None:
            stmt = stmt.where(AlertEventRow.alert_id == alert_id)
        statements = [stmt]
        if alert_ids is not None:
            statements = [stmt.where(AlertEventRow.alert_id.in_(part)) for part in chunks(sorted(alert_ids))]
        with unit_of_work(self.factory) as s:
            lines = [EventLine(e.id, e.type, e.alert_id, caller, e.tier, e.person, e.channel, e.at, e.step,
                               e.detail, kind) for one in statements for e, caller, kind in s.execute(one)]
        if len(statements) > 1:
            lines.sort(key=lambda line: (line.at, line.id))
        return lines

