"""Files the desk edits by hand, saved as GBK by a Chinese Windows editor: the config, a monitor rule file, the
roster's desk file and an IVR script each say which file and line is not UTF-8 and what to do, never a codec
error (and never a traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.config import ConfigError, load_settings
from hotline.ivr.loader import load_script
from hotline.ivr.model import ScriptError
from hotline.roster_files.problems import RosterFileError
from hotline.services.monitor.rule_files import read_document
from hotline.services.roster.files import _read_yaml

SAVE_AS = "请将文件另存为 UTF-8 / line 2 is not UTF-8 text"


def gbk(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("gbk"))
    return path


def test_a_gbk_config_names_its_line(tmp_path: Path) -> None:
    path = gbk(tmp_path, "hotline.toml", '[hotline]\ncompany_name = "华信科技"\n')
    with pytest.raises(ConfigError) as e:
        load_settings(path, env={})
    assert str(path) in str(e.value) and "第 2 行" in str(e.value) and SAVE_AS in str(e.value)


def test_a_gbk_rule_file_is_a_problem_on_its_line(tmp_path: Path) -> None:
    path = gbk(tmp_path, "no_answer.yaml", "name: no_answer\ndescription: 未接来电\n")
    document, problems = read_document(path)
    assert document is None and [(p.line, SAVE_AS in p.problem) for p in problems] == [(2, True)]


def test_a_gbk_roster_file_names_its_line(tmp_path: Path) -> None:
    path = gbk(tmp_path, "roster.yaml", "people:\n  - name: 张伟\n")
    with pytest.raises(RosterFileError) as e:
        _read_yaml(path)
    assert str(path) in str(e.value) and "第 2 行" in str(e.value) and SAVE_AS in str(e.value)


def test_a_gbk_ivr_script_names_its_line(tmp_path: Path) -> None:
    path = gbk(tmp_path, "default.yaml", "start: welcome\n# 欢迎\n")
    with pytest.raises(ScriptError) as e:
        load_script(path)
    assert str(path) in str(e.value) and SAVE_AS in str(e.value)
