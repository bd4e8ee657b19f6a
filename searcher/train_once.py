"""One training run in this process, without Ray: the search's own train(), logged as one run.

This is how a user retrains the best configuration for longer (``searcher export`` then
``searcher train``), so it shares spec loading, data resolution, the store and trials.train.train.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from torch import nn

from searcher.console.lines import fmt_duration, fmt_params
from searcher.controller import prepare_data
from searcher.errors import SearcherError, SpecError
from searcher.spec import Spec
from searcher.tracking.store import ensure_experiment, open_store
from searcher.tracking.train_run import TrainRun
from searcher.tracking.uri import display_uri, resolve_tracking_uri
from trials.config import DataSource
from trials.errors import ParamError, TrialDiverged
from trials.files import write_atomic
from trials.hparams import check_params
from trials.registry import ModelWorkload
from trials.train import train

SHOWN = ("train_loss", "val_loss", "val_accuracy")


class TrainFailed(SearcherError):
    """Training itself failed (a diverged loss); the run is recorded as FAILED."""

    exit_code = 1


@dataclass
class TrainOutcome:
    """What a single training run produced."""

    run_id: str
    experiment: str
    tracking_uri: str
    params: dict[str, Any]
    centred: list[str]
    metrics: dict[str, Any]
    saved: Path | None
    seconds: float


def single_params(spec: Spec) -> tuple[dict[str, Any], list[str]]:
    """Every parameter's value: fixed ones as given, tuned ones at the centre (u = 0.5)."""
    space = spec.space
    centre = {name: 0.5 for name in space.tuned_names}  # a conditional space: that branch
    active = [n for n in space.active_names(centre) if space.params[n].tuned]
    unit = {n: centre[n] for n in active}
    return space.to_values(unit), [space.name_of(n) for n in active]


def train_spec(
    spec: Spec,
    *,
    tracking_uri: str | None = None,
    save: str | Path | None = None,
    seed: int | None = None,
    device: str | None = None,
    out: TextIO | None = None,
) -> TrainOutcome:
    """Train the spec's configuration once, log it to MLflow, optionally save the state dict."""
    out = out or sys.stdout
    console = Console(file=out, highlight=False, soft_wrap=True)
    started = time.monotonic()
    workload, params, centred = _checked(spec)
    save_path = _check_save(save)
    if centred:
        console.print(
            f"note: {spec.source} tunes {', '.join(centred)}; training once at the centre of "
            f"each range: {fmt_params(params, centred)}"
        )
    source = prepare_data(spec)
    console.print(f"data: {source.description}")
    uri = resolve_tracking_uri(tracking_uri, spec.model.tracking.uri)
    client = open_store(uri)
    experiment_id = ensure_experiment(client, uri, spec.experiment)
    seed = spec.model.search.seed if seed is None else seed
    setup = {
        "workload": workload.name,
        "dataset": spec.data.dataset,
        "epochs": spec.epochs,
        "seed": seed,
        "device": device or ("cuda" if torch.cuda.is_available() else "cpu"),
    }
    log = TrainRun.start(client, experiment_id, spec, params, centred, setup, source.kind)
    console.print(f"tracking: {display_uri(uri)} (experiment {spec.experiment}, run {log.run_id})")
    status, error = "FAILED", None
    try:
        last = _train_logged(spec, workload, params, source, seed, device, log, console, save_path)
        status = "FINISHED"
    except TrialDiverged as exc:
        error = str(exc)
        raise TrainFailed(f"training diverged: {exc} (run {log.run_id}, status FAILED)") from None
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        log.end(status, error)
    if save_path is not None:
        log.model(save_path)
    seconds = time.monotonic() - started
    outcome = TrainOutcome(
        log.run_id, spec.experiment, uri, params, centred, last, save_path, seconds
    )
    _print_outcome(console, outcome)
    return outcome


def _checked(spec: Spec) -> tuple[ModelWorkload, dict[str, Any], list[str]]:
    """The model workload searcher trains, and the params it accepts (centred where tuned)."""
    workload = spec.workload
    if not isinstance(workload, ModelWorkload):  # what searcher train trains
        raise SpecError(
            spec.source,
            "workload",
            f"expected a built-in workload for searcher train, got {workload.name}; "
            "run your own code directly with the exported values",
        )
    params, centred = single_params(spec)
    try:
        check_params(workload.defaults, params)
    except ParamError as exc:
        raise SpecError(spec.source, f"space.{exc.name}", exc.message) from None
    return workload, params, centred


def _train_logged(
    spec: Spec,
    workload: ModelWorkload,
    params: dict[str, Any],
    source: DataSource,
    seed: int,
    device: str | None,
    log: TrainRun,
    console: Console,
    save_path: Path | None,
) -> dict[str, Any]:
    """trials.train.train with each epoch logged and shown; the model saved when asked."""
    epochs = spec.epochs or 1
    with _bar(console) as bar:
        task = bar.add_task("training", total=epochs)

        def report(metrics: dict[str, Any]) -> None:
            step = int(metrics["epoch"])
            log.epoch(step, {k: v for k, v in metrics.items() if k != "epoch"})
            shown = " ".join(f"{k}={metrics[k]:.4f}" for k in SHOWN)
            bar.console.print(f"epoch {step}/{epochs}: {shown}")
            bar.update(task, advance=1)

        def keep(model: nn.Module) -> None:
            if save_path is not None:
                _save_state(model, save_path)

        return train(
            workload,
            params,
            spec.data,
            source,
            epochs,
            seed,
            report,
            device=device,
            on_trained=keep,
        )


def _check_save(save: str | Path | None) -> Path | None:
    """Fail before training, not after, if the model could not be written."""
    if save is None:
        return None
    path = Path(save).expanduser().resolve()
    if not path.parent.is_dir():
        raise SearcherError(f"--save: directory {path.parent} does not exist")
    return path


def _save_state(model: nn.Module, path: Path) -> None:
    """The state dict on the CPU (loadable anywhere), written atomically."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    write_atomic(path, lambda handle: torch.save(state, handle))


def _bar(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("epochs"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _print_outcome(console: Console, outcome: TrainOutcome) -> None:
    shown = " ".join(f"{k}={outcome.metrics[k]:.4f}" for k in SHOWN)
    console.print(f"trained in {fmt_duration(outcome.seconds)}: {shown}")
    if outcome.saved is not None:
        console.print(f"saved state dict to {outcome.saved}")
    console.print(f"run: {outcome.run_id}  (experiment {outcome.experiment})")
