"""Run a user's training command as a trial: arguments in, metrics parsed from its stdout.

The conventions are W&B Sweeps' ``program`` (``--name=value`` arguments) and Katib's stdout
collector (``name=value`` pairs on a line); a line holding a JSON object counts too. The command
runs in a process group of its own, and every way out of ``run_command`` ends that group.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trials.errors import CommandFailed, TrialDiverged

_PAIR = re.compile(r"^([A-Za-z_][\w.\-/]*)=(\S+)$")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.\-]*)\}")
STDERR_TAIL_LINES = 20
LOG_CAP_BYTES = 1 << 20  # per stream and trial: what is kept as the run's artifact
GRACE_SECONDS = 3.0
STOP_POLL_SECONDS = 0.2  # how often a running command asks whether the trial is to stop
PYTHON_NAMES = ("python", "python3")
GUARD = str(Path(__file__).with_name("command_guard.py"))


def build_argv(command: str | Sequence[str], params: dict[str, Any]) -> list[str]:
    """The command line of one trial: ``{name}`` placeholders filled, or ``--name=value`` added."""
    argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
    if argv and argv[0] in PYTHON_NAMES:
        argv[0] = sys.executable  # the Python (and environment) that runs searcher
    if any(_PLACEHOLDER.search(arg) for arg in argv):
        return [_PLACEHOLDER.sub(lambda m: _text(params[m.group(1)]), arg) for arg in argv]
    return argv + [f"--{name}={_text(value)}" for name, value in params.items()]


def placeholders(command: str | Sequence[str]) -> set[str]:
    """The ``{name}`` placeholders a command uses (checked against the space before running)."""
    args = [command] if isinstance(command, str) else list(command)
    return {m.group(1) for arg in args for m in _PLACEHOLDER.finditer(str(arg))}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _number(value: Any) -> float | None:
    """A finite number from a metric line's value (its text, or a JSON value), else None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _fields(line: str) -> dict[str, Any] | None:
    """A metric line's raw ``name: value`` fields (``name=value`` pairs, or a JSON object)."""
    text = line.strip()
    if text.startswith("{") and text.endswith("}"):
        try:
            found = json.loads(text)
        except json.JSONDecodeError:
            return None
        return {str(k): v for k, v in found.items()} if isinstance(found, dict) else None
    tokens = text.replace(",", " ").split()
    pairs = [_PAIR.match(token) for token in tokens]
    if not tokens or not all(pairs):
        return None
    return {m.group(1): m.group(2) for m in pairs if m is not None}


def parse_line(line: str) -> dict[str, float] | None:
    """The numeric metrics of a line of ``name=value`` pairs or of a JSON object, else None."""
    fields = _fields(line) or {}
    metrics = {k: n for k, v in fields.items() if (n := _number(v)) is not None}
    return metrics or None


def not_numbers(line: str) -> dict[str, str]:
    """The fields of a metric line whose value is no finite number (``acc=nan``, ``acc=abc``).

    In a JSON object a string or a boolean is a label, not a metric that went wrong.
    """
    fields = _fields(line) or {}
    labels = line.lstrip().startswith("{")
    return {
        name: str(value)
        for name, value in fields.items()
        if _number(value) is None and not (labels and isinstance(value, str | bool))
    }


@dataclass
class CapturedOutput:
    """What a trial's command printed, capped per stream; the last stderr lines for errors."""

    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=lambda: {"stdout": 0, "stderr": 0})
    stderr_tail: deque[str] = field(default_factory=lambda: deque(maxlen=STDERR_TAIL_LINES))
    reports: int = 0
    other_metrics: dict[str, float] = field(default_factory=dict)  # last line without the metric
    lines: int = 0  # stdout lines read
    warned: set[str] = field(default_factory=set)  # metric names already warned about

    def add(self, stream: str, line: str) -> None:
        if stream == "stderr":
            self.stderr_tail.append(line.rstrip("\n"))
        size = self.sizes[stream] + len(line)
        if size <= LOG_CAP_BYTES:
            getattr(self, stream).append(line)
        elif self.sizes[stream] <= LOG_CAP_BYTES:
            getattr(self, stream).append(f"[searcher: output cut at {LOG_CAP_BYTES} bytes]\n")
        self.sizes[stream] = size

    def text(self, stream: str) -> str:
        return "".join(getattr(self, stream))


def end_group(process: subprocess.Popen[Any], grace: float = GRACE_SECONDS) -> None:
    """SIGTERM the command's whole process group, give its leader a grace, SIGKILL the rest."""
    _signal_group(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(grace)
    # Children the leader left behind are still in the group: none of them outlives the trial.
    _signal_group(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5.0)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _take_stdout(
    line: str, metric: str, report: Callable[[dict[str, float]], None], captured: CapturedOutput
) -> None:
    """A line with the spec's metric is a report; other metric lines are remembered."""
    captured.lines += 1
    _check_numbers(line, metric, captured)
    metrics = parse_line(line)
    if metrics is not None and metric in metrics:
        captured.reports += 1
        report(metrics)
    elif metrics is not None:
        captured.other_metrics = metrics


def _check_numbers(line: str, metric: str, captured: CapturedOutput) -> None:
    """The spec's metric as nan, inf or text fails the trial as diverged, naming the line;
    another metric so is noted once in the trial's stderr."""
    bad = not_numbers(line)
    if metric in bad:
        shown = short_text(line.strip())
        raise TrialDiverged(
            f"{metric}={bad[metric]} is not a finite number (stdout line {captured.lines}: {shown})"
        )
    for name in sorted(set(bad) - captured.warned):
        captured.warned.add(name)
        captured.add(
            "stderr",
            f"[searcher] warning: {name}={bad[name]} on stdout line {captured.lines} is not a "
            "finite number; it is not recorded\n",
        )


def short_text(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _pump(stream: Any, name: str, lines: queue.Queue[tuple[str, str | None]]) -> None:
    """Hand on each line; the end marker comes however the reading ends."""
    try:
        for line in iter(stream.readline, ""):
            lines.put((name, line))
    finally:
        lines.put((name, None))


def run_command(
    argv: Sequence[str],
    *,
    cwd: str,
    env: dict[str, str],
    report: Callable[[dict[str, float]], None],
    metric: str,
    should_stop: Callable[[], bool] = lambda: False,
    output: CapturedOutput | None = None,
) -> CapturedOutput:
    """Run one trial's command to its end, reporting each metric line; raises CommandFailed.

    Lines that hold the spec's metric are reports; other metric lines are remembered so that a
    misspelled metric can be named. ``should_stop`` is polled every STOP_POLL_SECONDS, however
    much the command prints, so an early-stopped or timed-out trial ends its command promptly.
    """
    captured = output if output is not None else CapturedOutput()
    if not os.path.isdir(cwd):
        raise CommandFailed(None, f"cannot start {shlex.join(argv)}: no folder {cwd}")
    # The guard leads a new session (so one killpg ends the command and all it started) and
    # ends that group itself if this worker dies without doing so.
    guarded = [sys.executable, "-S", GUARD, str(os.getpid()), *argv]
    process = subprocess.Popen(
        guarded,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",  # bytes that are not UTF-8 never stop a trial
        bufsize=1,
        start_new_session=True,
    )
    lines: queue.Queue[tuple[str, str | None]] = queue.Queue()
    pumps = [
        threading.Thread(target=_pump, args=(process.stdout, "stdout", lines), daemon=True),
        threading.Thread(target=_pump, args=(process.stderr, "stderr", lines), daemon=True),
    ]
    for pump in pumps:
        pump.start()
    try:
        open_streams, asked_at = 2, time.monotonic()
        while open_streams:
            try:
                stream, line = lines.get(timeout=STOP_POLL_SECONDS)
            except queue.Empty:
                stream, line = "", None
            if time.monotonic() - asked_at >= STOP_POLL_SECONDS:  # quiet or chatty alike
                asked_at = time.monotonic()
                if should_stop():
                    return captured
            if not stream:
                continue
            if line is None:
                open_streams -= 1
                continue
            captured.add(stream, line)
            if stream == "stdout":
                _take_stdout(line, metric, report, captured)
        code = process.wait()
        if (
            code == 127
            and captured.stderr_tail
            and captured.stderr_tail[-1].startswith("cannot start ")
        ):  # the guard's own word: the program is missing or not executable
            raise CommandFailed(None, captured.stderr_tail[-1])
        if code != 0:
            tail = "\n".join(captured.stderr_tail) or "(no stderr)"
            raise CommandFailed(code, f"exit code {code}; stderr ends:\n{tail}")
        if not captured.reports and captured.other_metrics:
            # Reported so that the trial's failure can name what the command did print.
            report(captured.other_metrics)
        return captured
    finally:
        end_group(process, grace=0.0 if process.poll() is not None else GRACE_SECONDS)
        for pump in pumps:
            pump.join(timeout=1.0)
