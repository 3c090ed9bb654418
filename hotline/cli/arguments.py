"""Argument types and checks shared by several commands (dates, date ranges, recorded traces)."""

from __future__ import annotations

import argparse
import re
from datetime import date
from pathlib import Path

from hotline.domain.day_range import DayTextError, is_reversed, parse_day

_AMI_START = re.compile(rb"^(Asterisk Call Manager/|(Event|Response|Action|ActionID)\s*:)", re.IGNORECASE)


def day(text: str) -> date:
    """A `YYYY-MM-DD` argument; the error is Chinese first, with an example."""
    try:
        return parse_day(text)
    except DayTextError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def reversed_range(start: date | None, end: date | None) -> str | None:
    """The message for a `--from` after `--to` (None when the range is fine)."""
    if is_reversed(start, end):
        return (f"--from {start} 晚于 --to {end}，请交换两个日期 / --from is after --to: "
                f"swap them (--from {end} --to {start})")
    return None


def ami_trace_problem(path: Path) -> str | None:
    """Why `path` is not a recorded AMI byte stream (None when it looks like one): it must start with the
    manager banner or an AMI header (Event:, Response:, Action:)."""
    with path.open("rb") as f:
        head = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        return f"{path}: 文件是空的 / the file is empty"
    if _AMI_START.match(head):
        return None
    first = head.splitlines()[0][:60].decode("utf-8", "replace")
    return (f"{path}: 不是 AMI 记录或 Twilio 会话 / not a recorded AMI stream (.ami, starting with "
            f"'Asterisk Call Manager/' or 'Event:') nor a Twilio webhook session (.jsonl); it starts with {first!r}")
