"""Where a search's start-up and end go: wall-clock marks counted from the process's start.

Kept as tags on the search's run (``searcher.phase.<name>``, seconds), so a slow start can be
read in the MLflow UI or by bench/overhead.py without a profiler.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

_IMPORTED = time.time()


def process_started(pid: int) -> str:
    """When a process started, in clock ticks since boot ('' where /proc is missing)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # The command name (field 2) may hold spaces and parentheses: count from its closing one.
    return stat.rsplit(")", 1)[1].split()[19]


def process_start() -> float:
    """When this process started (epoch seconds); where /proc is missing, when this module
    was imported, which is within a second of it."""
    try:
        ticks = int(process_started(os.getpid()))
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return time.time() - (uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return _IMPORTED


class Phases:
    """Named marks, each the seconds since the process started when it was reached."""

    def __init__(self) -> None:
        self.start = process_start()
        self.marks: dict[str, float] = {}

    def mark(self, name: str) -> None:
        self.marks.setdefault(name, time.time() - self.start)

    def tags(self, prefix: str) -> dict[str, str]:
        return {f"{prefix}{name}": f"{seconds:.3f}" for name, seconds in self.marks.items()}
