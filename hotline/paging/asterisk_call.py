"""A call to the staff phone through Asterisk AMI `Originate` (free and unlimited on our own PBX).

The call is connected to an acknowledgement IVR (`context`/`exten`/`priority`, e.g. the rendered
`hotline-page-ack` dialplan) that reads the alert and takes `1` as acknowledgement; it finds the
alert in the channel variables HOTLINE_ALERT_ID, HOTLINE_ACK_CODE and HOTLINE_PAGE_KEY.
The AMI side (the `originate` coroutine, the action, the outcome) is `hotline.paging.originate`.
A page counts as delivered only when the phone answered; an unanswered or busy phone is a
failed, retryable attempt (then the next channel). The `ActionID` header is the page's tag
(`page-<key>`); the entry point puts it at the end of its client's own ActionID.
"""

from __future__ import annotations

import re

from hotline.paging.base import Page, SendResult
from hotline.paging.originate import NotAnswered, Originate, originate_action, place_call
from hotline.paging.transport import DeliveryError, as_result

_EXTENSION = re.compile(r"^[0-9A-Za-z*#+_-]{1,32}$")


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
        return originate_action(action_id=f"page-{page.key}",
                                channel=self.channel_template.format(extension=ext), context=self.context,
                                exten=self.exten, priority=self.priority, ring_seconds=self.ring_seconds,
                                variables=variables, caller_id=self.caller_id)

    async def _send(self, page: Page) -> str | None:
        action = self.action(page)
        try:
            response = await place_call(self._originate, action, timeout=self.timeout, ring_seconds=self.ring_seconds)
        except NotAnswered as e:
            raise DeliveryError(f"未送达 / not delivered: {e.error}", retryable=True) from None
        return response.get("Uniqueid") or response.get("ActionID") or action["ActionID"]

    async def send(self, page: Page) -> SendResult:
        return await as_result(self.name, self._send(page))

    def __repr__(self) -> str:
        return f"AsteriskCallChannel(name={self.name!r}, channel_template={self.channel_template!r})"
