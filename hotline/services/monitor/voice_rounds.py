"""`[paging.call_until_reached]`: a page whose first channel is a voice call is delivered again,
`rounds` times at most and `interval` seconds apart, while its alert is still open (not acknowledged,
cleared or resolved). A call that was answered but not acknowledged has not reached anybody yet."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from hotline.domain.alerts import AlertState
from hotline.paging.base import Page, SendResult
from hotline.paging.dispatcher import Dispatcher

log = logging.getLogger(__name__)
VOICE_KINDS = frozenset({"asterisk_call", "twilio_voice"})
NOT_NEEDED = "告警已确认，未呼叫 / alert already acknowledged: not called"


class UntilReachedSender:
    """A `PageSender`: voice-first pages of an alert through `deliver_until_acked`, others as usual."""

    def __init__(self, dispatcher: Dispatcher, voice_channels: frozenset[str],
                 alert_state: Callable[[str], AlertState]) -> None:
        self.dispatcher = dispatcher
        self.voice_channels = voice_channels
        self.alert_state = alert_state

    @property
    def default_order(self) -> tuple[str, ...]:
        return self.dispatcher.default_order

    async def _answered(self, page: Page) -> bool:
        if page.alert_id is None:
            return False
        try:
            state = await asyncio.to_thread(self.alert_state, page.alert_id)
        except LookupError:
            return True  # no such alert: nothing left to reach anybody about
        return state is not AlertState.OPEN

    async def deliver(self, page: Page, order: Sequence[str] | None = None) -> list[SendResult]:
        names = self.dispatcher.order_for(page, order)
        if page.alert_id is None or not names or names[0] not in self.voice_channels:
            return await self.dispatcher.deliver(page, order)
        attempts = await self.dispatcher.deliver_until_acked(page, self._answered, order=order)
        if not attempts:  # acknowledged before the first round: nothing to send, and not to be retried
            log.info("page %s not sent: its alert was acknowledged meanwhile", page.key)
            return [SendResult(ok=False, channel=names[0], error=NOT_NEEDED, retryable=False)]
        return attempts
