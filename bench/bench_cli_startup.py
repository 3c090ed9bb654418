"""CLI start-up benchmark: the CPU time (user + system, which the machine's load does not inflate the
way it does wall time) and the wall time of read-only commands that do no work, and the number of
modules they import, beside the floor of a bare `python -c pass`.

    python bench/bench_cli_startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {
    "python -c pass (floor)": [sys.executable, "-c", "pass"],
    "python -c 'import hotline'": [sys.executable, "-c", "import hotline"],
    "hotline --help": [sys.executable, "-m", "hotline", "--help"],
    "hotline report --help": [sys.executable, "-m", "hotline", "report", "--help"],
    "hotline report answer-rate --help": [sys.executable, "-m", "hotline", "report", "answer-rate", "--help"],
    "hotline tickets --help": [sys.executable, "-m", "hotline", "tickets", "--help"],
    "hotline users --help": [sys.executable, "-m", "hotline", "users", "--help"],
    "hotline complaints --help": [sys.executable, "-m", "hotline", "complaints", "--help"],
    "hotline roster --help": [sys.executable, "-m", "hotline", "roster", "--help"],
    "hotline monitors --help": [sys.executable, "-m", "hotline", "monitors", "--help"],
    "hotline serve --help": [sys.executable, "-m", "hotline", "serve", "--help"],
}
COUNT = ("import sys, runpy; sys.argv = {argv!r}\n"
         "try:\n    runpy.run_module('hotline', run_name='__main__')\nexcept SystemExit:\n    pass\n"
         "print(len(sys.modules), file=sys.stderr)")


def measure(cmd: list[str]) -> tuple[float, float]:
    """(CPU seconds of the child, wall seconds)."""
    before = os.times()
    began = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - began
    after = os.times()
    return (after.children_user - before.children_user) + (after.children_system - before.children_system), wall


def modules(cmd: list[str]) -> int | None:
    if cmd[1:3] != ["-m", "hotline"]:
        return None
    argv = ["hotline", *cmd[3:]]
    out = subprocess.run([sys.executable, "-c", COUNT.format(argv=argv)], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return int(out.stderr.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    print(f"{'command':38} {'CPU median':>10} {'CPU min':>8} {'wall median':>11} {'modules':>8}")
    for name, cmd in COMMANDS.items():
        measure(cmd)  # warm the file cache and the bytecode
        runs = [measure(cmd) for _ in range(args.runs)]
        cpu = [c for c, _ in runs]
        wall = [w for _, w in runs]
        n = modules(cmd)
        print(f"{name:38} {statistics.median(cpu):9.3f}s {min(cpu):7.3f}s {statistics.median(wall):10.3f}s "
              f"{'' if n is None else n:>8}")


if __name__ == "__main__":
    main()
