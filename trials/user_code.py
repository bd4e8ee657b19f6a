"""The user's own training code as a workload: a function ``fit(config, report)`` or a command.

A function owns its data and model; it gets every space entry's value in ``config`` and calls
``report(metrics)`` after each epoch or step (or ``searcher.report(metrics)``, which reaches the
same place). A command gets ``--name=value`` arguments and prints metric lines (trials.command).
"""

from __future__ import annotations

import importlib
import inspect
import shlex
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

Report = Callable[[dict[str, Any]], None]
_current: list[Report] = []  # the report function of the trial running in this process


@dataclass(frozen=True)
class FunctionWorkload:
    """``fit(config, report)`` (or ``fit(config)`` that calls ``searcher.report``)."""

    name: str
    fn: Callable[..., Any]

    def run(self, params: dict[str, Any], report: Report) -> None:
        with reporting(report):
            if _takes_report(self.fn):
                self.fn(dict(params), report)
            else:
                self.fn(dict(params))


@dataclass(frozen=True)
class CommandWorkload:
    """A command line run once per trial in ``cwd`` (the spec's folder)."""

    command: str | tuple[str, ...]
    cwd: str

    @property
    def name(self) -> str:
        text = self.command if isinstance(self.command, str) else shlex.join(self.command)
        return f"command: {text}"


@contextmanager
def reporting(report: Report) -> Iterator[None]:
    """Make ``report_metrics`` (and so ``searcher.report``) reach this trial's report."""
    _current.append(report)
    try:
        yield
    finally:
        _current.pop()


def report_metrics(metrics: dict[str, Any]) -> None:
    """Report metrics of the trial running in this process (what ``searcher.report`` calls)."""
    if not _current:
        raise RuntimeError(
            "searcher.report() was called outside a trial; call it from the function that "
            "searcher runs as the workload"
        )
    _current[-1](metrics)


def _takes_report(fn: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in parameters)


def failure_text(exc: BaseException) -> str:
    """``Type: message (file:line)`` of the innermost frame: one line that says what broke."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}{where}" if message else f"{type(exc).__name__}{where}"


def import_from(module_name: str, code_dirs: Sequence[str]) -> ModuleType:
    """Import a module, looking first in ``code_dirs`` (the spec's folder, the cwd)."""
    add_code_dirs(code_dirs)
    return importlib.import_module(module_name)


def add_code_dirs(code_dirs: Sequence[str]) -> None:
    """Put the user's code folders first on sys.path, once each (driver and workers)."""
    for directory in reversed(list(code_dirs)):
        if directory not in sys.path:
            sys.path.insert(0, directory)


def is_local_module(module: ModuleType, code_dirs: Sequence[str]) -> bool:
    """True for a module that lives in one of the user's code folders (not an installed one)."""
    path = getattr(module, "__file__", None)
    if not path:
        return False
    resolved = Path(path).resolve()
    return any(resolved.is_relative_to(Path(d).resolve()) for d in code_dirs)
