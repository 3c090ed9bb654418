"""Voice pages (`asterisk_call`) go out as AMI Originate actions on the listener's own connection."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from hotline.providers.asterisk.client import AmiClient

ANSWER_MARGIN = 5.0  # seconds past the ring time to wait for the OriginateResponse


def ami_originate(client: AmiClient) -> Callable[[Mapping[str, str]], Awaitable[Mapping[str, str]]]:
    """The `originate` coroutine of `hotline.paging.originate` (voice pages, survey calls): sends the
    action (the channel's `ActionID` becomes the tag at the end of the client's own ActionID) and returns
    the outcome of the call: the `OriginateResponse` event (`Response: Success` = answered, `Failure` +
    `Reason`), or the action's error reply when Asterisk refused the Originate itself."""

    async def originate(headers: Mapping[str, str]) -> Mapping[str, str]:
        fields = [(k, v) for k, v in headers.items() if k.lower() not in ("action", "actionid")]
        ring = float(headers.get("Timeout", "30000") or 30000) / 1000
        result, outcome = await client.originate(fields, tag=headers.get("ActionID"),
                                                 answer_timeout=ring + ANSWER_MARGIN)
        return dict(outcome if outcome is not None else result.response)

    return originate
