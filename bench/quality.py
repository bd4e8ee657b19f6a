"""Search quality: coarse_to_fine against random, grid, optuna_tpe and random on uniform scales.

    python bench/quality.py --quick           # 10 seeds, budgets 20 and 50: about a minute
    python bench/quality.py                   # 30 seeds, budgets 20, 50 and 100

Synthetic objectives with a known optimum, straight on the strategies (no training, no Ray):
Branin (2 parameters), Hartmann-6, and a noisy learning-rate valley (lr, momentum and weight
decay on their natural scales, the score peaked in log10 lr), each with 3 irrelevant extra
parameters. Every trial is told at once (one worker); a stage barrier costs nothing here.
Prints, per objective and budget, the mean simple regret (best trial's noiseless value minus
the optimum) with a 95 % confidence interval, how many trials each strategy needed to match
grid's best, and the strategy's own time. Asserts nothing.

Real training (``--real``, on by default; ``--no-real`` skips it): 27 trials of SGD on an MLP
(lr, momentum, weight decay; 2 epochs on 4,000 Fashion-MNIST images, 1,000 held out), each
strategy run through `searcher run` once per seed: the best validation accuracy, the mean of
the top 3, the trials needed to match grid's best, and the search's wall time.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search_spaces.space import SearchSpace  # noqa: E402
from search_spaces.strategies import StageSpec, Strategy, Suggestion, make_strategy  # noqa: E402

EXTRA = 3  # irrelevant parameters added to every objective


@dataclass(frozen=True)
class Objective:
    """f(values) to minimise, its optimum, the space on natural scales and on uniform ones."""

    name: str
    f: Callable[[Mapping[str, Any]], float]
    optimum: float
    natural: dict[str, Any]
    uniform: dict[str, Any]
    noise: float = 0.0


def _with_extras(space: dict[str, Any]) -> dict[str, Any]:
    extras = {f"extra{i}": _linear(0.0, 1.0) for i in range(EXTRA)}
    return {**space, **extras}


def branin(v: Mapping[str, Any]) -> float:
    x1, x2 = v["x1"], v["x2"]
    b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10


_H_A = [
    [10, 3, 17, 3.5, 1.7, 8],
    [0.05, 10, 17, 0.1, 8, 14],
    [3, 3.5, 1.7, 10, 17, 8],
    [17, 8, 0.05, 10, 0.1, 14],
]
_H_P = [
    [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
    [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
    [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
    [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
]
_H_ALPHA = [1.0, 1.2, 3.0, 3.2]


def hartmann6(v: Mapping[str, Any]) -> float:
    x = [v[f"h{i}"] for i in range(6)]
    return -sum(
        a * math.exp(-sum(_H_A[i][j] * (x[j] - _H_P[i][j]) ** 2 for j in range(6)))
        for i, a in enumerate(_H_ALPHA)
    )


def lr_valley(v: Mapping[str, Any]) -> float:
    """An error rate: best at lr 10^-2.5, momentum 0.9 (horizon 10), weight decay 1e-4."""
    lr = math.log10(v["lr"]) + 2.5
    horizon = math.log10(1 / (1 - v["momentum"])) - 1.0
    decay = math.log10(v["weight_decay"]) + 4.0
    return 0.1 + 0.08 * lr**2 + 0.05 * horizon**2 + 0.01 * decay**2


def _linear(low: float, high: float) -> dict[str, Any]:
    return {"scale": "linear", "low": low, "high": high}


BRANIN_SPACE = {"x1": _linear(-5.0, 10.0), "x2": _linear(0.0, 15.0)}
HARTMANN_SPACE = {f"h{i}": _linear(0.0, 1.0) for i in range(6)}
OBJECTIVES = [
    Objective("branin", branin, 0.397887, _with_extras(BRANIN_SPACE), _with_extras(BRANIN_SPACE)),
    Objective(
        "hartmann6", hartmann6, -3.32237, _with_extras(HARTMANN_SPACE), _with_extras(HARTMANN_SPACE)
    ),
    Objective(
        "lr_valley",
        lr_valley,
        0.1,
        _with_extras(
            {
                "lr": {"scale": "log", "low": 1e-5, "high": 1.0},
                "momentum": {"scale": "one_minus_log", "low": 0.5, "high": 0.999},
                "weight_decay": {"scale": "log", "low": 1e-7, "high": 1e-1},
            }
        ),
        _with_extras(
            {
                "lr": _linear(1e-5, 1.0),
                "momentum": _linear(0.5, 0.999),
                "weight_decay": _linear(1e-7, 1e-1),
            }
        ),
        noise=0.01,
    ),
]


def coarse_to_fine_stages(budget: int) -> list[StageSpec]:
    """The example specs' shape: half the budget coarse, then two zooms of a quarter each."""
    first = budget // 2
    second = (budget - first) // 2
    return [
        StageSpec(trials=first),
        StageSpec(trials=second, keep_top=0.25, pad=0.1),
        StageSpec(trials=budget - first - second, keep_top=0.25, pad=0.05),
    ]


def build(name: str, obj: Objective, seed: int, budget: int) -> Strategy:
    space = SearchSpace.from_mapping(obj.uniform if name == "random_uniform" else obj.natural)
    if name == "coarse_to_fine":
        return make_strategy(name, space, "min", seed, stages=coarse_to_fine_stages(budget))
    if name == "grid":  # the most points per parameter that fit (2 each may not: see "trials")
        points = max(2, int(budget ** (1 / len(space.tuned_names)) + 1e-9))
        return make_strategy(name, space, "min", seed, grid_points=points)
    strategy = "random" if name == "random_uniform" else name
    return make_strategy(strategy, space, "min", seed, trials=budget)


STRATEGIES = ("coarse_to_fine", "random", "optuna_tpe", "grid", "random_uniform")


def run_one(name: str, obj: Objective, seed: int, budget: int) -> tuple[list[float], float]:
    """The noiseless values of the trials in the order they ran, and the strategy's seconds."""
    strategy = build(name, obj, seed, budget)
    noise = random.Random(f"noise:{obj.name}:{seed}")
    truths: list[float] = []
    pending: list[Suggestion] = []
    spent = 0.0
    while True:
        started = time.perf_counter()
        out = strategy.ask()
        spent += time.perf_counter() - started
        if not isinstance(out, Suggestion):
            if not pending:  # DONE, or a barrier with nothing left to tell
                break
        else:
            pending.append(out)
        for s in pending:  # one worker: every trial ends before the next is asked
            truth = obj.f(s.values)
            truths.append(truth)
            started = time.perf_counter()
            strategy.tell(s.key, truth + noise.gauss(0.0, obj.noise))
            spent += time.perf_counter() - started
        pending.clear()
    return truths, spent


def ci95(values: list[float]) -> tuple[float, float]:
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, float("nan")
    from scipy import stats

    half = stats.t.ppf(0.975, len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return mean, half


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 seeds, budgets 20 and 50")
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--budgets", default="20,50,100")
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--real", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--real-seeds", type=int, default=3)
    args = parser.parse_args()
    seeds = 10 if args.quick else args.seeds
    budgets = [20, 50] if args.quick else [int(b) for b in args.budgets.split(",")]
    names = [n for n in args.strategies.split(",") if n]
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print(f"synthetic suite: {seeds} seeds, {EXTRA} irrelevant parameters each, one worker")
    head = f"{'objective':<10} {'budget':>6} {'strategy':<15} {'trials':>6} "
    print(head + f"{'regret: mean ± 95% CI':>24} {'trials to grid':>14} {'ms/trial':>9}")
    for obj in OBJECTIVES:
        for budget in budgets:
            runs = {n: [run_one(n, obj, seed, budget) for seed in range(seeds)] for n in names}
            grid_best = min(runs["grid"][0][0]) if "grid" in runs else None
            for name, results in runs.items():
                regrets = [min(truths) - obj.optimum for truths, _ in results]
                mean, half = ci95(regrets)
                reach = ""
                if grid_best is not None:
                    hits = [_first_at_most(truths, grid_best) for truths, _ in results]
                    found = [h for h in hits if h is not None]
                    reach = f"{statistics.median(found):.0f}" if found else "never"
                    if found and len(found) < len(hits):
                        reach += f" ({len(found)}/{len(hits)})"
                per_trial = 1e3 * sum(s for _, s in results) / sum(len(t) for t, _ in results)
                trials = statistics.fmean(len(t) for t, _ in results)
                row = f"{obj.name:<10} {budget:>6} {name:<15} {trials:>6.0f} "
                print(row + f"{mean:>12.4f} ± {half:<9.4f} {reach:>14} {per_trial:>9.2f}")
    if args.real:
        real(1 if args.quick else args.real_seeds, names)


REAL_SPACE = {
    "optimizer": "sgd",
    "lr": {"scale": "log", "low": 1e-3, "high": 0.5},
    "momentum": {"scale": "one_minus_log", "low": 0.5, "high": 0.99},
    "weight_decay": {"scale": "log", "low": 1e-6, "high": 1e-2},
    "hidden_units": 128,
    "batch_size": 64,
}
REAL_UNIFORM = {
    **REAL_SPACE,
    "lr": _linear(1e-3, 0.5),
    "momentum": _linear(0.5, 0.99),
    "weight_decay": _linear(1e-6, 1e-2),
}
REAL_SEARCH = {
    "coarse_to_fine": {
        "strategy": "coarse_to_fine",
        "stages": [
            {"trials": 15},
            {"trials": 6, "keep_top": 0.25, "pad": 0.1},
            {"trials": 6, "keep_top": 0.25, "pad": 0.05},
        ],
    },
    "random": {"strategy": "random", "trials": 27},
    "optuna_tpe": {"strategy": "optuna_tpe", "trials": 27},
    "grid": {"strategy": "grid", "grid_points": 3},
    "random_uniform": {"strategy": "random", "trials": 27},
}


def real_search(name: str, seed: int, scratch: Path) -> tuple[list[float], float]:
    """One `searcher run` of the SGD MLP search: the trials' scores in key order, and wall s."""
    from mlflow import MlflowClient

    from searcher.tracking.queries import find_search, trial_runs

    spec = {
        "name": f"quality_{name}",
        "workload": "mnist_mlp",
        "data": {"dataset": "fashion_mnist", "train_size": 4000, "val_fraction": 0.2},
        "metric": {"name": "val_accuracy", "mode": "max"},
        "budget": {"epochs": 2},
        "space": REAL_UNIFORM if name == "random_uniform" else REAL_SPACE,
        "search": {**REAL_SEARCH[name], "seed": seed},
        "resources": {"cpu": 1, "gpu": 0},
    }
    work = scratch / f"{name}-{seed}"
    work.mkdir()
    (work / "spec.yaml").write_text(json.dumps(spec))
    searcher = str(Path(sys.executable).parent / "searcher")
    store = f"sqlite:///{work / 'mlruns.db'}"
    started = time.perf_counter()
    proc = subprocess.run(
        [searcher, "run", str(work / "spec.yaml"), "--tracking-uri", store,
         "--storage-path", str(work / "ray")],
        capture_output=True, text=True,
    )  # fmt: skip
    wall = time.perf_counter() - started
    if proc.returncode not in (0, 1):  # 1: some trials failed (a diverged lr), still a result
        sys.exit(f"{name} seed {seed}: searcher exited {proc.returncode}\n{proc.stdout[-2000:]}")
    client = MlflowClient(store)
    runs = trial_runs(client, find_search(client, spec["name"]))
    runs.sort(key=lambda r: r.data.tags.get("searcher.trial_key", ""))
    scores = [r.data.metrics.get("best_val_accuracy", 0.0) for r in runs]
    return scores, wall


def real(seeds: int, names: list[str]) -> None:
    print(f"\nreal training: SGD MLP, 27 trials, 2 epochs on 4,000 images, {seeds} seeds")
    head = f"{'strategy':<15} {'best: mean ± 95% CI':>21} {'top 3':>7} "
    print(head + f"{'trials to grid':>14} {'wall s':>7}")
    with tempfile.TemporaryDirectory(prefix="searcher-quality-") as tmp:
        runs = {n: [real_search(n, seed, Path(tmp)) for seed in range(seeds)] for n in names}
    # Training noise differs by seed, so each seed's search is held to that seed's grid.
    grid_best = [max(scores) for scores, _ in runs["grid"]] if "grid" in runs else None
    for name, results in runs.items():
        mean, half = ci95([max(scores) for scores, _ in results])
        top3 = statistics.fmean(statistics.fmean(sorted(s)[-3:]) for s, _ in results)
        reach = ""
        if grid_best is not None:
            hits = [
                _first_at_most([-x for x in s], -best)
                for (s, _), best in zip(results, grid_best, strict=True)
            ]
            found = [h for h in hits if h is not None]
            reach = f"{statistics.median(found):.0f}" if found else "never"
            if found and len(found) < len(hits):
                reach += f" ({len(found)}/{len(hits)})"
        wall = statistics.median(w for _, w in results)
        print(f"{name:<15} {mean:>11.4f} ± {half:<7.4f} {top3:>7.4f} {reach:>14} {wall:>7.1f}")


def _first_at_most(truths: list[float], target: float) -> int | None:
    best = math.inf
    for i, value in enumerate(truths, 1):
        best = min(best, value)
        if best <= target + 1e-12:
            return i
    return None


if __name__ == "__main__":
    main()
