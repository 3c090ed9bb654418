"""Settings: the shipped file, environment overrides, secrets only from the environment, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parent.parent.parent
SHIPPED = ROOT / "config" / "hotline.toml"


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "hotline.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_shipped_config_describes_the_lab_pbx() -> None:
    s = load_settings(SHIPPED, env={})
    assert s.hotline.numbers == ["4008001234", "4008005678"]
    assert s.queues == {"network": "network", "servers": "servers", "apps": "applications"}
    assert s.staff.extensions == ["8001"]
    assert str(s.tz) == "Asia/Shanghai"
    assert s.ami.encoding == "utf-8"


def test_environment_overrides_the_file() -> None:
    s = load_settings(SHIPPED, env={"HOTLINE_AMI_HOST": "10.1.2.3", "HOTLINE_AMI_PORT": "15038",
                                    "HOTLINE_HOTLINE_NUMBERS": "4001,4002", "HOTLINE_AMI_SECRET": "s3cret"})
    assert (s.ami.host, s.ami.port, s.hotline.numbers) == ("10.1.2.3", 15038, ["4001", "4002"])
    assert s.ami.secret == "s3cret"
    assert "s3cret" not in repr(s) and "s3cret" not in str(s.ami)
    assert s.database_url.startswith("sqlite:///")


def test_secret_in_the_file_is_refused(tmp_path: Path) -> None:
    p = write(tmp_path, '[ami]\nsecret = "hunter2"\n')
    with pytest.raises(ConfigError) as e:
        load_settings(p, env={})
    msg = str(e.value)
    assert str(p) in msg and "ami.secret" in msg and "HOTLINE_AMI_SECRET" in msg
    assert "hunter2" not in msg


@pytest.mark.parametrize(("text", "key", "problem"), [
    ('[ami]\nport = "abc"\n', "ami.port", "whole number"),
    ('[ami]\nhots = "x"\n', "ami.hots", "unknown key"),
    ('[hotline]\ntimezone = "Mars/Base"\n', "hotline.timezone", "unknown timezone"),
    ('[ami]\nencoding = "klingon"\n', "ami.encoding", "unknown text encoding"),
    ('[hotline]\nnumbers = ["400-abc"]\n', "hotline.numbers", "not a phone number"),
    ('[queues]\nnetwork = "nets"\n[specialties.network]\nname_zh = "网络"\n', "queues.network", "not defined"),
    ('[reports]\nanswer_rate_target = 75\n', "reports.answer_rate_target", "fraction"),
    ("[ami\nport = 1\n", "-", "not valid TOML"),
])
def test_bad_config_names_file_key_and_problem(tmp_path: Path, text: str, key: str, problem: str) -> None:
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load_settings(p, env={})
    assert e.value.source == str(p)
    assert e.value.key == key
    assert problem in e.value.problem
    assert "\u4e00" <= e.value.problem[0] <= "\u9fff"  # Chinese first, then English


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "nope.toml", env={})


def test_gbk_encoding_is_accepted(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, '[ami]\nencoding = "gbk"\n'), env={})
    assert s.ami.encoding == "gbk"
