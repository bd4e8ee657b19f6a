"""The ``searcher`` command line: each command parses options and calls one library function."""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path
from typing import Any

import click
import pandas as pd

from searcher.cli_options import FORMAT, OVERRIDES, SEARCH_ID, TRACKING
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


@cli.command()
@click.argument("spec_path", metavar="SPEC")
@OVERRIDES
@TRACKING
@click.option("--address", envvar="RAY_ADDRESS", default=None, help="Ray cluster address.")
@click.option("--storage-path", default=None, help="Where Ray keeps experiment state.")
def run(
    spec_path: str,
    overrides: tuple[str, ...],
    tracking_uri: str | None,
    address: str | None,
    storage_path: str | None,
) -> None:
    """Run the search a SPEC file describes."""
    from searcher.controller import run_search
    from searcher.spec import load_spec

    spec = load_spec(spec_path, list(overrides))
    summary = run_search(
        spec, tracking_uri=tracking_uri, address=address, storage_path=storage_path
    )
    if summary.interrupted:
        sys.exit(130)


@cli.command()
@click.argument("spec_path", metavar="SPEC")
@OVERRIDES
def validate(spec_path: str, overrides: tuple[str, ...]) -> None:
    """Check a SPEC file without running it."""
    from searcher.controller import build_strategy
    from searcher.spec import load_spec

    spec = load_spec(spec_path, list(overrides))
    strategy = build_strategy(spec)
    tuned = ", ".join(f"{n} {spec.space.params[n].describe()}" for n in spec.space.tuned_names)
    click.echo(
        f"{spec_path}: ok — {spec.model.search.strategy}, {strategy.planned_trials} trials of "
        f"{spec.workload.name} on {spec.data.dataset}; tuning {tuned or 'nothing'}"
    )


@cli.command()
@click.argument("spec_path", metavar="SPEC")
@OVERRIDES
@click.option("-n", "count", default=1000, show_default=True, help="How many samples.")
@click.option("--seed", default=0, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="csv")
def sample(spec_path: str, overrides: tuple[str, ...], count: int, seed: int, fmt: str) -> None:
    """Print values sampled from a SPEC's space, to see its scales."""
    from searcher.spec import load_spec

    spec = load_spec(spec_path, list(overrides))
    rng = random.Random(seed)
    rows = [spec.space.to_values(spec.space.sample_unit(rng)) for _ in range(count)]
    _emit(pd.DataFrame(rows), fmt)


@cli.command()
@click.argument("name")
@SEARCH_ID
@FORMAT
@TRACKING
def trials(name: str, search_id: str | None, fmt: str, tracking_uri: str | None) -> None:
    """Table of the trials of the latest search of experiment NAME, best first."""
    from searcher.results import find_search, trials_frame

    client = _client(tracking_uri)
    frame = trials_frame(client, find_search(client, name, search_id))
    _emit(frame, fmt)


@cli.command()
@click.argument("name")
@SEARCH_ID
@TRACKING
def best(name: str, search_id: str | None, tracking_uri: str | None) -> None:
    """The best trial of the latest search of experiment NAME."""
    from searcher.results import best_row, find_search, trials_frame

    client = _client(tracking_uri)
    search = find_search(client, name, search_id)
    row = best_row(trials_frame(client, search), search.metric)
    click.echo(row.drop(labels=["error"]).to_string())


@cli.command()
@click.argument("name")
@SEARCH_ID
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="best.yaml")
@TRACKING
def export(name: str, search_id: str | None, output: str, tracking_uri: str | None) -> None:
    """Write a runnable spec with the best trial's values fixed."""
    from searcher.results import export_text, find_search
    from searcher.spec import validate_spec
    from searcher.yaml_io import load_yaml

    client = _client(tracking_uri)
    text = export_text(client, find_search(client, name, search_id))
    validate_spec(load_yaml(text), output)  # never write a spec that would not run
    _write_atomic(Path(output), text)
    click.echo(f"wrote {output}")


@cli.command()
@click.argument("name", required=False)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@TRACKING
def ui(name: str | None, host: str, port: int, tracking_uri: str | None) -> None:
    """Start the MLflow UI for the same store; prints the page of experiment NAME (or of all)."""
    from dashboards.ui import serve_ui

    serve_ui(_uri(tracking_uri), host=host, port=port, experiment=name)


def _uri(tracking_uri: str | None) -> str:
    from searcher.store import resolve_tracking_uri

    return resolve_tracking_uri(tracking_uri)


def _client(tracking_uri: str | None) -> Any:
    from searcher.store import open_existing_store

    return open_existing_store(_uri(tracking_uri))


def _emit(frame: pd.DataFrame, fmt: str) -> None:
    if fmt == "csv":
        click.echo(frame.to_csv(index=False), nl=False)
    elif fmt == "json":
        click.echo(frame.to_json(orient="records", indent=2))
    else:
        with pd.option_context("display.max_rows", None, "display.width", 200):
            click.echo(frame.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    tmp.replace(path)


# Commands that live in their own modules; one registration line each.
from searcher.cli_train import train_command  # noqa: E402

cli.add_command(train_command)
from dashboards.cli_report import report_command  # noqa: E402

cli.add_command(report_command(TRACKING, SEARCH_ID, _client))
from searcher.cli_cluster import jobs, logs, stop, submit  # noqa: E402

for _command in (submit, jobs, logs, stop):
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="searcher")


if __name__ == "__main__":
    main()
