"""An attended transfer whose AttendedTransfer event lacks TransferTargetChannel: recorded on the real Asterisk 22
(tests/integration/test_pbx_transfers.py under load, kept in tests/fixtures/ami_live/). Asterisk leaves the field
out when the colleague's channel has already left the consultation bridge as the event is sent; the tracker then
finds the colleague in that bridge, and the call keeps its legs."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from hotline.config import Settings
from hotline.runtime.assembly import AmiIngest, open_database, packets_of_file
from hotline.services.calls.ledger import Ledger
from hotline.store.calls import CallRow
from tests.conftest import ROOT

TRACE = ROOT / "tests" / "fixtures" / "ami_live" / "transfers_target_left_out.ami"


def test_the_trace_is_the_case_asterisk_leaves_the_target_out() -> None:
    events = TRACE.read_bytes().split(b"\r\n\r\n")
    attended = [e for e in events if b"Event: AttendedTransfer\r\n" in e]
    assert len(attended) == 1 and b"Result: Success" in attended[0]
    assert b"TransferTargetChannel:" not in attended[0]


def test_an_attended_transfer_without_its_target_field_keeps_its_legs(settings: Settings, db_url: str) -> None:
    db = open_database(db_url)
    ledger = Ledger(db.factory)
    ingest = AmiIngest(settings, ledger, batch=20)
    for packet in packets_of_file(Path(TRACE), settings):
        ingest.feed(packet)
    ingest.finish()
    with db.factory() as s:
        rows = {r.caller: r for r in s.scalars(select(CallRow))}
    db.engine.dispose()
    assert set(rows) == {"13800138004", "01012345678"}
    blind, attended = rows["13800138004"], rows["01012345678"]
    legs = [(leg["who"], leg["queue"], leg["transfer"]) for leg in json.loads(attended.legs or "[]")]
    assert legs == [("agent3", "apps", None), ("agent2", None, "attended")]
    assert [(leg["who"], leg["transfer"]) for leg in json.loads(blind.legs or "[]")] == [
        ("agent1", None), ("agent3", "blind")]
    assert attended.hung_up_by == "agent" and attended.answered_by == "agent3"
