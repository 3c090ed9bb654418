"""Signed acknowledgement links: round trip, forgery, expiry, non-ASCII names."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hotline.services.monitor.ack_links import AckLinks, BadLink

NOW = datetime(2026, 11, 23, 13, 48, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_round_trip_with_a_chinese_name() -> None:
    links = AckLinks(b"secret-key", "https://hotline.example/")
    url = links.url("a1b2c3", "张伟", NOW)
    assert url.startswith("https://hotline.example/ack/")
    token = url.rsplit("/", 1)[1]
    assert links.verify(token, NOW + timedelta(hours=23)) == ("a1b2c3", "张伟")


def test_forged_other_key_and_expired_links_are_refused() -> None:
    links = AckLinks(b"secret-key", "https://hotline.example")
    token = links.token("a1b2c3", "张伟", NOW)
    _alert, person, expires, sig = token.split(".")
    other = links.token("zzz", "张伟", NOW).split(".")[0]
    with pytest.raises(BadLink):
        links.verify(".".join([other, person, expires, sig]), NOW)  # another alert, same signature
    with pytest.raises(BadLink):
        AckLinks(b"other-key", "x").verify(token, NOW)
    with pytest.raises(BadLink):
        links.verify(token, NOW + timedelta(hours=25))
    with pytest.raises(BadLink):
        links.verify("not-a-token", NOW)


def test_ephemeral_keys_differ() -> None:
    a, b = AckLinks.ephemeral("x"), AckLinks.ephemeral("x")
    with pytest.raises(BadLink):
        b.verify(a.token("a", "p", NOW), NOW)
