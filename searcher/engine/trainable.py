"""The function Ray Tune runs for each trial: the resolved workload, on what Ray assigned."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field, replace
from typing import Any

from search_spaces.trial import Trial
from searcher.engine.protocol import Control, pack
from searcher.events import Placement
from trials.config import DataConfig, DataSource
from trials.limits import LimitExceeded, Limits, run_within
from trials.user_code import add_code_dirs, failure_text
from trials.workload import TrialContext, Workload, derive_seed


@dataclass(frozen=True)
class TrialJob:
    """What every trial of a search shares, shipped once to the workers: the workload itself
    (resolved and checked in the driver), and ``code_dirs`` put first on the worker's sys.path
    for what the user's modules import."""

    workload: Workload
    metric: str
    epochs: int | None
    seed: int
    cpus: float
    code_dirs: tuple[str, ...] = ()
    data: DataConfig | None = None
    source: DataSource | None = None
    limits: Limits = field(default_factory=Limits)


def placement(cpus: float, picks_device: bool) -> Placement:
    """The device and thread count for a trial from what Ray gave it (GPU ids, CPUs);
    ``picks_device``: searcher chooses it (the user's own code picks its device itself)."""
    import ray

    gpu_ids = [str(g) for g in ray.get_gpu_ids()]
    device = "cuda" if gpu_ids else "cpu"
    if gpu_ids and picks_device:
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


class _Sender:
    """Packs each report with its control data; output-only reports wait for the next one."""

    def __init__(self, where: Placement) -> None:
        self.first: Placement | None = {**where, "started_at": time.time()}
        self.output: dict[str, str] = {}

    def __call__(
        self,
        metrics: dict[str, Any],
        *,
        output: dict[str, str] | None = None,
        failed: str | None = None,
        ended: bool = False,
        ends_worker: bool = False,
    ) -> None:
        for stream, text in (output or {}).items():
            self.output[stream] = self.output.get(stream, "") + text
        if not metrics and failed is None and not ended:
            return
        from ray import tune

        control = Control(
            reported_at=time.time(),
            placement=self.first,
            failed=failed,
            ended=ended,
            ends_worker=ends_worker,
            output=self.output,
        )
        tune.report(pack(metrics, control))
        self.first, self.output = None, {}


def run_trial(wire: dict[str, Any], job: TrialJob) -> None:
    """Run one trial and report each epoch; a failure is reported, not raised.

    Reporting the failure keeps the worker process (and its cached data) alive for the next
    trial, where raising would make Ray tear the actor down. A trial past its limits is the
    exception: it is reported, then raised, so that its worker ends (and what it holds with it).
    """
    add_code_dirs(job.code_dirs)
    trial = Trial.from_wire(wire)  # the config Tune carries
    where = placement(job.cpus, picks_device=not job.workload.owns_data)
    context = TrialContext(
        key=trial.key,
        seed=derive_seed(job.seed, trial.key),
        metric=job.metric,
        epochs=job.epochs,
        device=where["device"],
        threads=where["threads"],
        data=job.data,
        source=job.source,
        env={"SEARCHER_TRIAL_KEY": trial.key},
        should_stop=stop_requested,
    )
    send = _Sender(where)
    try:
        if job.limits.any:
            body = lambda stop: job.workload.run(  # noqa: E731
                trial.params, send, replace(context, should_stop=stop)
            )
            run_within(job.limits, body, stop_requested)
        else:
            job.workload.run(trial.params, send, context)
    except LimitExceeded as exc:
        try:
            send({}, failed=exc.reason, ends_worker=True)
        finally:
            raise exc  # noqa: B012 - even when Tune's stop ends the report with SystemExit
    except Exception as exc:  # the trial failed, the search goes on
        send({}, failed=failure_text(exc))
        return
    send({}, ended=True)
