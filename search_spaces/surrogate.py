"""Cheap models of the score inside a zoom region, to pick among a trial's candidate points.

A zoom trial draws a few candidates from its region and runs the one the model likes best
(bench/quality.py: 4 candidates beat 1 and 8). Two models, both fitted on the finished trials
that shaped the stage, in unit coordinates, scores oriented so that lower is better:

- a separable quadratic, ``a + sum(b_i z_i + c_i z_i^2)``, over the trials near the region:
  on a bowl in log-learning-rate and friends it averages the noise away;
- a kernel smoother (Nadaraya-Watson), which follows any shape but averages less.

Five-fold cross-validation on the trials near the region picks one per stage. On numpy: the
ridge fit is a least-squares solve (no normal equations, so no squared condition number), and
the smoother's leave-one-out predictions for the cross-validation come from one kernel matrix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

PRIOR_WEIGHT = 0.1  # the kernel smoother's pull towards the mean score, where no trial is near
RIDGE = 1.0  # shrinks the quadratic's slopes and curvatures; the intercept is free
RCOND = 1e-12  # singular values below this share of the largest count as zero: no fit
FOLDS = 5
BLOCK = 1 << 20  # kernel matrix entries per block of rows, to bound memory on huge stages

Point = Mapping[str, float]


class Model:
    """Predicts a score (lower is better) at a point in unit coordinates."""

    name: str

    def predict(self, unit: Point) -> float:
        raise NotImplementedError


def _matrix(points: Sequence[Point], names: Sequence[str]) -> np.ndarray:
    """One row per point, one column per name, in ``names``' order."""
    rows = [[p[n] for n in names] for p in points]
    return np.array(rows, dtype=float).reshape(len(points), len(names))


@dataclass(frozen=True)
class KernelSmoother(Model):
    """Gaussian-kernel weighted mean of the scores, one bandwidth per parameter."""

    points: tuple[dict[str, float], ...]
    scores: tuple[float, ...]
    bandwidths: dict[str, float]
    name: str = "kernel"

    @cached_property
    def _h(self) -> np.ndarray:
        return np.array(list(self.bandwidths.values()), dtype=float)

    @cached_property
    def _x(self) -> np.ndarray:
        """The trials in bandwidth units, so that the kernel is ``exp(-|a - b|^2 / 2)``."""
        return _matrix(self.points, list(self.bandwidths)) / self._h

    @cached_property
    def _y(self) -> np.ndarray:
        return np.array(self.scores, dtype=float)

    @cached_property
    def mean(self) -> float:
        return float(self._y.mean())

    def predict(self, unit: Point) -> float:
        at = np.array([unit[n] for n in self.bandwidths], dtype=float) / self._h
        weights = np.exp(-0.5 * ((self._x - at) ** 2).sum(axis=1))
        num = PRIOR_WEIGHT * self.mean + weights @ self._y
        return float(num / (PRIOR_WEIGHT + weights.sum()))

    def held_out(self, indices: np.ndarray) -> np.ndarray:
        """The prediction at each trial of ``indices`` from all the other trials (its own
        weight and score left out of the sum and of the mean), for cross-validation."""
        n = len(self._y)
        out = np.empty(len(indices))
        step = max(1, BLOCK // max(1, n * self._x.shape[1]))
        for start in range(0, len(indices), step):
            rows = indices[start : start + step]
            d2 = ((self._x[rows, None, :] - self._x[None, :, :]) ** 2).sum(axis=2)
            weights = np.exp(-0.5 * d2)  # one row per held-out trial, one column per trial
            weights[np.arange(len(rows)), rows] = 0.0
            mean = (self._y.sum() - self._y[rows]) / (n - 1)
            num = PRIOR_WEIGHT * mean + weights @ self._y
            out[start : start + len(rows)] = num / (PRIOR_WEIGHT + weights.sum(axis=1))
        return out


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
        features = _features(_matrix(points, list(centre)), centre, scale)
        weights = _ridge(features, np.array(scores, dtype=float))
        return None if weights is None else cls(centre, scale, tuple(weights.tolist()))

    @cached_property
    def _terms(self) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, np.ndarray]:
        """Centre, scale, intercept, slopes, curvatures, as arrays in centre's order."""
        d = len(self.centre)
        w = np.array(self.weights, dtype=float)
        centre = np.array(list(self.centre.values()), dtype=float)
        scale = np.array([self.scale[n] for n in self.centre], dtype=float)
        return centre, scale, float(w[0]), w[1 : d + 1], w[d + 1 :]

    def predict(self, unit: Point) -> float:
        centre, scale, intercept, slopes, curvatures = self._terms
        z = (np.array([unit[n] for n in self.centre], dtype=float) - centre) / scale
        return float(intercept + z @ slopes + (z * z) @ curvatures)


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
    names = list(centre)
    x = _matrix(points, names)
    reach = 2 * np.array([half_widths[n] for n in names], dtype=float)
    near = np.flatnonzero(np.all(np.abs(x - np.array(list(centre.values()))) <= reach, axis=1))
    if len(near) < 2 * len(centre) + 3:
        return smoother
    scale = {n: half_widths[n] for n in centre}
    features = _features(x[near], centre, scale)
    y = np.array(scores, dtype=float)[near]
    weights = _ridge(features, y)
    if weights is None:
        return smoother
    fold = np.arange(len(near)) % FOLDS
    quadratic_error = 0.0
    for k in range(FOLDS):
        train = _ridge(features[fold != k], y[fold != k])
        if train is None:
            return smoother
        quadratic_error += float(((features[fold == k] @ train - y[fold == k]) ** 2).sum())
    smoother_error = float(((smoother.held_out(near) - y) ** 2).sum())
    if quadratic_error > smoother_error:
        return smoother
    return SeparableQuadratic(centre, scale, tuple(weights.tolist()))


def _features(x: np.ndarray, centre: Mapping[str, float], scale: Mapping[str, float]) -> np.ndarray:
    """``[1, z, z^2]`` per row, z = (x - centre) / scale; columns of ``x`` in centre's order."""
    z = (x - np.array(list(centre.values()))) / np.array([scale[n] for n in centre])
    return np.hstack([np.ones((len(x), 1)), z, z * z])


def _ridge(features: np.ndarray, scores: np.ndarray) -> np.ndarray | None:
    """Least squares with a RIDGE penalty on every weight but the intercept (the first):
    the features stacked on sqrt(RIDGE) times the identity's lower rows, against zeros.
    None when that system is rank-deficient or the inputs are not finite."""
    k = features.shape[1]
    a = np.vstack([features, np.sqrt(RIDGE) * np.eye(k)[1:]])
    b = np.concatenate([scores, np.zeros(k - 1)])
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return None
    weights, _, rank, _ = np.linalg.lstsq(a, b, rcond=RCOND)
    return weights if rank == k else None
