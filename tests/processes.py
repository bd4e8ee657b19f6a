"""Process helpers for fault tests: is a pid alive, wait for pids to go, start `searcher`."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def survivors(pids: list[int], timeout: float = 15.0) -> list[int]:
    """The pids still alive after waiting up to ``timeout`` for all of them to go."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


def start_searcher(
    args: list[str], log: IO[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """`python -m searcher.cli ARGS` in its own process, output to ``log``."""
    return subprocess.Popen(
        [sys.executable, "-m", "searcher.cli", *args],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=cwd,
    )


def sigterm_when(
    proc: subprocess.Popen[bytes], ready: Callable[[], bool], log: Path, timeout: float = 180
) -> int:
    """Wait until ``ready()`` (the process must stay up), SIGTERM it, return its exit code."""
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not ready():
            assert proc.poll() is None, log.read_text()
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        return proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()


def parent_of(pid: int) -> int:
    """The parent pid of a live process (Linux /proc); OSError when it is gone."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def descendants(pid: int) -> dict[int, str]:
    """The live descendants of a process: pid -> command line (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents[int(entry)] = parent_of(int(entry))
            except OSError:
                continue
    found: dict[int, str] = {}
    todo = [pid]
    while todo:
        parent = todo.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in found:
                try:
                    cmd = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
                except OSError:
                    continue
                found[child] = cmd.decode(errors="replace").strip()
                todo.append(child)
    return found


@contextmanager
def searcher_running(
    args: list[str], log_path: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`searcher ARGS` with its output in ``log_path``; killed on the way out if still up."""
    with open(log_path, "w") as log:
        proc = start_searcher(args, log, env=env)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)


def sigkill_when_logged(
    args: list[str], log_path: Path, pattern: str, timeout: float = 120
) -> None:
    """Run `searcher ARGS` until its output matches ``pattern`` (it must stay up), then
    SIGKILL it and wait for it to go."""
    with searcher_running(args, log_path) as proc:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, log_path.read_text()):
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)


@contextmanager
def mounted_tmpfs(path: Path, options: str) -> Iterator[Path]:
    """A tmpfs mounted at ``path`` (made here) with mount ``options`` (``size=20m``,
    ``ro,size=1m``), unmounted after; the test is skipped where mounting is not allowed."""
    path.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs ({options}) here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


RAY_LOGS = ("python-core-driver-*.log", "raylet.out", "gcs_server.out")


def ray_logs(driver_pid: int, lines: int = 12) -> str:
    """The tails of the logs of the local Ray a driver started (its session is named by the
    driver's pid), for a failure message: when Ray ends a driver (its core worker exits 1 once
    its raylet is gone), the driver itself prints nothing."""
    root = Path(os.environ.get("RAY_TMPDIR", "/tmp")) / "ray"
    tails = []
    for session in sorted(root.glob(f"session_*_{driver_pid}")):
        for pattern in RAY_LOGS:
            for log in sorted((session / "logs").glob(pattern)):
                text = log.read_text(errors="replace").splitlines()[-lines:]
                tails.append(f"--- {log}\n" + "\n".join(text))
    return "\n".join(tails) or f"(no Ray session of pid {driver_pid} under {root})"
