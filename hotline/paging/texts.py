"""What a page says: Chinese first, then English; and the Mandarin voice prompt.

Pure functions of plain values: the monitor renders `Page.subject`/`Page.text` with them, and the
channels shorten or adapt them (SMS, robots, voice).
"""

from __future__ import annotations

from datetime import datetime

from hotline.domain.numbers import mask, try_parse_number
from hotline.paging.base import Page

UNKNOWN_CALLER = "未知号码 / unknown number"


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M") if at is not None else "-"


def _specialty(specialty_zh: str | None, specialty_en: str | None) -> str:
    if specialty_zh and specialty_en and specialty_zh != specialty_en:
        return f"{specialty_zh} / {specialty_en}"
    return specialty_zh or specialty_en or "-"


def page_subject(specialty_zh: str | None = None, specialty_en: str | None = None) -> str:
    """'热线未接来电（网络） / Missed hotline call (Network)'."""
    zh = f"热线未接来电（{specialty_zh}）" if specialty_zh else "热线未接来电"
    en = f"Missed hotline call ({specialty_en})" if specialty_en else "Missed hotline call"
    return f"{zh} / {en}"


def page_text(
    *,
    caller: str | None,
    at: datetime | None,
    specialty_zh: str | None = None,
    specialty_en: str | None = None,
    ack_url: str | None = None,
    ack_code: str | None = None,
) -> str:
    """The full page text: a Chinese paragraph, then the same in English."""
    number = caller or "未知号码"
    spec = _specialty(specialty_zh, specialty_en)
    zh = [f"热线有未接来电：来电号码 {number}，时间 {_when(at)}，专业 {specialty_zh or spec}。"]
    en = [f"Missed hotline call: caller {caller or 'unknown'}, at {_when(at)}, specialty {specialty_en or spec}."]
    if ack_url:
        zh.append(f"确认处理：{ack_url}")
        en.append(f"Acknowledge: {ack_url}")
    if ack_code:
        zh.append(f"或回复确认码 {ack_code}")
        en.append(f"or reply with code {ack_code}")
    return "\n".join(zh) + "\n\n" + "\n".join(en)


def short_text(page: Page, limit: int = 300) -> str:
    """The page text cut to `limit` characters (SMS); the subject when the text is empty."""
    text = page.text or page.subject
    return text if len(text) <= limit else text[: limit - 1] + "…"


def group_text(page: Page) -> str:
    """The page text for a chat group (WeCom, DingTalk, Feishu robots): the whole group reads it, so the
    caller's number is masked ('138****8000') in every form the text may hold."""
    return hide_caller(page.text or page.subject, page.caller)


def hide_caller(text: str, caller: str | None) -> str:
    """`text` with the caller's number masked ('138****8000') in every form it may hold (as given,
    national, E.164): for group robots, logs and the dry-run channel's output."""
    if not caller:
        return text
    forms = {caller}
    parsed = try_parse_number(caller)
    if parsed is not None:
        forms |= {f for f in (parsed.national, parsed.e164) if f}
    hidden = parsed.masked() if parsed is not None else mask(caller)
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, hidden)
    return text


def clip_utf8(text: str, max_bytes: int) -> str:
    """Cut `text` so its UTF-8 form fits `max_bytes` (robots count bytes, not characters)."""
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    return data[: max_bytes - 3].decode("utf-8", errors="ignore") + "…"


def spoken_digits(number: str) -> str:
    """'13800138000' -> '1 3 8 0 0 1 3 8 0 0 0', so text-to-speech reads digit by digit."""
    return " ".join(ch for ch in number if ch.isalnum())


def voice_prompt(page: Page) -> str:
    """The Mandarin prompt of a voice page; pressing 1 acknowledges."""
    parts = ["您好，这里是 IT 支持热线。热线有未接来电"]
    if page.caller:
        parts.append(f"，来电号码 {spoken_digits(page.caller)}")
    if page.at is not None:
        parts.append(f"，时间 {page.at.hour} 点 {page.at.minute} 分")
    if page.specialty:
        parts.append(f"，专业 {page.specialty}")
    parts.append("。确认处理请按 1。")
    return "".join(parts)


VOICE_NO_INPUT = "没有收到确认，稍后将再次呼叫。再见。"
