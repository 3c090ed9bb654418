"""The `[monitor]` section, validated, and the monitor assembled from Settings for the entry points
(cli, api, scheduler). Every key has a working default."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from hotline.clock import Clock
from hotline.config import ConfigError, Settings
from hotline.domain.rules import RuleBook, RuleError
from hotline.paging.registry import SETTINGS as PAGING_SETTINGS
from hotline.services.monitor.ack_links import AckLinks
from hotline.services.monitor.engine import MonitorOptions, MonitorService
from hotline.services.monitor.outbox import Outbox
from hotline.services.monitor.rule_files import load_rules
from hotline.services.roster.duty import DutyRoster, RosterDuty

ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass(frozen=True)
class MonitorConfig:
    rules_dir: Path = ROOT / "monitors"
    dial_prefixes: tuple[str, ...] = ()
    default_channels: tuple[str, ...] = ()
    tick_seconds: float = 15.0
    link_valid_hours: float = 24.0
    outbox_lease_seconds: float = 120.0
    outbox_max_attempts: int = 3
    outbox_retry_seconds: float = 60.0
    watch_twilio: bool = False


_KEYS = {
    "rules_dir", "dial_prefixes", "default_channels", "tick_seconds", "link_valid_hours", "outbox_lease_seconds",
    "outbox_max_attempts", "outbox_retry_seconds", "watch_twilio",
}


def _number(source: str, key: str, value: Any, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise ConfigError(source, f"monitor.{key}", f"must be a number >= {minimum:g}, got {value!r}")
    return float(value)


def _texts(source: str, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
        raise ConfigError(source, f"monitor.{key}", f'must be a list of text like ["9"], got {value!r}')
    return tuple(str(v) for v in value)


def _rules_dir(settings: Settings, value: str) -> Path:
    path = Path(value)
    if path.is_absolute() or path.exists():
        return path
    config = Path(settings.source)
    beside = config.resolve().parent.parent / path if config.is_file() else ROOT / path
    return beside if beside.exists() else ROOT / path


def monitor_config(settings: Settings) -> MonitorConfig:
    """Validate `[monitor]`; errors name the config file and key."""
    source, raw = settings.source, settings.section("monitor")
    for key in raw:
        if key not in _KEYS:
            raise ConfigError(source, f"monitor.{key}", f"unknown key (known: {', '.join(sorted(_KEYS))})")
    rules_dir = raw.get("rules_dir", "monitors")
    if not isinstance(rules_dir, str) or not rules_dir:
        raise ConfigError(source, "monitor.rules_dir", f"must be a folder path, got {rules_dir!r}")
    attempts = raw.get("outbox_max_attempts", 3)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise ConfigError(source, "monitor.outbox_max_attempts", f"must be a whole number >= 1, got {attempts!r}")
    twilio = raw.get("watch_twilio", False)
    if not isinstance(twilio, bool):
        raise ConfigError(source, "monitor.watch_twilio", f"must be true or false, got {twilio!r}")
    return MonitorConfig(
        rules_dir=_rules_dir(settings, rules_dir),
        dial_prefixes=_texts(source, "dial_prefixes", raw.get("dial_prefixes", [])),
        default_channels=_texts(source, "default_channels", raw.get("default_channels", [])),
        tick_seconds=_number(source, "tick_seconds", raw.get("tick_seconds", 15), 0.1),
        link_valid_hours=_number(source, "link_valid_hours", raw.get("link_valid_hours", 24), 0.1),
        outbox_lease_seconds=_number(source, "outbox_lease_seconds", raw.get("outbox_lease_seconds", 120), 1),
        outbox_max_attempts=attempts,
        outbox_retry_seconds=_number(source, "outbox_retry_seconds", raw.get("outbox_retry_seconds", 60), 0),
        watch_twilio=twilio,
    )


def paging_channel_names(settings: Settings) -> frozenset[str] | None:
    """The `[paging.<name>]` channels configured (None when there is no [paging] section); the settings
    tables (`[paging.retry]`, `[paging.call_until_reached]`) are not channels."""
    paging = settings.section("paging")
    if not paging:
        return None
    return frozenset(k for k, v in paging.items() if isinstance(v, Mapping) and k not in PAGING_SETTINGS)


def rules_of(settings: Settings, config: MonitorConfig, rules_dir: Path | None = None) -> RuleBook:
    """The rule files, checked against the configured specialties and paging channels."""
    directory = rules_dir or config.rules_dir
    try:
        return load_rules(directory, frozenset(settings.specialties) or None, paging_channel_names(settings))
    except RuleError as e:
        raise ConfigError(str(directory), "monitors", "监控规则有误 / the monitor rules have mistakes "
                          f"(run `hotline monitors lint`):\n{e}") from None


def ack_links(settings: Settings, config: MonitorConfig, mode: str = "required") -> AckLinks | None:
    """Signed-link key from HOTLINE_API_LINK_KEY. mode: 'required' (a clear error when missing),
    'optional' (no links when missing), 'ephemeral' (a throw-away key: dry runs and replays)."""
    base = settings.api.public_base_url
    if mode == "ephemeral":
        return AckLinks.ephemeral(base)
    if not settings.api.link_key and mode == "optional":
        return None
    if not settings.api.link_key:
        raise ConfigError(settings.source, "api.link_key",
                          "确认链接需要签名密钥 / acknowledgement links need a signing key: set the environment "
                          "variable HOTLINE_API_LINK_KEY (e.g. `openssl rand -hex 32`)")
    return AckLinks(settings.api.link_key.encode("utf-8"), base, timedelta(hours=config.link_valid_hours))


def roster_of(settings: Settings, factory: sessionmaker[Session], clock: Clock) -> DutyRoster:
    from hotline.services.roster.service import RosterService

    return RosterDuty(RosterService(factory, settings, clock))


def build_monitor(settings: Settings, factory: sessionmaker[Session], clock: Clock, *,
                  roster: DutyRoster | None = None, links: AckLinks | None = None, link_mode: str = "required",
                  rules: RuleBook | None = None, default_order: tuple[str, ...] = ()) -> tuple[MonitorService, Outbox]:
    """The monitor service and its outbox, configured from `settings` (link_mode: see `ack_links`)."""
    config = monitor_config(settings)
    names = {k: (v.name_zh or k, v.name_en or k) for k, v in settings.specialties.items()}
    options = MonitorOptions(tz=settings.tz, dial_prefixes=config.dial_prefixes,
                             default_channels=config.default_channels or default_order, specialty_names=names)
    monitor = MonitorService(factory, rules or rules_of(settings, config),
                             roster or roster_of(settings, factory, clock), clock,
                             links=links or ack_links(settings, config, link_mode), options=options)
    outbox = Outbox(factory, clock, lease=timedelta(seconds=config.outbox_lease_seconds),
                    max_attempts=config.outbox_max_attempts,
                    retry_after=timedelta(seconds=config.outbox_retry_seconds))
    return monitor, outbox
