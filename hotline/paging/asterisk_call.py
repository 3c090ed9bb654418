"""A call to the staff phone through Asterisk AMI `Originate` (free and unlimited on our own PBX).

The call is connected to an acknowledgement IVR (`context`/`exten`/`priority`, e.g. the rendered
`hotline-page-ack` dialplan) that reads the alert and takes `1` as acknowledgement; it finds the
alert in the channel variables HOTLINE_ALERT_ID, HOTLINE_ACK_CODE and HOTLINE_PAGE_KEY.
The AMI connection is not ours: the entry point passes an `originate` coroutine that sends the
action's headers and returns the response's headers.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping

from hotline.paging.base import Page, SendResult
from hotline.paging.transport import DeliveryError, as_result

Originate = Callable[[Mapping[str, str]], Awaitable[Mapping[str, str]]]

_EXTENSION = re.compile(r"^[0-9A-Za-z*#+_-]{1,32}$")


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
        self.timeout = timeout  # for the AMI response (the call itself is asynchronous)

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
            response = await asyncio.wait_for(self._originate(action), self.timeout)
        except (OSError, TimeoutError, ConnectionError) as e:
            raise DeliveryError(f"AMI 不可用 / AMI unavailable ({type(e).__name__})", retryable=True) from None
        if response.get("Response", "").lower() != "success":
            message = _header_value(response.get("Message", ""))[:200]
            raise DeliveryError(f"Originate 失败 / Originate failed: {message}".strip(), retryable=True)
        return action["ActionID"]

    async def send(self, page: Page) -> SendResult:
        return await as_result(self.name, self._send(page))

    def __repr__(self) -> str:
        return f"AsteriskCallChannel(name={self.name!r}, channel_template={self.channel_template!r})"
