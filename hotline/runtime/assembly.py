"""Builds the running parts from Settings: database, ledger, AMI pipeline. Used by the entry points
(cli, api, scheduler) only; nothing else imports it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from hotline.clock import Clock, SystemClock
from hotline.config import Settings
from hotline.domain.calls import Call
from hotline.providers.asterisk.pipeline import SNAPSHOT_EVENTS, AmiPipeline, SnapshotCollector
from hotline.providers.asterisk.protocol import Packet, PacketParser, RawEvent
from hotline.providers.asterisk.tracker import TrackerConfig
from hotline.services.calls.batched import BatchedIngest
from hotline.services.calls.ledger import Ledger
from hotline.services.reports.rollup import RollupKeeper, keeper_for
from hotline.store.base import make_engine, migrate, session_factory


def tracker_config(settings: Settings) -> TrackerConfig:
    return TrackerConfig(
        numbers=frozenset(settings.hotline.numbers),
        queues=dict(settings.queues),
        staff_extensions=frozenset(settings.staff.extensions),
        outbound_contexts=frozenset(settings.staff.outbound_contexts),
        tz=settings.tz,
    )


@dataclass
class Database:
    engine: Engine
    factory: sessionmaker[Session]


def open_database(url: str, upgrade: bool = True) -> Database:
    """Connect and bring the schema up to date."""
    engine = make_engine(url)
    if upgrade:
        migrate(engine)
    return Database(engine, session_factory(engine))


def ensure_roster(settings: Settings, factory: sessionmaker[Session], clock: Clock | None = None) -> bool:
    """A database without a roster gets the desk's roster file (`[roster] file`), so that pages reach
    people from the first minute; returns whether it loaded one."""
    from hotline.services.roster.service import RosterService

    service = RosterService(factory, settings, clock or SystemClock(settings.tz))
    service.ensure_calendar()
    if service.people():
        return False
    service.load_example(actor="startup")
    return True


def packets_of_file(path: Path, settings: Settings, chunk: int = 1 << 20) -> Iterator[Packet]:
    """Parse a recorded AMI byte stream in chunks (memory stays flat on large traces)."""
    parser = PacketParser(encoding=settings.ami.encoding, fallback=settings.ami.fallback_encoding,
                          max_packet_bytes=settings.ami.max_packet_bytes,
                          raw_only=tracker_config(settings).raw_only())
    with path.open("rb") as f:
        while data := f.read(chunk):
            yield from parser.feed(data)
    yield from parser.feed(b"\r\n\r\n")


class AmiIngest(BatchedIngest):
    """The live listener and replay share this: packets in, ledger filled, batched writes."""

    def __init__(self, settings: Settings, ledger: Ledger, batch: int = 5000, keep_raw: bool = True) -> None:
        super().__init__(ledger, batch)
        self.pipeline = AmiPipeline(tracker_config(settings), ledger, keep_raw=keep_raw)
        self.collector = SnapshotCollector(self.pipeline)
        self.raw = self.pipeline.raw
        self.keep_raw = keep_raw

    def feed(self, packet: Packet) -> list[Call]:
        if type(packet) is RawEvent:  # the hot path: most of a read=all stream is kept as bytes only
            if self.keep_raw:
                self.raw.add_bytes(packet["Event"], packet.raw)
        elif self.collector.idle and packet.get("Event") not in SNAPSHOT_EVENTS and "Response" not in packet:
            self.pipeline.packet(packet, packet.raw)  # a live event, no action reply being gathered
        else:
            self.collector.feed(packet, packet.raw)
        return self.counted()

    def finish(self) -> list[Call]:
        self.collector.finish()
        return self.flush(force=True)


def keep_rollup(settings: Settings, factory: sessionmaker[Session], ledger: Ledger, clock: Clock | None = None,
                build: bool = True) -> RollupKeeper:
    """The reports' roll-up kept from `ledger`'s flushes; with `build`, built (when it was never built,
    or for other thresholds) in a background thread, the reports reading the calls meanwhile."""
    keeper = keeper_for(factory, settings)
    ledger.on_written(keeper.on_written)
    if build:
        now = (clock or SystemClock(settings.tz)).now()
        threading.Thread(target=keeper.ensure_quietly, args=(now,), name="rollup-build", daemon=True).start()
    return keeper
