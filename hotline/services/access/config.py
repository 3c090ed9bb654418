"""The `[access]` section of hotline.toml: session length, extra host names, login throttling."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from hotline.config import ConfigError, Settings
from hotline.domain.access import Throttle
from hotline.domain.forwarded import Network, parse_networks

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
KNOWN = {"session_hours", "hosts", "failed_logins_per_account", "failed_logins_per_address", "throttle_minutes",
         "trusted_proxies"}


@dataclass(frozen=True)
class AccessConfig:
    session: timedelta = timedelta(hours=12)
    hosts: tuple[str, ...] = field(default_factory=tuple)  # Host header values accepted
    throttle: Throttle = field(default_factory=Throttle)
    https: bool = False  # public_base_url is https: cookies are Secure
    base_path: str = ""  # public_base_url's path ('/hotline'): links and redirects start with it
    trusted_proxies: tuple[Network, ...] = ()  # X-Forwarded-For is believed from these peers only


def _int(source: str, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(source, f"access.{key}", f"must be a whole number above 0, got {value!r}")
    return value


def access_config(settings: Settings) -> AccessConfig:
    raw = settings.section("access")
    source = settings.source
    for key in raw:
        if key not in KNOWN:
            raise ConfigError(source, f"access.{key}", f"unknown key (known: {', '.join(sorted(KNOWN))})")
    extra = raw.get("hosts", [])
    if not isinstance(extra, list) or not all(isinstance(h, str) for h in extra):
        raise ConfigError(source, "access.hosts", "must be a list of host names, e.g. [\"hotline.example.cn\"]")
    base = urlsplit(settings.api.public_base_url)
    hosts = {*LOOPBACK_HOSTS, settings.api.host, *(h.strip().lower() for h in extra if h.strip())}
    if base.hostname:
        hosts.add(base.hostname.lower())
    hosts.discard("0.0.0.0")
    hosts.discard("::")
    throttle = Throttle(per_account=_int(source, "failed_logins_per_account", raw.get("failed_logins_per_account", 5)),
                        per_address=_int(source, "failed_logins_per_address", raw.get("failed_logins_per_address", 20)),
                        window=timedelta(minutes=_int(source, "throttle_minutes", raw.get("throttle_minutes", 15))))
    proxies = raw.get("trusted_proxies", [])
    if not isinstance(proxies, list) or not all(isinstance(p, str) for p in proxies):
        raise ConfigError(source, "access.trusted_proxies",
                          "must be a list of addresses or networks, e.g. [\"127.0.0.1\", \"10.1.0.0/16\"]")
    try:
        trusted = parse_networks(proxies)
    except ValueError as e:
        raise ConfigError(source, "access.trusted_proxies", str(e)) from None
    return AccessConfig(session=timedelta(hours=_int(source, "session_hours", raw.get("session_hours", 12))),
                        hosts=tuple(sorted(hosts)), throttle=throttle, https=base.scheme == "https",
                        base_path=base.path.rstrip("/"), trusted_proxies=trusted)


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def refuse_to_serve(settings: Settings, any_account: bool) -> str | None:
    """Why `serve` must not start (one line), or None: reachable from the network with nobody able to
    sign in means either a useless service or one someone will 'fix' by opening it up."""
    if is_loopback(settings.api.host) or any_account:
        return None
    return (f"拒绝启动：api.host = {settings.api.host} 不是本机地址，且没有任何账号；请先 `hotline users add` / "
            f"refusing to start: api.host = {settings.api.host} is not loopback and no account exists; "
            "add one with `hotline users add NAME --role admin`")
