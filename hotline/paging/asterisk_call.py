"""A call to the staff phone through Asterisk AMI `Originate` (free and unlimited on our own PBX).

The call is connected to an acknowledgement IVR (`context`/`exten`/`priority`, e.g. the rendered
`hotline-page-ack` dialplan) that reads the alert and takes `1` as acknowledgement; it finds the
alert in the channel variables HOTLINE_ALERT_ID, HOTLINE_ACK_CODE and HOTLINE_PAGE_KEY.
The AMI connection is not ours: the entry point passes an `originate` coroutine that sends the
action's headers and returns the outcome of the call: the `OriginateResponse` event (`Response:
Success` when the phone answered; `Failure` with a `Reason` when it did not), or the action's error
reply. A page counts as delivered only when the phone answered; an unanswered or busy phone is a
failed, retryable attempt (then the next channel). The `ActionID` header is the page's tag
(`page-<key>`); the entry point puts it at the end of its client's own ActionID.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping

from hotline.paging.base import Page, SendResult
from hotline.paging.transport import DeliveryError, as_result

Originate = Callable[[Mapping[str, str]], Awaitable[Mapping[str, str]]]

_EXTENSION = re.compile(r"^[0-9A-Za-z*#+_-]{1,32}$")


# OriginateResponse `Reason` (Asterisk's control frame of the outgoing call's last state)
REASONS = {
    "0": "呼叫失败 / call failed",
    "1": "对方挂断 / hung up before answering",
    "3": "无人接听 / no answer",
    "5": "忙线 / busy",
    "8": "线路拥塞 / congestion",
}


def _header_value(value: str) -> str:
    """No CR/LF (they would end the AMI header) and no comma (it separates variables)."""
    return re.sub(r"[\r\n,]", " ", value).strip()


class AsteriskCallChannel:
    """Originates `channel_template.format(extension=...)` into the ack IVR, asynchronously."""

    def __init__(self, originate: Originate, *, channel_template: str = "PJSIP/{extension}",
                 context: str = "hotline-page-ack", exten: str = "s", priority: int = 1,
                 caller_id: str = "", ring_seconds: int = 30, timeout: float = 10.0,
                 name: str = "asterisk_call") -> None:
        self.name = name
        self._originate = originate
        self.channel_template = channel_template
        self.context = context
        self.exten = exten
        self.priority = priority
        self.caller_id = caller_id
        self.ring_seconds = ring_seconds
        self.timeout = timeout  # for the AMI response; the outcome may come `ring_seconds` later

    def action(self, page: Page) -> dict[str, str]:
        """The Originate action's headers, in order."""
        ext = page.recipient.extension
        if not ext or not _EXTENSION.match(ext):
            raise DeliveryError("收件人没有有效分机号 / recipient has no valid extension", retryable=False)
        variables = {"HOTLINE_PAGE_KEY": page.key, "HOTLINE_ALERT_ID": page.alert_id or "",
                     "HOTLINE_ACK_CODE": page.ack_code or "", "HOTLINE_CALLER": page.caller or ""}
        action = {
            "Action": "Originate",
            "ActionID": _header_value(f"page-{page.key}"),
            "Channel": self.channel_template.format(extension=ext),
            "Context": self.context,
            "Exten": self.exten,
            "Priority": str(self.priority),
            "Timeout": str(self.ring_seconds * 1000),
            "Variable": ",".join(f"{k}={_header_value(v)}" for k, v in variables.items()),
            "Async": "true",
        }
        if self.caller_id:
            action["CallerID"] = _header_value(self.caller_id)
        return action

    async def _send(self, page: Page) -> str | None:
        action = self.action(page)
        try:
            # the reply (up to `timeout`), then the phone rings (up to `ring_seconds`): the outcome comes
            # after both; the entry point's own answer wait ends a few seconds after the ring time
            response = await asyncio.wait_for(self._originate(action), 2 * self.timeout + self.ring_seconds)
        except (OSError, TimeoutError, ConnectionError) as e:
            raise DeliveryError(f"AMI 不可用 / AMI unavailable ({type(e).__name__})", retryable=True) from None
        if response.get("Response", "").lower() != "success":
            reason = response.get("Reason")
            if reason is not None:  # the OriginateResponse of a call that was placed but not answered
                text = REASONS.get(reason, f"未接通 / not connected (reason {_header_value(reason)[:8]})")
                raise DeliveryError(f"未送达 / not delivered: {text}", retryable=True)
            message = _header_value(response.get("Message", ""))[:200]
            raise DeliveryError(f"Originate 失败 / Originate failed: {message}".strip(), retryable=True)
        return response.get("Uniqueid") or response.get("ActionID") or action["ActionID"]

    async def send(self, page: Page) -> SendResult:
        return await as_result(self.name, self._send(page))

    def __repr__(self) -> str:
        return f"AsteriskCallChannel(name={self.name!r}, channel_template={self.channel_template!r})"
