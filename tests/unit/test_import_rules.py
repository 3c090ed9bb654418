"""The dependency rule of the architecture, as import-linter contracts (pyproject.toml
`[tool.importlinter]`): the tree as it is keeps them, and a forbidden import planted in a copy breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports;"
                           " sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True))"],
                          cwd=tree, env=env, capture_output=True, text=True, timeout=120)


def _copy(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "hotline", tree / "hotline", ignore=shutil.ignore_patterns("__pycache__", "static"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_tree_keeps_every_contract() -> None:
    run = _lint(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "broken" not in run.stdout.lower().replace("0 broken", "")


@pytest.mark.parametrize(("module", "planted", "contract"), [
    ("domain/calls.py", "import hotline.store.base", "domain imports nothing of ours"),
    ("domain/calls.py", "import hotline.clock", "domain imports nothing of ours"),
    ("providers/asterisk/tracker.py", "import hotline.services.calls.ledger", "layers"),
    ("store/calls.py", "import hotline.services.monitor.engine", "layers"),
    ("paging/webhook.py", "import hotline.providers.twilio.signature", "layers"),
    ("services/calls/ledger.py", "import hotline.runtime.listener", "layers"),
    ("services/calls/ledger.py", "import hotline.providers.asterisk.sim.server", "simulated PBX"),
])
def test_a_forbidden_import_breaks_its_contract(tmp_path: Path, module: str, planted: str, contract: str) -> None:
    tree = _copy(tmp_path)
    target = tree / "hotline" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{planted}  # planted by the test\n", encoding="utf-8")
    run = _lint(tree)
    assert run.returncode != 0, run.stdout
    broken = run.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, run.stdout
