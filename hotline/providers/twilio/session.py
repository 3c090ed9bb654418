"""Recorded Twilio webhook sessions: JSON lines, one webhook request per line (see `webhook.Webhook`).

A line: {"at": ISO time received, "route": voice|gather|dial|queue|status|connect|recorded,
"params": {Twilio's form parameters}, "query": {our URL query}, "decision": {what hotline answered}}.
The ledger's raw Twilio events hold the same lines, so a session can be cut from the database too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from hotline.domain.text_files import NotUtf8Error, utf8_text
from hotline.providers.twilio.webhook import Webhook, WebhookFormatError, from_json


def is_session(path: Path) -> bool:
    """True when the file looks like a Twilio session (JSON lines) rather than an AMI byte stream."""
    if path.suffix in (".jsonl", ".ndjson"):
        return True
    with path.open("rb") as f:
        head = f.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{")


def read_session(path: Path) -> Iterator[Webhook]:
    """The webhook requests of a session file, in file order; a bad line (or a file that is not UTF-8)
    raises with file and line."""
    try:
        text = utf8_text(path.read_bytes(), str(path))
    except NotUtf8Error as e:
        raise WebhookFormatError(str(e)) from None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as e:
            raise WebhookFormatError(f"{where}: 不是 JSON / not JSON ({e.msg} at column {e.colno})") from None
        if not isinstance(data, dict):
            raise WebhookFormatError(f"{where}: 每行须为一个 JSON 对象 / each line must be a JSON object")
        yield from_json(data, where)


def write_session(path: Path, hooks: Iterable[Webhook]) -> int:
    """Write requests as a session file; returns how many."""
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for hook in hooks:
            f.write(hook.line() + "\n")
            n += 1
    return n
