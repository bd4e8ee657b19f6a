"""Ranks and tests for bench/quality.py's suites: which strategy is ahead, and is it real.

A block is one (problem, seed): every strategy ran it once. Within a block strategies are
ranked by their best score (1 = best, ties share the mean rank); the Friedman test asks
whether any strategy ranks differently from the others over all blocks, and a Wilcoxon
signed-rank test per reference (Holm-corrected over the references) whether it is ahead of
or behind coarse_to_fine. All from scipy.stats.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Comparison:
    """A reference against the strategy under test: the Holm-adjusted p-value of the Wilcoxon
    test on the per-block differences, and ``ahead`` when its signed-rank sum says it is the
    better one (the side the test's statistic leans to)."""

    name: str
    p: float
    ahead: bool


def mean_ranks(scores: Mapping[str, Sequence[float]]) -> dict[str, float]:
    """``scores[name][block]``, lower better: the mean rank of each strategy over the blocks."""
    names = list(scores)
    table = np.array([scores[n] for n in names], dtype=float).T  # blocks x strategies
    ranks = stats.rankdata(table, axis=1)
    return dict(zip(names, ranks.mean(axis=0).tolist(), strict=True))


def friedman(scores: Mapping[str, Sequence[float]]) -> float:
    """The Friedman test's p-value over the blocks (nan with fewer than 3 strategies)."""
    if len(scores) < 3:
        return math.nan
    columns = [np.asarray(v, dtype=float) for v in scores.values()]
    if all(np.allclose(c, columns[0]) for c in columns):
        return 1.0
    return float(stats.friedmanchisquare(*columns).pvalue)


def against(subject: str, scores: Mapping[str, Sequence[float]]) -> list[Comparison]:
    """Each other strategy against ``subject``: Wilcoxon signed-rank per block, Holm."""
    mine = np.asarray(scores[subject], dtype=float)
    raw: list[tuple[str, float, bool]] = []
    for name, theirs in scores.items():
        if name == subject:
            continue
        diff = mine - np.asarray(theirs, dtype=float)  # > 0: theirs is better (lower)
        if np.allclose(diff, 0):
            raw.append((name, 1.0, False))
            continue
        p = float(stats.wilcoxon(diff, zero_method="zsplit").pvalue)
        moved = diff[diff != 0]
        ranks = stats.rankdata(np.abs(moved))
        raw.append((name, p, ranks[moved > 0].sum() > ranks[moved < 0].sum()))
    adjusted = holm([p for _, p, _ in raw])
    return [Comparison(name, p, ahead) for (name, _, ahead), p in zip(raw, adjusted, strict=True)]


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment: family-wise error control without independence."""
    order = np.argsort(pvalues)
    m = len(pvalues)
    out = [1.0] * m
    running = 0.0
    for i, k in enumerate(order):
        running = max(running, min(1.0, (m - i) * pvalues[k]))
        out[k] = running
    return out


FLOOR = -100.0  # a normalised score is never counted below this


def normalised(best: float, random_median: float, best_known: float) -> float:
    """Bayesmark's normalised score: 100 at the best known value, 0 at random search's median
    best at the same budget, clipped at FLOOR: where random's median is within a hair of the
    best known (kNN on wine, SVM past 50 trials) one poor run would otherwise score -10,000
    and outweigh every other problem of the mean."""
    gap = random_median - best_known
    return 100.0 if gap <= 0 else max(FLOOR, 100.0 * (random_median - best) / gap)
