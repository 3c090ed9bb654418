"""Settings: `config/hotline.toml`, then `HOTLINE_<SECTION>_<KEY>` environment variables.

Secrets (AMI secret, Twilio token, webhook keys) are read from the environment only; a secret
written into the TOML file is an error, so that it never lands in a repository.
Configuration is read once by an entry point (`cli`, `api`, `scheduler`) and passed down.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hotline.domain.text_files import NotUtf8Error, utf8_text

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "hotline.toml"
ENV_PREFIX = "HOTLINE_"


class ConfigError(Exception):
    """A configuration mistake, naming the file, the key and what is wrong."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}" if key == "-" else f"{source}: [{key}] {problem}")
        self.source = source
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class HotlineSection:
    timezone: str = "Asia/Shanghai"
    numbers: list[str] = field(default_factory=list)
    company_name: str = "某某公司"
    company_name_en: str = "Example Co."
    data_dir: str = "data"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class DatabaseSection:
    url: str = ""  # empty: sqlite in data_dir
    raw_event_retention_days: int = 365


@dataclass(frozen=True)
class AmiSection:
    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "hotline"
    encoding: str = "utf-8"
    fallback_encoding: str = "gb18030"
    ping_interval: float = 20.0
    ping_timeout: float = 10.0
    action_timeout: float = 10.0
    reconnect_initial: float = 1.0
    reconnect_max: float = 60.0
    max_packet_bytes: int = 1_048_576
    queue_size: int = 10_000
    flush_seconds: float = 0.2  # the ledger is written this often: the most a crash (kill -9) can lose
    reconcile_seconds: float = 300.0  # open calls checked against CoreShowChannels this often (0: never)
    max_call_seconds: float = 14_400.0  # calls older than this end, estimated (0: no limit)
    # Secret: only from HOTLINE_AMI_SECRET; kept out of repr() so it cannot reach a log.
    secret: str = field(default="", repr=False)


@dataclass(frozen=True)
class SpecialtySection:
    name_zh: str = ""
    name_en: str = ""


@dataclass(frozen=True)
class StaffSection:
    extensions: list[str] = field(default_factory=list)
    outbound_contexts: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReportsSection:
    answer_rate_target: float = 0.75
    satisfaction_target: float = 0.90
    satisfaction_full_score: int = 5
    short_abandon_seconds: float = 0.0
    service_level_seconds: float = 20.0       # service level: answered within this many seconds
    # called number -> line name: the hotline and the direct-dial duty lines, each its own group ("line")
    lines: dict[str, str] = field(default_factory=dict)
    # The monthly quality report's targets (质量月报); the defaults are the regulations' numbers.
    unanswered_minutes: float = 15.0          # no unanswered hotline call longer than this (on-site duty)
    incident_report_minutes: float = 30.0     # major incidents reported within
    response_minutes: float = 60.0            # tickets: response within
    repair_start_minutes: float = 240.0       # tickets: repair started within
    repair_minutes: float = 240.0             # tickets: mean time to repair
    complaint_reply_minutes: float = 60.0     # complaints answered within
    outage_each_minutes: float = 30.0         # hotline outages: each at most
    outage_total_minutes: float = 60.0        # hotline outages: the month's total at most
    monthly_recipients: list[str] = field(default_factory=list)  # e-mail addresses of the monthly report


@dataclass(frozen=True)
class ApiSection:
    host: str = "127.0.0.1"
    port: int = 8080
    public_base_url: str = "http://127.0.0.1:8080"
    # Secret: only from HOTLINE_API_LINK_KEY (signs acknowledgement links).
    link_key: str = field(default="", repr=False)
    live_interval: float = 2.0  # seconds between live updates pushed to the dashboard and the wall


@dataclass(frozen=True)
class TwilioSection:
    account_sid: str = ""
    voice: str = "Polly.Zhiyu"
    language: str = "cmn-CN"
    # Secret: only from HOTLINE_TWILIO_AUTH_TOKEN.
    auth_token: str = field(default="", repr=False)
    # Secret: only from HOTLINE_TWILIO_WEBHOOK_SHARED_KEY (webhooks signed with a SharedKey, HMAC-SHA256).
    webhook_shared_key: str = field(default="", repr=False)


@dataclass(frozen=True)
class OidcSection:
    """Single sign-on through an OpenID Connect provider (enterprise identity); off without an issuer."""

    issuer: str = ""
    client_id: str = ""
    scopes: list[str] = field(default_factory=lambda: ["openid", "profile", "email"])
    username_claim: str = "preferred_username"  # the claim naming the local account
    label: str = "企业账号 / SSO"
    # Secret: only from HOTLINE_OIDC_CLIENT_SECRET.
    client_secret: str = field(default="", repr=False)


@dataclass(frozen=True)
class Settings:
    """Everything hotline is configured with."""

    source: str = "<defaults>"
    hotline: HotlineSection = field(default_factory=HotlineSection)
    database: DatabaseSection = field(default_factory=DatabaseSection)
    ami: AmiSection = field(default_factory=AmiSection)
    queues: dict[str, str] = field(default_factory=dict)
    specialties: dict[str, SpecialtySection] = field(default_factory=dict)
    staff: StaffSection = field(default_factory=StaffSection)
    reports: ReportsSection = field(default_factory=ReportsSection)
    api: ApiSection = field(default_factory=ApiSection)
    twilio: TwilioSection = field(default_factory=TwilioSection)
    oidc: OidcSection = field(default_factory=OidcSection)
    # Sections owned by other parts (roster, windows, ivr, monitor, paging): validated there.
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return self.hotline.tz

    @property
    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite:///{Path(self.hotline.data_dir) / 'hotline.db'}"

    def specialty_of_queue(self, queue: str | None) -> str | None:
        """The specialty a queue serves (the queue name itself when not mapped)."""
        if queue is None:
            return None
        return self.queues.get(queue, queue)

    def section(self, name: str) -> dict[str, Any]:
        """A raw section owned by another part of hotline (empty when absent)."""
        value = self.extra.get(name, {})
        return value if isinstance(value, dict) else {}


SECRETS: dict[tuple[str, str], str] = {
    ("ami", "secret"): "HOTLINE_AMI_SECRET",
    ("api", "link_key"): "HOTLINE_API_LINK_KEY",
    ("twilio", "auth_token"): "HOTLINE_TWILIO_AUTH_TOKEN",
    ("twilio", "webhook_shared_key"): "HOTLINE_TWILIO_WEBHOOK_SHARED_KEY",
    ("oidc", "client_secret"): "HOTLINE_OIDC_CLIENT_SECRET",
}

_TYPED_SECTIONS: dict[str, type[Any]] = {
    "hotline": HotlineSection,
    "database": DatabaseSection,
    "ami": AmiSection,
    "staff": StaffSection,
    "reports": ReportsSection,
    "api": ApiSection,
    "twilio": TwilioSection,
    "oidc": OidcSection,
}


def _coerce(source: str, key: str, value: Any, hint: Any) -> Any:
    """Check `value` against a dataclass field type; strings (from env) are converted."""
    origin = get_origin(hint)
    if origin is list:
        (inner,) = get_args(hint)
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            raise ConfigError(source, key, f"须为列表 / must be a list, got {type(value).__name__} {value!r}")
        return [_coerce(source, key, v, inner) for v in value]
    if origin is dict:
        if isinstance(value, str):  # from the environment: "4008005678=值班线,4008001234=热线"
            pairs = [p.partition("=") for p in value.split(",") if p.strip()]
            value = {k.strip(): v.strip() for k, _, v in pairs}
        if not isinstance(value, dict):
            raise ConfigError(source, key, f"须为表 / must be a table, got {type(value).__name__} {value!r}")
        kinds = get_args(hint)
        return {_coerce(source, f"{key}.{k}", k, kinds[0]): _coerce(source, f"{key}.{k}", v, kinds[1])
                for k, v in value.items()}
    if hint is bool:
        if isinstance(value, str):
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
        if not isinstance(value, bool):
            raise ConfigError(source, key, f"须为 true 或 false / must be true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool):
            raise ConfigError(source, key, f"须为整数 / must be a whole number, got {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(source, key, f"须为整数 / must be a whole number, got {value!r}") from None
    if hint is float:
        if isinstance(value, bool):
            raise ConfigError(source, key, f"须为数字 / must be a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(source, key, f"须为数字 / must be a number, got {value!r}") from None
    if hint is str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)  # DIDs written as bare numbers
        if not isinstance(value, str):
            raise ConfigError(source, key, f"须为文本 / must be text, got {type(value).__name__} {value!r}")
        return value
    return value


def _build(cls: type[Any], name: str, raw: Mapping[str, Any], source: str) -> Any:
    hints = get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(source, f"{name}.{key}", f"未知的键 / unknown key (known: {', '.join(sorted(known))})")
        if (name, key) in SECRETS and value:
            raise ConfigError(
                source, f"{name}.{key}",
                f"密码不能写在文件里 / secrets are not read from files; set the environment variable "
                f"{SECRETS[(name, key)]}",
            )
        kwargs[key] = _coerce(source, f"{name}.{key}", value, hints[key])
    return cls(**kwargs)


def _apply_env(raw: dict[str, Any], env: Mapping[str, str]) -> list[str]:
    """Fold HOTLINE_<SECTION>_<KEY> variables into `raw`; returns the keys taken from env."""
    taken: list[str] = []
    for section, cls in _TYPED_SECTIONS.items():
        for f in dataclasses.fields(cls):
            var = f"{ENV_PREFIX}{section.upper()}_{f.name.upper()}"
            if var in env:
                raw.setdefault(section, {})
                if not isinstance(raw[section], dict):
                    raise ConfigError("environment", section, "须为表 / section is not a table")
                raw[section][f.name] = env[var]
                taken.append(f"{section}.{f.name}")
    return taken


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the TOML file (default `config/hotline.toml`, or HOTLINE_CONFIG) and the environment."""
    env = os.environ if env is None else env
    if path is None:
        path = env.get(f"{ENV_PREFIX}CONFIG") or DEFAULT_CONFIG
    p = Path(path)
    source = str(p)
    try:
        raw: dict[str, Any] = tomllib.loads(utf8_text(p.read_bytes(), source))
    except FileNotFoundError:
        raise ConfigError(source, "-", "配置文件不存在 / file not found (--config FILE or HOTLINE_CONFIG)") from None
    except NotUtf8Error as e:
        raise ConfigError(source, "-", str(e).removeprefix(f"{source}: ")) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(source, "-", f"格式错误 / not valid TOML: {e}") from None
    # Secrets from the file are rejected before the environment may fill them in.
    for (section, key), var in SECRETS.items():
        sec = raw.get(section)
        if isinstance(sec, dict) and sec.get(key):
            raise ConfigError(source, f"{section}.{key}",
                              f"密码不能写在文件里 / secrets are not read from files; "
                              f"set the environment variable {var}")
    anchor_paths(raw, p.resolve().parent)  # before the environment: its paths are the shell's, from the cwd
    _apply_env(raw, env)
    return settings_from_dict(raw, source, env)


# Paths a config file may hold: relative ones are taken from the file's folder, so that hotline finds its
# data, roster and rules whatever the current directory (`data_dir` also when the file leaves it out).
PATH_KEYS: tuple[tuple[str, str], ...] = (
    ("hotline", "data_dir"), ("roster", "file"), ("monitor", "rules_dir"), ("ivr", "scripts_dir"),
    ("ivr", "sounds_dir"),
)


def anchor_paths(raw: dict[str, Any], folder: Path) -> None:
    """Make the relative paths of a parsed config file absolute, from `folder` (the file's folder)."""
    raw.setdefault("hotline", {})
    for section, key in PATH_KEYS:
        table = raw.get(section)
        if not isinstance(table, dict):
            continue
        value = table.get(key, HotlineSection.data_dir if (section, key) == ("hotline", "data_dir") else None)
        if isinstance(value, str) and value and not Path(value).is_absolute():
            table[key] = os.path.normpath(folder / value)
    database = raw.get("database")
    url = database.get("url") if isinstance(database, dict) else None
    if isinstance(database, dict) and isinstance(url, str) and url.startswith("sqlite:///"):
        file = url[len("sqlite:///"):]
        if file and not file.startswith((":memory:", "/")):
            database["url"] = f"sqlite:///{os.path.normpath(folder / file)}"


def settings_from_dict(raw: Mapping[str, Any], source: str = "<dict>",
                       env: Mapping[str, str] | None = None) -> Settings:
    """Validate an already parsed configuration mapping."""
    env = {} if env is None else env
    raw = dict(raw)
    sections: dict[str, Any] = {}
    for name, cls in _TYPED_SECTIONS.items():
        value = raw.pop(name, {})
        if not isinstance(value, dict):
            raise ConfigError(source, name, "须为表 / must be a table")
        value = dict(value)
        for (section, key), var in SECRETS.items():
            if section == name and var in env:
                value[key] = env[var]
        secret_keys = {k for (s, k) in SECRETS if s == name}
        plain = {k: v for k, v in value.items() if k not in secret_keys}
        built = _build(cls, name, plain, source)
        secrets = {k: str(value[k]) for k in secret_keys if k in value}
        sections[name] = dataclasses.replace(built, **secrets) if secrets else built
    queues = raw.pop("queues", {})
    if not isinstance(queues, dict) or not all(isinstance(v, str) for v in queues.values()):
        raise ConfigError(source, "queues", "须为 队列 = 专业 / must map queue names to specialty names (text)")
    specialties_raw = raw.pop("specialties", {})
    if not isinstance(specialties_raw, dict):
        raise ConfigError(source, "specialties", "须为表的表 / must be a table of tables")
    specialties: dict[str, SpecialtySection] = {}
    for key, value in specialties_raw.items():
        if not isinstance(value, dict):
            raise ConfigError(source, f"specialties.{key}",
                              "须为含 name_zh / name_en 的表 / must be a table with name_zh, name_en")
        specialties[key] = _build(SpecialtySection, f"specialties.{key}", value, source)
    for queue, specialty in queues.items():
        if specialties and specialty not in specialties:
            raise ConfigError(source, f"queues.{queue}",
                              f"专业未定义 / specialty {specialty!r} is not defined under [specialties]")
    settings = Settings(source=source, queues=dict(queues), specialties=specialties, extra=raw, **sections)
    try:
        ZoneInfo(settings.hotline.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(source, "hotline.timezone",
                          f"未知时区 / unknown timezone {settings.hotline.timezone!r} (e.g. Asia/Shanghai)") from None
    for enc_key in ("encoding", "fallback_encoding"):
        enc = getattr(settings.ami, enc_key)
        try:
            "".encode(enc)
        except LookupError:
            raise ConfigError(source, f"ami.{enc_key}",
                              f"未知编码 / unknown text encoding {enc!r} (utf-8, gbk, gb18030)") from None
    if not 0 < settings.reports.answer_rate_target <= 1:
        raise ConfigError(source, "reports.answer_rate_target",
                          "须为 (0, 1] 之间的小数 / must be a fraction in (0, 1], e.g. 0.75")
    for n in settings.hotline.numbers:
        if not n.strip().lstrip("+").isdigit():
            raise ConfigError(source, "hotline.numbers", f"不是电话号码 / {n!r} is not a phone number (digits only)")
    return settings
