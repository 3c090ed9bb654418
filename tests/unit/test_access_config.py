"""The [access] section: the Host allow-list, throttling figures, and when `serve` must refuse to start."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hotline.config import ConfigError, Settings, settings_from_dict
from hotline.services.access.config import access_config, refuse_to_serve


def test_hosts_come_from_public_base_url_loopback_and_the_configured_list() -> None:
    s = settings_from_dict({"api": {"host": "0.0.0.0", "public_base_url": "https://Hotline.Example.cn/desk"},
                            "access": {"hosts": ["10.1.2.3", "rexian.local"], "throttle_minutes": 30}})
    config = access_config(s)
    assert set(config.hosts) == {"127.0.0.1", "localhost", "::1", "[::1]", "hotline.example.cn", "10.1.2.3",
                                 "rexian.local"}
    assert config.https and config.throttle.window.total_seconds() == 1800


@pytest.mark.parametrize(("section", "problem"), [
    ({"hostz": []}, "[access.hostz] unknown key"),
    ({"hosts": "a.example"}, "[access.hosts] must be a list"),
    ({"session_hours": 0}, "[access.session_hours] must be a whole number above 0"),
])
def test_mistakes_name_the_key(section: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigError) as e:
        access_config(settings_from_dict({"access": section}, source="hotline.toml"))
    assert problem in str(e.value)


def test_serve_refuses_only_off_loopback_without_accounts(settings: Settings) -> None:
    assert refuse_to_serve(settings, any_account=False) is None  # 127.0.0.1
    public = replace(settings, api=replace(settings.api, host="0.0.0.0"))
    reason = refuse_to_serve(public, any_account=False)
    assert reason is not None and "\n" not in reason and "no account exists" in reason
    assert refuse_to_serve(public, any_account=True) is None
