"""Checks that a recorded prompt is a WAV file Asterisk plays as-is: 8 kHz, 16-bit, mono PCM; joining prompts."""

from __future__ import annotations

import wave
from collections.abc import Sequence
from pathlib import Path

RATE = 8000
SAMPLE_WIDTH = 2
CHANNELS = 1


def wav_problem(path: Path) -> str | None:
    """What is wrong with a prompt file for Asterisk, or None when it is fine."""
    if not path.is_file():
        return f"录音文件不存在 / recorded prompt {path} is missing"
    try:
        with wave.open(str(path), "rb") as w:
            rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
    except (wave.Error, EOFError, OSError) as e:
        return f"不是 PCM WAV 文件 / {path} is not a PCM WAV file ({e})"
    if (rate, width, channels) != (RATE, SAMPLE_WIDTH, CHANNELS):
        return (f"录音格式应为 8 kHz 16 位单声道 / {path} is {rate} Hz, {width * 8}-bit, {channels} channel(s); "
                f"convert it: sox IN.wav -r 8000 -c 1 -b 16 {path.name}")
    return None


def write_silence(path: Path, seconds: float = 0.5, rate: int = RATE, width: int = SAMPLE_WIDTH,
                  channels: int = CHANNELS) -> None:
    """Write a silent WAV file (for tests and placeholders)."""
    frames = int(seconds * rate)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(b"\x00" * frames * width * channels)


def join_wavs(pieces: Sequence[Path], out: Path) -> None:
    """Write the audio of `pieces` one after the other into `out` (the stdlib's wave: no sox needed when every
    piece is a recording). Every piece must be 8 kHz 16-bit mono PCM; ValueError names the first that is not."""
    frames: list[bytes] = []
    for piece in pieces:
        problem = wav_problem(piece)
        if problem:
            raise ValueError(problem)
        with wave.open(str(piece), "rb") as w:
            frames.append(w.readframes(w.getnframes()))
    tmp = out.with_name(out.name + ".part")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(CHANNELS)
        w.setsampwidth(SAMPLE_WIDTH)
        w.setframerate(RATE)
        w.writeframes(b"".join(frames))
    tmp.replace(out)
