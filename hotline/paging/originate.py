"""A call that hotline places itself with an AMI `Originate` (a voice page, a satisfaction callback).

The AMI connection is not ours: the entry point passes an `originate` coroutine that sends the action's
headers and returns the outcome of the call: the `OriginateResponse` event (`Response: Success` when the
phone answered; `Failure` with a `Reason` when it did not), or the action's error reply. This module builds
the action and turns that outcome into the answered call's reply or a `DeliveryError`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping

from hotline.paging.transport import DeliveryError

Originate = Callable[[Mapping[str, str]], Awaitable[Mapping[str, str]]]

# OriginateResponse `Reason` (Asterisk's control frame of the outgoing call's last state)
REASONS = {
    "0": "呼叫失败 / call failed",
    "1": "对方挂断 / hung up before answering",
    "3": "无人接听 / no answer",
    "5": "忙线 / busy",
    "8": "线路拥塞 / congestion",
}


def header_value(value: str) -> str:
    """No CR/LF (they would end the AMI header) and no comma (it separates variables)."""
    return re.sub(r"[\r\n,]", " ", value).strip()


def originate_action(*, action_id: str, channel: str, context: str, exten: str, priority: int, ring_seconds: int,
                     variables: Mapping[str, str], caller_id: str = "",
                     channel_id: str | None = None) -> dict[str, str]:
    """The asynchronous Originate action's headers, in order; `channel_id` makes the call's Uniqueid ours."""
    action = {
        "Action": "Originate",
        "ActionID": header_value(action_id),
        "Channel": channel,
        "Context": context,
        "Exten": exten,
        "Priority": str(priority),
        "Timeout": str(ring_seconds * 1000),
    }
    if channel_id is not None:
        action["ChannelId"] = channel_id
    action["Variable"] = ",".join(f"{k}={header_value(v)}" for k, v in variables.items())
    action["Async"] = "true"
    if caller_id:
        action["CallerID"] = header_value(caller_id)
    return action


class NotAnswered(DeliveryError):
    """The call was placed but nobody answered it; `error` is the OriginateResponse `Reason` in words."""

    def __init__(self, reason: str) -> None:
        super().__init__(REASONS.get(reason, f"未接通 / not connected (reason {header_value(reason)[:8]})"),
                         retryable=True)


async def place_call(originate: Originate, action: Mapping[str, str], *, timeout: float,
                     ring_seconds: int) -> Mapping[str, str]:
    """The reply of the answered call. An AMI that is down or silent, or that refuses the Originate, is a
    retryable `DeliveryError`; a call that rang unanswered is `NotAnswered` (the caller says what it means)."""
    try:
        # the reply (up to `timeout`), then the phone rings (up to `ring_seconds`): the outcome comes
        # after both; the entry point's own answer wait ends a few seconds after the ring time
        response = await asyncio.wait_for(originate(action), 2 * timeout + ring_seconds)
    except (OSError, TimeoutError, ConnectionError) as e:
        raise DeliveryError(f"AMI 不可用 / AMI unavailable ({type(e).__name__})", retryable=True) from None
    if response.get("Response", "").lower() != "success":
        reason = response.get("Reason")
        if reason is not None:  # the OriginateResponse of a call that was placed but not answered
            raise NotAnswered(reason)
        message = header_value(response.get("Message", ""))[:200]
        raise DeliveryError(f"Originate 失败 / Originate failed: {message}".strip(), retryable=True)
    return response
