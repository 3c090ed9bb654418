"""The real Asterisk 22 of `../shared/asterisk` for the integration suite: ONE PBX per test session, on a
free AMI port, in a run folder under pytest's temporary folder, stopped at the end.

Without `../shared/asterisk` (relative to the repository root) the tests that use it skip; with
HOTLINE_REQUIRE_ASTERISK=1 (CI) any start failure fails them instead. Tests leave the PBX as they
found it (their drop-in files and AstDB keys are removed again), so the order of tests does not matter.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ASTERISK = ROOT.parent / "shared" / "asterisk"
REQUIRED = os.environ.get("HOTLINE_REQUIRE_ASTERISK", "") == "1"
# A runtime rebuilt for this CPU by .ci/asterisk-runtime (the packaged one needs AVX-512), or "" for the packaged one.
RUNTIME = os.environ.get("HOTLINE_ASTERISK_RUNTIME", "")
TARBALL = "asterisk-22.10.1-debian12-amd64.tar.xz"
USER = "hotline"
SECRET = "hotline-lab-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"the real Asterisk is required (HOTLINE_REQUIRE_ASTERISK=1): {reason}")
    pytest.skip(f"no real Asterisk: {reason}")


@dataclass
class Pbx:
    """A running lab Asterisk: its AMI address and account, its run folder, and a few CLI shortcuts."""

    run_dir: Path
    port: int
    host: str = "127.0.0.1"
    user: str = USER
    secret: str = SECRET
    _lab: ModuleType | None = field(default=None, repr=False)

    @property
    def etc(self) -> Path:
        return self.run_dir / "etc" / "asterisk"

    @property
    def sounds(self) -> Path:
        return self.run_dir / "var" / "lib" / "asterisk" / "sounds"

    @property
    def messages_log(self) -> Path:
        return self.run_dir / "log" / "messages"

    def cli(self, command: str, timeout: float = 20.0) -> str:
        """One Asterisk CLI command through the control socket (`asterisk -rx`); its output."""
        env = dict(os.environ, LD_LIBRARY_PATH=str(self.run_dir / "lib"))
        run = subprocess.run([str(self.run_dir / "sbin" / "asterisk"), "-C", str(self.etc / "asterisk.conf"),
                              "-rx", command], capture_output=True, text=True, timeout=timeout, env=env)
        if run.returncode != 0:
            raise RuntimeError(f"asterisk -rx {command!r}: exit {run.returncode}: {run.stderr or run.stdout}")
        return run.stdout

    def drop_in(self, folder: str, name: str, text: str) -> Path:
        """Write `etc/asterisk/<folder>/<name>` (extensions.d, queues.d, manager.d)."""
        path = self.etc / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def db_put(self, family: str, key: str, value: str) -> None:
        self.cli(f"database put {family} {key} {value}")

    def db_get(self, family: str, key: str) -> str | None:
        out = self.cli(f"database get {family} {key}")
        return out.split("Value:", 1)[1].strip() if "Value:" in out else None

    def db_show(self, family: str) -> dict[str, str]:
        """`database show <family>` as {"/family/key": value}."""
        rows: dict[str, str] = {}
        for line in self.cli(f"database show {family}").splitlines():
            if line.startswith("/") and ":" in line:
                key, value = line.split(":", 1)
                rows[key.strip()] = value.strip()
        return rows

    def channels(self) -> int:
        """How many channels are up now."""
        out = self.cli("core show channels count")
        for line in out.splitlines():
            if "active channel" in line:
                return int(line.split()[0])
        raise AssertionError(f"unexpected `core show channels count` output: {out!r}")

    def wait_idle(self, timeout: float = 60.0) -> None:
        end = time.monotonic() + timeout
        while self.channels():
            if time.monotonic() > end:
                raise AssertionError(f"channels still up after {timeout} s:\n{self.cli('core show channels')}")
            time.sleep(0.3)

    def wait_booted(self, timeout: float = 30.0) -> None:
        """After a restart: the control socket answers and AMI sends its banner again."""
        end = time.monotonic() + timeout
        while True:
            try:
                self.cli("core waitfullybooted", timeout=5)
                with socket.create_connection((self.host, self.port), timeout=2) as s:
                    if s.recv(64).startswith(b"Asterisk Call Manager/"):
                        return
            except (OSError, RuntimeError, subprocess.TimeoutExpired):
                pass
            if time.monotonic() > end:
                raise AssertionError(f"the PBX did not come back within {timeout} s")
            time.sleep(0.2)

    def lab(self) -> Any:
        """The call driver `ami_lab.py` (read-only in ../shared), pointed at this PBX."""
        if self._lab is None:
            self._lab = _shared_module("ami_lab")
        lab: Any = self._lab
        lab.HOST, lab.PORT, lab.USER, lab.SECRET = self.host, self.port, self.user, self.secret
        return lab

    def ivr_check(self) -> Any:
        """`ivr_check.py` (it drives calls with `ami_lab`, pointed at this PBX by `lab()`)."""
        self.lab()
        return _shared_module("ivr_check")


def _shared_module(name: str) -> ModuleType:
    """A tool of ../shared/asterisk imported once (ivr_check imports ami_lab by name: one copy of each)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ASTERISK / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def place_runtime(run_dir: Path, runtime: Path) -> None:
    """Put a rebuilt runtime into `run_dir` with the packaged tarball's stamp, so that `start` runs it instead
    of unpacking the tarball (`stop` wants the binary inside the run folder: files are linked, not symlinked)."""
    if not (runtime / "sbin" / "asterisk").is_file():
        _unavailable(f"HOTLINE_ASTERISK_RUNTIME={runtime} holds no sbin/asterisk (run .ci/asterisk-runtime)")
    shutil.copytree(runtime, run_dir, copy_function=_link_or_copy, dirs_exist_ok=True)
    with (ASTERISK / TARBALL).open("rb") as tarball:
        cksum = subprocess.run(["cksum"], stdin=tarball, capture_output=True, text=True, check=True).stdout.strip()
    (run_dir / ".runtime").write_text(f"{TARBALL} {cksum}\n", encoding="utf-8")


def start_pbx(run_dir: Path) -> Pbx:
    """`start RUN_DIR --ami-port N` on a free port (one retry if another process took the port)."""
    if not (ASTERISK / "start").is_file():
        _unavailable(f"{ASTERISK} not found (expected next to the repository, as in CI)")
    if RUNTIME and not (run_dir / ".runtime").exists():
        place_runtime(run_dir, Path(RUNTIME))
    last = ""
    for _ in range(2):
        port = free_port()
        run = subprocess.run(["bash", str(ASTERISK / "start"), str(run_dir), "--ami-port", str(port)],
                             capture_output=True, text=True, timeout=90)
        if run.returncode == 0:
            return Pbx(run_dir=run_dir, port=port)
        last = f"exit {run.returncode}: {run.stderr.strip()[-2000:]}"
        if run.returncode == 2:  # a Debian package is missing: stderr has the apt-get line
            break
        if "Illegal instruction" in run.stderr:
            last += ("\nthe packaged binary does not run on this CPU: build one that does with "
                     "`export HOTLINE_ASTERISK_RUNTIME=\"$(.ci/asterisk-runtime)\"` (README, Tests)")
            break
    _unavailable(f"`start` failed: {last}")
    raise AssertionError("unreachable")


def stop_pbx(pbx: Pbx) -> None:
    subprocess.run(["bash", str(ASTERISK / "stop"), str(pbx.run_dir)], capture_output=True, text=True,
                   timeout=60, check=True)


@pytest.fixture(scope="session")
def pbx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pbx]:
    """The session's one real Asterisk."""
    running = start_pbx(tmp_path_factory.mktemp("asterisk") / "run")
    try:
        yield running
    finally:
        stop_pbx(running)


def hotline_cli(*args: str, env: dict[str, str] | None = None) -> str:
    """Run `hotline ARGS` (the shipped config, cwd = the repository root, HOTLINE_* from `env` only); its stdout."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    run = subprocess.run([sys.executable, "-m", "hotline", *args], capture_output=True, text=True, timeout=120,
                         cwd=ROOT, env={**clean, **(env or {})})
    assert run.returncode == 0, f"hotline {' '.join(args)}: exit {run.returncode}\n{run.stdout}\n{run.stderr}"
    return run.stdout


@pytest.fixture(scope="session")
def pbx_installed(pbx: Pbx) -> Pbx:
    """The session PBX with what a site installs from hotline's own commands: the prompts made by
    `hotline ivr sounds` (IVR scripts and voice page ack) and the ack dialplan of `hotline ivr page-ack`."""
    hotline_cli("ivr", "sounds", "--out", str(pbx.sounds / "hotline"))
    pbx.drop_in("extensions.d", "hotline-page-ack.conf", hotline_cli("ivr", "page-ack"))
    pbx.cli("dialplan reload")
    return pbx
