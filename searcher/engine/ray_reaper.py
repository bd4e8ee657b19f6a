"""Ends the Ray processes a search started when the search's process ends, however it ends.

A local Ray started by ``ray.init()`` outlives a driver killed with SIGKILL: its agents
(``ray::DashboardAgent``, ``ray::RuntimeEnvAgent``) are reparented and run on. This watchdog,
started beside the driver in its own session, notes the driver's Ray descendants every half
second; when the driver's pipe closes (it exited or was killed), it ends those still alive,
SIGTERM then SIGKILL. Only Ray's processes are touched, never others the driver started.

Standard library only: it starts with ``python -S``. Linux (/proc); elsewhere it just waits.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import sys
import time
from pathlib import Path

POLL_SECONDS = 0.5
GRACE_SECONDS = 3.0


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, start time) of a live process, None when it is gone (or a zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in ("Z", "X") else (int(fields[1]), fields[19])


def _is_ray(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return False
    return cmdline.startswith(b"ray::") or b"/ray/" in cmdline


def _of_session(pid: int, session: re.Pattern[bytes]) -> bool:
    """Whether the process is one of the driver's Ray session (named in its command line):
    a worker the raylet was starting when it died has no Ray parent left to find it by."""
    try:
        return session.search(Path(f"/proc/{pid}/cmdline").read_bytes()) is not None
    except OSError:
        return False


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, start time) for every process we can see."""
    table = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if entry.isdigit() and (stat := _stat(int(entry))) is not None:
            table[int(entry)] = stat
    return table


def _descendants(roots: set[int], table: dict[int, tuple[int, str]]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, todo = set(), list(roots)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def main(argv: list[str]) -> int:
    driver = int(argv[0])
    me = os.getpid()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the driver; we end after it
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    known: dict[int, str] = {}  # Ray processes under the driver: pid -> start time
    while True:
        table = _processes()
        for pid in _descendants({driver} | set(known), table) - {me}:
            if pid not in known and _is_ray(pid):
                known[pid] = table[pid][1]
        readable, _, _ = select.select([sys.stdin], [], [], POLL_SECONDS)
        if readable and not os.read(sys.stdin.fileno(), 4096):
            break  # the driver closed its end, or died
    session = re.compile(rb"/session_\d{4}-\d\d-\d\d_[\d_-]+_%d(?!\d)" % driver)
    for _ in range(3):  # processes being started while the first round ran get the next one
        table = _processes()
        # Processes Ray started after the last look descend from ones it started before.
        targets = {p for p in known if table.get(p, (0, ""))[1] == known[p]}
        targets |= {p for p in _descendants(targets, table) if _is_ray(p)}
        targets |= {p for p in table if _of_session(p, session)}
        targets.discard(me)
        if not targets:
            break
        _end(targets)
        time.sleep(POLL_SECONDS)
    return 0


def _end(targets: set[int]) -> None:
    """SIGTERM, a grace, then SIGKILL for what is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in targets:
            with contextlib.suppress(OSError):
                os.kill(pid, sig)
        deadline = time.monotonic() + GRACE_SECONDS
        while time.monotonic() < deadline and any(_stat(p) for p in targets):
            time.sleep(0.05)
        targets = {p for p in targets if _stat(p) is not None}
        if not targets:
            return


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
