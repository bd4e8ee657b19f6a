"""bench/quality.py ``--suite cost``: each strategy's own compute per suggestion as a search
grows, straight on the strategies (6 parameters, one trial at a time, an instant objective).

A suggestion's cost is its ask plus its tell; the table shows the mean over the last tenth
of each search (what a suggestion costs near that many trials) and over the whole search,
and the ratio to optuna_tpe's in the same run.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Sequence

from harness import build

from search_spaces.strategies import Trial

COST_SPACE = {
    "lr": {"scale": "log", "low": 1e-5, "high": 1.0},
    "momentum": {"scale": "one_minus_log", "low": 0.5, "high": 0.999},
    "weight_decay": {"scale": "log", "low": 1e-7, "high": 1e-1},
    "batch_size": {"scale": "pow2", "low": 16, "high": 512},
    "dropout": {"scale": "linear", "low": 0.0, "high": 0.5},
    "width": {"scale": "int_log", "low": 16, "high": 1024},
}


class _Spaces:
    natural = COST_SPACE
    uniform = COST_SPACE


def suggestion_costs(name: str, trials: int, seed: int = 0) -> list[float]:
    """Seconds of ask + tell for each trial of a ``trials``-trial search."""
    strategy = build(name, _Spaces(), seed, trials)
    strategy.expect_workers(1)  # as the engine says with max_concurrent 1
    noise = random.Random(seed)
    costs: list[float] = []
    for _ in range(trials):
        started = time.perf_counter()
        trial = strategy.ask()
        assert isinstance(trial, Trial), f"{name} did not suggest a trial one at a time"
        asked = time.perf_counter() - started
        value = sum((u - 0.3) ** 2 for u in trial.unit.values()) + noise.gauss(0, 0.01)
        started = time.perf_counter()
        strategy.tell(trial.key, value)
        costs.append(asked + time.perf_counter() - started)
    return costs


def main_cost(sizes: Sequence[int], names: Sequence[str]) -> None:
    print("strategy compute per suggestion (ask + tell), 6 parameters, one at a time, ms")
    print(f"{'trials':>6} {'strategy':<16} {'near the end':>13} {'mean':>8} {'/ optuna_tpe':>13}")
    for size in sizes:
        rows = {name: suggestion_costs(name, size) for name in names}
        tail = {n: 1e3 * statistics.fmean(c[-max(1, size // 10) :]) for n, c in rows.items()}
        for name, costs in rows.items():
            ratio = f"{tail[name] / tail['optuna_tpe']:.2f}x" if "optuna_tpe" in tail else ""
            print(f"{size:>6} {name:<16} {tail[name]:>13.2f} "
                  f"{1e3 * statistics.fmean(costs):>8.2f} {ratio:>13}")  # fmt: skip
