"""The `hotline-page-ack` dialplan: where an `asterisk_call` voice page is connected when answered.

It plays the alert prompt (up to three times), and on `1` raises
`UserEvent(HotlineAck,AlertId: ...,Code: ...,Digit: 1,PageKey: ...)` from the page call's channel
variables (set by the Originate, see asterisk_call.py); the listener hands that event to the voice
acknowledgement. Any other key, or none, acknowledges nothing: escalation goes on.
"""

from __future__ import annotations

import re

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SOUND = re.compile(r"^[A-Za-z0-9_/-]{1,128}$")

# Prompts to record (Chinese first, then English), under sounds/<language>/hotline/.
PROMPTS = {
    "hotline/page-alert": "热线告警，请按 1 确认。/ Hotline alert: press 1 to acknowledge.",
    "hotline/page-acked": "已确认，谢谢。请尽快处理。/ Acknowledged, thank you. Please follow up now.",
    "hotline/page-not-acked": "未确认，稍后会再次通知。/ Not acknowledged: you will be paged again.",
}


def ack_dialplan(context: str = "hotline-page-ack", *, attempts: int = 3, wait_seconds: int = 6,
                 event: str = "HotlineAck", sound_prefix: str = "hotline") -> str:
    """The extensions.conf text of the acknowledgement context (exten `s`, priority 1); its prompts are
    `<sound_prefix>/page-alert`, `page-acked`, `page-not-acked` (`hotline ivr sounds` makes them)."""
    if not _NAME.match(context) or not _NAME.match(event):
        raise ValueError(f"context / event name {context!r} / {event!r}: letters, digits, '_' or '-' only")
    if not _NAME.match(sound_prefix):
        raise ValueError(f"sound prefix {sound_prefix!r}: letters, digits, '_' or '-' only")
    if not 1 <= attempts <= 9 or not 1 <= wait_seconds <= 60:
        raise ValueError("attempts 1-9, wait_seconds 1-60")
    assert all(_SOUND.match(s) for s in PROMPTS)
    return (
        f"; 告警语音寻呼确认 / voice page acknowledgement (hotline/paging/ack_dialplan.py)\n"
        f"[{context}]\n"
        f"exten => s,1,NoOp(hotline page ${{HOTLINE_PAGE_KEY}} alert ${{HOTLINE_ALERT_ID}})\n"
        f" same => n,Answer()\n"
        f" same => n,Wait(1)\n"
        f" same => n,Read(HOTLINE_DIGIT,{sound_prefix}/page-alert,1,,{attempts},{wait_seconds})\n"
        f' same => n,GotoIf($["${{HOTLINE_DIGIT}}" = "1"]?acked)\n'
        f" same => n,Playback({sound_prefix}/page-not-acked)\n"
        f" same => n,Hangup()\n"
        f" same => n(acked),UserEvent({event},AlertId: ${{HOTLINE_ALERT_ID}},Code: ${{HOTLINE_ACK_CODE}}"
        f",Digit: 1,PageKey: ${{HOTLINE_PAGE_KEY}})\n"
        f" same => n,Playback({sound_prefix}/page-acked)\n"
        f" same => n,Hangup()\n"
    )
