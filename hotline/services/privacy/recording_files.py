"""Recordings kept as files on this machine: Asterisk's MixMonitor files (`/var/spool/asterisk/monitor`) and
voicemail messages (`/var/spool/asterisk/voicemail/<context>/<mailbox>`: `msg0000.wav` with its `msg0000.txt`,
which holds the caller's number; app_voicemail closes the gaps in the numbering when the mailbox is next
opened). The directories are named in `[privacy] recording_dirs`; files older than the retention (by their
modification time) are deleted, nothing else is touched (symbolic links are not followed)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path


def old_files(dirs: Iterable[str], before: datetime) -> Iterator[Path]:
    """Regular files under `dirs` last modified before `before`."""
    limit = before.timestamp()
    for top in dirs:
        for root, _subdirs, files in os.walk(top, followlinks=False):
            for name in sorted(files):
                path = Path(root) / name
                try:
                    st = path.lstat()
                except FileNotFoundError:
                    continue
                if path.is_file() and not path.is_symlink() and st.st_mtime < limit:
                    yield path


def purge_files(dirs: Iterable[str], before: datetime, dry_run: bool) -> tuple[int, list[str]]:
    """(files deleted - or that would be -, problems); a file that cannot be deleted is named, not fatal."""
    count, problems = 0, []
    for path in list(old_files(dirs, before)):
        if not dry_run:
            try:
                path.unlink()
            except OSError as e:
                problems.append(f"{path}: {e.strerror}")
                continue
        count += 1
    return count, problems
