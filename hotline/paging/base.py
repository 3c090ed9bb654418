"""The one interface every paging channel implements, and the page it sends.

The monitor decides *who* is paged and records every page in its outbox; a channel only delivers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

# the provider id of a page a dry run printed or skipped instead of sending: reports and metrics count these
# apart, never as sent
DRY_RUN_ID_PREFIX = "dry-run:"


@dataclass(frozen=True)
class Recipient:
    """A person to page, with the contact data each channel needs."""

    name: str
    mobile: str | None = None
    email: str | None = None
    extension: str | None = None  # staff phone on the PBX (Asterisk Originate)
    wecom_id: str | None = None
    dingtalk_id: str | None = None
    feishu_id: str | None = None  # Feishu user id (open_id) for @mention
    channels: tuple[str, ...] = ()  # preferred channel names, first first


@dataclass(frozen=True)
class Page:
    """One message to one recipient about one alert (or incident, roster warning, ...)."""

    key: str  # unique outbox key: (alert, step, person, channel) or similar
    recipient: Recipient
    subject: str  # short, Chinese first: "热线未接来电 / Missed hotline call"
    text: str  # full text, Chinese first then English
    alert_id: str | None = None
    caller: str | None = None
    specialty: str | None = None
    ack_url: str | None = None  # signed one-tap acknowledgement link
    ack_code: str | None = None  # short code for SMS reply / DTMF
    at: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    ok: bool
    channel: str
    provider_id: str | None = None  # message id / call sid from the provider
    error: str | None = None  # never contains a secret
    retryable: bool = False
    attempt: int = 1  # 1 for the first try of this channel for this page, 2 for its first retry, ...


class PagingChannel(Protocol):
    """A way to reach a person: SMS, voice, e-mail, chat robot, webhook, dry run."""

    name: str

    async def send(self, page: Page) -> SendResult: ...
