"""`hotline ivr lint|render|sounds` end to end, with a real config file; TTS only when espeak-ng is installed."""

from __future__ import annotations

import json
import os
import shutil
import wave
from pathlib import Path

import pytest

from hotline.cli import main
from hotline.ivr.wav import wav_problem, write_silence

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "ivr_scripts" / "default.yaml"
BROKEN = ROOT / "tests" / "fixtures" / "ivr" / "broken"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The repository's config with the IVR's files pointed into tmp_path."""
    text = (ROOT / "config" / "hotline.toml").read_text(encoding="utf-8")
    line = f'sounds_dir = "{tmp_path / "recorded"}"\n'
    text = text.replace("\n[ivr]\n", f"\n[ivr]\n{line}") if "\n[ivr]\n" in text else f"{text}\n[ivr]\n{line}"
    path = tmp_path / "hotline.toml"
    path.write_text(text, encoding="utf-8")
    (tmp_path / "recorded").mkdir()
    return path


def test_lint_ok_and_broken(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ivr", "lint", str(DEFAULT), str(ROOT / "ivr_scripts" / "survey.yaml"), "--config", str(config)]) == 0
    assert "通过 / ok" in capsys.readouterr().out
    assert main(["ivr", "lint", str(BROKEN / "unknown_tier.yaml"), "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert f"{BROKEN / 'unknown_tier.yaml'}:5: [duty] error unknown-tier" in err


def test_wrong_voice_in_config_fails_lint(tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config.write_text(config.read_text(encoding="utf-8").replace('voice = "Polly.Zhiyu"', 'voice = "Polly.Joanna"'),
                      encoding="utf-8")
    assert main(["ivr", "lint", str(DEFAULT), "--config", str(config)]) == 1
    assert "twilio-voice" in capsys.readouterr().err


def test_render_refuses_a_script_that_fails_lint(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ivr", "render", str(BROKEN / "queue_wait.yaml"), "--target", "asterisk",
                 "--config", str(config)]) == 1
    captured = capsys.readouterr()
    assert "queue-wait" in captured.err and "[hotline-" not in captured.out


def test_render_asterisk_to_files(tmp_path: Path, config: Path) -> None:
    out = tmp_path / "out"
    assert main(["ivr", "render", str(DEFAULT), "--target", "asterisk", "--out", str(out),
                 "--config", str(config)]) == 0
    conf = (out / "extensions_hotline_default.conf").read_text(encoding="utf-8")
    assert "exten => 2,1,Set(HOTLINE_SPECIALTY=servers)" in conf
    assert "periodic-announce-frequency=60" in (out / "queues_hotline_default.conf").read_text(encoding="utf-8")
    sounds = (out / "default.sounds.txt").read_text(encoding="utf-8")
    assert "hotline/default-greeting\tto record\t您好,华信科技,请问有什么可以帮助您?" in sounds


def test_render_twiml(tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ivr", "render", str(DEFAULT), "--target", "twiml", "--window", "holiday",
                 "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "<!-- entry -->" in out and "现在是节假日" in out
    assert main(["ivr", "render", str(DEFAULT), "--target", "twiml", "--out", str(tmp_path),
                 "--config", str(config)]) == 0
    nodes = json.loads((tmp_path / "default.twiml.json").read_text(encoding="utf-8"))
    assert "{on-duty second_line}</Dial>" in nodes["second_line_duty"]


def test_sounds_without_tts_copies_recordings_and_lists_the_rest(
        tmp_path: Path, config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("hotline.ivr.sounds.find_tts", lambda: None)
    write_silence(tmp_path / "recorded" / "survey-intro.wav")
    out = tmp_path / "sounds"
    code = main(["ivr", "sounds", str(ROOT / "ivr_scripts" / "survey.yaml"), "--out", str(out),
                 "--config", str(config)])
    assert code == 1  # prompts without recording and no TTS: Asterisk would end those calls
    captured = capsys.readouterr()
    assert "recorded 1, synthesized 0, missing 17" in captured.out
    assert "待录音 / to record" in captured.out and "survey-intro.wav" not in captured.out.split("to record")[1]
    assert sorted(p.name for p in out.iterdir()) == ["survey-intro.wav"]


def test_sounds_with_tts_makes_8khz_mono_prompts(tmp_path: Path, config: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        # Optional on a laptop; .ci/run installs both and sets HOTLINE_REQUIRE_TTS=1.
        if os.environ.get("HOTLINE_REQUIRE_TTS") == "1":
            pytest.fail("espeak-ng and sox are required here (HOTLINE_REQUIRE_TTS=1)")
        pytest.skip("espeak-ng and sox are optional")
    write_silence(tmp_path / "recorded" / "survey-intro.wav")
    out = tmp_path / "sounds"
    assert main(["ivr", "sounds", str(ROOT / "ivr_scripts" / "survey.yaml"), "--out", str(out),
                 "--config", str(config)]) == 0
    printed = capsys.readouterr().out
    assert "recorded 1, synthesized 17, missing 0" in printed
    # the voice page ack dialplan's prompts too (hotline ivr page-ack plays them)
    assert "voice page ack: 录音 0,合成 3,缺少 0 / recorded 0, synthesized 3, missing 0" in printed
    files = sorted(out.glob("*.wav"))
    assert len(files) == 21
    assert {"page-alert.wav", "page-acked.wav", "page-not-acked.wav"} <= {f.name for f in files}
    assert all(wav_problem(f) is None for f in files)
    # The recording took precedence over TTS: it is the silent file, byte for byte.
    assert (out / "survey-intro.wav").read_bytes() == (tmp_path / "recorded" / "survey-intro.wav").read_bytes()


def _tone(path: Path, seconds: float, level: int) -> bytes:
    """A recorded prompt stand-in whose samples say which one it is (8 kHz 16-bit mono)."""
    frames = level.to_bytes(2, "little", signed=True) * int(seconds * 8000)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(frames)
    return frames


def test_a_queues_wait_again_prompt_is_one_file_that_says_both_languages(
        tmp_path: Path, config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Asterisk plays one file of a `periodic-announce` list per period and rotates the list, so `zh,en` said
    Chinese to a waiting caller one minute and English the next. The rendering names one file, which `hotline
    ivr sounds` joins from the prompt's languages, Chinese first (from recordings: no sox needed)."""
    monkeypatch.setattr("hotline.ivr.sounds.find_tts", lambda: None)
    zh = _tone(tmp_path / "recorded" / "default-network_queue-again.wav", 1.5, 1200)
    en = _tone(tmp_path / "recorded" / "default-network_queue-again-en.wav", 1.0, -900)
    _tone(tmp_path / "recorded" / "default-servers_queue-again.wav", 1.0, 700)  # its English is not recorded
    out = tmp_path / "sounds"
    assert main(["ivr", "sounds", str(DEFAULT), "--out", str(out), "--config", str(config)]) == 1  # others missing
    printed = capsys.readouterr().out
    with wave.open(str(out / "default-network_queue-again-zh-en.wav")) as w:
        assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (8000, 2, 1)
        assert w.readframes(w.getnframes()) == zh + en  # the Chinese, then the English, nothing else
    assert not (out / "default-servers_queue-again-zh-en.wav").exists()  # half recorded: not joined ...
    assert "to record: " + str(tmp_path / "recorded" / "default-servers_queue-again-en.wav") in printed  # ... asked for
    assert "queue-again-zh-en" not in printed  # a joined file is never to be recorded by itself

    assert main(["ivr", "render", str(DEFAULT), "--target", "asterisk", "--out", str(tmp_path / "conf"),
                 "--config", str(config)]) == 0
    queues = (tmp_path / "conf" / "queues_hotline_default.conf").read_text(encoding="utf-8")
    assert "periodic-announce=hotline/default-network_queue-again-zh-en\n" in queues
    assert "queue-again," not in queues  # no list to rotate
    sounds = (tmp_path / "conf" / "default.sounds.txt").read_text(encoding="utf-8")
    assert ("hotline/default-network_queue-again-zh-en\tjoined by `hotline ivr sounds` from "
            "default-network_queue-again + default-network_queue-again-en\t对不起") in sounds
