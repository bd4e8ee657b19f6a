"""The Tune callback that tells the outcome pipeline what Tune sees; it decides nothing itself.

Callbacks get every result, the one a scheduler stops a trial on included, and hear of every
end (``on_trial_complete`` / ``on_trial_error``, with the error file), so the pipeline is fed
from here alone and never depends on the order Tune calls its plug-ins in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ray.tune import Callback
from ray.tune.experiment import Trial

from searcher.engine.outcomes import TrialOutcomes
from searcher.engine.protocol import unpack

RAISED = "the trial raised an error"  # when the worker's error file says nothing more


class OutcomeListener(Callback):
    """Forwards Tune's trial events to the pipeline."""

    def __init__(self, outcomes: TrialOutcomes) -> None:
        self.outcomes = outcomes

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles its callbacks with the experiment; the sinks belong to this process.
        return {}

    def on_trial_start(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self.outcomes.started(trial.trial_id)

    def on_trial_result(
        self, iteration: int, trials: list[Trial], trial: Trial, result: dict[str, Any], **info: Any
    ) -> None:
        received = unpack(result)
        if received.control.ends_worker:
            never_again(trial)
        self.outcomes.reported(trial.trial_id, received)

    def on_trial_recover(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self.outcomes.retried(trial.trial_id, error_text(trial))

    def on_trial_complete(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self.outcomes.ended(trial.trial_id)

    def on_trial_error(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self.outcomes.ended(trial.trial_id, error_text(trial))

    def on_step_end(self, iteration: int, trials: list[Trial], **info: Any) -> None:
        self.outcomes.tick()


def never_again(trial: Trial) -> None:
    """Tune is not to run this trial again when its worker ends, as a dead worker's would be:
    the failure it reported is its outcome (Tune retries while failures <= max_failures)."""
    metadata = getattr(trial, "run_metadata", None)
    if hasattr(trial, "max_failures") and hasattr(metadata, "num_failures"):
        trial.max_failures = metadata.num_failures


def error_text(trial: Trial) -> str:
    """The last lines of the trial's traceback (Ray writes it to a file)."""
    path = getattr(trial, "error_file", None)
    if path and Path(path).exists():
        lines = [line for line in Path(path).read_text().splitlines() if line.strip()]
        tail = [line for line in lines if not line.startswith(" ")]
        return (tail[-1] if tail else lines[-1]).strip() if lines else RAISED
    return RAISED
