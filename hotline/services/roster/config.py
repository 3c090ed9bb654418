"""The `[roster]` and `[windows]` sections, validated; every key has a working default."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

from hotline.config import ConfigError, Settings
from hotline.domain.roster import DEFAULT_REQUIREMENTS, Tier
from hotline.domain.windows import Requirement, ServiceWindows, parse_clock_time, parse_weekdays

ROSTER_KEYS = {"file", "reminder_lead_minutes", "gap_warning_days", "coverage", "tiers",
               "today_post_channel", "today_post_time", "manager_page_time", "manager_fallback",
               "min_rest_hours", "handover_ack_minutes", "approval"}
WINDOWS_KEYS = {"onsite_days", "onsite_start", "onsite_end"}


@dataclass(frozen=True)
class RosterConfig:
    windows: ServiceWindows
    file: Path = Path("config/roster.yaml")
    reminder_lead_minutes: int = 15
    gap_warning_days: int = 7
    coverage: Mapping[Tier, Requirement] = field(default_factory=lambda: dict(DEFAULT_REQUIREMENTS))
    today_post_channel: str = ""  # a [paging.<name>] group robot for the daily 今日值班 post; "" = no post
    today_post_time: time = time(8, 30)
    manager_page_time: time = time(9, 0)  # the daily page to the managers (gaps, missing holiday year)
    handover_ack_minutes: int = 0  # no acknowledgement this long after a shift starts: the manager is paged; 0 off
    approval: bool = False  # overrides and swaps made on the web are requests a manager approves
    min_rest_hours: int = 8  # fewer hours between two shifts of one person is warned about
    manager_fallback: tuple[str, ...] = ()  # staff paged the roster warning when no manager is on the roster


def _unknown(source: str, section: str, raw: Mapping[str, Any], known: set[str]) -> None:
    for key in raw:
        if key not in known:
            raise ConfigError(source, f"{section}.{key}", f"unknown key (known: {', '.join(sorted(known))})")


def _whole(source: str, key: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(source, key, f"must be a whole number >= {minimum}, got {value!r}")
    return value


def _clock_time(source: str, key: str, value: Any) -> time:
    try:
        return parse_clock_time(str(value))
    except ValueError as e:
        raise ConfigError(source, key, f"{e}; write it as \"08:30\"") from None


def _windows(settings: Settings) -> ServiceWindows:
    source, raw = settings.source, settings.section("windows")
    _unknown(source, "windows", raw, WINDOWS_KEYS)
    days = raw.get("onsite_days", ["mon", "tue", "wed", "thu", "fri", "sat"])
    if not isinstance(days, list):
        raise ConfigError(source, "windows.onsite_days", f'must be a list like ["mon", "sat"], got {days!r}')
    try:
        weekdays = parse_weekdays(days)
    except ValueError as e:
        raise ConfigError(source, "windows.onsite_days", str(e)) from None
    times = {}
    for key, default in (("onsite_start", "09:00"), ("onsite_end", "17:00")):
        try:
            times[key] = parse_clock_time(str(raw.get(key, default)))
        except ValueError as e:
            raise ConfigError(source, f"windows.{key}", f"{e}; write it as \"09:00\"") from None
    if times["onsite_end"] <= times["onsite_start"]:
        raise ConfigError(source, "windows.onsite_end", "must be after onsite_start (same day)")
    return ServiceWindows(settings.tz, weekdays, times["onsite_start"], times["onsite_end"])


def roster_config(settings: Settings) -> RosterConfig:
    """Validate `[roster]` / `[windows]`; errors name the config file and key."""
    source, raw = settings.source, settings.section("roster")
    _unknown(source, "roster", raw, ROSTER_KEYS)
    file = raw.get("file", "config/roster.yaml")
    if not isinstance(file, str) or not file:
        raise ConfigError(source, "roster.file", f"must be a path, got {file!r}")
    coverage = dict(DEFAULT_REQUIREMENTS)
    cov_raw = raw.get("coverage", {})
    if not isinstance(cov_raw, dict):
        raise ConfigError(source, "roster.coverage", "must be a table: tier = \"always\" | \"onsite\" | ...")
    for tier, need in cov_raw.items():
        try:
            coverage[Tier(tier)] = Requirement(need)
        except ValueError:
            raise ConfigError(
                source, f"roster.coverage.{tier}",
                f"tier must be one of {', '.join(Tier)} and the value one of {', '.join(Requirement)}, "
                f"got {tier} = {need!r}") from None
    channel = raw.get("today_post_channel", "")
    if not isinstance(channel, str):
        raise ConfigError(source, "roster.today_post_channel",
                          f'must name a [paging.<name>] channel such as "wecom", got {channel!r}')
    tiers = raw.get("tiers", [])
    if not isinstance(tiers, list) or any(t not in set(Tier) for t in tiers):
        raise ConfigError(source, "roster.tiers", f"must list tiers among {', '.join(Tier)}, got {tiers!r}")
    fallback = raw.get("manager_fallback", [])
    if not isinstance(fallback, list) or not all(isinstance(n, str) and n for n in fallback):
        raise ConfigError(source, "roster.manager_fallback",
                          f'must list staff names, e.g. ["周强", "陈静"], got {fallback!r}')
    approval = raw.get("approval", False)
    if not isinstance(approval, bool):
        raise ConfigError(source, "roster.approval", f"must be true or false, got {approval!r}")
    return RosterConfig(
        windows=_windows(settings),
        approval=approval,
        manager_fallback=tuple(fallback),
        handover_ack_minutes=_whole(source, "roster.handover_ack_minutes", raw.get("handover_ack_minutes", 0), 0),
        min_rest_hours=_whole(source, "roster.min_rest_hours", raw.get("min_rest_hours", 8), 0),
        file=_resolve(settings, file),
        reminder_lead_minutes=_whole(source, "roster.reminder_lead_minutes",
                                     raw.get("reminder_lead_minutes", 15), 0),
        gap_warning_days=_whole(source, "roster.gap_warning_days", raw.get("gap_warning_days", 7), 1),
        coverage=coverage,
        today_post_channel=channel,
        today_post_time=_clock_time(source, "roster.today_post_time", raw.get("today_post_time", "08:30")),
        manager_page_time=_clock_time(source, "roster.manager_page_time", raw.get("manager_page_time", "09:00")),
    )


def _resolve(settings: Settings, file: str) -> Path:
    """A relative path is taken from the working directory, else from the project holding the config."""
    path = Path(file)
    if path.is_absolute() or path.exists():
        return path
    config = Path(settings.source)
    if config.is_file():
        beside = config.resolve().parent.parent / path
        if beside.exists():
            return beside
    return path
