"""Prompts as the caller hears them: language order, `{variables}` filled in, and sound file names.

Both renderers and `sounds.py` use these, so Twilio, the dialplan and the sound list always agree.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass

from hotline.ivr.context import IvrContext
from hotline.ivr.model import Prompt, Queue, Script, prompts_of


@dataclass(frozen=True)
class PromptPart:
    """One language of a prompt: the text to speak and the sound file that plays it."""

    language: str
    text: str
    sound: str  # sound name without extension (ivr_scripts/sounds/<sound>.wav)
    recorded: bool  # a recording exists (it takes precedence over TTS)


def sound_name(script: Script, node_id: str, role: str, language: str, prompt: Prompt) -> str:
    """The sound file name of a prompt: its `play` recording, else <script>-<node>[-role][-lang]."""
    if language in prompt.recordings:
        return prompt.recordings[language]
    name = f"{script.name}-{node_id}" + (f"-{role}" if role else "")
    return name if language == script.default_language else f"{name}-{language}"


def variables_of(text: str) -> list[str]:
    """Names of the `{variables}` in a prompt text."""
    try:
        return [field for _, field, _, _ in string.Formatter().parse(text) if field]
    except ValueError:
        return []


def fill(text: str, variables: Mapping[str, str]) -> str:
    """Replace `{name}` with its value; unknown names are left as they are (lint reports them)."""
    out = text
    for name in variables_of(text):
        if name in variables:
            out = out.replace("{" + name + "}", variables[name])
    return out


def all_variables(script: Script, ctx: IvrContext) -> dict[str, str]:
    """Config variables, overridden by the script's own `variables`."""
    return {**ctx.variables, **script.variables}


def parts(script: Script, ctx: IvrContext, node_id: str, role: str, prompt: Prompt) -> list[PromptPart]:
    """The languages of a prompt in play order (default language first), filled in."""
    variables = all_variables(script, ctx)
    out: list[PromptPart] = []
    for lang in script.languages:
        if lang not in prompt.texts and lang not in prompt.recordings:
            continue
        sound = sound_name(script, node_id, role, lang, prompt)
        out.append(PromptPart(lang, fill(prompt.texts.get(lang, ""), variables), sound, sound in ctx.recordings))
    return out


@dataclass(frozen=True)
class SoundNeed:
    """A sound file the Asterisk rendering plays, with the text to record or synthesize."""

    name: str
    language: str
    text: str
    node_id: str
    recorded: bool
    joins: tuple[str, ...] = ()  # a file made of these sounds in turn (`hotline ivr sounds`), not spoken itself


def wait_again_sound(script: Script, ctx: IvrContext, node: Queue) -> SoundNeed | None:
    """The queue's wait-again prompt as the ONE file its `periodic-announce` names: Asterisk plays one file of
    that list per period and rotates them, so `zh,en` would say Chinese one period and English the next. A
    prompt in several languages is their files joined in play order (`<first sound>-zh-en`); None without one."""
    if node.again_prompt is None:
        return None
    spoken = parts(script, ctx, node.id, "again", node.again_prompt)
    if not spoken:
        return None
    if len(spoken) == 1:
        only = spoken[0]
        return SoundNeed(only.sound, only.language, only.text, node.id, only.recorded)
    name = f"{spoken[0].sound}-" + "-".join(p.language for p in spoken)
    return SoundNeed(name, "+".join(p.language for p in spoken), " / ".join(p.text for p in spoken), node.id,
                     name in ctx.recordings, tuple(p.sound for p in spoken))


def needed_sounds(script: Script, ctx: IvrContext) -> list[SoundNeed]:
    """Every sound file of the script once, in node order; files joined from others after those."""
    seen: dict[str, SoundNeed] = {}
    joined: dict[str, SoundNeed] = {}
    for node in script.nodes.values():
        for role, prompt in prompts_of(node):
            for part in parts(script, ctx, node.id, role, prompt):
                seen.setdefault(part.sound, SoundNeed(part.sound, part.language, part.text, node.id, part.recorded))
        again = wait_again_sound(script, ctx, node) if isinstance(node, Queue) else None
        if again is not None and again.joins:
            joined.setdefault(again.name, again)
    return list(seen.values()) + [need for name, need in joined.items() if name not in seen]
