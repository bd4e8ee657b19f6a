"""The Python API: run a search, read its trials and its best trial, report from own code.

Everything heavy (Ray, MLflow, torch, pandas) is imported inside the functions, so
``import searcher`` stays instant. Errors are ``SearcherError`` with the one-line message the
CLI prints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from searcher.errors import SearcherError, SpecError
from searcher.summary import SearchSummary

if TYPE_CHECKING:
    import pandas as pd

    from searcher.spec import Spec

DICT_SOURCE = "<spec>"  # how errors name a spec given as a mapping


@dataclass(frozen=True)
class BestTrial:
    """The best trial of a search: its key, score, params (as they ran) and MLflow run."""

    key: str
    metric: str
    score: float
    params: dict[str, Any]
    run_id: str
    search_id: str


def load(
    spec: str | Path | dict[str, Any] | Spec,
    overrides: dict[str, Any] | None = None,
    train: Callable[..., Any] | None = None,
) -> Spec:
    """A validated spec from a path, a mapping or a loaded spec, with overrides applied."""
    from searcher.spec import Spec, apply_overrides, validate_spec
    from searcher.spec.load import read_spec_file

    if isinstance(spec, Spec):
        raw, source = spec.raw, spec.source
    elif isinstance(spec, str | Path):
        raw, source = read_spec_file(spec), str(spec)
    elif isinstance(spec, dict):
        raw, source = spec, DICT_SOURCE
    else:
        raise SpecError(DICT_SOURCE, "", f"expected a path, a mapping or a Spec, got {spec!r:.80}")
    raw = apply_overrides(raw, overrides or {}, source)
    if train is not None:  # the function is the workload, and the store records it as such
        module = getattr(train, "__module__", "__main__")
        raw = {**raw, "workload": f"{module}:{getattr(train, '__qualname__', 'train')}"}
    return validate_spec(raw, source, train=train)


def run(
    spec: str | Path | dict[str, Any] | Spec,
    *,
    overrides: dict[str, Any] | None = None,
    tracking_uri: str | None = None,
    address: str | None = None,
    train: Callable[..., Any] | None = None,
    start_with: list[dict[str, Any]] | None = None,
    warm_start: str | dict[str, Any] | None = None,
    out: TextIO | None = None,
) -> SearchSummary:
    """Run a search, exactly as ``searcher run`` does, and return its summary.

    ``spec``: a YAML file, a mapping with the same keys, or a loaded Spec. ``overrides``:
    ``{"search.seed": 3}``, as ``--set``. ``train``: a function ``fit(params, report)`` to use
    as the workload (e.g. one defined in a notebook); the spec may then omit ``workload``.
    ``start_with``: known configurations to run first (the spec's ``search.start_with``).
    ``warm_start``: an earlier search to start from, as ``searcher run --from``: an experiment
    name, or the spec's ``search.warm_start`` mapping (``{"from": ..., "search": ...,
    "uri": ..., "rerun": 3}``). An interrupted search returns with ``summary.interrupted`` set.
    """
    from searcher.controller import run_search

    if start_with is not None:
        overrides = {**(overrides or {}), "search.start_with": start_with}
    if warm_start is not None:
        warm = {"from": warm_start} if isinstance(warm_start, str) else warm_start
        overrides = {**(overrides or {}), "search.warm_start": warm}
    loaded = load(spec, overrides, train)
    return run_search(loaded, tracking_uri=tracking_uri, address=address, out=out)


def resume(
    name: str,
    *,
    search: str | None = None,
    overrides: dict[str, Any] | None = None,
    tracking_uri: str | None = None,
    address: str | None = None,
    train: Callable[..., Any] | None = None,
    force: bool = False,
    out: TextIO | None = None,
) -> SearchSummary:
    """Continue a stopped search, exactly as ``searcher resume`` does; returns its summary.

    ``train``: the workload function again, for a search started with ``run(train=...)``
    (a function from a notebook cannot be found by its name).
    """
    from searcher.resuming import resume_search

    return resume_search(
        name,
        search_id=search,
        overrides=overrides,
        tracking_uri=tracking_uri,
        address=address,
        force=force,
        train=train,
        out=out,
    )


def extend(
    name: str,
    trials: int,
    *,
    search: str | None = None,
    time_budget: str | None = None,
    tracking_uri: str | None = None,
    address: str | None = None,
    train: Callable[..., Any] | None = None,
    out: TextIO | None = None,
) -> SearchSummary:
    """More trials for a finished search, exactly as ``searcher extend`` does; returns the
    summary of the whole search. ``train``: the workload function again, as for resume."""
    from searcher.extending import extend_search

    return extend_search(
        name,
        trials=trials,
        search_id=search,
        time_budget=time_budget,
        tracking_uri=tracking_uri,
        address=address,
        train=train,
        out=out,
    )


def trials(
    name: str, *, tracking_uri: str | None = None, search: str | None = None
) -> pd.DataFrame:
    """The trials of the latest search of experiment ``name`` (or of ``search``), best first.

    Columns: ``trial, stage, status, score, error, run_id`` and ``params.<name>`` per
    hyperparameter; ``frame.attrs["metric"]`` names the metric ``score`` holds.
    """
    from searcher.tracking.queries import find_search, trials_frame
    from searcher.tracking.store import open_for_reading

    client = open_for_reading(tracking_uri)
    return trials_frame(client, find_search(client, name, search))


def best(name: str, *, tracking_uri: str | None = None, search: str | None = None) -> BestTrial:
    """The best trial of the latest search of experiment ``name`` (or of ``search``)."""
    from searcher.tracking.queries import best_of, find_search, read_trials
    from searcher.tracking.store import open_for_reading

    client = open_for_reading(tracking_uri)
    found = find_search(client, name, search)
    row = best_of(read_trials(client, found), found.mode)
    score = float(row.score)  # type: ignore[arg-type]  # best_of returns a scored row
    return BestTrial(
        row.trial.key, found.metric, score, row.trial.params, row.run_id, found.search_id
    )


def report(metrics: dict[str, Any]) -> None:
    """Report a trial's metrics from inside the workload function (instead of its ``report``)."""
    from trials.user_code import report_metrics

    try:
        report_metrics(metrics)
    except RuntimeError as exc:
        raise SearcherError(str(exc)) from None
