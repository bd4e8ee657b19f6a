"""What a warm start is worth: ``python bench/quality.py --suite warm``.

Re-tuning after a change. Per seed, an earlier 30-trial coarse_to_fine search runs on the
objective before the change; then, on the objective after it, side by side on the same
simulated workers and noise (bench/harness.py):

- ``cold 30`` and ``cold 60``: coarse_to_fine from nothing, 30 and 60 trials;
- ``warm 30``: coarse_to_fine, 30 trials, told the earlier search's trials as the product
  tells them (search_spaces.prior: its coarse stage shorter by as many, down to WARM_COARSE;
  the best 3 run again first; the other earlier scores moved by the reruns' median change);
- its variants, to choose the defaults: other floors for the coarse stage, no score shift,
  no reruns;
- ``optuna_tpe`` cold and warm (the earlier trials as completed trials in its study).

The changes: synthetic objectives whose optimum moves and whose scores shift (the lr valley's
best lr from 10^-2.5 to 10^-2, its best momentum horizon from 10 to 20, errors 0.03 higher;
Hartmann-6 moved by 0.08 on every axis and 0.2 worse; Branin moved by 1 in x1 and 1 worse), and
real data changes: scikit-learn models (bench/problems.py, Bayesmark's) tuned on a random 60 %
of the rows, then re-tuned on all of them. Prints the mean regret (synthetic: to the known
optimum; real: to the best loss any arm found for that seed) with a 95 % interval, its ratio
to cold 30, and Wilcoxon signed-rank p-values of warm against cold 30 and cold 60. Asserts
nothing.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from harness import simulate

from search_spaces.prior import EarlierTrial, usable_trials
from search_spaces.space import SearchSpace
from search_spaces.strategies import coarse_to_fine as c2f
from search_spaces.strategies import make_strategy, stages_for

BUDGET = 30
RERUNS = 3  # the product's default (search.warm_start.rerun)


@dataclass(frozen=True)
class Change:
    """An objective before and after a change, on one space; ``optimum`` after (None: take the
    best any arm found)."""

    name: str
    space: dict[str, Any]
    before: Callable[[int], Callable[[Mapping[str, Any]], float]]
    after: Callable[[int], Callable[[Mapping[str, Any]], float]]
    optimum: float | None
    noise: float = 0.0


@dataclass(frozen=True)
class Arm:
    """One way to run the search after the change."""

    name: str
    strategy: str = "coarse_to_fine"
    trials: int = BUDGET
    warm: bool = True
    floor: int | None = None  # WARM_COARSE for this arm
    shift: bool = True  # SHIFT_PRIOR
    zooms: int | None | str = "default"  # PRIOR_ZOOMS
    reruns: int = RERUNS


ARMS = (
    Arm("cold 30", warm=False),
    Arm("cold 60", trials=60, warm=False),
    Arm("warm 30"),
    Arm("warm 30, floor 3", floor=3),
    Arm("warm 30, floor 8", floor=8),
    Arm("warm 30, coarse 10 (no shrink)", floor=10),
    Arm("warm 30, no score shift", shift=False),
    Arm("warm 30, first zoom only", zooms=1),
    Arm("warm 30, first 2 zooms", zooms=2),
    Arm("warm 30, every zoom", zooms=None),
    Arm("warm 30, no reruns", reruns=0),
    Arm("optuna_tpe cold 30", strategy="optuna_tpe", warm=False),
    Arm("optuna_tpe warm 30", strategy="optuna_tpe"),
)


def _synthetic() -> list[Change]:
    from quality import OBJECTIVES

    by_name = {o.name: o for o in OBJECTIVES}

    def lr_valley_after(v: Mapping[str, Any]) -> float:
        lr = math.log10(v["lr"]) + 2.0
        horizon = math.log10(1 / (1 - v["momentum"])) - math.log10(20)
        decay = math.log10(v["weight_decay"]) + 4.0
        return 0.13 + 0.08 * lr**2 + 0.05 * horizon**2 + 0.01 * decay**2

    def moved(f: Callable[[Mapping[str, Any]], float], by: Mapping[str, float], worse: float):
        return lambda v: f({**v, **{k: v[k] - d for k, d in by.items()}}) + worse

    valley, hartmann, branin = by_name["lr_valley"], by_name["hartmann6"], by_name["branin"]
    return [
        Change(
            "lr_valley",
            valley.natural,
            lambda seed: valley.f,
            lambda seed: lr_valley_after,
            0.13,
            valley.noise,
        ),
        Change(
            "hartmann6",
            hartmann.natural,
            lambda seed: hartmann.f,
            lambda seed: moved(hartmann.f, {f"h{i}": 0.08 for i in range(6)}, 0.2),
            hartmann.optimum + 0.2,
        ),
        Change(
            "branin",
            branin.natural,
            lambda seed: branin.f,
            lambda seed: moved(branin.f, {"x1": 1.0}, 1.0),
            branin.optimum + 1.0,
        ),
    ]


REAL = (("SVM", "wine"), ("RF", "wine"), ("ridge", "diabetes"))
KEPT_ROWS = 0.6  # the share of rows the earlier search saw


def _real() -> list[Change]:
    from problems import REAL_SPACES, subsampled_loss

    return [
        Change(
            f"{kind}-{data}",
            REAL_SPACES[kind],
            lambda seed, k=kind, d=data: subsampled_loss(k, d, KEPT_ROWS, seed),
            lambda seed, k=kind, d=data: subsampled_loss(k, d, 1.0, seed),
            None,
        )
        for kind, data in REAL
    ]


def _strategy(arm: Arm, space: SearchSpace, seed: int, earlier: list[EarlierTrial]) -> Any:
    prior = usable_trials(space, earlier).usable if arm.warm else []
    reruns = min(arm.reruns, len(prior))
    if arm.strategy == "coarse_to_fine":
        saved = c2f.WARM_COARSE
        c2f.WARM_COARSE = arm.floor if arm.floor is not None else saved
        c2f.SHIFT_PRIOR = arm.shift
        if arm.zooms != "default":
            c2f.PRIOR_ZOOMS = arm.zooms  # type: ignore[assignment]
        try:
            stages = stages_for(arm.trials, len(prior), reruns)
        finally:
            c2f.WARM_COARSE = saved
        strategy = make_strategy(arm.strategy, space, "min", seed, stages=stages)
    else:
        strategy = make_strategy(arm.strategy, space, "min", seed, trials=arm.trials)
    if prior:
        strategy.warm_start(prior, reruns)
    return strategy


def changes(real: bool = True) -> dict[str, Change]:
    """Every change by name (built in each worker process: objectives are closures)."""
    return {c.name: c for c in _synthetic() + (_real() if real else [])}


DEFAULTS = (c2f.SHIFT_PRIOR, c2f.PRIOR_ZOOMS)


def run_seed(name: str, seed: int, workers: int) -> dict[str, float]:
    """Each arm's best noiseless value after the change ``name``, for one seed."""
    change = changes()[name]
    space = SearchSpace.from_mapping(change.space)
    before = make_strategy("coarse_to_fine", space, "min", seed, stages=stages_for(BUDGET))
    simulate(before, change.before(seed), f"{change.name}:before:{seed}", workers, change.noise)
    earlier = [EarlierTrial(r.key, r.params, r.score) for r in before.known_results]
    after = change.after(seed)
    best = {}
    for arm in ARMS:
        strategy = _strategy(arm, space, 1000 + seed, earlier)
        try:
            run = simulate(strategy, after, f"{change.name}:after:{seed}", workers, change.noise)
        finally:
            c2f.SHIFT_PRIOR, c2f.PRIOR_ZOOMS = DEFAULTS
        best[arm.name] = min(run.truths)
    return best


def _wilcoxon(a: Sequence[float], b: Sequence[float]) -> float:
    from scipy import stats

    if all(x == y for x, y in zip(a, b, strict=True)):
        return 1.0
    return float(stats.wilcoxon(a, b).pvalue)


def main_warm(seeds: int, workers: Sequence[int], jobs: int, real: bool = True) -> None:
    import optuna
    from quality import ci95

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for w in workers:
        print(f"warm start: {seeds} seeds, {w} worker{'s' if w > 1 else ''}; regret after the "
              "change (lower is better)")  # fmt: skip
        head = f"{'objective':<12} {'arm':<32} {'regret: mean ± 95% CI':>24} {'/cold 30':>9}"
        print(head + f" {'p vs cold 30':>13} {'p vs cold 60':>13}")
        for change in changes(real).values():
            with ProcessPoolExecutor(jobs) as pool:
                names = [change.name] * seeds
                per_seed = list(pool.map(run_seed, names, range(seeds), [w] * seeds))
            regrets: dict[str, list[float]] = {a.name: [] for a in ARMS}
            for best in per_seed:
                floor = change.optimum if change.optimum is not None else min(best.values())
                for name, value in best.items():
                    regrets[name].append(value - floor)
            cold = statistics.fmean(regrets["cold 30"])
            for arm in ARMS:
                values = regrets[arm.name]
                mean, half = ci95(values)
                ratio = mean / cold if cold else math.nan
                p30 = _wilcoxon(values, regrets["cold 30"])
                p60 = _wilcoxon(values, regrets["cold 60"])
                print(f"{change.name:<12} {arm.name:<32} {mean:>#12.3g} ± {half:<#9.2g} "
                      f"{ratio:>9.2f} {p30:>13.3g} {p60:>13.3g}")  # fmt: skip
        print()
