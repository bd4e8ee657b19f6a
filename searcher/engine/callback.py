"""Driver-side Tune callback: turns trial events into MLflow runs and progress lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ray.tune import Callback
from ray.tune.experiment import Trial

from search_spaces.space import SearchSpace
from searcher.console.lines import ProgressPrinter
from searcher.engine.protocol import (
    FAILED,
    OUTPUT,
    PLACEMENT,
    RAISED,
    Placement,
    Status,
    TrialBook,
    metrics_of,
    step_of,
)
from searcher.tracking import tags as T
from searcher.tracking.mirrors import numeric_mirrors
from searcher.tracking.recorder import RunRecorder


class TrackingCallback(Callback):
    """Logs each trial as a nested run and prints a line when it ends.

    The status comes from the trial book the Searcher adapter shares: FAILED when the trial
    raised, reported a failure or never reported the metric; FINISHED otherwise (tagged when
    the scheduler stopped it early); KILLED only when the search was interrupted.
    """

    def __init__(
        self,
        recorder: RunRecorder,
        book: TrialBook,
        space: SearchSpace,
        progress: ProgressPrinter,
    ) -> None:
        self.recorder, self.book, self.space, self.progress = recorder, book, space, progress
        self.ended: set[str] = set()
        self.started: dict[str, Trial] = {}
        self.retries: dict[str, int] = {}
        # Ended trials whose line waits until their run is in the store.
        self.unconfirmed: dict[str, tuple[dict[str, Any], float | None, str, str | None]] = {}

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles its callbacks with the experiment; the store client, the writer thread
        # and the console belong to this process only.
        skip = ("recorder", "progress", "started", "unconfirmed")
        return {k: v for k, v in self.__dict__.items() if k not in skip}

    def on_trial_start(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        record = self.book.get(trial.trial_id)
        if record is None or trial.trial_id in self.started:
            return  # Tune starts a recovered trial again: it keeps its run
        self.started[trial.trial_id] = trial
        cfg = record.config
        numeric = numeric_mirrors(self.space, cfg.params, cfg.unit)
        self.recorder.trial_started(cfg.key, cfg.stage, cfg.params, numeric)
        self.progress.trial_started(cfg.key, cfg.stage, cfg.params)

    def on_trial_result(
        self,
        iteration: int,
        trials: list[Trial],
        trial: Trial,
        result: dict[str, Any],
        **info: Any,
    ) -> None:
        record = self.book.get(trial.trial_id)
        if record is None:
            return
        self.book.observe(trial.trial_id, result)
        key = record.config.key
        if PLACEMENT in result:
            self.recorder.trial_tags(key, placement_tags(result[PLACEMENT]))
        if OUTPUT in result:
            self.recorder.trial_output(key, result[OUTPUT])
        if FAILED in result:
            return
        metrics = metrics_of(result, self.book.ignore)
        if metrics:
            self.recorder.trial_metrics(key, step_of(result), metrics)

    def on_trial_recover(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        """The trial's worker died (not its code: that is reported as a failure), and Tune
        runs it again from the start under the same key and run."""
        record = self.book.get(trial.trial_id)
        if record is None:
            return
        self.book.restart(trial.trial_id)
        self.retries[trial.trial_id] = self.retries.get(trial.trial_id, 0) + 1
        why = _error_text(trial)
        self.recorder.trial_tags(
            record.config.key,
            {T.RETRIES: str(self.retries[trial.trial_id]), T.RETRIED_AFTER: why},
        )
        self.progress.say(f"trial {record.config.key}: its worker died ({why}); running it again")

    def on_trial_complete(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self._end(trial.trial_id)

    def on_trial_error(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self._end(trial.trial_id, _error_text(trial))

    def _end(self, trial_id: str, raised: str | None = None, interrupted: bool = False) -> None:
        """Record how a trial ended, as the book decides it; ``raised``: the error's last line.

        The best epoch value is kept on the run even when the trial failed later (a loss that
        diverged at epoch 5 still shows how far it got), but a failed trial has no score.
        """
        record = self.book.get(trial_id)
        if trial_id in self.ended or record is None:
            return
        self.ended.add(trial_id)
        key = record.config.key
        if record.best is not None:
            self.recorder.trial_metrics(
                key, record.steps, {T.best_metric(self.book.metric): record.best}
            )
        if record.reported_at is not None:
            self.recorder.trial_tags(key, {T.ENDED_AT: f"{record.reported_at:.3f}"})
        status: Status
        if interrupted:
            status, reason = "KILLED", "the search was interrupted"
        else:
            verdict = self.book.verdict(trial_id, RAISED if raised else None)
            self.book.end(verdict)
            status, reason = verdict.status, raised or verdict.reason
            if verdict.stopped_early:
                self.recorder.trial_tags(key, {T.STOPPED_EARLY: "true"})
                reason = f"stopped early after {record.steps} of {self.book.epochs} epochs"
        self.recorder.trial_ended(key, status, reason)
        self.unconfirmed[key] = (record.config.params, record.best, status, reason)

    def on_step_end(self, iteration: int, trials: list[Trial], **info: Any) -> None:
        self.print_stored()

    def print_stored(self, final: bool = False) -> None:
        """Print the trials whose end the store now holds; ``final``: the recorder is closed,
        so any still unconfirmed are said to be missing from the store."""
        while not self.recorder.stored.empty():
            key, failed = self.recorder.stored.get()
            if key in self.unconfirmed:
                params, best, status, reason = self.unconfirmed.pop(key)
                if failed:
                    reason = f"{reason + '; ' if reason else ''}not in the store: {failed}"
                self.progress.trial_done(key, params, best, status, reason)
        if final:
            for key, (params, best, status, reason) in list(self.unconfirmed.items()):
                note = "not in the store: its writing did not finish"
                self.progress.trial_done(key, params, best, status, f"{reason}; {note}")
            self.unconfirmed.clear()

    def mark_unfinished(self) -> None:
        """After an interrupt: started trials that never ended are recorded as KILLED."""
        for trial_id in self.started:
            self._end(trial_id, interrupted=True)


def placement_tags(where: Placement) -> dict[str, str]:
    """Run tags saying where a trial ran: node, GPU ids Ray assigned, what CUDA saw, start."""
    return {
        T.NODE_ID: str(where.get("node_id", "")),
        T.NODE_IP: str(where.get("node_ip", "")),
        T.HOSTNAME: str(where.get("hostname", "")),
        T.DEVICE: str(where.get("device", "")),
        T.GPU_IDS: str(where.get("gpu_ids", "")),
        T.CUDA_VISIBLE_DEVICES: str(where.get("cuda_visible_devices", "")),
        T.STARTED_AT: f"{float(where.get('started_at', 0)):.3f}",
    }


def _error_text(trial: Trial) -> str:
    """The last lines of the trial's traceback (Ray writes it to a file)."""
    path = getattr(trial, "error_file", None)
    if path and Path(path).exists():
        lines = [line for line in Path(path).read_text().splitlines() if line.strip()]
        tail = [line for line in lines if not line.startswith(" ")]
        return (tail[-1] if tail else lines[-1]).strip() if lines else "the trial raised an error"
    return "the trial raised an error"
