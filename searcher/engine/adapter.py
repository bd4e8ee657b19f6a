"""A thin Ray Tune ``Searcher`` around a pure-Python strategy."""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable
from typing import Any

from ray.tune.search import Searcher

from search_spaces.strategies.base import DONE, WAIT, Strategy, Suggestion

FAILED_KEY = "trial_failed"  # a trial reports this (with the reason) instead of crashing


def trial_config(suggestion: Suggestion) -> dict[str, Any]:
    """What a trial receives from Tune: its key, stage, values and unit coordinates."""
    return {
        "key": suggestion.key,
        "stage": suggestion.stage,
        "params": dict(suggestion.values),
        "unit": dict(suggestion.unit),
    }


class StrategySearcher(Searcher):
    """Asks the strategy for trials and tells it each trial's best epoch score.

    ``suggest`` returns None while a stage waits for its trials and FINISHED at the end.
    """

    def __init__(
        self,
        strategy: Strategy,
        metric: str,
        mode: str,
        on_stage: Callable[[int], None] | None = None,
    ) -> None:
        # The metric is kept out of Searcher's own fields: failed trials report no metric and
        # Tune's strict metric check would otherwise turn that into a crash of the search.
        super().__init__(metric=None, mode=mode)
        self.strategy = strategy
        self.score_metric = metric
        self.score_mode = mode
        self.on_stage = on_stage
        self.keys: dict[str, str] = {}
        self.best: dict[str, float] = {}
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
        self.keys[trial_id] = suggestion.key
        if suggestion.stage != self.stage:
            self.stage = suggestion.stage
            if self.on_stage is not None:
                self.on_stage(suggestion.stage)
        return trial_config(suggestion)

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        value = result.get(self.score_metric)
        if not _finite(value):
            return
        old = self.best.get(trial_id)
        if old is None or (value > old if self.score_mode == "max" else value < old):
            self.best[trial_id] = float(value)

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        key = self.keys.get(trial_id)
        if key is None:
            return
        if result and not error:
            # Tune withholds from on_trial_result the result on which a scheduler stops a trial.
            self.on_trial_result(trial_id, result)
        reason = (result or {}).get(FAILED_KEY)
        if error:
            self.strategy.tell(key, None, "the trial raised an error")
        elif reason:
            self.strategy.tell(key, None, str(reason))
        elif trial_id in self.best:
            self.strategy.tell(key, self.best[trial_id])
        else:
            self.strategy.tell(key, None, f"no {self.score_metric} was reported")

    def score(self, trial_id: str) -> float | None:
        """The best epoch value of the metric a trial reported so far."""
        return self.best.get(trial_id)

    def get_state(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "keys": self.keys,
            "best": self.best,
            "stage": self.stage,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        self.strategy = state["strategy"]
        self.keys = state["keys"]
        self.best = state["best"]
        self.stage = state["stage"]

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as handle:
            pickle.dump(self.get_state(), handle)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as handle:
            self.set_state(pickle.load(handle))


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
