"""A thin Ray Tune ``Searcher`` around a pure-Python strategy."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ray.tune.search import Searcher

from search_spaces.strategies.base import DONE, WAIT, StageRecord, Strategy
from searcher.engine.outcomes import TrialOutcomes
from searcher.events import Event, TrialEnded


class StrategySearcher(Searcher):
    """Asks the strategy for trials; learns their outcomes as a sink of the pipeline.

    ``suggest`` returns None while a stage waits for its trials and FINISHED at the end. The
    search's state lives in the store (resume reads it there), so it has no Tune save/restore.
    """

    def __init__(
        self, strategy: Strategy, outcomes: TrialOutcomes, deadline: float | None = None
    ) -> None:
        # The metric is kept out of Searcher's own fields: failed trials report no metric and
        # Tune's strict metric check would otherwise turn that into a crash of the search.
        super().__init__(metric=None, mode=outcomes.mode)
        self.strategy = strategy
        self.outcomes = outcomes
        self.stage = 0
        self.deadline = deadline  # time.monotonic() after which no trial starts
        self.time_up = False

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles its searcher with the experiment; the pipeline and its sinks (the
        # store's writer, the console) belong to this process only.
        return {**self.__dict__, "outcomes": None}

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.time_up = True  # the time budget: running trials finish, none starts
            return Searcher.FINISHED
        trial = self.strategy.ask()
        if trial is WAIT:
            return None
        if trial is DONE:
            return Searcher.FINISHED
        self.outcomes.suggested(trial_id, trial)
        if trial.stage != self.stage:
            self.stage = trial.stage
            record = _stage_record(self.strategy.boxes, trial.stage)
            size = record.trials if record is not None else self.strategy.planned_trials
            ranges = record.ranges if record is not None and trial.stage > 1 else None
            self.outcomes.stage_started(trial.stage, size, ranges)
        return trial.to_wire()

    def handle(self, event: Event) -> None:
        """A trial's verdict reaches the strategy; KILLED trials are not told (resume redoes
        them)."""
        if isinstance(event, TrialEnded) and event.verdict.status != "KILLED":
            failed = event.verdict.status == "FAILED"
            reason = (event.verdict.reason or "failed") if failed else None
            self.strategy.tell(event.trial.key, event.verdict.score, reason)

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        """Unused: the outcome pipeline tells the strategy (see ``handle``)."""


def _stage_record(records: Sequence[StageRecord], stage: int) -> StageRecord | None:
    return next((r for r in records if r.stage == stage), None)
