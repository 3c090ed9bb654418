"""Twilio's webhook parameters made safe at the edge, before a request is queued for the ledger.

A signed request can still carry values the ledger cannot hold (a 900 KB `CallerName` into VARCHAR(128)
fails a whole PostgreSQL transaction) or numbers the tracker cannot compute with (`QueueTime=1e400` is
infinite). Values are clipped and numbers checked here, one request at a time, so a bad request changes
only itself and never the batch it is written with.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

MAX_VALUE = 512  # any parameter (RecordingUrl, the longest Twilio sends, is ~150 characters)
MAX_QUERY_VALUE = 64  # our own query values (staff names, queue names, numbers): ledger columns of 64
MAX_FIELD = {"CallSid": 64, "ParentCallSid": 64, "DialCallSid": 64, "From": 64, "To": 64, "Caller": 64,
             "Called": 64, "CallerName": 128, "CallStatus": 32, "DialCallStatus": 32, "QueueResult": 32,
             "Direction": 32, "Digits": 64, "SequenceNumber": 12}
MAX_SECONDS = 86_400.0  # Twilio ends every call within 24 hours
SECONDS = ("QueueTime", "DialCallDuration", "CallDuration", "RecordingDuration", "Duration")
INTEGERS = ("SequenceNumber", "QueuePosition", "CurrentQueueSize")
TIMESTAMP_SLACK = timedelta(days=1)  # a Timestamp further than this from the arrival time is not believed


def _seconds(value: str) -> str | None:
    """A duration in seconds within [0, 24 h] (clipped); None for text that is not a finite number."""
    try:
        number = float(value)
    except ValueError:
        return None
    if math.isnan(number):
        return None
    if 0 <= number <= MAX_SECONDS:
        return value
    return "0" if number < 0 else str(int(MAX_SECONDS))


def _integer(value: str) -> str | None:
    return value if value.isdigit() and len(value) <= MAX_FIELD["SequenceNumber"] else None


def _timestamp(value: str, at: datetime) -> str | None:
    try:
        stamp = parsedate_to_datetime(value)
        if stamp.tzinfo is None or abs(stamp - at) > TIMESTAMP_SLACK:
            return None
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    return value


def clean_params(params: Mapping[str, str], at: datetime) -> tuple[dict[str, str], list[str]]:
    """The parameters to keep (clipped, bad numbers dropped) and the names of those changed."""
    out: dict[str, str] = {}
    changed: list[str] = []
    for key, raw in params.items():
        key = key[:64]
        clipped = raw[:MAX_FIELD.get(key, MAX_VALUE)]
        value: str | None = clipped
        if key in SECONDS:
            value = _seconds(clipped)
        elif key in INTEGERS:
            value = _integer(clipped)
        elif key == "Timestamp":
            value = _timestamp(clipped, at)
        if value != raw:
            changed.append(key)
        if value is not None:
            out[key] = value
    return out, changed


def clean_query(query: Mapping[str, str]) -> dict[str, str]:
    """Our own URL query (signed, but hand-configured for the agent number): clipped to the ledger's columns."""
    return {key[:64]: value[:MAX_QUERY_VALUE] for key, value in query.items()}
