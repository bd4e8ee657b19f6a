"""The ``searcher`` command group: our input errors become one line and their exit code.

Each command lives in the module of its family and imports what it needs when it runs, so
``searcher --help`` loads click and nothing heavy.
"""

from __future__ import annotations

from typing import Any

import click

from searcher.cli.cluster import jobs, logs, stop, submit
from searcher.cli.report import report, ui
from searcher.cli.results import best, export, trials
from searcher.cli.search import resume, run, sample, validate
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


for _command in (run, resume, validate, sample, trials, best, export, train_command, report, ui):
    cli.add_command(_command)
for _command in (submit, jobs, logs, stop):
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="searcher")
