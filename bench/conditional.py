"""Conditional spaces: coarse_to_fine against random and optuna_tpe where parameters exist in
one branch only (bench/quality.py --suite conditional).

The objective has three branches with different optima and different best values, each with
parameters of its own and one that does nothing:

- ``branin`` (x1, x2 on Branin's box; the best branch: its optimum is the global one, 0),
- ``hartmann3`` (three coordinates in [0, 1]; 0.05 behind at its optimum),
- ``lr_valley`` (lr log-uniform over five decades, momentum on one_minus_log; 0.1 behind),

plus two parameters every branch has: ``w`` (its best at 0.3 in every branch) and ``z``
(irrelevant). Each branch's own part is scaled so that a random point of it lies about 1
above its optimum. The figure is the simple regret: the best trial's value (noiseless) minus
0. Trials run on the simulated workers of bench/harness.py, 1 and 4 at a time. Prints the
mean regret with its 95 % interval per budget, mean ranks with a Friedman test, a Wilcoxon
test (Holm-corrected) of coarse_to_fine against each, the share of trials each strategy
spent in the best branch, and its compute per trial. ``--suite conditional_training`` runs
the optimizer search of spaces/optimizers.yaml on Fashion-MNIST through ``searcher run``
(an MLP, so that it fits a CPU).
"""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import Run, simulate

from search_spaces.space import SearchSpace
from search_spaces.strategies import Strategy, make_strategy, stages_for

ROOT = Path(__file__).resolve().parent.parent
STRATEGIES = ["coarse_to_fine", "random", "optuna_tpe"]
BUDGETS = [30, 60]


def _linear(low: float, high: float) -> dict[str, Any]:
    return {"scale": "linear", "low": low, "high": high}


SPACE: dict[str, Any] = {
    "branch": {
        "scale": "choice",
        "values": {
            "branin": {
                "x1": _linear(-5.0, 10.0),
                "x2": _linear(0.0, 15.0),
                "a_noise": _linear(0, 1),
            },
            "hartmann3": {
                "h0": _linear(0.0, 1.0),
                "h1": _linear(0.0, 1.0),
                "h2": _linear(0.0, 1.0),
                "b_noise": _linear(0, 1),
            },
            "lr_valley": {
                "lr": {"scale": "log", "low": 1e-5, "high": 1.0},
                "momentum": {"scale": "one_minus_log", "low": 0.5, "high": 0.999},
                "c_noise": _linear(0, 1),
            },
        },
    },
    "w": _linear(0.0, 1.0),
    "z": _linear(0.0, 1.0),
}
OFFSET = {"branin": 0.0, "hartmann3": 0.05, "lr_valley": 0.1}
_H3_A = [[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]]
_H3_P = [[0.3689, 0.1170, 0.2673], [0.4699, 0.4387, 0.7470], [0.1091, 0.8732, 0.5547],
         [0.0381, 0.5743, 0.8828]]  # fmt: skip
_H3_C = [1.0, 1.2, 3.0, 3.2]
H3_MIN = -3.86278


def _branin(x1: float, x2: float) -> float:
    b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10


def _hartmann3(x: list[float]) -> float:
    return -sum(
        c * math.exp(-sum(a * (xi - p) ** 2 for a, xi, p in zip(row, x, ppos, strict=True)))
        for c, row, ppos in zip(_H3_C, _H3_A, _H3_P, strict=True)
    )


def objective(p: Mapping[str, Any]) -> float:
    """Regret of a configuration: 0 at the global optimum (branin's, w = 0.3)."""
    branch = p["branch"]
    if branch == "branin":
        own = (_branin(p["x1"], p["x2"]) - 0.397887) / 50.0
    elif branch == "hartmann3":
        own = (_hartmann3([p["h0"], p["h1"], p["h2"]]) - H3_MIN) / 3.5
    else:
        own = ((math.log10(p["lr"]) + 2.5) ** 2 + (math.log10(1 - p["momentum"]) + 1.5) ** 2) / 6
    return OFFSET[branch] + own + 0.2 * (p["w"] - 0.3) ** 2


def build(name: str, seed: int, budget: int) -> Strategy:
    space = SearchSpace.from_mapping(SPACE)
    if name == "coarse_to_fine":
        return make_strategy(name, space, "min", seed, stages=stages_for(budget))
    return make_strategy(name, space, "min", seed, trials=budget)


@dataclass(frozen=True)
class Result:
    run: Run
    best_branch_share: float


def run_one(name: str, seed: int, budget: int, workers: int) -> Result:
    strategy = build(name, seed, budget)
    branches: list[str] = []

    def f(params: Mapping[str, Any]) -> float:
        branches.append(params["branch"])
        return objective(params)

    run = simulate(strategy, f, f"conditional:{seed}", workers, noise_sd=0.01)
    return Result(run, branches.count("branin") / len(branches))


def main_conditional(seeds: int, budgets: list[int], workers: list[int], names: list[str]) -> None:
    from quality import ci95
    from ranking import against, friedman, mean_ranks

    for nw in workers:
        print(f"conditional suite: 3 branches, {seeds} seeds, {nw} worker{'s' if nw > 1 else ''}")
        print(f"{'budget':>6} {'strategy':<16} {'regret: mean ± 95% CI':>24} {'mean rank':>9} "
              f"{'best branch':>11} {'ms/trial':>9}")  # fmt: skip
        for budget in budgets:
            results = {n: [run_one(n, s, budget, nw) for s in range(seeds)] for n in names}
            regrets = {n: [min(r.run.truths) for r in rs] for n, rs in results.items()}
            ranks = mean_ranks(regrets)
            for name, rs in results.items():
                mean, half = ci95(regrets[name])
                share = statistics.fmean(r.best_branch_share for r in rs)
                ms = 1e3 * sum(r.run.strategy_s for r in rs) / sum(len(r.run.truths) for r in rs)
                print(f"{budget:>6} {name:<16} {mean:>#12.3g} ± {half:<#9.2g} {ranks[name]:>9.2f} "
                      f"{share:>11.0%} {ms:>9.2f}")  # fmt: skip
            if "coarse_to_fine" in regrets and len(regrets) > 1:
                tests = ", ".join(
                    f"{c.name} {'ahead' if c.ahead else 'behind'} p={c.p:.3g}"
                    for c in against("coarse_to_fine", regrets)
                )
                print(f"{'':>6} Friedman p={friedman(regrets):.3g}; against coarse_to_fine "
                      f"(Wilcoxon, Holm): {tests}")  # fmt: skip
        print()


def main_training(seeds: int, budgets: list[int], names: list[str]) -> None:
    """The optimizer search of spaces/optimizers.yaml on Fashion-MNIST (an MLP), per strategy
    and budget through ``searcher run``: best validation accuracy, mean over seeds, mean
    rank, and coarse_to_fine against each paired by seed."""
    from quality import ci95, seeds_to_separate
    from ranking import mean_ranks

    example = _example_space()
    print(f"real optimizer search: SGD / Adam / RMSProp branches, MLP on 4,000 Fashion-MNIST "
          f"images, 2 epochs, {seeds} seed{'s' if seeds > 1 else ''}")  # fmt: skip
    print(f"{'budget':>6} {'strategy':<16} {'best: mean ± 95% CI':>21} {'mean rank':>9} "
          f"{'wall s':>7}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="searcher-conditional-") as tmp:
        for budget in budgets:
            bests: dict[str, list[float]] = {n: [] for n in names}
            walls: dict[str, list[float]] = {n: [] for n in names}
            for seed in range(seeds):  # seed by seed, so a noisy minute hits every strategy
                for name in names:
                    search = {"strategy": name, "trials": budget, "seed": seed}
                    work = Path(tmp) / f"{name}-{budget}-{seed}"
                    best, wall = _searcher_run(example, search, work)
                    bests[name].append(best)
                    walls[name].append(wall)
            ranks = mean_ranks({n: [-b for b in v] for n, v in bests.items()})
            for name in names:
                mean, half = ci95(bests[name])
                print(f"{budget:>6} {name:<16} {mean:>11.4f} ± {half:<7.4f} {ranks[name]:>9.2f} "
                      f"{statistics.median(walls[name]):>7.1f}")  # fmt: skip
            if "coarse_to_fine" in bests and seeds > 2:
                mine = bests["coarse_to_fine"]
                for name in names:
                    if name != "coarse_to_fine":
                        diff = [100 * (a - b) for a, b in zip(mine, bests[name], strict=True)]
                        print(f"{'':>6} coarse_to_fine - {name}, paired (points): "
                              f"{seeds_to_separate(diff)}")  # fmt: skip


def _example_space() -> dict[str, Any]:
    import yaml

    space: dict[str, Any] = yaml.safe_load((ROOT / "spaces" / "optimizers.yaml").read_text())[
        "space"
    ]
    space.pop("channels", None)  # a CNN knob; the MLP here fits a CPU
    space["hidden_units"] = 128
    return space


def _searcher_run(space: dict[str, Any], search: dict[str, Any], work: Path) -> tuple[float, float]:
    from mlflow import MlflowClient

    from searcher.tracking.queries import find_search, trial_runs

    spec = {
        "name": "conditional",
        "workload": "mnist_mlp",
        "data": {"dataset": "fashion_mnist", "train_size": 4000, "val_fraction": 0.2},
        "metric": {"name": "val_accuracy", "mode": "max"},
        "budget": {"epochs": 2},
        "space": space,
        "search": search,
        "resources": {"cpu": 1, "gpu": 0},
    }
    work.mkdir(parents=True)
    (work / "spec.yaml").write_text(json.dumps(spec))
    store = f"sqlite:///{work / 'mlruns.db'}"
    started = time.perf_counter()
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "searcher"), "run", str(work / "spec.yaml"),
         "--tracking-uri", store, "--storage-path", str(work / "ray")],
        capture_output=True, text=True,
    )  # fmt: skip
    wall = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        sys.exit(f"{search}: searcher exited {proc.returncode}\n{proc.stdout[-2000:]}")
    client = MlflowClient(store)
    runs = trial_runs(client, find_search(client, "conditional"))
    return max(r.data.metrics.get("best_val_accuracy", 0.0) for r in runs), wall
