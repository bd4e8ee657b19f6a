"""The trial protocol: what a trial is given, what it reports, and how its outcome is decided.

A trial receives a ``TrialConfig`` (as the dict Tune carries) and reports dicts of metrics; the
keys below are the only ones that are not metrics. The Searcher adapter and the tracking
callback share one ``TrialBook``, so a trial's score and status are decided once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from search_spaces.trial import Trial as Suggestion
from search_spaces.trial import better

# Report keys that are not metrics.
FAILED = "trial_failed"  # the trial failed (with this reason) but kept its worker alive
PLACEMENT = "placement"  # where the trial runs, sent with its first report
REPORTED_AT = "reported_at"  # wall-clock time of the report, in the worker
EPOCH = "epoch"  # the step a report belongs to
ENDED = "trial_ended"  # the user's code returned by itself (so it was not stopped early)
OUTPUT = "trial_output"  # what a command printed since the last report: {"stdout": …, …}
RESERVED = frozenset({FAILED, PLACEMENT, REPORTED_AT, EPOCH, ENDED, OUTPUT})
RAISED = "the trial raised an error"  # the reason when a trial raised and nothing more is known
TUNE_ITERATION = "training_iteration"  # Tune's count of reports: the step when no epoch is given

Status = Literal["FINISHED", "FAILED", "KILLED"]


class Placement(TypedDict, total=False):
    """Where a trial runs (what Ray assigned and what the process sees), sent once."""

    device: str
    threads: int
    gpu_ids: str
    cuda_visible_devices: str
    node_id: str
    node_ip: str
    hostname: str
    started_at: float


@dataclass(frozen=True)
class TrialConfig:
    """One trial: its stable key, stage, values and unit coordinates."""

    key: str
    stage: int
    params: dict[str, Any]
    unit: dict[str, float]

    @classmethod
    def of(cls, suggestion: Suggestion) -> TrialConfig:
        return cls(suggestion.key, suggestion.stage, dict(suggestion.params), dict(suggestion.unit))

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
    missing_metric: bool = False  # failed only because the spec's metric never came
    reported: str = ""  # then: the metric names it did report
    stopped_early: bool = False  # FINISHED before its epoch budget: the scheduler stopped it


@dataclass
class TrialRecord:
    """What is known of one running trial: its best score, steps done, failure, last report."""

    config: TrialConfig
    best: float | None = None
    steps: int = 0
    failure: str | None = None
    reported_at: float | None = None
    reported: set[str] = field(default_factory=set)
    ended_itself: bool = False
    verdict: Verdict | None = None  # decided once, when the trial ends


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
        # Tune hands the Searcher flattened results ("placement/node_id", "config/params/lr").
        if name.split("/")[0] not in skip and _number(value) and math.isfinite(value)
    }


class TrialBook:
    """One record per trial id, and the one place a trial's outcome is decided."""

    def __init__(
        self, metric: str, mode: str, epochs: int | None, ignore: frozenset[str] = frozenset()
    ) -> None:
        self.metric, self.mode, self.epochs = metric, mode, epochs
        # Keys the engine adds to every report (timings, ids): never named as a trial's metrics.
        self.ignore = RESERVED | ignore
        self.records: dict[str, TrialRecord] = {}
        self.ended: list[Verdict] = []  # in the order trials ended

    def open(self, trial_id: str, config: TrialConfig) -> TrialRecord:
        record = self.records.get(trial_id)
        if record is None:
            record = self.records[trial_id] = TrialRecord(config)
        return record

    def get(self, trial_id: str) -> TrialRecord | None:
        return self.records.get(trial_id)

    def restart(self, trial_id: str) -> None:
        """Forget what a trial reported: Tune runs it again from the start (its worker died)."""
        record = self.records.get(trial_id)
        if record is not None:
            self.records[trial_id] = TrialRecord(record.config)

    def observe(self, trial_id: str, result: dict[str, Any]) -> None:
        """Take in one report; seeing the same report twice changes nothing."""
        record = self.records.get(trial_id)
        if record is None:
            return
        if REPORTED_AT in result:
            record.reported_at = float(result[REPORTED_AT])
        if result.get(ENDED):
            record.ended_itself = True
        if FAILED in result:
            record.failure = str(result[FAILED])
            return
        record.steps = max(record.steps, step_of(result))
        record.reported.update(metrics_of(result, self.ignore))
        value = result.get(self.metric)
        if _number(value) and math.isfinite(value):
            old = record.best
            if old is None or better(value, old, self.mode):
                record.best = float(value)

    def verdict(self, trial_id: str, error: str | None = None) -> Verdict:
        """How the trial ended, decided on the first call and the same on every later one.

        FAILED: it raised (``error``), reported a failure, or never reported the metric. Else
        FINISHED, marked ``stopped_early`` when it stopped before its epoch budget without
        ending by itself (the scheduler pruned it: a result, not a crash, so KILLED stays
        reserved for trials an interrupted search cut short, which resume runs again). The
        score is the best epoch value; a FAILED trial has none.
        """
        record = self.records[trial_id]
        if record.verdict is None:
            record.verdict = self._decide(record, error)
        return record.verdict

    def _decide(self, record: TrialRecord, error: str | None) -> Verdict:
        if error is not None:
            return Verdict("FAILED", None, error)
        if record.failure is not None:
            return Verdict("FAILED", None, record.failure)
        if record.best is None:
            said = ", ".join(sorted(record.reported)) or "nothing"
            reason = f"no {self.metric} was reported (reported: {said})"
            return Verdict("FAILED", None, reason, missing_metric=True, reported=said)
        early = self.epochs is not None and record.steps < self.epochs and not record.ended_itself
        return Verdict("FINISHED", record.best, stopped_early=early)

    def end(self, verdict: Verdict) -> None:
        """Note that a trial ended with this verdict (the tracking side calls it once)."""
        self.ended.append(verdict)

    def metric_never_comes(self, first: int) -> str | None:
        """Why to stop the search: the first ``first`` trials all ended without the metric."""
        head = self.ended[:first]
        if first < 1 or len(head) < first or not all(v.missing_metric for v in head):
            return None
        return (
            f"the first {first} trials ended without reporting the metric {self.metric} (the "
            f"last one reported: {head[-1].reported}); check metric.name in the spec against "
            "what the workload reports"
        )
