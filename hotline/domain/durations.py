"""Durations as the desk reads them: 3分12秒, 1小时5分, 45秒."""

from __future__ import annotations


def zh_duration(seconds: float | None) -> str:
    """`192.4` -> `3分12秒`; an hour or more drops the seconds (`1小时5分`), a day or more the minutes
    (`11天7小时`); None -> `-`."""
    if seconds is None:
        return "-"
    total = max(0, int(seconds + 0.5))  # half up, as the pages round
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 24:
        return f"{hours // 24}天{hours % 24}小时"
    if hours:
        return f"{hours}小时{minutes}分"
    if minutes:
        return f"{minutes}分{secs}秒"
    return f"{secs}秒"
