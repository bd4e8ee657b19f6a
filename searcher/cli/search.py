"""Commands on a spec: run a search, validate a spec, sample its space."""

from __future__ import annotations

import random
import sys

import click

from searcher.cli.options import OVERRIDES, TRACKING, emit


@click.command()
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


@click.command()
@click.argument("spec_path", metavar="SPEC")
@OVERRIDES
def validate(spec_path: str, overrides: tuple[str, ...]) -> None:
    """Check a SPEC file without running it."""
    from searcher.spec import load_spec

    spec = load_spec(spec_path, list(overrides))
    strategy = spec.build_strategy()
    tuned = ", ".join(f"{n} {spec.space.params[n].describe()}" for n in spec.space.tuned_names)
    on = f" on {spec.data.dataset}" if spec.builtin else ""
    click.echo(
        f"{spec_path}: ok — {spec.model.search.strategy}, {strategy.planned_trials} trials of "
        f"{spec.workload.name}{on}; tuning {tuned or 'nothing'}"
    )


@click.command()
@click.argument("spec_path", metavar="SPEC")
@OVERRIDES
@click.option("-n", "count", default=1000, show_default=True, help="How many samples.")
@click.option("--seed", default=0, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="csv")
def sample(spec_path: str, overrides: tuple[str, ...], count: int, seed: int, fmt: str) -> None:
    """Print values sampled from a SPEC's space, to see its scales."""
    import pandas as pd

    from searcher.spec import load_spec

    spec = load_spec(spec_path, list(overrides))
    rng = random.Random(seed)
    rows = [spec.space.to_values(spec.space.sample_unit(rng)) for _ in range(count)]
    emit(pd.DataFrame(rows), fmt)
