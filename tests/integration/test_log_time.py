"""Log lines of the `hotline` command carry the desk's time (Asia/Shanghai, +08:00), not the server's UTC."""

from __future__ import annotations

import logging
import os
import re
import selectors
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from hotline.cli.log_format import DeskTimeFormatter
from tests.integration.pbx import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_formatter_stamps_in_the_desk_timezone() -> None:
    record = logging.LogRecord("hotline", logging.WARNING, __file__, 1, "AMI down", None, None)
    record.created = 1796284800.25  # 2026-12-03 08:00:00.250 UTC
    line = DeskTimeFormatter(tz=ZoneInfo("Asia/Shanghai")).format(record)
    assert line == "2026-12-03 16:00:00.250+08:00 WARNING hotline: AMI down"


def test_the_command_logs_in_desk_time_on_a_utc_server(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update(TZ="UTC", HOTLINE_AMI_PORT=str(free_port()), HOTLINE_AMI_SECRET="x",
               HOTLINE_DATABASE_URL=f"sqlite:///{tmp_path / 'h.db'}")
    proc = subprocess.Popen([sys.executable, "-m", "hotline", "listen"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    try:  # read until the first warning (start-up may take seconds on a loaded machine), at most 60 s
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stderr, selectors.EVENT_READ)
            while time.monotonic() < deadline and not any("cannot connect" in x for x in lines):
                if sel.select(timeout=1):
                    line = proc.stderr.readline()
                    if not line:
                        break
                    lines.append(line.rstrip("\n"))
    finally:
        proc.terminate()
        _, rest = proc.communicate(timeout=10)
    err = "\n".join([*lines, rest])
    stamped = [line for line in err.splitlines() if "cannot connect" in line]
    assert stamped, err
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\+08:00 WARNING ", stamped[0]), stamped[0]
