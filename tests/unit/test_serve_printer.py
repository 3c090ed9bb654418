"""What `hotline serve` / `demo` print per call: callers' numbers masked in every column, including a callback
answered by the customer's own phone (the ledger's `answered_by` is then their number)."""

from __future__ import annotations

import pytest

from hotline.cli.serve import _printer
from hotline.config import Settings
from hotline.runtime.assembly import AmiIngest, packets_of_file
from hotline.services.calls.ledger import Ledger
from tests.truth import FIXTURES


def test_a_callback_answered_by_the_customer_prints_their_number_masked(
        settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    ingest = AmiIngest(settings, Ledger(None))
    calls = []
    for packet in packets_of_file(FIXTURES / "outbound_callback.ami", settings):
        calls += ingest.feed(packet)
    calls += ingest.finish()
    callback = [c for c in calls if c.direction == "outbound"]
    assert [c.answered_by for c in callback] == ["13800138011"]  # the ledger keeps who answered, in full
    _printer(settings)(calls)
    printed = capsys.readouterr().out
    # the missed call's caller, the callback's callee, and who answered it
    assert "13800138011" not in printed and printed.count("138****8011") == 3
    assert "8001" in printed  # the staff extension that called is no customer's number: shown as it is
