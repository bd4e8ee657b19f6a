"""Cheap models of the score inside a zoom region, to pick among a trial's candidate points.

A zoom trial draws a few candidates from its region and runs the one the model likes best
(bench/quality.py: 4 candidates beat 1 and 8). Two models, both fitted on the finished trials
that shaped the stage, in unit coordinates, scores oriented so that lower is better:

- a separable quadratic, ``a + sum(b_i z_i + c_i z_i^2)``, over the trials near the region:
  on a bowl in log-learning-rate and friends it averages the noise away;
- a kernel smoother (Nadaraya-Watson), which follows any shape but averages less.

Five-fold cross-validation on the trials near the region picks one per stage. Pure Python:
the quadratic has at most 2 d + 1 terms, so its normal equations are small.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

PRIOR_WEIGHT = 0.1  # the kernel smoother's pull towards the mean score, where no trial is near
RIDGE = 1.0  # shrinks the quadratic's slopes and curvatures; the intercept is free
FOLDS = 5

Point = Mapping[str, float]


class Model:
    """Predicts a score (lower is better) at a point in unit coordinates."""

    name: str

    def predict(self, unit: Point) -> float:
        raise NotImplementedError


@dataclass(frozen=True)
class KernelSmoother(Model):
    """Gaussian-kernel weighted mean of the scores, one bandwidth per parameter."""

    points: tuple[dict[str, float], ...]
    scores: tuple[float, ...]
    bandwidths: dict[str, float]
    name: str = "kernel"

    @cached_property
    def mean(self) -> float:
        return statistics.fmean(self.scores)

    def predict(self, unit: Point) -> float:
        num, den = PRIOR_WEIGHT * self.mean, PRIOR_WEIGHT
        for point, score in zip(self.points, self.scores, strict=True):
            d2 = sum(((unit[n] - point[n]) / h) ** 2 for n, h in self.bandwidths.items())
            weight = math.exp(-0.5 * d2)
            num += weight * score
            den += weight
        return num / den


@dataclass(frozen=True)
class SeparableQuadratic(Model):
    """``a + sum(b_i z_i + c_i z_i^2)`` with z = (x - centre) / scale per parameter."""

    centre: dict[str, float]
    scale: dict[str, float]
    weights: tuple[float, ...]
    name: str = "quadratic"

    @classmethod
    def fit(
        cls, points: Sequence[Point], scores: Sequence[float], centre: dict[str, float],
        scale: dict[str, float],
    ) -> SeparableQuadratic | None:  # fmt: skip
        """Ridge least squares; None when the system is singular."""
        rows = [_features(p, centre, scale) for p in points]
        k = len(rows[0])
        gram = [
            [sum(r[i] * r[j] for r in rows) + (RIDGE if i == j and i else 0.0) for j in range(k)]
            for i in range(k)
        ]
        rhs = [sum(r[i] * y for r, y in zip(rows, scores, strict=True)) for i in range(k)]
        weights = _solve(gram, rhs)
        return None if weights is None else cls(centre, scale, tuple(weights))

    def predict(self, unit: Point) -> float:
        features = _features(unit, self.centre, self.scale)
        return sum(w * f for w, f in zip(self.weights, features, strict=True))


def fit_model(
    points: Sequence[dict[str, float]],
    scores: Sequence[float],
    centre: dict[str, float],
    half_widths: dict[str, float],
    bandwidths: dict[str, float],
) -> Model:
    """The better of the two models by cross-validation on the trials within twice the
    region's half-widths of its centre; the kernel smoother when too few trials are near."""
    smoother = KernelSmoother(tuple(points), tuple(scores), bandwidths)
    near = [
        i
        for i, p in enumerate(points)
        if all(abs(p[n] - c) <= 2 * half_widths[n] for n, c in centre.items())
    ]
    if len(near) < 2 * len(centre) + 3:
        return smoother
    scale = {n: half_widths[n] for n in centre}
    quadratic = SeparableQuadratic.fit(
        [points[i] for i in near], [scores[i] for i in near], centre, scale
    )
    if quadratic is None:
        return smoother
    quadratic_error = smoother_error = 0.0
    for fold in range(FOLDS):
        train = [i for j, i in enumerate(near) if j % FOLDS != fold]
        test = [i for j, i in enumerate(near) if j % FOLDS == fold]
        model = SeparableQuadratic.fit(
            [points[i] for i in train], [scores[i] for i in train], centre, scale
        )
        if model is None:
            return smoother
        for i in test:
            rest = [j for j in range(len(points)) if j != i]
            held_out = KernelSmoother(
                tuple(points[j] for j in rest), tuple(scores[j] for j in rest), bandwidths
            )
            quadratic_error += (model.predict(points[i]) - scores[i]) ** 2
            smoother_error += (held_out.predict(points[i]) - scores[i]) ** 2
    return quadratic if quadratic_error <= smoother_error else smoother


def _features(unit: Point, centre: Mapping[str, float], scale: Mapping[str, float]) -> list[float]:
    z = [(unit[n] - c) / scale[n] for n, c in centre.items()]
    return [1.0, *z, *(v * v for v in z)]


def _solve(matrix: list[list[float]], rhs: list[float]) -> list[float] | None:
    """Gauss-Jordan elimination with partial pivoting; None if singular."""
    n = len(rhs)
    m = [row[:] + [rhs[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        if abs(m[pivot][col]) < 1e-12:
            return None
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(n):
            if r != col and m[r][col]:
                factor = m[r][col] / m[col][col]
                for k in range(col, n + 1):
                    m[r][k] -= factor * m[col][k]
    return [m[i][n] / m[i][i] for i in range(n)]
