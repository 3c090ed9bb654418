"""One Twilio webhook request as hotline keeps it: in the ledger's raw events and in replay sessions.

A request is stored with what hotline answered (`decision`: call variables the IVR set, where the call
was routed, the staff rung), so replaying a session rebuilds the same calls without the IVR or the roster.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

PROVIDER = "twilio"
# Routes of the webhook API; `wait` (queue hold polling) is answered but never recorded.
# `agent` (staff calling in to take a queued caller) is answered but never recorded either.
ROUTES = ("voice", "gather", "dial", "queue", "wait", "status", "connect", "recorded", "agent", "bridged")


@dataclass(frozen=True)
class Webhook:
    """A webhook request: when it arrived, which route, Twilio's parameters, our query and our answer."""

    at: datetime
    route: str
    params: Mapping[str, str]
    query: Mapping[str, str] = field(default_factory=dict)
    decision: Mapping[str, Any] = field(default_factory=dict)

    @property
    def call_sid(self) -> str:
        return self.params.get("CallSid", "")

    @property
    def parent_sid(self) -> str:
        """The hotline call this request belongs to (a dialled staff leg belongs to its parent)."""
        return self.params.get("ParentCallSid") or self.call_sid

    def digest(self) -> str:
        """Identity of the request: a retried or duplicated delivery has the same digest."""
        body = json.dumps([self.route, sorted(self.params.items()), sorted(self.query.items())],
                          ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha1(body.encode("utf-8")).hexdigest()

    def as_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "route": self.route, "params": dict(self.params),
                "query": dict(self.query), "decision": dict(self.decision)}

    def line(self) -> str:
        """The request as one JSON line (the session format, and the raw bytes in the ledger)."""
        return json.dumps(self.as_json(), ensure_ascii=False, sort_keys=True)

    def raw_row(self) -> dict[str, object]:
        """The ledger's raw_events row of this request."""
        status = self.params.get("CallStatus", "")
        name = f"{self.route}:{status}" if status else self.route
        return {"provider": PROVIDER, "call_id": self.parent_sid or None, "first_at": self.at,
                "last_at": self.at, "events": 1, "names": name, "digest": self.digest(),
                "raw": self.line().encode("utf-8")}


class WebhookFormatError(ValueError):
    """A session line that is not a recorded webhook request."""


def from_json(data: Mapping[str, Any], where: str = "<json>") -> Webhook:
    """A Webhook from its JSON form; errors say which key is wrong."""
    try:
        at = datetime.fromisoformat(str(data["at"]))
    except KeyError:
        raise WebhookFormatError(f"{where}: 缺少键 'at'（请求到达的 ISO 时间）/ missing key 'at' (ISO time the "
                                 f"request arrived)") from None
    except ValueError:
        raise WebhookFormatError(f"{where}: 'at' 不是 ISO 时间 / 'at' is not an ISO time: {data['at']!r}") from None
    if at.tzinfo is None:
        raise WebhookFormatError(f"{where}: 'at' 需要时区偏移 / 'at' needs a timezone offset, "
                                 f"e.g. 2024-05-06T09:00:00+08:00")
    route = str(data.get("route", ""))
    if route not in ROUTES:
        raise WebhookFormatError(f"{where}: 'route' 须为 {', '.join(ROUTES)} 之一 / 'route' must be one of "
                                 f"{', '.join(ROUTES)}, got {route!r}")
    params = data.get("params")
    if not isinstance(params, Mapping) or "CallSid" not in params:
        raise WebhookFormatError(f"{where}: 'params' 须为含 CallSid 的对象 / 'params' must be an object with "
                                 f"Twilio's CallSid")
    query = data.get("query") or {}
    decision = data.get("decision") or {}
    if not isinstance(query, Mapping) or not isinstance(decision, Mapping):
        raise WebhookFormatError(f"{where}: 'query' 和 'decision' 须为对象 / 'query' and 'decision' must be "
                                 f"objects")
    return Webhook(at, route, {str(k): str(v) for k, v in params.items()},
                   {str(k): str(v) for k, v in query.items()}, dict(decision))
