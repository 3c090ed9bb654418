"""What the monitor needs from the duty roster: who is on duty in a tier at a time, and which service
window (onsite, remote, holiday) a time falls in. `RosterDuty` adapts the roster service to it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from hotline.domain.roster import Person
from hotline.paging.base import Recipient

if TYPE_CHECKING:
    from hotline.services.roster.service import RosterService


class DutyRoster(Protocol):
    def people(self, at: datetime, tier: str, specialty: str | None = None) -> Sequence[Recipient]:
        """The people of `tier` on duty at `at` (for `specialty`), first to page first."""
        ...

    def classify(self, at: datetime) -> str:
        """'onsite', 'remote' or 'holiday'."""
        ...


def recipient(p: Person) -> Recipient:
    """A paging recipient from a roster person."""
    def text(v: str) -> str | None:
        return v or None

    return Recipient(name=p.name, mobile=text(p.mobile), email=text(p.email), extension=text(p.extension),
                     wecom_id=text(p.chat_ids.wecom), dingtalk_id=text(p.chat_ids.dingtalk),
                     feishu_id=text(p.chat_ids.feishu), channels=p.channels)


class RosterDuty:
    """Adapts `RosterService.on_duty(at)` (per-tier lists of people) to `DutyRoster`.

    The specialists of the call's specialty come first; when none of them is on duty in the tier, the
    tier's other people on duty are paged (a generalist beats nobody). Only an empty tier is a hole.
    """

    def __init__(self, roster: RosterService) -> None:
        self.roster = roster

    def people(self, at: datetime, tier: str, specialty: str | None = None) -> list[Recipient]:
        everyone = self.roster.on_duty(at).tier(tier)  # in shift order
        people = [p for p in everyone if p.covers(specialty)] or everyone
        return [recipient(p) for p in people]

    def classify(self, at: datetime) -> str:
        return str(self.roster.classify(at))
