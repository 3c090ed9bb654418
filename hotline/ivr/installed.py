"""An installed IVR script (`[ivr] scripts_dir`, default `ivr_scripts/`) loaded and linted with the context of
the running configuration, for the parts that serve or quote it (Twilio webhooks, the survey's prompts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hotline.ivr.context import IvrContext, build_context
from hotline.ivr.lint import load_checked
from hotline.ivr.model import Script


def installed_script(settings: Any, script_name: str) -> tuple[Script, IvrContext, Path]:
    """The script `<scripts_dir>/<name>.yaml`, its context and its path; raises when it cannot be served."""
    ivr_section = settings.section("ivr")
    relative = Path(str(ivr_section.get("scripts_dir", "ivr_scripts"))) / f"{script_name}.yaml"
    base = Path(".")
    if not relative.is_file() and settings.source.endswith(".toml"):
        base = Path(settings.source).resolve().parent.parent  # config/hotline.toml -> the install folder
    ctx = build_context(
        company_name=settings.hotline.company_name, company_name_en=settings.hotline.company_name_en,
        queues=settings.queues,
        specialties={k: (v.name_zh, v.name_en) for k, v in settings.specialties.items()},
        twilio_voice=settings.twilio.voice, twilio_language=settings.twilio.language,
        timezone=settings.hotline.timezone,
        ivr=ivr_section, roster=settings.section("roster"), base_dir=base, config_source=settings.source)
    path = base / relative
    return load_checked(path, ctx), ctx, path
