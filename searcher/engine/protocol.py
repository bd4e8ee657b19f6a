"""The trial protocol: what a trial is given, what it reports, and how its outcome is decided.

A trial receives a ``TrialConfig`` (as the dict Tune carries) and reports dicts of metrics; the
keys below are the only ones that are not metrics. The Searcher adapter and the tracking
callback share one ``TrialBook``, so a trial's score and status are decided once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from search_spaces.strategies.base import Suggestion

# Report keys that are not metrics.
FAILED = "trial_failed"  # the trial failed (with this reason) but kept its worker alive
PLACEMENT = "placement"  # where the trial runs, sent with its first report
REPORTED_AT = "reported_at"  # wall-clock time of the report, in the worker
EPOCH = "epoch"  # the step a report belongs to
RESERVED = frozenset({FAILED, PLACEMENT, REPORTED_AT, EPOCH})
TUNE_ITERATION = "training_iteration"  # Tune's count of reports: the step when no epoch is given

Status = Literal["FINISHED", "FAILED", "KILLED"]


@dataclass(frozen=True)
class TrialConfig:
    """One trial: its stable key, stage, values and unit coordinates."""

    key: str
    stage: int
    params: dict[str, Any]
    unit: dict[str, float]

    @classmethod
    def of(cls, suggestion: Suggestion) -> TrialConfig:
        return cls(suggestion.key, suggestion.stage, dict(suggestion.values), dict(suggestion.unit))

    @classmethod
    def from_dict(cls, config: dict[str, Any]) -> TrialConfig:
        """Back from the plain dict that Tune stores as a trial's config."""
        return cls(config["key"], int(config["stage"]), config["params"], config["unit"])

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "stage": self.stage, "params": self.params, "unit": self.unit}


@dataclass(frozen=True)
class Verdict:
    """How a trial ended: its status, its score (best epoch value) and why it failed."""

    status: Status
    score: float | None
    reason: str | None = None


@dataclass
class TrialRecord:
    """What is known of one running trial: its best score, steps done, failure, last report."""

    config: TrialConfig
    best: float | None = None
    steps: int = 0
    failure: str | None = None
    reported_at: float | None = None
    reported: set[str] = field(default_factory=set)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def step_of(result: dict[str, Any]) -> int:
    """The step a report belongs to: its epoch, else Tune's report count."""
    return int(result.get(EPOCH) or result.get(TUNE_ITERATION) or 0)


def metrics_of(result: dict[str, Any], skip: frozenset[str] = RESERVED) -> dict[str, float]:
    """The finite numeric metrics of a report, without the protocol's own keys."""
    return {
        name: float(value)
        for name, value in result.items()
        if name not in skip and _number(value) and math.isfinite(value)
    }


class TrialBook:
    """One record per trial id, and the one place a trial's outcome is decided."""

    def __init__(
        self, metric: str, mode: str, epochs: int, ignore: frozenset[str] = frozenset()
    ) -> None:
        self.metric, self.mode, self.epochs = metric, mode, epochs
        # Keys the engine adds to every report (timings, ids): never named as a trial's metrics.
        self.ignore = RESERVED | ignore
        self.records: dict[str, TrialRecord] = {}

    def open(self, trial_id: str, config: TrialConfig) -> TrialRecord:
        record = self.records.get(trial_id)
        if record is None:
            record = self.records[trial_id] = TrialRecord(config)
        return record

    def get(self, trial_id: str) -> TrialRecord | None:
        return self.records.get(trial_id)

    def observe(self, trial_id: str, result: dict[str, Any]) -> None:
        """Take in one report; seeing the same report twice changes nothing."""
        record = self.records.get(trial_id)
        if record is None:
            return
        if REPORTED_AT in result:
            record.reported_at = float(result[REPORTED_AT])
        if FAILED in result:
            record.failure = str(result[FAILED])
            return
        record.steps = max(record.steps, step_of(result))
        record.reported.update(metrics_of(result, self.ignore))
        value = result.get(self.metric)
        if _number(value) and math.isfinite(value):
            old = record.best
            if old is None or (value > old if self.mode == "max" else value < old):
                record.best = float(value)

    def verdict(self, trial_id: str, error: str | None = None) -> Verdict:
        """FAILED (raised, reported a failure, or never reported the metric), KILLED (stopped
        before its epoch budget, e.g. by early stopping) or FINISHED."""
        record = self.records[trial_id]
        if error is not None:
            return Verdict("FAILED", None, error)
        if record.failure is not None:
            return Verdict("FAILED", None, record.failure)
        if record.best is None:
            said = ", ".join(sorted(record.reported)) or "nothing"
            return Verdict("FAILED", None, f"no {self.metric} was reported (reported: {said})")
        status: Status = "KILLED" if record.steps < self.epochs else "FINISHED"
        return Verdict(status, record.best)
