"""What the monitor needs from the duty roster: who is on duty in a tier at a time, and which service
window (onsite, remote, holiday) a time falls in. `RosterDuty` adapts the roster service to it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from hotline.paging.base import Recipient


class DutyRoster(Protocol):
    def people(self, at: datetime, tier: str, specialty: str | None = None) -> Sequence[Recipient]:
        """The people of `tier` on duty at `at` (for `specialty`), first to page first."""
        ...

    def classify(self, at: datetime) -> str:
        """'onsite', 'remote' or 'holiday'."""
        ...


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _field(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key, None)


def recipient_of(person: Any) -> Recipient:
    """A paging recipient from a roster person (attributes or a mapping)."""

    def get(key: str) -> Any:
        return _field(person, key)

    chat = get("chat_ids") or get("chat") or {}

    def chat_get(key: str) -> Any:
        return _field(chat, key)

    channels = get("channels") or ()
    return Recipient(
        name=str(get("name")),
        mobile=_text(get("mobile")),
        email=_text(get("email")),
        extension=_text(get("extension")),
        wecom_id=_text(get("wecom_id") or chat_get("wecom")),
        dingtalk_id=_text(get("dingtalk_id") or chat_get("dingtalk")),
        feishu_id=_text(get("feishu_id") or chat_get("feishu")),
        channels=tuple(str(c) for c in channels),
    )


class RosterDuty:
    """Adapts `RosterService.on_duty(at, specialty)` (per-tier lists of people) to `DutyRoster`.

    The specialists of the call's specialty come first; when none of them is on duty in the tier, the
    tier's other people on duty are paged (a generalist beats nobody). Only an empty tier is a hole.
    """

    def __init__(self, roster: Any) -> None:
        self.roster = roster

    def people(self, at: datetime, tier: str, specialty: str | None = None) -> list[Recipient]:
        people = self._tier(self.roster.on_duty(at, specialty), tier)
        if not people and specialty is not None:
            people = self._tier(self.roster.on_duty(at, None), tier)
        return [recipient_of(p) for p in people]

    @staticmethod
    def _tier(on_duty: Any, tier: str) -> Sequence[Any]:
        if isinstance(on_duty, Mapping):
            return tuple(on_duty.get(tier, ()))
        if callable(getattr(on_duty, "tier", None)):
            return tuple(on_duty.tier(tier))
        return tuple(getattr(on_duty, tier, ()) or ())

    def classify(self, at: datetime) -> str:
        return str(self.roster.classify(at))
