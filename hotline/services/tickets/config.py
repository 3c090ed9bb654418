"""The `[tickets]` section, validated: the desk's area code, service windows, SLA targets, auto-close,
and the vendor (厂商) contact of each specialty. Every key has a working default."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from hotline.config import ConfigError, Settings
from hotline.domain.sla import ClockName, SlaPolicy, Window
from hotline.paging.base import Recipient


@dataclass(frozen=True)
class VendorContact:
    """The outside company that takes a specialty's tickets at the third tier."""

    name: str
    phone: str = ""
    email: str = ""
    contract: str = ""  # 合同编号

    def recipient(self) -> Recipient:
        return Recipient(name=self.name, mobile=self.phone or None, email=self.email or None)


@dataclass(frozen=True)
class TicketConfig:
    local_area_code: str | None = None  # completes 8-digit local landlines ('010')
    window: Window = Window.ROUND_THE_CLOCK  # the service window tickets count in
    specialty_windows: Mapping[str, Window] = field(default_factory=dict)  # e.g. on-site specialties: 6x8
    policy: SlaPolicy = field(default_factory=SlaPolicy)
    auto_close_days: float = 3.0  # resolved -> closed when the caller has not answered by then
    vendors: Mapping[str, VendorContact] = field(default_factory=dict)
    page_channels: tuple[str, ...] = ()  # when the person names no channel (empty: the dispatcher's order)
    push: Mapping[str, Any] = field(default_factory=dict)  # [tickets.push]: the outside helpdesk, if any
    complaint_specialty: str = "complaint"  # the IVR's complaint option sets this specialty: the ticket is 投诉
    # paged when no manager is on duty and a complaint is late, or an escalation or a missed deadline finds
    # nobody on duty up the tiers
    complaint_managers: tuple[str, ...] = ()
    specialties: frozenset[str] = frozenset()  # the configured [specialties] codes (empty: any is taken)

    def window_of(self, specialty: str | None) -> Window:
        return self.specialty_windows.get(specialty or "", self.window)

    def vendor_of(self, specialty: str | None) -> VendorContact | None:
        """The 厂商 contact of `specialty`, else `[tickets.vendors.default]` (None: no vendor configured)."""
        return self.vendors.get(specialty or "") or self.vendors.get("default")


_KEYS = {"local_area_code", "window", "windows", "sla_minutes", "warn_before_minutes", "auto_close_days",
         "vendors", "page_channels", "push", "complaint_specialty", "complaint_managers"}
PUSH_KEYS = {"kind", "url", "group", "customer", "timeout"}


def _window(source: str, key: str, value: Any) -> Window:
    try:
        return Window(str(value))
    except ValueError:
        raise ConfigError(source, key, f'must be "7x24" or "6x8", got {value!r}') from None


def _minutes(source: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(source, key, f"must be a number of minutes > 0, got {value!r}")
    return float(value)


def ticket_config(settings: Settings) -> TicketConfig:
    """Validate `[tickets]`; errors name the config file and key."""
    source, raw = settings.source, settings.section("tickets")
    for key in raw:
        if key not in _KEYS:
            raise ConfigError(source, f"tickets.{key}", f"unknown key (known: {', '.join(sorted(_KEYS))})")
    area = raw.get("local_area_code") or None
    windows = {str(k): _window(source, f"tickets.windows.{k}", v) for k, v in dict(raw.get("windows", {})).items()}
    policy = SlaPolicy()
    targets = dict(policy.targets)
    for k, v in dict(raw.get("sla_minutes", {})).items():
        try:
            name = ClockName(k)
        except ValueError:
            known = ", ".join(str(c) for c in ClockName)
            raise ConfigError(source, f"tickets.sla_minutes.{k}", f"unknown clock (known: {known})") from None
        targets[name] = timedelta(minutes=_minutes(source, f"tickets.sla_minutes.{k}", v))
    warn = _minutes(source, "tickets.warn_before_minutes", raw.get("warn_before_minutes", 15))
    vendors: dict[str, VendorContact] = {}
    for specialty, v in dict(raw.get("vendors", {})).items():
        if not isinstance(v, Mapping) or not v.get("name"):
            raise ConfigError(source, f"tickets.vendors.{specialty}", "needs at least name = \"...\"")
        vendors[str(specialty)] = VendorContact(str(v["name"]), str(v.get("phone", "")), str(v.get("email", "")),
                                                str(v.get("contract", "")))
    channels = raw.get("page_channels", [])
    if not isinstance(channels, list):
        raise ConfigError(source, "tickets.page_channels", f'must be a list like ["wecom"], got {channels!r}')
    push = dict(raw.get("push", {}))
    for key in push:
        if key not in PUSH_KEYS:
            raise ConfigError(source, f"tickets.push.{key}", f"unknown key (known: {', '.join(sorted(PUSH_KEYS))})")
    if push and (push.get("kind") != "zammad" or not push.get("url")):
        raise ConfigError(source, "tickets.push", 'needs kind = "zammad" and url = "https://..." '
                          "(the token comes from HOTLINE_ZAMMAD_TOKEN)")
    managers = raw.get("complaint_managers", [])
    if not isinstance(managers, list) or not all(isinstance(m, str) and m for m in managers):
        raise ConfigError(source, "tickets.complaint_managers",
                          f'must be a list of names like ["周强"], got {managers!r}')
    complaint = raw.get("complaint_specialty", "complaint")
    if not isinstance(complaint, str) or not complaint:
        raise ConfigError(source, "tickets.complaint_specialty", f'must be a specialty code, got {complaint!r}')
    return TicketConfig(
        local_area_code=str(area) if area else None,
        window=_window(source, "tickets.window", raw.get("window", "7x24")),
        specialty_windows=windows,
        policy=SlaPolicy(targets=targets, warn_before=timedelta(minutes=warn)),
        auto_close_days=_minutes(source, "tickets.auto_close_days", raw.get("auto_close_days", 3)) ,
        vendors=vendors,
        page_channels=tuple(str(c) for c in channels),
        push=push,
        complaint_specialty=complaint,
        complaint_managers=tuple(managers),
        specialties=frozenset(settings.specialties),
    )
