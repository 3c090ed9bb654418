from __future__ import annotations

import pytest

from hotline.domain.durations import zh_duration


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "-"), (0, "0秒"), (45.4, "45秒"), (192.4, "3分12秒"), (439.816, "7分20秒"), (3600, "1小时0分"),
    (3900 + 59, "1小时5分"), (-3, "0秒"), (86399, "23小时59分"), (86400, "1天0小时"), (978516, "11天7小时"),
])
def test_durations_read_like_the_desk_says_them(seconds: float | None, text: str) -> None:
    assert zh_duration(seconds) == text
