"""bench/quality.py's ``--suite real`` and ``--suite bbob``: every strategy on every problem
and seed, side by side, then mean ranks, the Friedman test, and a Wilcoxon test of
coarse_to_fine against each reference (bench/ranking.py).

Strategies whose suggestions do not depend on the budget (random, TPE, GP, CMA-ES, SMAC
with its initial design fixed at 5 configurations, what it picks for 20 trials) run once at
the largest budget and are read at each smaller one from the trials that ended first;
coarse_to_fine plans its stages from the budget, so it runs once per budget. Blocks (problem,
seed) run in parallel processes (``--jobs``), each block's strategies in one process, one
after another, so their compute times are measured under the same load.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import statistics
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from harness import Run, build, simulate, variant
from problems import Problem, bbob_suite, real_suite
from ranking import against, friedman, mean_ranks, normalised

SUITE_STRATEGIES = (
    "coarse_to_fine",
    "optuna_gp",
    "optuna_tpe",
    "optuna_cmaes",
    "smac",
    "random",
    "random_uniform",
)
PER_BUDGET = {"coarse_to_fine", "coarse_to_fine_wait_all"}  # they plan from the budget
SUITES = {"real": real_suite, "bbob": bbob_suite}


@dataclass(frozen=True)
class Block:
    """One (problem, seed): per strategy the best value at each budget, and its own compute
    seconds per trial (mean over its runs)."""

    problem: str
    seed: int
    best: dict[str, dict[int, float]]
    ms_per_trial: dict[str, float]
    idle: dict[str, float]  # share of worker time idle, mean over the strategy's runs
    wall_s: float


@lru_cache(maxsize=1)
def fingerprint() -> str:
    """What a cached reference run depends on besides its key: the problems' and references'
    code and the versions of the libraries they run on."""
    from importlib.metadata import PackageNotFoundError, version

    digest = hashlib.sha256()
    for module in ("problems.py", "references.py"):
        digest.update((Path(__file__).parent / module).read_bytes())
    for package in ("optuna", "scikit-learn", "smac", "ioh", "cmaes", "numpy", "scipy", "torch"):
        try:
            digest.update(f"{package}={version(package)}".encode())
        except PackageNotFoundError:
            digest.update(f"{package}=none".encode())
    return digest.hexdigest()[:10]


def run_block(
    suite: str,
    problem: str,
    seed: int,
    budgets: Sequence[int],
    workers: int,
    names: Sequence[str],
    cache: Path | None = None,
) -> Block:
    started = time.perf_counter()
    prob = {p.name: p for p in SUITES[suite](optional=True)}[problem]
    f = prob.make(seed)
    key = f"{problem}:{seed}"
    best: dict[str, dict[int, float]] = {}
    ms: dict[str, float] = {}
    idle: dict[str, float] = {}
    for name in names:
        kept = (
            cache / f"{problem}-{seed}-{workers}w-{name}-{max(budgets)}-{fingerprint()}.json"
            if cache
            else None
        )
        if kept is not None and kept.exists() and name.partition("[")[0] not in PER_BUDGET:
            saved = json.loads(kept.read_text())
            run = Run(saved["truths"], 0.0, saved["idle"], saved["asked"])
            best[name] = {b: run.best_of_first(b) for b in budgets}
            ms[name], idle[name] = saved["ms"], run.idle
            continue
        with variant(name) as plain:
            runs = (
                {b: simulate(build(plain, prob, seed, b), f, key, workers) for b in budgets}
                if plain in PER_BUDGET
                else dict.fromkeys(
                    budgets, simulate(build(plain, prob, seed, max(budgets)), f, key, workers)
                )  # fmt: skip
            )
        best[name] = {b: run.best_of_first(b) for b, run in runs.items()}
        distinct = {id(r): r for r in runs.values()}.values()
        ms[name] = 1e3 * sum(r.strategy_s for r in distinct) / sum(len(r.truths) for r in distinct)
        idle[name] = statistics.fmean(r.idle for r in distinct)
        if kept is not None and plain not in PER_BUDGET:
            run = runs[max(budgets)]
            kept.parent.mkdir(parents=True, exist_ok=True)
            partial = kept.with_suffix(f".{os.getpid()}.part")  # a killed run leaves no half file
            partial.write_text(json.dumps(
                {"truths": run.truths, "asked": run.asked, "ms": ms[name], "idle": run.idle}
            ))  # fmt: skip
            partial.replace(kept)
    return Block(problem, seed, best, ms, idle, time.perf_counter() - started)


def one_thread() -> None:
    """One BLAS and torch thread per process: ``--jobs`` processes share the cores, and
    threads fighting over them made GPSampler (torch) ten times slower here."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    import torch

    torch.set_num_threads(1)


def run_suite(
    suite: str,
    seeds: int,
    budgets: Sequence[int],
    workers: int,
    names: Sequence[str],
    jobs: int,
    problems: Sequence[str] = (),
    cache: Path | None = None,
) -> list[Block]:
    chosen = (
        [p for p in SUITES[suite](optional=True) if p.name in problems]
        if problems
        else SUITES[suite]()
    )
    tasks = [
        (suite, p.name, seed, budgets, workers, names, cache)
        for p in chosen
        for seed in range(seeds)
    ]
    blocks: list[Block] = []
    with ProcessPoolExecutor(max_workers=jobs, initializer=one_thread) as pool:
        futures = [pool.submit(run_block, *task) for task in tasks]
        for done, future in enumerate(futures, 1):
            blocks.append(future.result())
            if done % max(1, len(tasks) // 10) == 0 or done == len(tasks):
                print(f"  {done}/{len(tasks)} blocks", flush=True)
    return blocks


def report(suite: str, blocks: list[Block], budgets: Sequence[int], workers: int,
           names: Sequence[str], problems: dict[str, Problem]) -> None:  # fmt: skip
    """Per budget: mean rank, the suite's figure (normalised score or log10 regret),
    Wilcoxon against coarse_to_fine, and compute per trial; then per problem."""
    seeds = len({b.seed for b in blocks})
    figure = "normalised score" if suite == "real" else "log10 regret"
    plural = "s" if workers > 1 else ""
    print(f"\n{suite} suite: {len({b.problem for b in blocks})} problems x {seeds} seeds, "
          f"{workers} worker{plural}")  # fmt: skip
    subject = "coarse_to_fine" if "coarse_to_fine" in names else names[0]
    for budget in budgets:
        values = {n: [b.best[n][budget] for b in blocks] for n in names}
        scores = figures(suite, blocks, budget, names, problems)
        # Ranks on the raw best values; the Wilcoxon test on the suite's figure, oriented so
        # that lower is better (normalised scores negated).
        sign = -1.0 if suite == "real" else 1.0
        oriented = {n: [sign * v for v in scores[n]] for n in names}
        comparisons = {c.name: c for c in against(subject, oriented)}
        ranks = mean_ranks(values)
        p = friedman(values)
        print(f"{budget} trials: Friedman p = {p:.2g}")
        print(f"  {'strategy':<22} {'mean rank':>9} {figure:>17} {'vs ' + subject:>26} "
              f"{'ms/trial':>9} {'idle':>5}")  # fmt: skip
        for name in sorted(names, key=ranks.get):
            c = comparisons.get(name)
            verdict = "" if c is None else f"{'ahead' if c.ahead else 'behind'}, p = {c.p:.2g}"
            ms = statistics.fmean(b.ms_per_trial[name] for b in blocks)
            idle = statistics.fmean(b.idle[name] for b in blocks)
            print(f"  {name:<22} {ranks[name]:>9.2f} {statistics.fmean(scores[name]):>17.2f} "
                  f"{verdict:>26} {ms:>9.2f} {idle:>5.0%}")  # fmt: skip
    print(f"\nper problem, mean {figure} over {seeds} seeds:")
    print(f"  {'problem':<24} {'trials':>6} " + " ".join(f"{n[:14]:>14}" for n in names))
    for problem in dict.fromkeys(b.problem for b in blocks):
        mine = [b for b in blocks if b.problem == problem]
        for budget in budgets:
            scores = figures(suite, mine, budget, names, problems)
            cells = " ".join(f"{statistics.fmean(scores[n]):>14.2f}" for n in names)
            print(f"  {problem:<24} {budget:>6} {cells}")


def figures(suite: str, blocks: list[Block], budget: int, names: Sequence[str],
            problems: dict[str, Problem]) -> dict[str, list[float]]:  # fmt: skip
    """Per strategy, per block: Bayesmark's normalised score (real: random's median over the
    seeds at this budget is 0, the best value any strategy found at any budget is 100), or
    log10 of the regret against the known optimum (bbob)."""
    out: dict[str, list[float]] = {n: [] for n in names}
    by_problem: dict[str, list[Block]] = {}
    for b in blocks:
        by_problem.setdefault(b.problem, []).append(b)
    zero = {  # per problem: random's median at this budget, the best value known
        p: (
            statistics.median(b.best["random"][budget] for b in mine),
            min(v for b in mine for per in b.best.values() for v in per.values()),
        )
        for p, mine in by_problem.items()
        if suite == "real"
    }
    for block in blocks:
        if suite == "real":
            median, known = zero[block.problem]
            for n in names:
                out[n].append(normalised(block.best[n][budget], median, known))
        else:
            optimum = _optimum(problems[block.problem], block.seed)
            for n in names:
                out[n].append(math.log10(max(block.best[n][budget] - optimum, 1e-8)))
    return out


_OPTIMA: dict[tuple[str, int], float] = {}


def _optimum(problem: Problem, seed: int) -> float:
    """A BBOB instance's optimum, built once per (problem, seed) however often it is read."""
    key = (problem.name, seed)
    if key not in _OPTIMA:
        value = problem.optimum(seed)
        assert value is not None
        _OPTIMA[key] = value
    return _OPTIMA[key]


def main_suite(suite: str, seeds: int, budgets: Sequence[int], workers: Sequence[int],
               names: Sequence[str], jobs: int, problems: Sequence[str],
               cache: Path | None = None) -> None:  # fmt: skip
    if suite == "real" and "random" not in names:
        raise SystemExit("--suite real needs random among --strategies: it is the 0 of the score")
    known = {p.name: p for p in SUITES[suite](optional=True)}
    unknown = [p for p in problems if p not in known]
    if unknown:
        raise SystemExit(f"--problems: unknown {', '.join(unknown)}; known: {', '.join(known)}")
    for nw in workers:
        started = time.perf_counter()
        blocks = run_suite(suite, seeds, budgets, nw, names, jobs, problems, cache)
        report(suite, blocks, budgets, nw, names, known)
        print(f"({time.perf_counter() - started:.0f} s)")
