"""Argument types and checks shared by several commands (dates, date ranges, recorded traces, output files)."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
from datetime import date
from pathlib import Path

from hotline.domain.day_range import DayTextError, is_reversed, parse_day

_AMI_START = re.compile(rb"^(Asterisk Call Manager/|(Event|Response|Action|ActionID)\s*:)", re.IGNORECASE)


def day(text: str) -> date:
    """A `YYYY-MM-DD` argument; the error is Chinese first, with an example."""
    try:
        return parse_day(text)
    except DayTextError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def reversed_range(start: date | None, end: date | None) -> str | None:
    """The message for a `--from` after `--to` (None when the range is fine)."""
    if is_reversed(start, end):
        return (f"--from {start} 晚于 --to {end}，请交换两个日期 / --from is after --to: "
                f"swap them (--from {end} --to {start})")
    return None


def ami_trace_problem(path: Path) -> str | None:
    """Why `path` is not a recorded AMI byte stream (None when it looks like one): it must start with the
    manager banner or an AMI header (Event:, Response:, Action:)."""
    with path.open("rb") as f:
        head = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        return f"{path}: 文件是空的 / the file is empty"
    if _AMI_START.match(head):
        return None
    first = head.splitlines()[0][:60].decode("utf-8", "replace")
    return (f"{path}: 不是 AMI 记录或 Twilio 会话 / not a recorded AMI stream (.ami, starting with "
            f"'Asterisk Call Manager/' or 'Event:') nor a Twilio webhook session (.jsonl); it starts with {first!r}")


class OutputFileError(Exception):
    """An `-o FILE` that could not be written; the message names the file and the reason."""


class ArgumentProblem(Exception):
    """A command-line value found wrong while the command runs (exit 2, like argparse's own errors)."""


def output_file(text: str) -> Path:
    """An `-o FILE` argument: its folder must exist and the name must not be a folder (checked before the
    command does its work, so that a long report is not made for nothing)."""
    path = Path(text)
    if not text.strip():
        raise argparse.ArgumentTypeError("输出文件名为空 / the output file name is empty")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} 是文件夹，请给出其中的文件名 / {text} is a folder: give a file name "
                                         f"in it, e.g. {path / '<文件名 name>'}")
    folder = path.parent
    if not folder.is_dir():
        what = "不是文件夹 / is not a folder" if folder.exists() else "不存在 / does not exist"
        raise argparse.ArgumentTypeError(f"{text}: 输出文件夹 {folder} {what}; 请先创建它或换一个路径 / "
                                         f"create the folder first (mkdir -p {folder}) or choose another path")
    return path


def output_dir(text: str) -> Path:
    """An `--out DIR` argument: a folder that exists or can be made (nothing on its path is a file)."""
    path = Path(text)
    if not text.strip():
        raise argparse.ArgumentTypeError("输出目录为空 / the output folder is empty")
    for part in (path, *path.parents):
        if part.exists():
            if not part.is_dir():
                raise argparse.ArgumentTypeError(f"{text}: {part} 是文件，不是文件夹 / {part} is a file, not a folder")
            break
    return path


def write_output(path: Path, data: bytes) -> None:
    """Write `data` to `path` whole or not at all: into a temporary file beside it, then renamed over it (a
    failure leaves any earlier file as it was and no partial file)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with temporary.open("wb") as f:
            f.write(data)
        os.replace(temporary, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        reason = e.strerror or type(e).__name__
        raise OutputFileError(f"无法写入输出文件 / cannot write the output file {path}: {reason}; "
                              f"请检查路径和权限 / check the path and the permissions") from None
