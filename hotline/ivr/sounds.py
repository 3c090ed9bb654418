"""Asterisk prompt files: recordings first, else synthesized offline (espeak-ng + sox), 8 kHz 16-bit mono.

Synthesized prompts are placeholders: the report lists every prompt that still needs a recording.
espeak-ng's `cmn-latn-pinyin` voice reads Chinese characters as Mandarin (plain `cmn` reads pinyin as English).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from hotline.ivr.prompts import SoundNeed
from hotline.ivr.wav import join_wavs, wav_problem

ESPEAK_VOICES = {"zh": "cmn-latn-pinyin", "en": "en-us"}


@dataclass(frozen=True)
class Tts:
    """The offline TTS tools: espeak-ng and sox executables."""

    espeak: str
    sox: str


def find_tts() -> Tts | None:
    """espeak-ng and sox from PATH, or None when either is missing."""
    espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
    return Tts(espeak, sox) if espeak and sox else None


@dataclass
class SoundsReport:
    recorded: list[SoundNeed] = field(default_factory=list)  # copied from the recordings
    synthesized: list[SoundNeed] = field(default_factory=list)  # placeholders from TTS
    missing: list[SoundNeed] = field(default_factory=list)  # no recording and no TTS: Asterisk would hang up
    problems: list[str] = field(default_factory=list)

    @property
    def to_record(self) -> list[SoundNeed]:
        """Prompts that still need a real recording."""
        return self.synthesized + self.missing


def synthesize(tts: Tts, text: str, language: str, out: Path) -> None:
    """Speak `text` into an 8 kHz 16-bit mono WAV file."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run([tts.espeak, "-v", ESPEAK_VOICES.get(language, language), "-w", str(raw), text],
                       check=True, capture_output=True, timeout=60)
        subprocess.run([tts.sox, str(raw), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", str(out)],
                       check=True, capture_output=True, timeout=60)


def _place(report: SoundsReport, need: SoundNeed, sounds_dir: Path, out_dir: Path,
           make: Callable[[Path], None] | None) -> None:
    """One prompt into `out_dir`: its recording from `sounds_dir` if there is one, else `make` (synthesis);
    the report says which, or that it is missing."""
    target = out_dir / f"{need.name}.wav"
    recording = sounds_dir / f"{need.name}.wav"
    if recording.is_file():
        problem = wav_problem(recording)
        if problem:
            report.problems.append(problem)
        if recording.resolve() != target.resolve():
            shutil.copyfile(recording, target)
        report.recorded.append(need)
        return
    if make is None:
        report.missing.append(need)
        return
    try:
        make(target)
    except (subprocess.SubprocessError, OSError) as e:
        report.problems.append(f"{need.name}: 语音合成失败 / TTS failed: {e}")
        report.missing.append(need)
        return
    report.synthesized.append(need)


def build_sounds(needs: list[SoundNeed], sounds_dir: Path, out_dir: Path, tts: Tts | None) -> SoundsReport:
    """Put every needed prompt into `out_dir`: recordings from `sounds_dir`, the rest synthesized."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report = SoundsReport()
    for need in needs:
        if not need.joins:
            make = None if tts is None else partial(synthesize, tts, need.text, need.language)
            _place(report, need, sounds_dir, out_dir, make)
    for need in needs:
        if need.joins:
            _join(report, need, sounds_dir, out_dir)
    return report


def _join(report: SoundsReport, need: SoundNeed, sounds_dir: Path, out_dir: Path) -> None:
    """A joined prompt: its own recording if there is one, else its parts (already in `out_dir`) in turn."""
    if (sounds_dir / f"{need.name}.wav").is_file():
        _place(report, need, sounds_dir, out_dir, None)
        return
    pieces = [out_dir / f"{name}.wav" for name in need.joins]
    if not all(p.is_file() for p in pieces):
        return  # its parts are reported missing (to record) themselves
    try:
        join_wavs(pieces, out_dir / f"{need.name}.wav")
    except (ValueError, wave.Error, EOFError, OSError) as e:
        report.problems.append(f"{need.name}: 拼接失败 / joining {', '.join(need.joins)} failed: {e}")
        report.missing.append(need)


def synthesize_bilingual(tts: Tts, texts: list[tuple[str, str]], out: Path) -> None:
    """Speak each (language, text) in turn into one 8 kHz 16-bit mono WAV file."""
    with tempfile.TemporaryDirectory() as tmp:
        pieces = []
        for i, (language, text) in enumerate(texts):
            piece = Path(tmp) / f"{i}.wav"
            synthesize(tts, text, language, piece)
            pieces.append(str(piece))
        subprocess.run([tts.sox, *pieces, str(out)], check=True, capture_output=True, timeout=60)


def build_page_prompts(prompts: Mapping[str, str], sounds_dir: Path, out_dir: Path, tts: Tts | None) -> SoundsReport:
    """The voice page prompts of the ack dialplan (`<prefix>/page-alert`, ...: "中文 / English" texts), one file
    each with Chinese first: a recording `sounds_dir/<name>.wav` if there is one, else synthesized."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report = SoundsReport()
    for sound, text in prompts.items():
        name = sound.rsplit("/", 1)[-1]
        zh, _, en = (part.strip() for part in text.partition(" / "))
        need = SoundNeed(name, "zh+en", text, "page-ack", (sounds_dir / f"{name}.wav").is_file())
        spoken = [("zh", zh), ("en", en)] if en else [("zh", zh)]
        make = None if tts is None else partial(synthesize_bilingual, tts, spoken)
        _place(report, need, sounds_dir, out_dir, make)
    return report
