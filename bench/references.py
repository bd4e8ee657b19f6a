"""The reference strategies bench/quality.py runs beside searcher's, all in unit coordinates.

Every reference sees the same [0, 1] box per tuned parameter that searcher's strategies see
(the spec's scales turn it into values), so a comparison differs in the algorithm alone:
Optuna's GPSampler and CmaEsSampler through searcher's own Optuna bridge, and SMAC3's
hyperparameter-optimisation facade (random forest and expected improvement) through its
ask/tell interface. HEBO is not here: ``pip install hebo`` pins numpy 1.24 and scipy 1.12,
which would replace the project's numpy 2 and scipy 1.17 (see bench/README.md).
"""

from __future__ import annotations

import tempfile
from typing import Any

from search_spaces.space import SearchSpace
from search_spaces.strategies.base import DONE, Signal, Strategy, Trial
from search_spaces.strategies.optuna_tpe import OptunaSampler
from search_spaces.trial import TrialResult


def optuna_cmaes(space: SearchSpace, mode: str, seed: int, trials: int) -> Strategy:
    from optuna.samplers import CmaEsSampler

    return OptunaSampler(space, mode, seed, trials, lambda s: CmaEsSampler(seed=s))


class Smac(Strategy):
    """SMAC3's HyperparameterOptimizationFacade, asked and told one trial at a time."""

    def __init__(self, space: SearchSpace, mode: str, seed: int, trials: int) -> None:
        super().__init__(space, mode, seed)
        from ConfigSpace import ConfigurationSpace, Float
        from smac import HyperparameterOptimizationFacade, Scenario

        self.planned_trials = trials
        self._names = space.tuned_names
        config_space = ConfigurationSpace(seed=seed)
        config_space.add([Float(name, (0.0, 1.0)) for name in self._names])
        self._output = tempfile.TemporaryDirectory(prefix="smac-")
        scenario = Scenario(
            config_space, deterministic=True, n_trials=trials, seed=seed,
            output_directory=self._output.name,
        )  # fmt: skip
        # Five initial configurations whatever the budget: what SMAC's own rule (a quarter of
        # the budget, at most 10 per parameter) picks for 20 trials, so one run read at 20,
        # 50 and 100 trials is the same search each time.
        design = HyperparameterOptimizationFacade.get_initial_design(scenario, n_configs=5)
        self._smac = HyperparameterOptimizationFacade(
            scenario, target_function=lambda config, seed=0: 0.0, initial_design=design,
            overwrite=True, logging_level=40,
        )  # fmt: skip
        self._infos: dict[str, Any] = {}

    def _next(self) -> Trial | Signal:
        index = len(self._infos)
        if index >= self.planned_trials:
            return DONE
        info = self._smac.ask()
        config = info.config
        trial = self._suggest(1, index, {n: float(config[n]) for n in self._names})
        self._infos[trial.key] = info
        return trial

    def _on_tell(self, result: TrialResult) -> None:
        from smac.runhistory.dataclasses import TrialValue

        sign = 1.0 if self.mode == "min" else -1.0
        cost = 1e10 if result.failed else sign * float(result.score)  # type: ignore[arg-type]
        self._smac.tell(self._infos[result.key], TrialValue(cost=cost))
