"""The ``searcher`` command group: our input errors become one line and their exit code.

Each command lives in the module of its family and imports what it needs when it runs, so
``searcher --help`` loads click and nothing heavy.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading
from typing import Any, NoReturn

import click

from searcher.cli.cluster import jobs, logs, stop, submit
from searcher.cli.report import report, ui
from searcher.cli.results import best, export, trials
from searcher.cli.search import extend, resume, run, sample, validate
from searcher.cli.train import train_command
from searcher.errors import SearcherError


class _Group(click.Group):
    """Turns our input errors into one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SearcherError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=_Group)
@click.version_option(package_name="searcher")
def cli() -> None:
    """Coarse-to-fine hyperparameter search on Ray Tune, tracked in MLflow."""


for _command in (
    run,
    resume,
    extend,
    validate,
    sample,
    trials,
    best,
    export,
    train_command,
    report,
    ui,
):
    cli.add_command(_command)
for _command in (submit, jobs, logs, stop):
    cli.add_command(_command)


def main() -> None:
    command = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), "")
    forced = os.environ.get(NORMAL_EXIT_ENV, "").strip()
    if command not in FAST_EXIT_COMMANDS and forced != "0":
        cli(prog_name="searcher")
        return
    try:
        cli(prog_name="searcher")
    except SystemExit as exc:
        exit_now(exc.code)
    exit_now(0)


# Modules whose teardown at interpreter exit takes most of a second and frees nothing a
# finished command needs (Ray, MLflow, pandas: thousands of modules and their objects).
HEAVY_MODULES = ("ray", "mlflow", "pandas", "torch")
NORMAL_EXIT_ENV = "SEARCHER_NORMAL_EXIT"  # 1: every command exits normally; 0: none does
# The commands whose exit bench/exit_time.py measured faster without the teardown (see
# bench/README.md); the others exit normally (`run` and `report`: no saving measured).
FAST_EXIT_COMMANDS = frozenset({"trials", "best"})


def exit_now(code: int | str | None) -> NoReturn:
    """End the process once the command is done, without the interpreter's slow teardown.

    After a search the interpreter spends ~0.8 s destroying modules. Everything a command
    owes the user is done by then: exit handlers run here (they close stores and end child
    processes), the streams are flushed. With other threads still running, or nothing heavy
    loaded, or with SEARCHER_NORMAL_EXIT=1 (to compare: bench/exit_time.py), the normal exit is
    kept.
    """
    normal = os.environ.get(NORMAL_EXIT_ENV, "").strip().lower() in ("1", "true", "yes")
    if normal or threading.active_count() > 1 or not any(m in sys.modules for m in HEAVY_MODULES):
        sys.exit(code)
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code or 0)
