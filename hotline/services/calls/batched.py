"""What every ingest (AMI packets, Twilio requests) shares: the ledger written every `batch` inputs, and at
the end whatever is left, at once."""

from __future__ import annotations

from hotline.domain.calls import Call
from hotline.services.calls.ledger import Ledger


class BatchedIngest:
    def __init__(self, ledger: Ledger, batch: int = 5000) -> None:
        self.ledger = ledger
        self.batch = batch
        self._since_flush = 0

    def counted(self) -> list[Call]:
        """One more input taken: the ledger is written when a batch is full; the calls it told as completed."""
        self._since_flush += 1
        if self._since_flush >= self.batch:
            return self.flush()
        return []

    def flush(self, force: bool = False) -> list[Call]:
        self._since_flush = 0
        return self.ledger.flush(force=force)
