"""The Twilio requests answered but not yet in the ledger, in an append-only file (the session format, one
JSON line per request). A line is written before the request is answered; the file is cut into a batch
when the drain takes the queue, and the batch is deleted once the ledger has stored everything. At start,
whatever is left is fed again: a kill -9 loses no acknowledged request (the lines are in the operating
system's page cache; a power loss may lose the last ones). Replays are harmless: calls are upserted by
call id and raw requests by digest."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TextIO

from hotline.providers.twilio.webhook import Webhook, WebhookFormatError, from_json

log = logging.getLogger(__name__)


class Journal:
    """Not thread-safe by itself: TwilioCalls calls it under its queue lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: TextIO | None = None
        self._batches = 0
        self.unwritten: list[Path] = []  # batches taken by a drain whose rows are not all stored yet

    def _open(self) -> TextIO:
        if self._file is None:
            self._file = self.path.open("a", encoding="utf-8", errors="backslashreplace")
        return self._file

    def append(self, hook: Webhook) -> None:
        f = self._open()
        f.write(json.dumps(hook.as_json(), ensure_ascii=True, sort_keys=True) + "\n")
        f.flush()

    def cut(self) -> None:
        """The requests written so far are being drained: move them to a batch file of their own."""
        if self._file is not None:
            self._file.close()
            self._file = None
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            size = 0
        if size > 0:
            self._batches += 1
            batch = self.path.with_name(f"{self.path.name}.{self._batches}.batch")
            while batch.exists():
                self._batches += 1
                batch = self.path.with_name(f"{self.path.name}.{self._batches}.batch")
            self.path.rename(batch)
            self.unwritten.append(batch)

    def stored(self) -> None:
        """Everything drained so far is in the ledger: its batches go."""
        for batch in self.unwritten:
            batch.unlink(missing_ok=True)
        self.unwritten = []

    def recover(self) -> list[Webhook]:
        """At start: the requests of a previous run that may not be in the ledger (cut into a batch now)."""
        self.cut()
        batches = sorted(self.path.parent.glob(f"{self.path.name}.*.batch"), key=lambda p: p.stat().st_mtime)
        self.unwritten = batches
        hooks: list[Webhook] = []
        for batch in batches:
            for number, line in enumerate(batch.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    hooks.append(from_json(json.loads(line), f"{batch}:{number}"))
                except (ValueError, WebhookFormatError) as e:  # a line cut by a crash
                    log.warning("Twilio journal line skipped: %s", e)
        if hooks:
            log.warning("%d 条已应答但可能未入账的 Twilio 请求将重新写入 / %d Twilio request(s) answered before the "
                        "last stop are fed again from %s", len(hooks), len(hooks), self.path)
        return hooks
