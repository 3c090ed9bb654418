"""`hotline replay TRACE --run-for DURATION`: the whole pipeline (ledger, monitor, paging outbox, tickets) on a
virtual clock that follows the trace (an AMI byte stream's Timestamp headers, or the `at` of each request of a
recorded Twilio session), then runs on for DURATION. The output is this replay's own: its calls, the history of
the alerts its calls opened, joined or cleared, and the tickets its calls are linked to."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeAlias

from hotline.cli.table import Column, print_table
from hotline.config import ConfigError, Settings
from hotline.domain.alerts import ALERT_TIER_ZH

if TYPE_CHECKING:  # the services load when a command runs, not for `--help` (bench/bench_cli_startup.py)
    from sqlalchemy.orm import Session, sessionmaker

    from hotline.clock import ManualClock
    from hotline.domain.calls import Call
    from hotline.domain.rules import RuleBook
    from hotline.providers.twilio.webhook import Webhook
    from hotline.services.calls.ledger import Ledger
    from hotline.services.monitor.engine import EventLine, MonitorService
    from hotline.services.monitor.outbox import Outbox, PageSender
    from hotline.services.monitor.virtual_run import Engine
    from hotline.services.tickets.build import Tickets

EVENT_ZH = {"alert": "告警", "join": "再次来电", "page": "寻呼", "skip": "跳过", "hole": "排班空缺", "ack": "确认",
            "breach": "超时", "clear": "已回复", "resolve": "手动关闭"}

# One item of a trace: when it happened (None: an AMI packet without a Timestamp) and how to feed it.
Step: TypeAlias = "tuple[datetime | None, Callable[[], list[Call]]]"


class TraceFeed(Protocol):
    """A recorded trace fed into the ledger item by item, in file order."""

    untimed: str  # what to say when no item has a time

    def steps(self) -> Iterator[Step]: ...

    def flush(self) -> list[Call]: ...

    def finish(self) -> list[Call]: ...


class AmiFeed:
    """An AMI byte stream: its packets, timed by their `Timestamp` headers."""

    untimed = "记录中没有时间戳 / the trace has no Timestamp headers (enable timestampevents in manager.conf)"

    def __init__(self, path: Path, settings: Settings, ledger: Ledger) -> None:
        from hotline.runtime.assembly import AmiIngest

        self.path = path
        self.settings = settings
        self.ingest = AmiIngest(settings, ledger)

    def steps(self) -> Iterator[Step]:
        from hotline.clock import from_epoch
        from hotline.runtime.assembly import packets_of_file

        for packet in packets_of_file(self.path, self.settings):
            ts = packet.timestamp
            yield (None if ts is None else from_epoch(ts, self.settings.tz)), partial(self.ingest.feed, packet)

    def flush(self) -> list[Call]:
        return self.ingest.flush()

    def finish(self) -> list[Call]:
        return self.ingest.finish()


class SessionFeed:
    """A recorded Twilio webhook session: its requests, timed by when each arrived (`at`)."""

    untimed = "会话中没有请求 / the session has no webhook requests"

    def __init__(self, hooks: Sequence[Webhook], settings: Settings, ledger: Ledger) -> None:
        from hotline.services.calls.twilio_calls import SessionIngest

        self.hooks = hooks
        self.settings = settings
        self.ingest = SessionIngest(ledger)

    def steps(self) -> Iterator[Step]:
        for hook in self.hooks:
            yield hook.at.astimezone(self.settings.tz), partial(self.ingest.feed, hook)

    def flush(self) -> list[Call]:
        return self.ingest.flush()

    def finish(self) -> list[Call]:
        return self.ingest.finish()


@dataclass(frozen=True)
class Replayed:
    """What a replay with --run-for prints: its calls, its alerts' history, its tickets (`contract` lines)."""

    calls: list[Call]
    events: list[EventLine]
    tickets: list[dict[str, object]]
    names: Mapping[str, str] = field(default_factory=dict)  # a staff phone in the events -> the roster's name


def _sender(settings: Settings, send: bool) -> tuple[PageSender, tuple[str, ...]]:
    """Dry run (nothing leaves the machine) unless --send: then the configured paging channels."""
    from hotline.services.monitor.outbox import DryRunSender

    if not send:
        return DryRunSender(), ()
    from hotline.paging.registry import build_channels, build_dispatcher

    config = settings.section("paging")
    channels = build_channels(config, os.environ)
    dispatcher = build_dispatcher(config, channels)
    return dispatcher, dispatcher.default_order


def _prepare_roster(settings: Settings, factory: sessionmaker[Session], clock: ManualClock,
                    roster_file: Path | None) -> None:
    """A throw-away replay database gets the desk roster file (or the one to try) loaded."""
    from hotline.services.roster.service import RosterService

    roster = RosterService(factory, settings, clock)
    if roster_file is not None or not roster.people():
        path = roster_file or roster.config.file
        if not path.is_file():
            raise ConfigError(str(path), "roster.file", "值班表文件不存在 / roster file not found")
        roster.load_example(path, actor="replay")
    roster.ensure_calendar()


async def replay_monitored(args: argparse.Namespace, settings: Settings,
                           hooks: Sequence[Webhook] | None = None) -> Replayed:
    """Feed the trace (the requests `hooks` of a Twilio session, else the AMI trace `args.trace`) with the clock
    following it, then run on for --run-for."""
    import tempfile

    if args.db:
        return await _replay_into(args, settings, args.db, hooks)
    # a throw-away SQLite file (not :memory:, which is one database per thread; the outbox uses threads)
    with tempfile.TemporaryDirectory(prefix="hotline-replay-") as tmp:
        return await _replay_into(args, settings, f"sqlite:///{Path(tmp) / 'replay.db'}", hooks)


async def _replay_into(args: argparse.Namespace, settings: Settings, url: str,
                       hooks: Sequence[Webhook] | None) -> Replayed:
    from hotline.clock import ManualClock
    from hotline.runtime.assembly import keep_rollup, open_database
    from hotline.services.calls.ledger import Ledger
    from hotline.services.monitor.config import build_monitor
    from hotline.services.monitor.virtual_run import advance
    from hotline.services.tickets.build import build_tickets

    db = open_database(url)
    ledger = Ledger(db.factory)
    keep_rollup(settings, db.factory, ledger, build=False)  # a built roll-up stays current
    feed: TraceFeed = SessionFeed(hooks, settings, ledger) if hooks is not None else AmiFeed(args.trace, settings,
                                                                                              ledger)
    sender, order = _sender(settings, args.send)
    clock: ManualClock | None = None
    monitor: MonitorService | None = None
    outbox: Outbox | None = None
    tickets: Tickets | None = None
    mark = 0  # the newest alert event before this replay
    calls: list[Call] = []
    for at, step in feed.steps():
        if at is not None:
            if clock is None:
                clock = ManualClock(at, settings.tz)
                _prepare_roster(settings, db.factory, clock, args.roster)
                monitor, outbox = build_monitor(settings, db.factory, clock, link_mode="ephemeral",
                                                rules=_rules(args, settings), default_order=order)
                mark = monitor.last_event_id()
                ledger.on_completed(monitor.on_call)
                ledger.on_answered(monitor.on_answered)
                # after the monitor: a reaching call has cleared its alert when the tickets hear of it
                tickets = build_tickets(settings, db.factory, clock, cleared_calls=monitor.calls_cleared_by,
                                        dial_prefixes=monitor.options.dial_prefixes)
                ledger.on_calls(tickets.opener.on_calls)
            elif monitor is not None and at > clock.now():
                if ledger.completed or ledger.answered:
                    calls.extend(feed.flush())
                await advance(monitor, clock, at, outbox, sender, _engines(tickets))
        calls.extend(step())
    calls.extend(feed.finish())
    calls.extend(ledger.open.values())
    calls.sort(key=lambda c: (c.started_at, c.call_id))
    if clock is None or monitor is None or tickets is None:
        raise ConfigError(str(args.trace), "-", feed.untimed)
    await advance(monitor, clock, clock.now() + args.run_for, outbox, sender, _engines(tickets))
    call_ids = [c.call_id for c in calls]
    events = monitor.events(alert_ids=monitor.alerts_of_calls(call_ids, after_event=mark))
    ticket_lines = [v.contract(settings.tz) for v in tickets.desk.of_calls(call_ids)]
    ticket_lines.sort(key=lambda t: (str(t["opened_at"]), str(t["ticket_id"])))
    names = _roster_names(settings, db.factory, clock, {e.person for e in events if e.person})
    db.engine.dispose()
    return Replayed(calls, events, ticket_lines, names)


def _roster_names(settings: Settings, factory: sessionmaker[Session], clock: ManualClock,
                  people: set[str]) -> dict[str, str]:
    """The roster's name of each staff phone among `people`: an extension (8001), a channel (PJSIP/8001), a
    mobile in any form (Twilio's +8613800138001)."""
    from hotline.services.roster.service import RosterService
    from hotline.services.tickets.staff import RosterStaff

    staff = RosterStaff(RosterService(factory, settings, clock))  # knows a mobile written any way
    names: dict[str, str] = {}
    for who in sorted(people):
        name = staff.identify(who)
        if name is not None and name != who:
            names[who] = name
    return names


def _engines(tickets: Tickets | None) -> list[Engine]:
    return [tickets.engine] if tickets is not None else []


def _rules(args: argparse.Namespace, settings: Settings) -> RuleBook:
    from hotline.services.monitor.config import monitor_config, rules_of

    return rules_of(settings, monitor_config(settings), args.monitors)


def print_events(events: Sequence[EventLine], settings: Settings, as_json: bool,
                 names: Mapping[str, str] | None = None) -> None:
    """The alert history after the call lines; on a terminal a staff phone the roster knows shows its name
    ('张伟 (8001)'); the JSON keeps what was recorded."""
    if as_json:
        for e in events:
            print(json.dumps(e.as_dict(settings.tz), ensure_ascii=False))
        return
    names = names or {}
    print()
    print_table(
        [Column("时间 at"), Column("事件 event"), Column("告警 alert"), Column("来电 caller"), Column("层级 tier"),
         Column("人员 person"), Column("渠道 channel")],
        [[f"{e.at.astimezone(settings.tz):%Y-%m-%d %H:%M:%S}", f"{EVENT_ZH.get(e.type, e.type)} {e.type}",
          e.alert_id, e.caller or "-", f"{ALERT_TIER_ZH.get(e.tier, '?')} {e.tier}" if e.tier else "-",
          _person(e.person, names), e.channel or "-"] for e in events])


def _person(person: str | None, names: Mapping[str, str]) -> str:
    if not person:
        return "-"
    name = names.get(person)
    return f"{name} ({person})" if name else person


def run_replay(args: argparse.Namespace, settings: Settings, hooks: Sequence[Webhook] | None = None) -> Replayed:
    import asyncio

    return asyncio.run(replay_monitored(args, settings, hooks))
