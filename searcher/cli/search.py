"""Commands on a spec: run a search, validate a spec, sample its space."""

from __future__ import annotations

import random
import sys

import click

from searcher.cli.options import OVERRIDES, TRACKING, emit
from searcher.summary import SearchSummary


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
    try:
        summary = run_search(
            spec, tracking_uri=tracking_uri, address=address, storage_path=storage_path
        )
    except KeyboardInterrupt:  # stopped before any trial ran; the search's run says KILLED
        click.echo("search interrupted before its trials ran", err=True)
        sys.exit(130)
    sys.exit(exit_code(summary))


def exit_code(summary: SearchSummary) -> int:
    """130 interrupted; 1 when no trial finished with a score; 0 otherwise (bad input: 2)."""
    if summary.interrupted:
        return 130
    return 0 if summary.best_key is not None else 1


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
