"""Roster table imports at the size desks send (50,000 rows): a GBK CSV of first-line day and night shifts and
second-line days over many days, imported into a fresh SQLite database (every shift added), the same file
again (every shift unchanged), and the one-row correction of issue 13 (only its tier and span replaced).

Usage: .venv/bin/python bench/bench_roster_import.py [--rows 50000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hotline.clock import ManualClock  # noqa: E402
from hotline.config import load_settings  # noqa: E402
from hotline.services.roster.service import RosterService  # noqa: E402
from hotline.store.base import make_engine, migrate, session_factory  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
FIRST = ["张伟", "李娜", "王芳", "刘洋"]
SECOND = ["陈静", "杨磊", "赵敏"]


def table(rows: int, start: date) -> bytes:
    lines = ["日期,班次,开始,结束,一线,二线"]
    day = start
    while len(lines) <= rows:
        k = (day - start).days
        lines.append(f"{day},白班,08:00,20:00,{FIRST[k % 4]},")
        lines.append(f"{day},夜班,20:00,08:00,{FIRST[(k + 2) % 4]},")
        lines.append(f"{day},现场,09:00,17:00,,{SECOND[k % 3]}")
        day += timedelta(days=1)
    return ("\r\n".join(lines[: rows + 1]) + "\r\n").encode("gbk")


def timed(label: str, service: RosterService, path: Path) -> None:
    t0 = time.perf_counter()
    report = service.import_file(path, "bench")
    print(f"{label:34} {time.perf_counter() - t0:7.2f} s  {report.summary.split(' / ')[-1]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    settings = load_settings(ROOT / "config" / "hotline.toml", env={})
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        migrate(engine, "heads")
        service = RosterService(session_factory(engine), settings, ManualClock(datetime(2026, 12, 1, tzinfo=TZ), TZ))
        service.load_example(ROOT / "config" / "roster.yaml", "bench")
        big = Path(tmp) / "big.csv"
        big.write_bytes(table(args.rows, date(2027, 1, 1)))
        fix = Path(tmp) / "fix.csv"
        fix.write_bytes("日期,班次,开始,结束,二线\r\n2027-01-06,二线补班,13:00,17:00,赵敏\r\n".encode("gbk"))
        print(f"{args.rows} rows, {big.stat().st_size / 1e6:.1f} MB GBK CSV, SQLite")
        timed("import into an empty table", service, big)
        timed("the same file again", service, big)
        timed("one-row correction", service, fix)
        engine.dispose()


if __name__ == "__main__":
    main()
