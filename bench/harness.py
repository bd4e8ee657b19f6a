"""What every bench/quality.py suite shares: building a strategy by name, and running it on
simulated workers straight on an objective (no training, no Ray)."""

from __future__ import annotations

import heapq
import importlib
import random
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search_spaces.space import SearchSpace  # noqa: E402
from search_spaces.strategies import Strategy, Trial, make_strategy, stages_for  # noqa: E402
from search_spaces.strategies.coarse_to_fine import CoarseToFine  # noqa: E402


def _cmaes(space: SearchSpace, mode: str, seed: int, trials: int) -> Strategy:
    from references import optuna_cmaes

    return optuna_cmaes(space, mode, seed, trials)


def _smac(space: SearchSpace, mode: str, seed: int, trials: int) -> Strategy:
    from references import Smac

    return Smac(space, mode, seed, trials)


# References that are not in searcher's registry, built on the same unit coordinates.
REFERENCES: dict[str, Callable[[SearchSpace, str, int, int], Strategy]] = {
    "optuna_cmaes": _cmaes,
    "smac": _smac,
}


TUNABLE_MODULES = (
    "search_spaces.strategies.coarse_to_fine",
    "search_spaces.candidates",
    "search_spaces.zoom",
    "search_spaces.surrogate",
    "search_spaces.gaussian_process",
)


@contextmanager
def variant(name: str) -> Iterator[str]:
    """For ``coarse_to_fine[SHRINK=0.5+CANDIDATES=64]``: those module constants (of
    TUNABLE_MODULES) changed while the block runs, for ablations; yields the plain name."""
    if "[" not in name:
        yield name
        return
    base, _, rest = name.partition("[")
    changes = dict(item.split("=", 1) for item in rest.rstrip("]").split("+") if item)
    saved: list[tuple[Any, str, Any]] = []
    try:
        for constant, raw in changes.items():
            module = next(
                (m for m in map(importlib.import_module, TUNABLE_MODULES) if hasattr(m, constant)),
                None,
            )
            if module is None:
                raise SystemExit(f"{name}: no constant {constant} in {', '.join(TUNABLE_MODULES)}")
            old = getattr(module, constant)
            saved.append((module, constant, old))
            setattr(module, constant, type(old)(float(raw)) if not isinstance(old, bool) else
                    raw == "True")  # fmt: skip
        yield base
    finally:
        for module, constant, old in reversed(saved):
            setattr(module, constant, old)


class HasSpaces(Protocol):
    natural: dict[str, Any]
    uniform: dict[str, Any]


def build(name: str, obj: HasSpaces, seed: int, budget: int) -> Strategy:
    """Strategy ``name`` for a ``budget``-trial search of ``obj``, minimising."""
    space = SearchSpace.from_mapping(obj.uniform if name == "random_uniform" else obj.natural)
    if name in REFERENCES:
        return REFERENCES[name](space, "min", seed, budget)
    if name == "coarse_to_fine":  # what `search: {strategy: coarse_to_fine, trials: N}` runs
        return make_strategy(name, space, "min", seed, stages=stages_for(budget))
    if name == "coarse_to_fine_wait_all":
        return CoarseToFine(space, "min", seed, stages_for(budget), ready=1.0)
    if name == "grid":  # the most points per parameter that fit (2 each may not: see "trials")
        points = max(2, int(budget ** (1 / len(space.tuned_names)) + 1e-9))
        return make_strategy(name, space, "min", seed, grid_points=points)
    strategy = "random" if name == "random_uniform" else name
    return make_strategy(strategy, space, "min", seed, trials=budget)


@dataclass(frozen=True)
class Run:
    """One search: noiseless values in the order trials ended, strategy seconds, idle share."""

    truths: list[float]
    strategy_s: float
    idle: float
    asked: list[int]  # each truth's position in the order trials were asked

    def best_of_first(self, budget: int) -> float:
        """The best value among the first ``budget`` trials asked: what a ``budget``-trial
        search of a strategy that does not plan from its budget finds, with any number of
        workers (the first to end may include later asks)."""
        return min(t for i, t in zip(self.asked, self.truths, strict=True) if i < budget)


def simulate(
    strategy: Strategy,
    f: Callable[[Mapping[str, Any]], float],
    key: str,
    workers: int,
    noise_sd: float = 0.0,
) -> Run:
    """Run a search on ``workers`` simulated workers; a trial is told when it ends.

    ``key`` seeds the trials' lengths and the noise, so every strategy meets the same ones."""
    noise = random.Random(f"noise:{key}")
    durations = random.Random(f"duration:{key}")
    truths: list[float] = []
    order: list[int] = []
    running: list[tuple[float, int, Trial]] = []  # (ends at, tie-break, trial)
    now = busy = spent = 0.0
    done, asked = False, 0
    strategy.expect_workers(workers)  # as the engine says how many trials it runs at once
    while True:
        while not done and len(running) < workers:
            started = time.perf_counter()
            out = strategy.ask()
            spent += time.perf_counter() - started
            if not isinstance(out, Trial):
                done = out.name == "DONE"
                break  # WAIT: idle until the next trial ends
            length = durations.uniform(0.5, 1.5)
            busy += length
            heapq.heappush(running, (now + length, asked, out))
            asked += 1
        if not running:
            break
        now, position, trial = heapq.heappop(running)
        truth = f(trial.params)
        truths.append(truth)
        order.append(position)
        started = time.perf_counter()
        strategy.tell(trial.key, truth + noise.gauss(0.0, noise_sd) if noise_sd else truth)
        spent += time.perf_counter() - started
    return Run(truths, spent, 1 - busy / (now * workers) if now else 0.0, order)
