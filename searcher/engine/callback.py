"""Driver-side Tune callback: turns trial events into MLflow runs and progress lines."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ray.tune import Callback
from ray.tune.result import AUTO_RESULT_KEYS

from search_spaces.space import SearchSpace
from searcher.param_mirror import numeric_mirrors
from searcher.progress import ProgressPrinter
from searcher.run_recorder import RunRecorder
from searcher.trainable import PLACEMENT_KEY
from searcher.tune_adapter import FAILED_KEY, StrategySearcher

_SKIP = set(AUTO_RESULT_KEYS) | {"done", "epoch", "reported_at", "trial_id", "experiment_tag"}


class TrackingCallback(Callback):
    """Logs each trial as a nested run and prints a line when it ends.

    Status: FAILED when the trial raised or reported a failure, KILLED when it stopped before
    its epoch budget (early stopping), FINISHED otherwise.
    """

    def __init__(
        self,
        recorder: RunRecorder,
        searcher: StrategySearcher,
        space: SearchSpace,
        epochs: int,
        progress: ProgressPrinter,
    ) -> None:
        self.recorder, self.searcher, self.space = recorder, searcher, space
        self.epochs, self.progress = epochs, progress
        self.failed: dict[str, str] = {}
        self.epochs_done: dict[str, int] = {}
        self.ended: set[str] = set()
        self.started: dict[str, Any] = {}
        self.last_report: dict[str, float] = {}

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles its callbacks with the experiment; the store client, the writer thread
        # and the console belong to this process only.
        skip = ("recorder", "progress", "searcher", "started")
        return {k: v for k, v in self.__dict__.items() if k not in skip}

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.started[trial.trial_id] = trial
        cfg = trial.config
        numeric = numeric_mirrors(self.space, cfg["params"], cfg["unit"])
        self.recorder.trial_started(cfg["key"], cfg["stage"], cfg["params"], numeric)
        self.progress.trial_started(cfg["key"], cfg["stage"], cfg["params"])

    def on_trial_result(
        self, iteration: int, trials: list, trial: Any, result: dict, **info: Any
    ) -> None:
        key = trial.config["key"]
        if PLACEMENT_KEY in result:
            self.recorder.trial_tags(key, placement_tags(result[PLACEMENT_KEY]))
        if "reported_at" in result:
            self.last_report[trial.trial_id] = float(result["reported_at"])
        if FAILED_KEY in result:
            self.failed[trial.trial_id] = str(result[FAILED_KEY])
            return
        step = int(result.get("epoch") or result.get("training_iteration") or 0)
        self.epochs_done[trial.trial_id] = step
        metrics = {
            name: float(value)
            for name, value in result.items()
            if name not in _SKIP and _number(value) and math.isfinite(value)
        }
        self.recorder.trial_metrics(key, step, metrics)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        reason = self.failed.get(trial.trial_id)
        if reason:
            self._end(trial, "FAILED", reason)
        elif self.epochs_done.get(trial.trial_id, 0) < self.epochs:
            self._end(trial, "KILLED", None)
        else:
            self._end(trial, "FINISHED", None)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._end(trial, "FAILED", _error_text(trial))

    def _end(self, trial: Any, status: str, error: str | None) -> None:
        if trial.trial_id in self.ended:
            return
        self.ended.add(trial.trial_id)
        cfg = trial.config
        score = self.searcher.score(trial.trial_id)
        if score is not None:
            prefix = "best_" + self.searcher.score_metric
            self.recorder.trial_metrics(
                cfg["key"], self.epochs_done.get(trial.trial_id, 0), {prefix: score}
            )
        if trial.trial_id in self.last_report:
            ended = {"searcher.ended_at": f"{self.last_report[trial.trial_id]:.3f}"}
            self.recorder.trial_tags(cfg["key"], ended)
        self.recorder.trial_ended(cfg["key"], status, error)
        self.progress.trial_done(cfg["key"], cfg["params"], score, status, error)

    def mark_unfinished(self) -> None:
        """After an interrupt: started trials that never ended are recorded as KILLED."""
        for trial_id, trial in self.started.items():
            if trial_id not in self.ended:
                self._end(trial, "KILLED", "the search was interrupted")


def placement_tags(where: dict[str, Any]) -> dict[str, str]:
    """Run tags saying where a trial ran: node, GPU ids Ray assigned, what CUDA saw, start."""
    return {
        "searcher.node_id": str(where.get("node_id", "")),
        "searcher.node_ip": str(where.get("node_ip", "")),
        "searcher.hostname": str(where.get("hostname", "")),
        "searcher.device": str(where.get("device", "")),
        "searcher.gpu_ids": str(where.get("gpu_ids", "")),
        "searcher.cuda_visible_devices": str(where.get("cuda_visible_devices", "")),
        "searcher.started_at": f"{float(where.get('started_at', 0)):.3f}",
    }


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _error_text(trial: Any) -> str:
    """The last lines of the trial's traceback (Ray writes it to a file)."""
    path = getattr(trial, "error_file", None)
    if path and Path(path).exists():
        lines = [line for line in Path(path).read_text().splitlines() if line.strip()]
        tail = [line for line in lines if not line.startswith(" ")]
        return (tail[-1] if tail else lines[-1]).strip() if lines else "the trial raised an error"
    return "the trial raised an error"
