"""The function Ray Tune runs for each trial: the workload's training, on what Ray assigned."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from typing import Any

from searcher.engine.protocol import FAILED, PLACEMENT, REPORTED_AT, TrialConfig
from trials.config import DataConfig, DataSource
from trials.errors import TrialDiverged
from trials.train import derive_seed, train


@dataclass(frozen=True)
class TrialJob:
    """What every trial of a search shares; shipped once to the workers."""

    workload: str
    data: DataConfig
    source: DataSource
    epochs: int
    seed: int
    cpus: float


def placement(cpus: float) -> dict[str, Any]:
    """The device and thread count for a trial from what Ray gave it (GPU ids, CPUs)."""
    import ray
    import torch

    gpu_ids = [str(g) for g in ray.get_gpu_ids()]
    device = "cuda" if gpu_ids and torch.cuda.is_available() else "cpu"
    return {
        "device": device,
        "threads": max(1, int(cpus)),
        "gpu_ids": ",".join(gpu_ids),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES", ""),
        "node_id": ray.get_runtime_context().get_node_id(),
        "node_ip": ray.util.get_node_ip_address(),
        "hostname": socket.gethostname(),
    }


def run_trial(config: dict[str, Any], job: TrialJob) -> None:
    """Train one trial and report each epoch; a diverged loss is reported, not raised.

    Reporting the failure keeps the worker process (and its cached data) alive for the next
    trial, where raising would make Ray tear the actor down.
    """
    from ray import tune

    trial = TrialConfig.from_dict(config)
    where = placement(job.cpus)
    # Where the trial ran and when, sent once with the first epoch (the driver tags the run).
    first: dict[str, Any] = {PLACEMENT: {**where, "started_at": time.time()}}

    def report(metrics: dict[str, Any]) -> None:
        tune.report({**metrics, **first, REPORTED_AT: time.time()})
        first.clear()

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
        tune.report({FAILED: str(exc), **first, REPORTED_AT: time.time()})
