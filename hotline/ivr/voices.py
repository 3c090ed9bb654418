"""Which language a Twilio <Say> voice speaks: the twilio library accepts any voice name, so we check.

Mandarin prompts need a Mandarin voice (Polly.Zhiyu, a Google cmn-CN voice); a voice that does not
speak the prompt's language reads Chinese characters as nothing or as gibberish.
"""

from __future__ import annotations

import re

# Amazon Polly voices offered by Twilio, by the language code Twilio's `language` attribute takes.
_POLLY: dict[str, tuple[str, ...]] = {
    "cmn-CN": ("Zhiyu",),
    "yue-CN": ("Hiujin",),
    "en-US": ("Joanna", "Matthew", "Ivy", "Justin", "Kendra", "Kimberly", "Salli", "Joey", "Ruth",
              "Stephen", "Danielle", "Gregory", "Kevin"),
    "en-GB": ("Amy", "Brian", "Emma", "Arthur"),
    "en-AU": ("Nicole", "Russell", "Olivia"),
    "en-IN": ("Aditi", "Raveena", "Kajal"),
    "ja-JP": ("Mizuki", "Takumi", "Kazuha", "Tomoko"),
    "ko-KR": ("Seoyeon",),
}
POLLY_VOICES: dict[str, str] = {name: code for code, names in _POLLY.items() for name in names}
_POLLY_NAME = re.compile(r"^Polly\.([A-Za-z]+)(?:-(?:Neural|Generative|Standard))?$")
_GOOGLE_NAME = re.compile(r"^Google\.([a-z]{2,3}-[A-Z]{2})-(?:Standard|Wavenet|Neural2|Chirp3-HD-\w+|Chirp-HD-\w+)"
                          r"(?:-[A-Z])?$")
# Prompt languages of scripts -> language codes of voices that speak them.
SPEAKS: dict[str, tuple[str, ...]] = {"zh": ("cmn-CN",), "en": ("en-US", "en-GB", "en-AU", "en-IN")}
MANDARIN_EXAMPLES = "Polly.Zhiyu, Polly.Zhiyu-Neural, Google.cmn-CN-Standard-A, Google.cmn-CN-Wavenet-B"


def voice_language(voice: str) -> str | None:
    """The language code a Twilio voice speaks, or None when the voice is not known."""
    if m := _POLLY_NAME.match(voice):
        return POLLY_VOICES.get(m.group(1))
    if m := _GOOGLE_NAME.match(voice):
        return m.group(1)
    if voice in ("man", "woman"):
        return "en-US"
    return None


def voice_problem(voice: str, language_code: str, prompt_language: str) -> str | None:
    """Why `voice` with `language_code` cannot speak prompts in `prompt_language`, or None."""
    wanted = SPEAKS.get(prompt_language, ())
    spoken = voice_language(voice)
    hint = f" (e.g. {MANDARIN_EXAMPLES})" if prompt_language == "zh" else " (e.g. Polly.Joanna, en-US)"
    if spoken is None:
        return f"未知的 Twilio 语音 {voice!r} / unknown Twilio voice {voice!r}{hint}"
    if spoken not in wanted:
        return (f"语音 {voice} 说 {spoken},不会说 {prompt_language} 提示 / voice {voice} speaks {spoken}, "
                f"not the {prompt_language} prompts{hint}")
    if language_code and language_code != spoken:
        return (f"language {language_code!r} 与语音 {voice} ({spoken}) 不符 / language {language_code!r} does "
                f"not match voice {voice} ({spoken}); set it to {spoken}")
    return None
