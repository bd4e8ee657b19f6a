"""The user's own training code as a workload: a function ``fit(params, report)`` or a command.

A function owns its data and model; it gets every space entry's value in ``params`` and calls
``report(metrics)`` after each epoch or step (or ``searcher.report(metrics)``, which reaches the
same place). A command gets ``--name=value`` arguments and prints metric lines (trials.command).
"""

from __future__ import annotations

import importlib
import inspect
import os
import shlex
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from search_spaces.space import SearchSpace
from trials.command import CapturedOutput, build_argv, placeholders, run_command
from trials.errors import TrialFailed
from trials.workload import Report, TrialContext, Workload, WorkloadMismatch

OWN_PACKAGES = ("searcher", "search_spaces", "trials", "dashboards")  # installed with searcher
MetricsReport = Callable[[dict[str, Any]], None]
_current: list[MetricsReport] = []  # the report function of the trial running in this process


@dataclass(frozen=True)
class FunctionWorkload(Workload):
    """``fit(params, report)`` (or ``fit(params)`` that calls ``searcher.report``)."""

    name: str
    fn: Callable[..., Any]

    def modules(self, code_dirs: Sequence[str]) -> list[ModuleType]:
        return local_modules(self.fn, code_dirs)

    def run(self, params: dict[str, Any], report: Report, context: TrialContext) -> None:
        def report_metrics(metrics: dict[str, Any]) -> None:
            report(metrics)

        with reporting(report_metrics):
            if _takes_report(self.fn):
                self.fn(dict(params), report_metrics)
            else:
                self.fn(dict(params))


@dataclass(frozen=True)
class CommandWorkload(Workload):
    """A command line run once per trial in ``cwd`` (the spec's folder); metrics from its
    stdout lines, its output kept with the trial, its whole process group ended on stop."""

    command: str | tuple[str, ...]
    cwd: str

    @property
    def name(self) -> str:  # type: ignore[override]
        text = self.command if isinstance(self.command, str) else shlex.join(self.command)
        return f"command: {text}"

    def check(self, space: SearchSpace, metric: str, dataset: str) -> None:
        """A command's ``{name}`` placeholders must name space entries."""
        missing = sorted(placeholders(self.command) - set(space.value_names))
        if missing:
            raise WorkloadMismatch(
                "workload.command",
                f"expected placeholders that name space entries, got {{{missing[0]}}}",
            )

    def shipped_files(self, code_dir: Path) -> list[Path]:
        """The folder's Python files and the files the command names."""
        words = shlex.split(self.command) if isinstance(self.command, str) else self.command
        named = {code_dir / w for w in words if "/" not in w and (code_dir / w).is_file()}
        return sorted(set(super().shipped_files(code_dir)) | named)

    def run(self, params: dict[str, Any], report: Report, context: TrialContext) -> None:
        """What the command printed rides along with each report (and with its end)."""
        output = CapturedOutput()
        sent = {"stdout": 0, "stderr": 0}

        def new_output() -> dict[str, str]:
            chunk = {}
            for stream in sent:
                lines = getattr(output, stream)
                chunk[stream] = "".join(lines[sent[stream] :])
                sent[stream] = len(lines)
            return chunk

        try:
            run_command(
                build_argv(self.command, params),
                cwd=self.cwd,
                env={**os.environ, **(context.env or {})},
                report=lambda metrics: report(metrics, output=new_output()),
                metric=context.metric,
                should_stop=context.should_stop,
                output=output,
            )
        finally:
            report({}, output=new_output())


@contextmanager
def reporting(report: MetricsReport) -> Iterator[None]:
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
    """``Type: message (file:line)`` of the innermost frame: one line that says what broke; a
    TrialFailed (a diverged loss, a command's exit) already says it in its reason."""
    if isinstance(exc, TrialFailed):
        return exc.reason
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


def local_modules(obj: Any, code_dirs: Sequence[str]) -> list[ModuleType]:
    """The module that defines ``obj`` when it is the user's, in their code folders (workers on
    other machines may not have the file, so it travels by value), else none. searcher's own
    packages never travel by value, even when the code folder holds them (a checkout)."""
    module = sys.modules.get(getattr(obj, "__module__", "") or "")
    if module is None or module.__name__ == "__main__":
        return []
    if module.__name__.split(".")[0] in OWN_PACKAGES or not is_local_module(module, code_dirs):
        return []
    return [module]


def is_local_module(module: ModuleType, code_dirs: Sequence[str]) -> bool:
    """True for a module that lives in one of the user's code folders (not an installed one)."""
    path = getattr(module, "__file__", None)
    if not path:
        return False
    resolved = Path(path).resolve()
    return any(resolved.is_relative_to(Path(d).resolve()) for d in code_dirs)
