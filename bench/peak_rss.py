"""Peak resident memory of the calling process, for the benchmarks' child processes.

VmHWM from /proc/self/status: on Linux a child's `ru_maxrss` starts at its parent's peak (the kernel
carries it over fork and exec), so it would report the parent's size. `ru_maxrss` is used only where
/proc is missing.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path


def peak_rss_mb() -> float:
    """This process's own peak RSS in MB."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        status = ""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
