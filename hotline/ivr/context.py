"""What lint and the renderers need from configuration, as plain values (ivr never reads config itself).

Entry points build an `IvrContext` with `build_context(...)` from their Settings and pass it down.
Keys of the raw `[ivr]` section, all optional, are listed in `IVR_KEYS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_TIERS = ("first_line", "second_line", "manager")
IVR_KEYS = {
    "pbx_dial_template": "AstDB on-duty dial string template(s), e.g. PJSIP/{extension} (default); see pbx_sync",
    "sync_days_ahead": "calendar days after today written to AstDB hotline/calendar (default 14)",
    "scripts_dir": "directory of the scripts (default ivr_scripts)",
    "sounds_dir": "recorded prompts (default <scripts_dir>/sounds)",
    "sound_prefix": "Asterisk sound directory of the prompts (default hotline)",
    "context_prefix": "dialplan context prefix (default hotline)",
    "twilio_path": "URL path of the Twilio IVR webhook (default /twilio/ivr)",
    "sounds_url": "public base URL of the recorded prompts, for Twilio <Play> (default: use <Say>)",
    "voice_en": "Twilio voice for English prompts (default Polly.Joanna)",
    "language_en": "Twilio language for English prompts (default en-US)",
    "onsite_hours": "Asterisk on-site hours, GotoIfTime syntax (default 09:00-17:00)",
    "onsite_days": "Asterisk on-site days, GotoIfTime syntax (default mon-sat)",
    "wait_limit": "longest queue wait without escalation, seconds (default 900)",
    "tiers": "tiers a dial node may name (default: [roster] tiers or first_line, second_line, manager)",
}


@dataclass(frozen=True)
class IvrContext:
    """Configuration values that scripts are checked and rendered against."""

    variables: Mapping[str, str] = field(default_factory=dict)  # company_name, company_name_en, ...
    specialty_queues: Mapping[str, str] = field(default_factory=dict)  # specialty -> queue
    specialty_names: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # specialty -> (zh, en)
    tiers: tuple[str, ...] = DEFAULT_TIERS
    voices: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # language -> (voice, language code)
    sounds_dir: Path = Path("ivr_scripts/sounds")
    recordings: frozenset[str] = frozenset()  # sound names with a recording in sounds_dir
    sound_prefix: str = "hotline"
    context_prefix: str = "hotline"
    twilio_path: str = "/twilio/ivr"
    sounds_url: str = ""
    timezone: str = "Asia/Shanghai"
    onsite_hours: str = "09:00-17:00"
    onsite_days: str = "mon-sat"
    wait_limit: int | None = None  # overrides the script's wait_limit when set
    config_source: str = "<config>"

    def voice_for(self, language: str, script_voices: Mapping[str, str]) -> tuple[str, str]:
        """The Twilio (voice, language code) for prompts in `language`."""
        voice, code = self.voices.get(language, ("", ""))
        return script_voices.get(language, voice), code


def recorded_sounds(sounds_dir: Path) -> frozenset[str]:
    """Names (without .wav) of the recorded prompts in a directory."""
    if not sounds_dir.is_dir():
        return frozenset()
    return frozenset(p.stem for p in sounds_dir.glob("*.wav"))


def build_context(
    *,
    company_name: str,
    company_name_en: str,
    queues: Mapping[str, str],
    specialties: Mapping[str, tuple[str, str]],
    twilio_voice: str,
    twilio_language: str,
    timezone: str,
    ivr: Mapping[str, Any],
    roster: Mapping[str, Any] | None = None,
    base_dir: Path = Path("."),
    config_source: str = "<config>",
) -> IvrContext:
    """An IvrContext from configuration values; `ivr` is the raw [ivr] section (keys in IVR_KEYS)."""
    unknown = sorted(set(ivr) - set(IVR_KEYS))
    if unknown:
        raise ValueError(f"[ivr] unknown keys {unknown} (known: {', '.join(sorted(IVR_KEYS))})")
    scripts_dir = base_dir / str(ivr.get("scripts_dir", "ivr_scripts"))
    sounds_dir = base_dir / str(ivr.get("sounds_dir", scripts_dir / "sounds"))
    specialty_queues: dict[str, str] = {}
    for queue, specialty in queues.items():
        specialty_queues.setdefault(specialty, queue)
    tiers = ivr.get("tiers") or (roster or {}).get("tiers") or DEFAULT_TIERS
    if isinstance(tiers, Mapping):
        tiers = list(tiers)
    wait_limit = ivr.get("wait_limit")
    return IvrContext(
        variables={"company_name": company_name, "company_name_en": company_name_en},
        specialty_queues=specialty_queues,
        specialty_names=dict(specialties),
        tiers=tuple(str(t) for t in tiers),
        voices={
            "zh": (twilio_voice, twilio_language),
            "en": (str(ivr.get("voice_en", "Polly.Joanna")), str(ivr.get("language_en", "en-US"))),
        },
        sounds_dir=sounds_dir,
        recordings=recorded_sounds(sounds_dir),
        sound_prefix=str(ivr.get("sound_prefix", "hotline")),
        context_prefix=str(ivr.get("context_prefix", "hotline")),
        twilio_path=str(ivr.get("twilio_path", "/twilio/ivr")),
        sounds_url=str(ivr.get("sounds_url", "")).rstrip("/"),
        timezone=timezone,
        onsite_hours=str(ivr.get("onsite_hours", "09:00-17:00")),
        onsite_days=str(ivr.get("onsite_days", "mon-sat")),
        wait_limit=int(wait_limit) if wait_limit is not None else None,
        config_source=config_source,
    )
