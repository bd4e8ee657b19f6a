"""Search quality: coarse_to_fine against the references, on synthetic and real problems.

    python bench/quality.py --suite real      # Bayesmark's scikit-learn problems (bench/suites.py)
    python bench/quality.py --suite bbob      # BBOB functions in 2, 5 and 10 dimensions
    python bench/quality.py --suite cost      # each strategy's compute per suggestion
    python bench/quality.py --suite training  # the real training below, alone
    python bench/quality.py --suite conditional           # branches: bench/conditional.py
    python bench/quality.py --suite conditional_training  # the optimizer branches, Fashion-MNIST
    python bench/quality.py --suite warm      # what a warm start is worth: bench/warm_start.py
    python bench/quality.py --quick           # synthetic: 10 seeds, budgets 20 and 50
    python bench/quality.py                   # synthetic: 60 seeds, budgets 20, 50 and 100
    python bench/quality.py --plot bench/quality.svg   # also draw the regret plot

The rest of this note is the synthetic suite (``--suite synthetic``, the default).

Synthetic objectives with a known optimum, straight on the strategies (no training, no Ray):
Branin (2 parameters), Hartmann-6, and a noisy learning-rate valley (lr, momentum and weight
decay on their natural scales, the score peaked in log10 lr), each with 3 irrelevant extra
parameters. Trials run on simulated workers (``--workers``, default 1 and 4): each takes a
seeded random 0.5 to 1.5 time units and is told when it ends, so a strategy that waits at a
stage barrier leaves workers idle, and TPE asks with results still out, as on Ray.
Prints, per objective and budget, the mean simple regret (the best trial's noiseless value
minus the optimum) with a 95 % confidence interval, how many trials each strategy needed to
match grid's best, the share of worker time left idle, and the strategy's own time per
trial. ``coarse_to_fine (wait all)`` is the same strategy starting a stage only when the
previous one has wholly finished: the cost of the barrier. Asserts nothing.

Real training (``--real``, on by default; ``--no-real`` skips it): 27 trials of SGD on an MLP
(lr, momentum, weight decay; 2 epochs on 4,000 Fashion-MNIST images, 1,000 held out), each
strategy run through `searcher run` once per seed: the best validation accuracy, the mean of
the top 3, the trials needed to match grid's best, the share of worker time idle (from the
trials' start and end times in the store), and the search's wall time.
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
sys.path.insert(0, str(ROOT / "bench"))

from harness import Run, build, simulate  # noqa: E402

from search_spaces.space import SearchSpace  # noqa: E402
from search_spaces.strategies import stages_for  # noqa: E402
from search_spaces.strategies.coarse_to_fine import CoarseToFine  # noqa: E402

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


STRATEGIES = (
    "coarse_to_fine",
    "coarse_to_fine_wait_all",
    "random",
    "optuna_tpe",
    "grid",
    "random_uniform",
)


def run_one(name: str, obj: Objective, seed: int, budget: int, workers: int) -> Run:
    """Run strategy ``name`` on ``workers`` simulated workers."""
    return simulate(build(name, obj, seed, budget), obj.f, f"{obj.name}:{seed}", workers, obj.noise)


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
    parser.add_argument("--seeds", type=int, default=60)
    parser.add_argument("--budgets", default="20,50,100")
    parser.add_argument("--workers", default="1,4", help="simulated workers, comma-separated")
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--plot", type=Path, help="write the regret plot (SVG) here")
    parser.add_argument(
        "--ablation", action="store_true", help="only coarse_to_fine with one part switched off"
    )
    parser.add_argument("--real", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--real-seeds", type=int, default=3)
    parser.add_argument(
        "--suite", default="synthetic",
        choices=("synthetic", "real", "bbob", "cost", "training", "conditional",
                 "conditional_training", "warm"),
        help="synthetic: the three functions above (and the real training); real: Bayesmark's "
        "scikit-learn problems; bbob: BBOB functions in 2, 5 and 10 dimensions; cost: each "
        "strategy's compute per suggestion at --budgets trials; training: only the real "
        "training, --real-seeds seeds; conditional: three branches with their own parameters "
        "and optima (budgets 30 and 60); conditional_training: the optimizer branches of "
        "spaces/optimizers.yaml on Fashion-MNIST, --real-seeds seeds; warm: a 30-trial search "
        "warm-started from an earlier one after the objective changed, against cold 30 and 60 "
        "(--no-real: the synthetic changes only)",
    )  # fmt: skip
    parser.add_argument("--jobs", type=int, default=2, help="processes for --suite real/bbob")
    parser.add_argument("--problems", default="", help="only these problems (comma-separated)")
    parser.add_argument(
        "--cache", type=Path,
        help="keep the references' runs here and reuse them (coarse_to_fine always reruns)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.suite == "training":
        real(args.real_seeds, _given(args) or list(REAL_SEARCH))
        return
    if args.suite in ("conditional", "conditional_training"):
        import conditional

        names = _given(args) or conditional.STRATEGIES
        budgets = [int(b) for b in args.budgets.split(",")]
        budgets = conditional.BUDGETS if args.budgets == "20,50,100" else budgets
        if args.suite == "conditional":
            workers = [int(w) for w in args.workers.split(",")]
            conditional.main_conditional(10 if args.quick else args.seeds, budgets, workers, names)
        else:
            conditional.main_training(args.real_seeds, budgets, names)
        return
    if args.suite == "warm":
        from warm_start import main_warm

        workers = [int(w) for w in args.workers.split(",")]
        main_warm(10 if args.quick else args.seeds, workers, args.jobs, args.real)
        return
    if args.suite == "cost":
        from strategy_cost import main_cost

        cost_names = ["coarse_to_fine", "optuna_tpe", "random"]
        main_cost([int(b) for b in args.budgets.split(",")], _given(args) or cost_names)
        return
    if args.suite != "synthetic":
        from suites import SUITE_STRATEGIES, main_suite

        names = _given(args)
        main_suite(
            args.suite, 10 if args.quick else args.seeds,
            [20, 50] if args.quick else [int(b) for b in args.budgets.split(",")],
            [int(w) for w in args.workers.split(",")], names or list(SUITE_STRATEGIES),
            args.jobs, [p for p in args.problems.split(",") if p], args.cache,
        )  # fmt: skip
        return
    seeds = 10 if args.quick else args.seeds
    budgets = [20, 50] if args.quick else [int(b) for b in args.budgets.split(",")]
    names = [n for n in args.strategies.split(",") if n]
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if args.ablation:
        ablation(seeds, budgets, [int(w) for w in args.workers.split(",")])
        return
    table: dict[tuple[int, str, int, str], tuple[float, float]] = {}
    for workers in [int(w) for w in args.workers.split(",")]:
        print(f"synthetic suite: {seeds} seeds, {EXTRA} irrelevant parameters each, "
              f"{workers} worker{'s' if workers > 1 else ''}")  # fmt: skip
        head = f"{'objective':<10} {'budget':>6} {'strategy':<24} {'trials':>6} "
        print(head + f"{'regret: mean ± 95% CI':>24} {'to grid':>8} {'idle':>5} {'ms/trial':>9}")
        for obj in OBJECTIVES:
            for budget in budgets:
                runs = {
                    n: [run_one(n, obj, seed, budget, workers) for seed in range(seeds)]
                    for n in names
                }
                for name, results in runs.items():
                    mean, half = ci95([min(r.truths) - obj.optimum for r in results])
                    table[workers, obj.name, budget, name] = (mean, half)
                    reach = _reach(runs.get("grid"), results)
                    per_trial = (
                        1e3
                        * sum(r.strategy_s for r in results)
                        / sum(len(r.truths) for r in results)
                    )
                    trials = statistics.fmean(len(r.truths) for r in results)
                    idle = statistics.fmean(r.idle for r in results)
                    row = f"{obj.name:<10} {budget:>6} {name:<24} {trials:>6.0f} "
                    print(row + f"{mean:>#12.3g} ± {half:<#9.2g} {reach:>8} {idle:>5.0%} "
                          f"{per_trial:>9.2f}")  # fmt: skip
        print()
    if args.plot:
        args.plot.write_text(regret_svg(table, budgets))
        print(f"plot: {args.plot}")
    if args.real:
        real(1 if args.quick else args.real_seeds, names)


ABLATIONS: dict[str, str] = {  # bench/harness.py::variant changes; "uniform": see ablation()
    "coarse_to_fine": "",
    "no model (1 candidate)": (
        "CANDIDATES=1+GLOBAL_CANDIDATES=0+REFINE_CANDIDATES=0+EDGE_MOVES=False"
    ),
    "no exploring trials": "GLOBAL_CANDIDATES=0",
    "no local steps": "REFINE_CANDIDATES=0+EDGE_MOVES=False",
    "256 candidates": "CANDIDATES=256",
    "zoom stages of 10": "ZOOM_STAGE_TRIALS=10",
    "uniform coarse stage": "uniform",
    "side shrinks by 0.5": "SHRINK=0.5",
    "side shrinks by 0.7": "SHRINK=0.7",
    "wait for all trials": "READY_FRACTION=1.0",
}


def _given(args: argparse.Namespace) -> list[str] | None:
    """The strategies --strategies named, or None where it was left at the synthetic default
    (each other suite has its own)."""
    if args.strategies == ",".join(STRATEGIES):
        return None
    return [n for n in args.strategies.split(",") if n]


def ablation(seeds: int, budgets: list[int], workers: list[int]) -> None:
    """coarse_to_fine with one part switched off at a time, on the same seeds."""
    from harness import variant

    from search_spaces.strategies import coarse_to_fine

    def uniform(space: SearchSpace, seed: int, stage: int, trials: int, index: int,
                rng: random.Random) -> dict[str, float]:  # fmt: skip
        return space.sample_unit(rng)

    latin_point = coarse_to_fine.latin_point
    for nw in workers:
        print(f"ablation: {seeds} seeds, {nw} worker{'s' if nw > 1 else ''}, mean regret ± 95% CI")
        print(f"{'variant':<24} " + " ".join(f"{o.name[:9]:>9} {b:<14}" for o in OBJECTIVES
                                              for b in budgets))  # fmt: skip
        for label, changes in ABLATIONS.items():
            if changes == "uniform":
                coarse_to_fine.latin_point = uniform  # type: ignore[assignment]
            cells = []
            with variant(f"coarse_to_fine[{'' if changes == 'uniform' else changes}]"):
                # READY_FRACTION is a default argument: pass it explicitly.
                ready = coarse_to_fine.READY_FRACTION
                for obj in OBJECTIVES:
                    for budget in budgets:
                        regrets = []
                        for seed in range(seeds):
                            space = SearchSpace.from_mapping(obj.natural)
                            strategy = CoarseToFine(space, "min", seed, stages_for(budget), ready)
                            run = simulate(strategy, obj.f, f"{obj.name}:{seed}", nw, obj.noise)
                            regrets.append(min(run.truths) - obj.optimum)
                        mean, half = ci95(regrets)
                        cells.append(f"{mean:>9.4g} ± {half:<10.2g}")
            coarse_to_fine.latin_point = latin_point
            print(f"{label:<24} " + " ".join(cells))
        print()


def _reach(grid: list[Run] | None, results: list[Run]) -> str:
    """Median trials to match the grid's best (seed 0's grid: grid ignores the seed)."""
    if not grid:
        return ""
    target = min(grid[0].truths)
    hits = [_first_at_most(r.truths, target) for r in results]
    found = [h for h in hits if h is not None]
    reach = f"{statistics.median(found):.0f}" if found else "never"
    return reach + (f" ({len(found)}/{len(hits)})" if found and len(found) < len(hits) else "")


PLOT_COLOURS = {
    "coarse_to_fine": "#d62728",
    "coarse_to_fine_wait_all": "#ff9896",
    "random": "#1f77b4",
    "optuna_tpe": "#2ca02c",
    "grid": "#7f7f7f",
    "random_uniform": "#9467bd",
}


def regret_svg(
    table: dict[tuple[int, str, int, str], tuple[float, float]], budgets: list[int]
) -> str:
    """Mean regret against budget, log scale, a panel per objective and worker count, with
    the 95 % intervals as whiskers: a self-contained SVG for bench/README.md."""
    workers = sorted({k[0] for k in table})
    objectives = list(dict.fromkeys(k[1] for k in table))
    names = list(dict.fromkeys(k[3] for k in table))
    w, h, left, top, gap = 260, 200, 60, 30, 50
    width = left + (w + gap) * len(objectives)
    height = top + (h + 40) * len(workers) + 20 * len(names)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           'font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>']  # fmt: skip
    for row, nw in enumerate(workers):
        for col, obj in enumerate(objectives):
            x0, y0 = left + col * (w + gap), top + row * (h + 40)
            cells = {k: v for k, v in table.items() if k[0] == nw and k[1] == obj}
            lows = [max(m - c, m / 10) if c == c else m for m, c in cells.values()]
            lo = math.log10(max(1e-6, min(lows)))
            hi = math.log10(max(m + (c if c == c else 0) for m, c in cells.values()))
            hi = hi if hi > lo else lo + 1

            def px(b: int, x0: int = x0) -> float:
                return x0 + 20 + (w - 50) * budgets.index(b) / max(1, len(budgets) - 1)

            def py(v: float, y0: int = y0, lo: float = lo, hi: float = hi) -> float:
                return y0 + h - 20 - (h - 40) * (math.log10(max(v, 10**lo)) - lo) / (hi - lo)

            out.append(f'<rect x="{x0}" y="{y0}" width="{w - 10}" height="{h}" fill="none" '
                       'stroke="#ccc"/>')  # fmt: skip
            out.append(f'<text x="{x0 + 5}" y="{y0 + 14}">{obj}, {nw} worker(s)</text>')
            for b in budgets:
                out.append(f'<text x="{px(b) - 8}" y="{y0 + h + 12}">{b}</text>')
            for v in (10**lo, 10**hi):
                out.append(f'<text x="{x0 - 4}" y="{py(v) + 4}" text-anchor="end">{v:.2g}</text>')
            for name in names:
                pts = [(b, cells[nw, obj, b, name]) for b in budgets if (nw, obj, b, name) in cells]
                colour = PLOT_COLOURS.get(name, "black")
                line = " ".join(f"{px(b):.1f},{py(m):.1f}" for b, (m, _) in pts)
                dash = ' stroke-dasharray="6 4"' if name == "random_uniform" else ""
                out.append(f'<polyline points="{line}" fill="none" stroke="{colour}" '
                           f'stroke-width="2"{dash}/>')  # fmt: skip
                for b, (m, c) in pts:
                    if c == c:  # NaN with one seed
                        out.append(f'<line x1="{px(b):.1f}" x2="{px(b):.1f}" y1="{py(m - c):.1f}" '
                                   f'y2="{py(m + c):.1f}" stroke="{colour}"/>')  # fmt: skip
    legend_y = top + (h + 40) * len(workers)
    for i, name in enumerate(names):
        colour = PLOT_COLOURS.get(name, "black")
        out.append(f'<rect x="{left}" y="{legend_y + 20 * i}" width="14" height="4" '
                   f'fill="{colour}"/><text x="{left + 20}" y="{legend_y + 20 * i + 6}">'
                   f"{name}{' (dashed)' if name == 'random_uniform' else ''}</text>")  # fmt: skip
    out.append('<text x="5" y="15">mean simple regret (log scale) against trials, 95 % CI</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


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
    "coarse_to_fine": {"strategy": "coarse_to_fine", "trials": 27},  # 10 + 6 + 6 + 5
    "random": {"strategy": "random", "trials": 27},
    "optuna_tpe": {"strategy": "optuna_tpe", "trials": 27},
    "optuna_gp": {"strategy": "optuna_gp", "trials": 27},
    "grid": {"strategy": "grid", "grid_points": 3},
    "random_uniform": {"strategy": "random", "trials": 27},
}


def real_search(name: str, seed: int, scratch: Path) -> tuple[list[float], float, float]:
    """One `searcher run` of the SGD MLP search: the trials' scores in key order, wall s, and
    the share of worker time idle between the first trial's start and the last one's end."""
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
    spans = [(r.info.start_time, r.info.end_time) for r in runs if r.info.end_time]
    return scores, wall, idle_share(spans)


def idle_share(spans: list[tuple[int, int]]) -> float:
    """1 - busy / (slots x span), slots being the most trials that ever ran at once."""
    if not spans:
        return 0.0
    events = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
    slots = running = 0
    for _, step in events:
        running += step
        slots = max(slots, running)
    span = max(b for _, b in spans) - min(a for a, _ in spans)
    return 1 - sum(b - a for a, b in spans) / (slots * span) if span else 0.0


def real(seeds: int, names: list[str]) -> None:
    plural = "s" if seeds > 1 else ""
    print(f"\nreal training: SGD MLP, 27 trials, 2 epochs on 4,000 images, {seeds} seed{plural}")
    head = f"{'strategy':<15} {'best: mean ± 95% CI':>21} {'top 3':>7} "
    print(head + f"{'trials to grid':>14} {'idle':>5} {'wall s':>7}")
    names = [n for n in names if n in REAL_SEARCH]
    with tempfile.TemporaryDirectory(prefix="searcher-quality-") as tmp:
        runs = {n: [real_search(n, seed, Path(tmp)) for seed in range(seeds)] for n in names}
    # Training noise differs by seed, so each seed's search is held to that seed's grid.
    grid_best = [max(scores) for scores, _, _ in runs["grid"]] if "grid" in runs else None
    for name, results in runs.items():
        mean, half = ci95([max(scores) for scores, _, _ in results])
        top3 = statistics.fmean(statistics.fmean(sorted(s)[-3:]) for s, _, _ in results)
        reach = ""
        if grid_best is not None:
            hits = [
                _first_at_most([-x for x in s], -best)
                for (s, _, _), best in zip(results, grid_best, strict=True)
            ]
            found = [h for h in hits if h is not None]
            reach = f"{statistics.median(found):.0f}" if found else "never"
            if found and len(found) < len(hits):
                reach += f" ({len(found)}/{len(hits)})"
        wall = statistics.median(w for _, w, _ in results)
        idle = statistics.fmean(i for _, _, i in results)
        print(f"{name:<15} {mean:>11.4f} ± {half:<7.4f} {top3:>7.4f} {reach:>14} {idle:>5.0%} "
              f"{wall:>7.1f}")  # fmt: skip
    if "coarse_to_fine" in runs and seeds > 2:
        print("\ncoarse_to_fine against each, paired by seed (best accuracy, points):")
        mine = [max(s) for s, _, _ in runs["coarse_to_fine"]]
        for name, results in runs.items():
            if name != "coarse_to_fine":
                diff = [100 * (a - max(s)) for a, (s, _, _) in zip(mine, results, strict=True)]
                print(f"  {name:<15} {seeds_to_separate(diff)}")


def seeds_to_separate(diff: list[float]) -> str:
    """The mean paired difference with its 95 % interval, and how many seeds a paired t-test
    at 5 % would need to tell it from zero 80 % of the time (normal approximation)."""
    mean, half = ci95(diff)
    sd = statistics.stdev(diff)
    if mean == 0 or sd == 0:
        return f"{mean:+.2f} ± {half:.2f}; no difference to separate"
    needed = math.ceil(((1.96 + 0.8416) * sd / mean) ** 2)
    return f"{mean:+.2f} ± {half:.2f}; ~{needed} seeds would separate a difference this size"


def _first_at_most(truths: list[float], target: float) -> int | None:
    best = math.inf
    for i, value in enumerate(truths, 1):
        best = min(best, value)
        if best <= target + 1e-12:
            return i
    return None


if __name__ == "__main__":
    main()
