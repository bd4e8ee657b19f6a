"""The one place a trial's outcome is decided, and published as events to the sinks.

Tune's callback feeds it what Tune sees (a trial started, reported, was recovered, ended);
it keeps one record per trial, decides the verdict exactly once when the trial ends, and
publishes ``searcher.events`` in order. Nothing else decides a status or a reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from search_spaces.trial import Trial, better
from searcher.engine.protocol import Received
from searcher.events import (
    Publisher,
    StageStarted,
    Tick,
    TrialEnded,
    TrialOutput,
    TrialPlaced,
    TrialReported,
    TrialRetried,
    TrialStarted,
    Verdict,
)

INTERRUPTED = "the search was interrupted"


@dataclass
class TrialRecord:
    """What is known of one trial while it runs."""

    trial: Trial
    started: bool = False
    best: float | None = None
    steps: int = 0
    failure: str | None = None
    reported_at: float | None = None
    reported: set[str] = field(default_factory=set)
    ended_itself: bool = False
    attempts: int = 1
    ended: bool = False


class TrialOutcomes:
    """Trial records by Tune's trial id; every change published to the sinks."""

    def __init__(self, metric: str, mode: str, epochs: int | None, publisher: Publisher) -> None:
        self.metric, self.mode, self.epochs = metric, mode, epochs
        self.publisher = publisher
        self.records: dict[str, TrialRecord] = {}
        self.statuses: dict[str, str] = {}  # key -> status, for every ended trial
        self.halted: str | None = None  # why the search was stopped from outside, if it was

    # --- what Tune's plug-ins tell -------------------------------------------------------
    def suggested(self, trial_id: str, trial: Trial) -> None:
        self.records.setdefault(trial_id, TrialRecord(trial))

    def stage_started(self, stage: int, trials: int, ranges: dict[str, str] | None) -> None:
        self.publisher.publish(StageStarted(stage, trials, ranges))

    def started(self, trial_id: str) -> None:
        record = self.records.get(trial_id)
        if record is None or record.started:
            return  # Tune starts a recovered trial again: it keeps its run
        record.started = True
        self.publisher.publish(TrialStarted(record.trial))

    def reported(self, trial_id: str, received: Received) -> None:
        record = self.records.get(trial_id)
        if record is None or record.ended:
            return
        key, control = record.trial.key, received.control
        if control.placement is not None:
            self.publisher.publish(TrialPlaced(key, control.placement))
        if control.output:
            self.publisher.publish(TrialOutput(key, control.output))
        if control.reported_at is not None:
            record.reported_at = control.reported_at
        record.ended_itself |= control.ended
        if control.failed is not None:
            record.failure = control.failed
            return
        if not received.metrics:
            return
        record.steps = max(record.steps, received.step)
        record.reported.update(received.metrics)
        value = received.metrics.get(self.metric)
        if value is not None and (record.best is None or better(value, record.best, self.mode)):
            record.best = value
        self.publisher.publish(TrialReported(key, received.step, received.metrics))

    def retried(self, trial_id: str, reason: str) -> None:
        """The worker died (not the trial's code): Tune runs it again from the start."""
        record = self.records.get(trial_id)
        if record is None or record.ended:
            return
        attempts = record.attempts + 1
        fresh = TrialRecord(record.trial, started=record.started, attempts=attempts)
        self.records[trial_id] = fresh
        if record.started:  # a worker that never started the trial has nothing to record
            self.publisher.publish(TrialRetried(record.trial.key, attempts - 1, reason))

    def ended(self, trial_id: str, error: str | None = None) -> None:
        """The trial is over (``error``: the worker's error, when Tune saw one): decide once."""
        record = self.records.get(trial_id)
        if record is None or record.ended:
            return
        if not record.started:
            if error is None:  # stopped before it ran: nothing to record, resume runs it
                record.ended = True
                return
            self.started(trial_id)  # its worker failed before it could start: a FAILED run
        record.ended = True
        self._publish_end(record, self._decide(record, error))

    def interrupted(self) -> None:
        """The search stopped: trials that started and never ended are KILLED (resume redoes
        them)."""
        reason = INTERRUPTED if self.halted is None else self._halt_reason
        for record in self.records.values():
            if record.started and not record.ended:
                record.ended = True
                self._publish_end(record, Verdict("KILLED", None, reason))

    def halt(self, reason: str) -> None:
        """The search is being stopped from outside (its store failed): trials Tune now ends
        without an end of their own are KILLED, as an interrupt's are (resume redoes them)."""
        self.halted = reason

    @property
    def _halt_reason(self) -> str:
        return f"the search stopped: {self.halted}"

    def tick(self) -> None:
        self.publisher.publish(Tick())

    # --- the decision ---------------------------------------------------------------------
    def _decide(self, record: TrialRecord, error: str | None) -> Verdict:
        """FAILED: the trial reported a failure, the worker raised (``error``), or it never
        reported the metric. Else FINISHED, marked ``stopped_early`` when it stopped before
        its epoch budget without ending by itself (the scheduler pruned it: a result, not a
        crash, so KILLED stays reserved for trials an interrupted search cut short). The score
        is the best epoch value; a FAILED trial has none."""
        if record.failure is not None:  # said by the trial itself: any error follows from it
            return Verdict("FAILED", None, record.failure)
        if self.halted is not None and error is None and not record.ended_itself:
            return Verdict("KILLED", None, self._halt_reason)
        if error is not None:
            return Verdict("FAILED", None, error)
        if record.best is None:
            said = ", ".join(sorted(record.reported)) or "nothing"
            reason = f"no {self.metric} was reported (reported: {said})"
            return Verdict("FAILED", None, reason, missing_metric=True, reported=said)
        early = self.epochs is not None and record.steps < self.epochs and not record.ended_itself
        reason = f"stopped early after {record.steps} of {self.epochs} epochs" if early else None
        return Verdict("FINISHED", record.best, reason, stopped_early=early)

    def _publish_end(self, record: TrialRecord, verdict: Verdict) -> None:
        self.statuses[record.trial.key] = verdict.status
        event = TrialEnded(record.trial, verdict, record.best, record.steps, record.reported_at)
        self.publisher.publish(event)
