"""A thin Ray Tune ``Searcher`` around a pure-Python strategy."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

from ray.tune.search import Searcher

from search_spaces.strategies.base import DONE, WAIT, Strategy
from search_spaces.trial import Trial as Suggestion
from searcher.engine.protocol import RAISED, TrialBook, TrialConfig


class StrategySearcher(Searcher):
    """Asks the strategy for trials and tells it each trial's outcome, as the book decides it.

    ``suggest`` returns None while a stage waits for its trials and FINISHED at the end.
    """

    def __init__(
        self,
        strategy: Strategy,
        book: TrialBook,
        on_stage: Callable[[int], None] | None = None,
    ) -> None:
        # The metric is kept out of Searcher's own fields: failed trials report no metric and
        # Tune's strict metric check would otherwise turn that into a crash of the search.
        super().__init__(metric=None, mode=book.mode)
        self.strategy = strategy
        self.book = book
        self.on_stage = on_stage
        self.stage = 0

    def __getstate__(self) -> dict[str, Any]:
        # The stage hook prints to this process's console; it is not part of the search state.
        return {**self.__dict__, "on_stage": None}

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        suggestion = self.strategy.ask()
        if suggestion is WAIT:
            return None
        if suggestion is DONE:
            return Searcher.FINISHED
        assert isinstance(suggestion, Suggestion)
        config = TrialConfig.of(suggestion)
        self.book.open(trial_id, config)
        if suggestion.stage != self.stage:
            self.stage = suggestion.stage
            if self.on_stage is not None:
                self.on_stage(suggestion.stage)
        return config.to_dict()

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        self.book.observe(trial_id, result)

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        record = self.book.get(trial_id)
        if record is None:
            return
        if result and not error:
            # Tune withholds from on_trial_result the result on which a scheduler stops a trial.
            self.book.observe(trial_id, result)
        verdict = self.book.verdict(trial_id, RAISED if error else None)
        self.strategy.tell(record.config.key, verdict.score, verdict.reason)

    def get_state(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "book": self.book, "stage": self.stage}

    def set_state(self, state: dict[str, Any]) -> None:
        self.strategy = state["strategy"]
        self.book = state["book"]
        self.stage = state["stage"]

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as handle:
            pickle.dump(self.get_state(), handle)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as handle:
            self.set_state(pickle.load(handle))
