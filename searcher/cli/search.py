"""Commands on a spec: run a search, validate a spec, sample its space."""

from __future__ import annotations

import random
import sys
from collections import Counter

import click

from searcher.cli.options import OVERRIDES, SEARCH_ID, TRACKING, emit
from searcher.summary import SearchSummary

ADDRESS = click.option("--address", envvar="RAY_ADDRESS", default=None, help="Ray cluster address.")
STORAGE_PATH = click.option("--storage-path", default=None, help="Where Ray keeps its state.")


@click.command()
@click.argument("spec_path", metavar="SPEC")
@OVERRIDES
@TRACKING
@ADDRESS
@STORAGE_PATH
@click.option(
    "--from",
    "warm_from",
    default=None,
    metavar="NAME",
    help="Warm start from the latest search of experiment (or spec file) NAME.",
)
@click.option("--from-search", default=None, metavar="ID", help="That experiment's search ID.")
@click.option("--from-uri", default=None, metavar="URI", help="The store it is in [this one].")
def run(
    spec_path: str,
    overrides: tuple[str, ...],
    tracking_uri: str | None,
    address: str | None,
    storage_path: str | None,
    warm_from: str | None,
    from_search: str | None,
    from_uri: str | None,
) -> None:
    """Run the search a SPEC file describes.

    With --from, the search starts from an earlier one's trials (search.warm_start): those its
    space can place are told to the strategy first, and the best few run again.
    """
    from searcher.controller import run_search
    from searcher.spec import apply_overrides, validate_spec
    from searcher.spec.load import read_spec_file

    raw = apply_overrides(read_spec_file(spec_path), list(overrides), spec_path)
    warm = warm_start_overrides(raw, warm_from, from_search, from_uri)
    spec = validate_spec(apply_overrides(raw, warm, spec_path), spec_path)
    try:
        summary = run_search(
            spec, tracking_uri=tracking_uri, address=address, storage_path=storage_path
        )
    except KeyboardInterrupt:  # stopped before any trial ran; the search's run says KILLED
        click.echo("search interrupted before its trials ran", err=True)
        sys.exit(130)
    sys.exit(exit_code(summary))


def warm_start_overrides(
    raw: dict[str, object], warm_from: str | None, search: str | None, uri: str | None
) -> dict[str, str]:
    """``search.warm_start`` settings from --from, --from-search and --from-uri (the last two
    refine a warm start: --from's, or the spec's own)."""
    from searcher.errors import SpecError

    section = raw.get("search")
    has_warm = isinstance(section, dict) and isinstance(section.get("warm_start"), dict)
    if warm_from is None and not has_warm:
        for option, value in (("--from-search", search), ("--from-uri", uri)):
            if value is not None:
                raise SpecError(option, "", "expected --from NAME too (the search to start from)")
    settings = {"from": warm_from, "search": search, "uri": uri}
    if warm_from is not None:  # another search to start from: the spec's id and store go too
        return {f"search.warm_start.{k}": v for k, v in settings.items()}
    return {f"search.warm_start.{k}": v for k, v in settings.items() if v is not None}


@click.command()
@click.argument("name", metavar="NAME")
@SEARCH_ID
@OVERRIDES
@TRACKING
@ADDRESS
@STORAGE_PATH
@click.option(
    "--force",
    is_flag=True,
    help="Take over a search marked RUNNING by a process on another host that is gone.",
)
def resume(
    name: str,
    search_id: str | None,
    overrides: tuple[str, ...],
    tracking_uri: str | None,
    address: str | None,
    storage_path: str | None,
    force: bool,
) -> None:
    """Continue the latest unfinished search of experiment NAME (or of spec file NAME).

    Finished trials are kept, trials cut short run again under their keys, and the search's
    run ends FINISHED. Only --set resources.*, budget.trial_timeout, search.time_budget,
    storage_path or tracking.uri may change. A search its time budget ended is resumed too.
    """
    from searcher.resuming import resume_search

    try:
        summary = resume_search(
            name,
            search_id=search_id,
            overrides=list(overrides),
            tracking_uri=tracking_uri,
            address=address,
            storage_path=storage_path,
            force=force,
        )
    except KeyboardInterrupt:
        click.echo("resume interrupted before its trials ran", err=True)
        sys.exit(130)
    sys.exit(exit_code(summary))


@click.command()
@click.argument("name", metavar="NAME")
@click.option("--trials", type=click.IntRange(1, 100_000), required=True, help="How many more.")
@SEARCH_ID
@click.option("--time-budget", help="A budget in time for the extension, e.g. 30m or 2h.")
@TRACKING
@ADDRESS
@STORAGE_PATH
def extend(
    name: str,
    trials: int,
    search_id: str | None,
    time_budget: str | None,
    tracking_uri: str | None,
    address: str | None,
    storage_path: str | None,
) -> None:
    """Run more trials for the latest finished search of experiment NAME, under its run.

    coarse_to_fine adds zoom stages shaped by every trial the search has; the others ask for
    more of the same. A crash during it is completed by `searcher resume NAME`.
    """
    from searcher.extending import extend_search

    try:
        summary = extend_search(
            name,
            trials=trials,
            search_id=search_id,
            time_budget=time_budget,
            tracking_uri=tracking_uri,
            address=address,
            storage_path=storage_path,
        )
    except KeyboardInterrupt:
        click.echo("extend interrupted before its trials ran", err=True)
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
    on = "" if spec.workload.owns_data else f" on {spec.data.dataset}"
    stages = getattr(strategy, "stages", None)
    split = f" (stages {' + '.join(str(s.trials) for s in stages)})" if stages else ""
    branches = spec.space.branches
    across = (
        f" across {len(branches)} branches ({'; '.join(b.label for b in branches)})"
        if spec.space.conditional
        else ""
    )
    click.echo(
        f"{spec_path}: ok — {spec.model.search.strategy}, {strategy.planned_trials} trials{split} "
        f"of {spec.workload.name}{on}; tuning {tuned or 'nothing'}{across}"
    )


@click.command()
@click.argument("spec_path", metavar="SPEC")
@OVERRIDES
@click.option("-n", "count", default=1000, show_default=True, help="How many samples.")
@click.option("--seed", default=0, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="csv")
def sample(spec_path: str, overrides: tuple[str, ...], count: int, seed: int, fmt: str) -> None:
    """Print params sampled from a SPEC's space, to see its scales.

    A conditional space leaves a parameter empty where its branch does not have it, and
    says on stderr how often each branch came up."""
    import pandas as pd

    from searcher.spec import load_spec

    spec = load_spec(spec_path, list(overrides))
    space = spec.space
    rng = random.Random(seed)
    units = [space.sample_unit(rng) for _ in range(count)]
    rows = [space.to_values(unit) for unit in units]
    emit(pd.DataFrame(rows, columns=space.value_names), fmt)
    if space.conditional:
        seen = Counter(space.branch_of(unit).label for unit in units)
        shares = ", ".join(
            f"{b.label} {seen[b.label]} ({100 * seen[b.label] / max(1, count):.1f} %)"
            for b in space.branches
        )
        click.echo(f"branches: {shares}", err=True)
