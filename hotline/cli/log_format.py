"""Log lines stamped in the desk's timezone (config `[hotline] timezone`), with the offset shown, so that
they line up with the ledger, the dashboard and the roster instead of the server's (often UTC) clock."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, tzinfo

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class DeskTimeFormatter(logging.Formatter):
    """`%(asctime)s` as `2026-12-03 19:49:29.123+08:00` in `tz` (UTC until the settings are read)."""

    def __init__(self, fmt: str = FORMAT, tz: tzinfo = UTC) -> None:
        super().__init__(fmt)
        self.tz = tz

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        stamp = datetime.fromtimestamp(record.created, self.tz)
        return stamp.strftime(datefmt) if datefmt else stamp.isoformat(sep=" ", timespec="milliseconds")
