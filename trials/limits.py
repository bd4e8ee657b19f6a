"""The limits a trial runs within, watched from beside it: a time limit and a memory cap.

A trial's code cannot be trusted to stop itself (a function that sleeps forever, a leak that
eats the machine), so it runs in a thread of its own while the caller's thread watches the
clock and the memory (PSS) of the worker process and all it started. Past a limit, the trial is
asked to stop (``should_stop`` turns true: a command's whole process group is then ended), given
a grace, and ``LimitExceeded`` is raised: the caller ends the worker process, which is the only
way to free what a stuck thread holds. Linux reads memory from /proc; elsewhere only the time
limit is enforced. No Ray, no MLflow.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from search_spaces.constraints import duration_seconds, size_bytes
from trials.errors import TrialFailed

POLL_SECONDS = 0.25
GRACE_SECONDS = 5.0
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(frozen=True)
class Limits:
    """``timeout`` and ``memory`` as the user wrote them (``20m``, ``4GB``; checked by the
    spec's Duration and ByteSize), read in seconds and bytes."""

    timeout: str | None = None
    memory: str | None = None

    @cached_property
    def timeout_s(self) -> float | None:
        return None if self.timeout is None else duration_seconds(self.timeout)

    @cached_property
    def memory_bytes(self) -> int | None:
        return None if self.memory is None else size_bytes(self.memory)

    @property
    def any(self) -> bool:
        return self.timeout is not None or self.memory is not None


class LimitExceeded(TrialFailed):
    """The trial ran past one of its limits; the reason says which and by how much."""


def format_bytes(n: float, *, upward: bool = False) -> str:
    """1.5GB, 730MB: the units a memory limit is written in.

    ``upward`` rounds up at the three digits shown, so that a use just past a limit never
    reads as the limit itself ("used 1GB of 1GB").
    """
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            value = n / size
            if upward:
                scale = 10.0 ** (2 - math.floor(math.log10(value)))
                return f"{math.ceil(value * scale - 1e-9) / scale:.4g}{unit}"  # 999.5MB: 1000MB
            return f"{value:.3g}{unit}"
    return f"{int(n)}B"


def tree_rss(root: int) -> int | None:
    """Memory of a process and all its descendants; None where /proc is missing.

    Each process counts its proportional share of the pages it shares (PSS, from
    smaps_rollup), so forked DataLoader workers and mapped files are not counted once per
    process; where PSS cannot be read, its resident size.
    """
    if not Path("/proc").is_dir():
        return None
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += _memory(pid)
        todo.extend(children.get(pid, []))
    return total


def _memory(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return 0  # gone meanwhile


def run_within(
    limits: Limits,
    body: Callable[[Callable[[], bool]], None],
    should_stop: Callable[[], bool],
    *,
    rss: Callable[[], int | None] = lambda: tree_rss(os.getpid()),
) -> None:
    """Run ``body(stop)`` within ``limits``; its own exceptions pass through.

    ``stop()`` is true once ``should_stop()`` is or a limit is passed. Raises LimitExceeded
    when a limit was passed, whether or not the body stopped within the grace.
    """
    exceeded: list[str] = []
    errors: list[BaseException] = []

    def stop() -> bool:
        return bool(exceeded) or should_stop()

    def target() -> None:
        try:
            body(stop)
        except BaseException as exc:  # noqa: BLE001 - handed to the watching thread
            errors.append(exc)

    thread = threading.Thread(target=target, name="searcher-trial", daemon=True)
    started = time.monotonic()
    thread.start()
    while thread.is_alive() and not exceeded:
        thread.join(POLL_SECONDS)
        if not thread.is_alive():
            break  # it ended within the last poll: its own outcome stands
        if limits.timeout_s is not None and time.monotonic() - started > limits.timeout_s:
            exceeded.append(f"timed out after {limits.timeout}")
        elif limits.memory_bytes is not None and (used := rss() or 0) > limits.memory_bytes:
            shown = f"{format_bytes(used, upward=True)} of {limits.memory}"
            exceeded.append(f"out of memory: used {shown} (resources.memory)")
    if exceeded:
        thread.join(GRACE_SECONDS)
        raise LimitExceeded(exceeded[0])
    if errors:
        raise errors[0]
