"""Optuna's samplers, run in our unit coordinates so every scale works unchanged.

`OptunaSampler` is the ask/tell bridge every Optuna sampler shares; `OptunaTPE` and
`OptunaGP` are the two the spec offers, and bench/quality.py builds CMA-ES on the same
bridge, so a comparison differs in the algorithm alone.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import optuna
from optuna.distributions import FloatDistribution
from optuna.exceptions import ExperimentalWarning
from optuna.samplers import BaseSampler, GPSampler, TPESampler
from optuna.trial import TrialState

from search_spaces.space import SearchSpace
from search_spaces.strategies.base import DONE, Signal, Strategy, Trial, trial_key
from search_spaces.trial import TrialResult


class OptunaSampler(Strategy):
    """An in-memory Optuna study with one FloatDistribution(0, 1) per tuned parameter."""

    def __init__(
        self,
        space: SearchSpace,
        mode: str,
        seed: int,
        trials: int,
        sampler: Callable[[int], BaseSampler],
    ) -> None:
        super().__init__(space, mode, seed)
        if trials < 1:
            raise ValueError(f"trials must be >= 1, got {trials}")
        self.planned_trials = trials
        # Optuna logs every trial at INFO; our own progress output is what users should see.
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        direction = "maximize" if mode == "max" else "minimize"
        self._study = optuna.create_study(direction=direction, sampler=sampler(seed))
        self._dists = {name: FloatDistribution(0.0, 1.0) for name in space.tuned_names}
        self._numbers: dict[str, int] = {}

    def _next(self) -> Trial | Signal:
        index = len(self._numbers)
        if index >= self.planned_trials:
            return DONE
        recorded = self._replay.get(trial_key(1, index))
        if recorded is not None and self.space.is_complete(recorded.unit):
            # A replayed trial enters the study at the point it ran, not at a fresh sample.
            self._study.enqueue_trial(recorded.unit)
        elif index < len(self._given):  # a known point: the sampler fills in the rest
            self._study.enqueue_trial(self._given[index].unit)
        if self.space.conditional:
            # Define-by-run: a choice's value decides which of its children are asked for.
            trial = self._study.ask()
            unit = self.space.walk(lambda name, _: trial.suggest_float(name, 0.0, 1.0))
        else:
            trial = self._study.ask(self._dists)
            unit = {n: trial.params[n] for n in self._dists}
        suggestion = self._suggest(1, index, unit)
        self._numbers[suggestion.key] = trial.number
        return suggestion

    def _on_prior(self) -> None:
        """An earlier search's usable trials join the study as completed trials."""
        for result in self._prior:
            dists = {name: FloatDistribution(0.0, 1.0) for name in result.unit}
            trial = optuna.trial.create_trial(
                params=dict(result.unit), distributions=dists, value=result.score
            )
            self._study.add_trial(trial)

    def _on_tell(self, result: TrialResult) -> None:
        number = self._numbers[result.key]
        if result.failed:
            self._study.tell(number, state=TrialState.FAIL)
        else:
            self._study.tell(number, result.score)


class OptunaTPE(OptunaSampler):
    """Optuna's TPE; the constant liar keeps parallel asks apart. On a conditional space it
    is asked define-by-run and runs multivariate, grouped (Optuna's own way with
    conditional parameters)."""

    def __init__(self, space: SearchSpace, mode: str, seed: int, trials: int) -> None:
        super().__init__(space, mode, seed, trials, _grouped_tpe if space.conditional else _tpe)


class OptunaGP(OptunaSampler):
    """Optuna's Gaussian-process BO (log EI, Matern 5/2; Optuna 5 treats trials still
    running by q-log-EI): strong on few numeric parameters, at 20 to 100 ms a suggestion
    (bench/quality.py --suite cost)."""

    def __init__(self, space: SearchSpace, mode: str, seed: int, trials: int) -> None:
        super().__init__(space, mode, seed, trials, _gp)


def _tpe(seed: int) -> BaseSampler:
    return TPESampler(seed=seed, constant_liar=True)


def _grouped_tpe(seed: int) -> BaseSampler:
    # Conditional spaces: one multivariate TPE per group of parameters that occur together.
    # Optuna marks both options experimental (since 2.2); they are what its docs advise here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        return TPESampler(seed=seed, constant_liar=True, multivariate=True, group=True)


def _gp(seed: int) -> BaseSampler:
    return GPSampler(seed=seed, deterministic_objective=False)
