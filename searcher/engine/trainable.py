"""The function Ray Tune runs for each trial: the workload's training, on what Ray assigned."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from searcher.engine.protocol import (
    ENDED,
    FAILED,
    OUTPUT,
    PLACEMENT,
    REPORTED_AT,
    Placement,
    TrialConfig,
)
from trials.command import CapturedOutput, build_argv, run_command
from trials.config import DataConfig, DataSource
from trials.errors import CommandFailed, TrialDiverged
from trials.user_code import CommandWorkload, FunctionWorkload, add_code_dirs, failure_text

Report = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class TrialJob:
    """What every trial of a search shares; shipped once to the workers.

    ``workload`` is a built-in's name (or ``module:Workload``), or the user's function or
    command; ``code_dirs`` go first on the worker's sys.path so the user's modules import.
    """

    workload: str | FunctionWorkload | CommandWorkload
    metric: str
    epochs: int | None
    seed: int
    cpus: float
    code_dirs: tuple[str, ...] = ()
    data: DataConfig | None = None
    source: DataSource | None = None


def placement(cpus: float, builtin: bool) -> Placement:
    """The device and thread count for a trial from what Ray gave it (GPU ids, CPUs)."""
    import ray

    gpu_ids = [str(g) for g in ray.get_gpu_ids()]
    device = "cuda" if gpu_ids else "cpu"
    if gpu_ids and builtin:  # the user's own code picks its device itself
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    return {
        "device": device,
        "threads": max(1, int(cpus)),
        "gpu_ids": ",".join(gpu_ids),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES", ""),
        "node_id": ray.get_runtime_context().get_node_id(),
        "node_ip": ray.util.get_node_ip_address(),
        "hostname": socket.gethostname(),
    }


def stop_requested() -> bool:
    """Whether Tune asked this trial to stop (early stopping, the end of the search).

    Tune tells a function trainable at its next report; a command that prints nothing for a
    while is asked here instead. Ray's session is internal API, so any surprise reads as no.
    """
    try:
        from ray.train._internal.session import get_session

        session = get_session()
        return bool(session is not None and session.stop_event.is_set())
    except Exception:
        return False


def run_trial(config: dict[str, Any], job: TrialJob) -> None:
    """Run one trial and report each epoch; a failure is reported, not raised.

    Reporting the failure keeps the worker process (and its cached data) alive for the next
    trial, where raising would make Ray tear the actor down.
    """
    from ray import tune

    add_code_dirs(job.code_dirs)
    trial = TrialConfig.from_dict(config)
    where = placement(job.cpus, isinstance(job.workload, str))
    # Where the trial ran and when, sent once with the first report (the driver tags the run).
    first: dict[str, Any] = {PLACEMENT: {**where, "started_at": time.time()}}

    def report(metrics: dict[str, Any]) -> None:
        tune.report({**metrics, **first, REPORTED_AT: time.time()})
        first.clear()

    if isinstance(job.workload, CommandWorkload):
        _run_command(job, trial, report)
    elif isinstance(job.workload, FunctionWorkload):
        try:
            job.workload.run(trial.params, report)
        except Exception as exc:  # the user's code failed: this trial fails, the search goes on
            report({FAILED: failure_text(exc)})
            return
        report({ENDED: True})
    else:
        _run_builtin(job, trial, where, report)


def _run_builtin(job: TrialJob, trial: TrialConfig, where: Placement, report: Report) -> None:
    from trials.train import derive_seed, train

    assert isinstance(job.workload, str) and job.data is not None and job.source is not None
    assert job.epochs is not None
    try:
        train(
            job.workload,
            trial.params,
            job.data,
            job.source,
            job.epochs,
            derive_seed(job.seed, trial.key),
            report,
            device=where["device"],
            threads=where["threads"],
        )
    except TrialDiverged as exc:
        report({FAILED: str(exc)})
    except Exception as exc:  # reported, not raised: an error Tune sees means the worker died
        report({FAILED: failure_text(exc)})


def _run_command(job: TrialJob, trial: TrialConfig, report: Report) -> None:
    """The command with the trial's arguments; what it printed rides along with each report."""
    workload = job.workload
    assert isinstance(workload, CommandWorkload)
    output = CapturedOutput()
    sent = {"stdout": 0, "stderr": 0}

    def new_output() -> dict[str, str]:
        chunk = {}
        for stream in sent:
            lines = getattr(output, stream)
            chunk[stream] = "".join(lines[sent[stream] :])
            sent[stream] = len(lines)
        return chunk

    env = {**os.environ, "SEARCHER_TRIAL_KEY": trial.key}
    try:
        run_command(
            build_argv(workload.command, trial.params),
            cwd=workload.cwd,
            env=env,
            report=lambda metrics: report({**metrics, OUTPUT: new_output()}),
            metric=job.metric,
            should_stop=stop_requested,
            output=output,
        )
    except CommandFailed as exc:
        report({FAILED: exc.reason, OUTPUT: new_output()})
        return
    report({ENDED: True, OUTPUT: new_output()})
