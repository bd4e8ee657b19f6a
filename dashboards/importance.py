"""Which hyperparameters mattered: Optuna's fANOVA on the trials' unit coordinates."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence

MIN_TRIALS = 5


def fanova_importance(
    units: Sequence[Mapping[str, float]], scores: Sequence[float], seed: int = 0
) -> dict[str, float] | str:
    """Importance per parameter (summing to 1), or a one-line reason why there is none.

    Unit coordinates keep every scale on the same footing: a log-scale lr is judged on the axis
    it was sampled on, not on raw values.
    """
    if len(scores) < MIN_TRIALS:
        return f"needs at least {MIN_TRIALS} finished trials, this search has {len(scores)}"
    names = sorted({n for unit in units for n in unit})
    if not names:
        return "no tuned parameters"
    if len(set(scores)) < 2:
        return "every finished trial has the same score"
    import optuna
    from optuna.distributions import FloatDistribution
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances

    optuna.logging.set_verbosity(logging.WARNING)
    study = optuna.create_study(direction="maximize")
    dist = {name: FloatDistribution(0.0, 1.0) for name in names}
    for unit, score in zip(units, scores, strict=True):
        # A conditional parameter is absent where inactive: fANOVA then weighs the
        # parameters every trial has (Optuna's intersection of the trials' spaces).
        params = {n: min(max(float(u), 0.0), 1.0) for n, u in unit.items() if math.isfinite(u)}
        used = {n: dist[n] for n in params}
        study.add_trial(
            optuna.trial.create_trial(params=params, distributions=used, value=float(score))
        )
    try:
        found = get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=seed))
    except (ValueError, RuntimeError) as exc:
        return f"fANOVA could not be computed: {exc}"
    return {name: float(found.get(name, 0.0)) for name in names}
