"""The hotline itself going silent pages too: the AMI connection down or the Twilio webhooks quiet
for longer than a threshold during service hours, or a queue with no available member on site.

A condition opens a `silence` alert (subject 'ami', 'twilio' or 'queue:<name>') that escalates by
the `kind: silence` rule and clears itself when the condition ends.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hotline.domain.alerts import AlertKind
from hotline.domain.rules import WINDOWS, Rule
from hotline.services.monitor.engine import MonitorService
from hotline.services.monitor.rule_files import silence_setting
from hotline.store.alerts import AlertRow, is_active
from hotline.store.base import unit_of_work
from hotline.store.calls import CallRow, OutageRow


@dataclass(frozen=True)
class HotlineStatus:
    ami_down_since: datetime | None = None  # None: connected
    twilio_last_seen: datetime | None = None  # last webhook; None: Twilio not in use
    queues_empty_since: Mapping[str, datetime] = field(default_factory=dict)  # queue -> no member since


@dataclass(frozen=True)
class Condition:
    """`bad`: long enough to page; `over`: the condition ended (the alert clears)."""

    subject: str
    title: str
    since: datetime | None
    bad: bool
    over: bool
    windows: frozenset[str]


def _down(subject: str, title: str, since: datetime | None, threshold: timedelta, now: datetime,
          windows: frozenset[str]) -> Condition:
    """A condition that holds from `since` until it is reported gone (None)."""
    return Condition(subject, title, since, since is not None and now - since >= threshold, since is None, windows)


def store_status(factory: sessionmaker[Session], twilio_in_use: bool,
                 queues_empty_since: Callable[[], Mapping[str, datetime]] | None = None) -> Callable[[], HotlineStatus]:
    """A status probe reading the listener's outages and the last Twilio call from the database."""

    def probe() -> HotlineStatus:
        with unit_of_work(factory) as s:
            down = s.scalar(select(func.min(OutageRow.started_at))
                            .where(OutageRow.provider == "asterisk", OutageRow.ended_at.is_(None)))
            last = s.scalar(select(func.max(CallRow.started_at)).where(CallRow.provider == "twilio")) \
                if twilio_in_use else None
        return HotlineStatus(down, last, queues_empty_since() if queues_empty_since else {})

    return probe


class SilenceWatch:
    def __init__(self, monitor: MonitorService, probe: Callable[[], HotlineStatus]) -> None:
        self.monitor = monitor
        self.probe = probe

    def conditions(self, rule: Rule, status: HotlineStatus, now: datetime) -> list[Condition]:
        service = frozenset(rule.settings.get("service_windows", WINDOWS))
        out = [_down("ami", "AMI 连接中断 / AMI connection down", status.ami_down_since,
                     silence_setting(rule, "ami_down_after", timedelta(minutes=2)), now, service)]
        if status.twilio_last_seen is not None:
            quiet = now - status.twilio_last_seen >= silence_setting(rule, "twilio_silent_after",
                                                                      timedelta(minutes=60))
            out.append(Condition("twilio", "Twilio 回调静默 / Twilio webhooks silent", status.twilio_last_seen,
                                 quiet, not quiet, service))
        empty = silence_setting(rule, "queue_empty_after", timedelta(minutes=5))
        known = {f"queue:{q}" for q in status.queues_empty_since}
        for queue, since in sorted(status.queues_empty_since.items()):
            out.append(_down(f"queue:{queue}", f"队列 {queue} 无人可接 / queue {queue} has no available member",
                             since, empty, now, frozenset({"onsite"})))
        # queues that were empty and are no longer listed: their condition ended
        with unit_of_work(self.monitor.factory) as s:
            open_queues = s.scalars(select(AlertRow.caller).where(
                AlertRow.kind == str(AlertKind.SILENCE), AlertRow.caller.like("queue:%"),
                is_active())).all()
        out += [_down(q, q, None, empty, now, frozenset()) for q in open_queues if q and q not in known]
        return out

    def check(self) -> list[str]:
        """Open or clear silence alerts; returns what changed ('open ami', 'clear queue:network')."""
        if "silence" not in self.monitor.rules.rules:
            return []
        rule = self.monitor.rules.rule("silence")
        now = self.monitor.clock.now()
        window = self.monitor.roster.classify(now)
        changes: list[str] = []
        for c in self.conditions(rule, self.probe(), now):
            with unit_of_work(self.monitor.factory) as s:
                active = s.scalars(select(AlertRow).where(
                    AlertRow.kind == str(AlertKind.SILENCE), AlertRow.caller == c.subject,
                    is_active()).with_for_update()).first()
                if c.bad and active is None and window in c.windows:
                    self.monitor.open_in(s, AlertKind.SILENCE, now, caller=c.subject, title=c.title,
                                         detail=f"since {c.since.isoformat() if c.since else '-'}")
                    changes.append(f"open {c.subject}")
                elif c.over and active is not None:
                    self.monitor.clear_condition(s, active, now, "condition_ended")
                    changes.append(f"clear {c.subject}")
        if changes:
            self.monitor.tick()
        return changes
