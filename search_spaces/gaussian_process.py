"""A small Gaussian process, to pick a zoom trial's point by expected improvement.

Matern 5/2 kernel with one length scale per parameter (ARD), a learned noise level, and the
scores standardised; the hyperparameters maximise the marginal likelihood plus a log-normal
prior on the length scales that grows with the dimension (Hvarfner et al., "Vanilla
Bayesian optimization performs great in high dimensions", ICML 2024), so a fit on ten trials
does not chase noise. L-BFGS-B from scipy on analytic gradients, from one fixed start: the
same trials always give the same model, which keeps coarse to fine deterministic.

Why not sklearn's GaussianProcessRegressor: search_spaces runs on numpy and scipy alone, and
a stage needs a model that can take "fantasy" points (kriging believer) cheaply, which is a
rank-one extension of the Cholesky factor here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from scipy.linalg.lapack import dpotrf, dpotri, dpotrs, dtrtrs
from scipy.optimize import minimize
from scipy.special import erfcx, ndtr
from threadpoolctl import ThreadpoolController

SQRT5 = math.sqrt(5.0)
LOG_LENGTH_BOUNDS = (math.log(1e-2), math.log(20.0))
LOG_SIGNAL_BOUNDS = (math.log(0.05), math.log(20.0))
LOG_NOISE_BOUNDS = (math.log(1e-6), math.log(1.0))
JITTER = 1e-8
FANTASY_NOISE = 1e-6  # a believed point's variance: next to none, yet the factor stays stable
MAX_ITERATIONS = 50


@lru_cache(maxsize=1)
def _blas() -> ThreadpoolController:
    """Built on first use, once numpy's and scipy's BLAS are loaded, so it sees both."""
    return ThreadpoolController()


def one_blas_thread() -> Any:
    """A context in which BLAS runs on one thread. A stage's matrices are at most 128 x 128:
    threads cost more than they save there, five times more on a busy 2-core machine
    (bench/quality.py --suite cost), where the driver shares the cores with the trials."""
    return _blas().limit(limits=1, user_api="blas")


def _distances(x: np.ndarray, z: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Scaled Euclidean distances between the rows of x and z, by matrix products."""
    a, b = x / lengths, z / lengths
    d2 = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(d2, 0.0))


def _matern(x: np.ndarray, z: np.ndarray, lengths: np.ndarray, signal: float) -> np.ndarray:
    r = _distances(x, z, lengths)
    return signal * (1.0 + SQRT5 * r + (5.0 / 3.0) * r * r) * np.exp(-SQRT5 * r)


def squared_differences(x: np.ndarray) -> np.ndarray:
    """(x_aj - x_bj)^2 for every pair of rows (a, b), as an (n * n) x d matrix: made once per
    fit, so each step of the fit finds its distances and its gradient by one matrix product."""
    diff = x[:, None, :] - x[None, :, :]
    return (diff * diff).reshape(-1, x.shape[1])


def _neg_log_posterior(
    theta: np.ndarray, squares: np.ndarray, y: np.ndarray
) -> tuple[float, np.ndarray]:
    """Minus (log marginal likelihood + log prior on the length scales), and its gradient;
    ``squares`` is ``squared_differences(x)``. LAPACK's Cholesky routines straight: the fit
    calls this some 30 times, and scipy.linalg's checks cost a third of each call."""
    n, d = len(y), squares.shape[1]
    log_lengths, log_signal, log_noise = theta[:d], theta[d], theta[d + 1]
    lengths, signal, noise = np.exp(log_lengths), math.exp(log_signal), math.exp(log_noise)
    r = np.sqrt(squares @ (1.0 / (lengths * lengths))).reshape(n, n)
    e = np.exp(-SQRT5 * r)
    k = signal * (1.0 + SQRT5 * r + (5.0 / 3.0) * r * r) * e
    chol, info = dpotrf(k + (noise + JITTER) * np.eye(n), lower=1, clean=1)
    if info != 0:
        return 1e10, np.zeros_like(theta)
    alpha, _ = dpotrs(chol, y, lower=1)
    value = 0.5 * y @ alpha + np.log(np.diag(chol)).sum() + 0.5 * n * math.log(2 * math.pi)
    lower, _ = dpotri(chol, lower=1)  # the inverse's lower triangle
    inverse = np.tril(lower) + np.tril(lower, -1).T
    inner = np.outer(alpha, alpha) - inverse  # d lml = tr(inner dK) / 2
    grad = np.empty_like(theta)
    # dK/d log l_j = signal * 5/3 * (1 + sqrt5 r) e^(-sqrt5 r) * (x_aj - x_bj)^2 / l_j^2.
    w = inner * (signal * (5.0 / 3.0) * (1.0 + SQRT5 * r) * e)
    grad[:d] = -0.5 * (w.ravel() @ squares) / (lengths * lengths)
    grad[d] = -0.5 * np.sum(inner * k)
    grad[d + 1] = -0.5 * noise * np.trace(inner)
    # Log-normal prior on each length scale: mean sqrt(2) + log(d) / 2, sd sqrt(3).
    mu, sd = math.sqrt(2.0) + 0.5 * math.log(d), math.sqrt(3.0)
    value += float(((log_lengths - mu) ** 2).sum() / (2 * sd * sd))
    grad[:d] += (log_lengths - mu) / (sd * sd)
    return float(value), grad


@dataclass(frozen=True)
class Hyperparameters:
    """What a fit learns: one length scale per input, the signal and the noise variance."""

    lengths: np.ndarray
    signal: float
    noise: float


@dataclass
class GaussianProcess:
    """A fitted GP on points in [0, 1]^d; scores oriented so that lower is better."""

    x: np.ndarray
    y: np.ndarray  # standardised scores
    lengths: np.ndarray
    signal: float
    noise: float
    chol: np.ndarray
    alpha: np.ndarray
    offset: float = 0.0  # a raw score is (score - offset) / spread in the model's units
    spread: float = 1.0

    @classmethod
    def fit(
        cls, x: np.ndarray, scores: np.ndarray, keep: Hyperparameters | None = None
    ) -> GaussianProcess:
        """Fit on ``x`` (n x d) and ``scores`` (n), lower better; n >= 2. With ``keep`` (of
        the same width), the hyperparameters are those, not fitted again: one Cholesky
        factor instead of some 30 (the scores are standardised afresh either way)."""
        x = np.asarray(x, dtype=float)
        raw = np.asarray(scores, dtype=float)
        offset, spread = float(raw.mean()), float(raw.std()) or 1.0
        y = (raw - offset) / spread
        d = x.shape[1]
        if keep is not None and len(keep.lengths) == d:
            return cls.with_hyperparameters(
                x, y, keep.lengths, keep.signal, keep.noise, offset, spread
            )
        bounds = [LOG_LENGTH_BOUNDS] * d + [LOG_SIGNAL_BOUNDS, LOG_NOISE_BOUNDS]
        start = np.concatenate([np.full(d, math.log(0.5)), [0.0], [math.log(1e-2)]])
        best = minimize(
            _neg_log_posterior, start, args=(squared_differences(x), y), jac=True,
            method="L-BFGS-B", bounds=bounds, options={"maxiter": MAX_ITERATIONS},
        )  # fmt: skip
        theta = best.x if np.all(np.isfinite(best.x)) else start
        return cls.with_hyperparameters(
            x, y, np.exp(theta[:d]), math.exp(theta[d]), math.exp(theta[d + 1]), offset, spread
        )

    @classmethod
    def with_hyperparameters(
        cls,
        x: np.ndarray,
        y: np.ndarray,
        lengths: np.ndarray,
        signal: float,
        noise: float,
        offset: float = 0.0,
        spread: float = 1.0,
    ) -> GaussianProcess:
        cov = _matern(x, x, lengths, signal) + (noise + JITTER) * np.eye(len(x))
        chol = np.linalg.cholesky(cov)
        alpha = dpotrs(chol, y, lower=1)[0]
        return cls(x, y, lengths, signal, noise, chol, alpha, offset, spread)

    @property
    def hyperparameters(self) -> Hyperparameters:
        return Hyperparameters(self.lengths, self.signal, self.noise)

    @property
    def best_mean(self) -> float:
        """The lowest posterior mean at a trial: the incumbent expected improvement beats."""
        k = _matern(self.x, self.x, self.lengths, self.signal)
        return float((k @ self.alpha).min())

    def predict(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation (standardised units) at ``z`` (m x d)."""
        k = _matern(z, self.x, self.lengths, self.signal)
        mean = k @ self.alpha
        v = dtrtrs(self.chol, k.T, lower=1)[0]
        var = np.maximum(self.signal - (v * v).sum(axis=0), 1e-12)
        return mean, np.sqrt(var)

    def believe(self, point: np.ndarray) -> GaussianProcess:
        """The same GP told its own mean at ``point``, as a nearly noiseless observation
        (kriging believer): the uncertainty there collapses to FANTASY_NOISE, so with the
        incumbent lowered to that mean, the expected improvement at ``point`` is next to
        nothing and the next pick of the same stage goes elsewhere."""
        mean, _ = self.predict(point[None, :])
        return self._extended(point, float(mean[0]), FANTASY_NOISE)

    def observe(self, point: np.ndarray, score: float) -> GaussianProcess:
        """The same GP told a real ``score`` (raw units, lower better) at ``point``, with the
        fitted noise and hyperparameters: a trial's result taken in without a new fit, at the
        cost of one row of the Cholesky factor."""
        return self._extended(point, (score - self.offset) / self.spread, self.noise + JITTER)

    def _extended(self, point: np.ndarray, value: float, variance: float) -> GaussianProcess:
        """The GP with one more observation, ``value`` (model units) at ``point`` with noise
        ``variance``: a rank-one extension of the Cholesky factor."""
        x = np.vstack([self.x, point[None, :]])
        y = np.append(self.y, value)
        k = _matern(point[None, :], self.x, self.lengths, self.signal)[0]
        row = dtrtrs(self.chol, k, lower=1)[0]
        corner = math.sqrt(max(self.signal + variance - row @ row, 1e-12))
        n = len(self.y)
        chol = np.zeros((n + 1, n + 1))
        chol[:n, :n] = self.chol
        chol[n, :n] = row
        chol[n, n] = corner
        alpha = dpotrs(chol, y, lower=1)[0]
        return GaussianProcess(
            x, y, self.lengths, self.signal, self.noise, chol, alpha, self.offset, self.spread
        )


def log_expected_improvement(mean: np.ndarray, sd: np.ndarray, incumbent: float) -> np.ndarray:
    """log E[max(incumbent - f, 0)] for f ~ N(mean, sd^2), accurate far into the tail.

    EI = sd (z Phi(z) + phi(z)) with z = (incumbent - mean) / sd; for z < -1 that sum is
    exp(-z^2 / 2) (1 / sqrt(2 pi) + z erfcx(-z / sqrt 2) / 2), which keeps its digits where
    Phi and phi underflow (the idea of Ament et al., "Unexpected improvements to expected
    improvement", NeurIPS 2023)."""
    z = (incumbent - mean) / sd
    out = np.empty_like(z)
    near = z >= -1
    zn = z[near]
    out[near] = np.log(zn * ndtr(zn) + np.exp(-0.5 * zn * zn) / math.sqrt(2 * math.pi))
    zt = z[~near]
    bracket = 1 / math.sqrt(2 * math.pi) + 0.5 * zt * erfcx(-zt / math.sqrt(2))
    out[~near] = -0.5 * zt * zt + np.log(np.maximum(bracket, 1e-300))
    return out + np.log(sd)
