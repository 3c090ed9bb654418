"""Lint: every error class on a small broken script, reported at the right line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hotline.ivr.context import IvrContext, build_context
from hotline.ivr.lint import check_file, lint, load_checked
from hotline.ivr.loader import load_script, parse_script
from hotline.ivr.model import ScriptError
from hotline.ivr.wav import write_silence

ROOT = Path(__file__).resolve().parents[2]
BROKEN = ROOT / "tests" / "fixtures" / "ivr" / "broken"
EXPECT = re.compile(r"#\s*expect:\s*([a-z-]+)")


def make_context(sounds_dir: Path = BROKEN / "sounds", *, voice: str = "Polly.Zhiyu", language: str = "cmn-CN",
                 ivr: dict[str, object] | None = None) -> IvrContext:
    return build_context(
        company_name="华信科技", company_name_en="Huaxin Technology",
        queues={"network": "network", "servers": "servers", "apps": "applications"},
        specialties={"network": ("网络", "Network"), "servers": ("服务器", "Servers"),
                     "applications": ("应用系统", "Applications"), "complaint": ("投诉", "Complaints")},
        twilio_voice=voice, twilio_language=language, timezone="Asia/Shanghai",
        ivr={"sounds_dir": str(sounds_dir), **(ivr or {})},
    )


def expected(path: Path) -> set[tuple[int, str]]:
    """(line, code) of the `# expect: code` markers in a fixture."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return {(n, m.group(1)) for n, line in enumerate(lines, 1) if (m := EXPECT.search(line))}


@pytest.mark.parametrize("path", sorted(BROKEN.glob("*.yaml")), ids=lambda p: p.stem)
def test_broken_script_reports_its_error_at_the_marked_line(path: Path) -> None:
    issues = check_file(path, make_context())
    want = expected(path)
    assert want, f"{path.name} has no # expect: marker"
    assert {(i.line, i.code) for i in issues} == want
    assert all(i.file == str(path) for i in issues)
    with pytest.raises(ScriptError):
        load_checked(path, make_context())


def test_every_error_class_of_the_issue_has_a_broken_fixture() -> None:
    codes = {code for p in BROKEN.glob("*.yaml") for _, code in expected(p)}
    assert codes >= {"unknown-target", "unreachable", "duplicate-digit", "menu-fallback", "endless-loop",
                     "unknown-specialty", "unknown-tier", "missing-language", "twilio-voice", "recording",
                     "queue-wait"}


def test_issue_names_file_line_and_node() -> None:
    issue = check_file(BROKEN / "unknown_tier.yaml", make_context())[0]
    assert issue.node_id == "duty"
    text = str(issue)
    assert text.startswith(f"{BROKEN / 'unknown_tier.yaml'}:5: [duty] error unknown-tier:")
    assert "third_line" in text and "first_line" in text


@pytest.mark.parametrize("name", ["default.yaml", "survey.yaml"])
def test_shipped_scripts_are_clean(name: str) -> None:
    assert check_file(ROOT / "ivr_scripts" / name, make_context(ROOT / "ivr_scripts" / "sounds")) == []


SMALL = """\
start: hello
nodes:
  hello:
    type: say
    prompt:
      zh: 您好,{company_name}
      en: Hello, {company_name_en}
    next: bye
  bye:
    type: hangup
"""


def small(tmp_path: Path, text: str = SMALL) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("voice", "language", "lang", "fragment"), [
    ("Polly.Joanna", "en-US", "zh", "speaks en-US"),
    ("Polly.Nobody", "cmn-CN", "zh", "unknown Twilio voice"),
    ("Polly.Zhiyu", "en-US", "zh", "does not match"),
    ("man", "", "zh", "speaks en-US"),
])
def test_configured_voice_must_speak_the_prompt_language(tmp_path: Path, voice: str, language: str, lang: str,
                                                         fragment: str) -> None:
    issues = check_file(small(tmp_path), make_context(tmp_path, voice=voice, language=language))
    assert [(i.line, i.code) for i in issues] == [(5, "twilio-voice")]
    assert fragment in issues[0].message


@pytest.mark.parametrize("voice", ["Polly.Zhiyu", "Polly.Zhiyu-Neural", "Google.cmn-CN-Standard-A",
                                   "Google.cmn-CN-Wavenet-C"])
def test_mandarin_voices_pass(tmp_path: Path, voice: str) -> None:
    assert check_file(small(tmp_path), make_context(tmp_path, voice=voice, language="cmn-CN")) == []


def test_english_voice_is_checked_too(tmp_path: Path) -> None:
    issues = check_file(small(tmp_path), make_context(tmp_path, ivr={"voice_en": "Polly.Zhiyu",
                                                                     "language_en": "cmn-CN"}))
    assert [i.code for i in issues] == ["twilio-voice"]
    assert "en" in issues[0].message


@pytest.mark.parametrize(("rate", "width", "channels", "ok"), [
    (8000, 2, 1, True), (16000, 2, 1, False), (8000, 1, 1, False), (8000, 2, 2, False),
])
def test_recording_must_be_8khz_16bit_mono(tmp_path: Path, rate: int, width: int, channels: int, ok: bool) -> None:
    write_silence(tmp_path / "default-hello.wav", rate=rate, width=width, channels=channels)
    text = SMALL.replace("start: hello", "name: default\nstart: hello")
    issues = check_file(small(tmp_path, text), make_context(tmp_path))
    if ok:
        assert issues == []
    else:
        assert [(i.line, i.code) for i in issues] == [(6, "recording")]
        assert "8 kHz" in issues[0].message


def test_recording_that_is_not_wav(tmp_path: Path) -> None:
    (tmp_path / "hello-rec.wav").write_bytes(b"ID3 not a wav")
    text = SMALL.replace("      en: Hello, {company_name_en}\n", "      play: hello-rec\n")
    issues = check_file(small(tmp_path, text), make_context(tmp_path))
    assert [(i.line, i.code) for i in issues] == [(5, "recording")]


def test_unknown_variable_in_prompt(tmp_path: Path) -> None:
    issues = check_file(small(tmp_path, SMALL.replace("{company_name}", "{company}")), make_context(tmp_path))
    assert [(i.line, i.code) for i in issues] == [(5, "unknown-variable")]


def test_specialty_without_a_queue(tmp_path: Path) -> None:
    text = SMALL.replace("    next: bye\n", "    next: q\n  q:\n    type: queue\n    specialty: network\n"
                         "    max_wait: 60\n    next: bye\n")
    ctx = make_context(tmp_path)
    ctx = IvrContext(**{**ctx.__dict__, "specialty_queues": {}})
    issues = check_file(small(tmp_path, text), ctx)
    assert [(i.line, i.code) for i in issues] == [(11, "unknown-queue")]


def test_wait_limit_from_config_overrides_the_script(tmp_path: Path) -> None:
    text = SMALL.replace("    next: bye\n", "    next: q\n  q:\n    type: queue\n    specialty: network\n"
                         "    max_wait: 600\n    next: bye\n")
    assert check_file(small(tmp_path, text), make_context(tmp_path)) == []
    issues = check_file(small(tmp_path, text), make_context(tmp_path, ivr={"wait_limit": 300}))
    assert [(i.line, i.code) for i in issues] == [(9, "queue-wait")]


def test_window_needs_every_kind_or_a_default(tmp_path: Path) -> None:
    text = SMALL.replace("start: hello", "start: when").replace(
        "nodes:\n", "nodes:\n  when:\n    type: window\n    onsite: hello\n    holiday: bye\n")
    issues = check_file(small(tmp_path, text), make_context(tmp_path))
    assert [(i.line, i.code) for i in issues] == [(3, "window-branch")]
    fixed = text.replace("    holiday: bye\n", "    holiday: bye\n    default: hello\n")
    assert check_file(small(tmp_path, fixed), make_context(tmp_path)) == []


def test_lint_of_loaded_script_equals_check_file(tmp_path: Path) -> None:
    path = BROKEN / "queue_wait.yaml"
    script, structural = parse_script(path.read_text(encoding="utf-8"), path)
    assert script is not None and structural == []
    assert lint(script, make_context()) == check_file(path, make_context())
    assert load_script(path).start == "menu"
