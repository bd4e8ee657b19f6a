"""The model that picks a zoom trial's point among its candidates.

A zoom trial weighs candidates (`search_spaces.candidates`) and runs the one with the highest
expected improvement under a Gaussian process (`search_spaces.gaussian_process`) fitted on the
finished trials that shaped the stage, on every tuned parameter: a choice enters as one 0/1
column per category (one for a two-way choice), so trials of the other categories inform the
model instead of looking like noise (lasso on diabetes, normalised score at 100 trials
against GPSampler's: 25 against 56 numeric-only, 53 against 43 with its two choices;
bench/README.md), and an integer at its value's coordinate, so trials that ran the same
value are one point to the model, not two with differing scores. A stage's trials are
picked in index order, each after the model was told, at its own mean, the points the
stage's earlier trials run at (kriging believer): the stage spreads out instead of drawing
near-copies of one point, and trial ``i``'s point depends only on the stage's model and on
trials ``0 .. i-1`` of the stage, so the search stays deterministic whatever order its
results arrive in.

bench/quality.py measured it against the kernel smoother and separable quadratic that came
before (a cross-validated choice of the two, best of 4 candidates): see bench/README.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from search_spaces.gaussian_process import (
    GaussianProcess,
    Hyperparameters,
    log_expected_improvement,
    one_blas_thread,
)
from search_spaces.scales import Choice, Scale

FIT_TRIALS = 128  # the model sees at most this many trials: those nearest the region's centre
MAX_BELIEVED = 128  # and it believes at most this many of its stage's own points
SNAP_INTEGERS = True  # an integer parameter enters at its value's coordinate, not the drawn one

Point = Mapping[str, float]


class StageModel:
    """Picks, one after another, the points of a zoom stage; lower scores are better."""

    name = "gp"

    def __init__(self, columns: Columns, gp: GaussianProcess) -> None:
        self.columns = columns
        self._gp = gp
        self._incumbent = gp.best_mean
        self._believed = 0

    @classmethod
    def fit(
        cls,
        points: Sequence[Point],
        scores: Sequence[float],
        centre: Mapping[str, float],
        half_widths: Mapping[str, float],
        choices: Mapping[str, Choice] | None = None,
        integers: Mapping[str, Scale] | None = None,
        keep: Hyperparameters | None = None,
    ) -> StageModel | None:
        """A model of the finished trials (scores lower-better), or None with fewer than two
        or scores that are not finite. ``centre`` names the numeric parameters, ``choices``
        the choice parameters with their scales. Beyond FIT_TRIALS trials,
        the nearest the region's centre in units of its half-widths (numeric parameters
        only) are kept: the model is local where the search is. ``keep``: an earlier
        model's hyperparameters, to be used as they are (see GaussianProcess.fit).
        (Starting the hyperparameters' fit from the previous stage's, to save compute, was
        measured worse on BBOB: log10 regret 1.45 against 1.28 at 100 trials.)"""
        snapped = tuple((integers or {}).items()) if SNAP_INTEGERS else ()
        columns = Columns(tuple(centre), tuple((choices or {}).items()), snapped)
        y = np.asarray(scores, dtype=float)
        if len(y) < 2 or not np.isfinite(y).all() or columns.width == 0:
            return None
        x = columns.matrix(points)
        distance = np.zeros(len(y))  # with no numeric parameter, the first FIT_TRIALS trials
        if columns.numeric:
            mid = np.array([centre[n] for n in columns.numeric])
            half = np.array([max(half_widths[n], 1e-6) for n in columns.numeric])
            distance = np.abs((x[:, : len(mid)] - mid) / half).max(axis=1)
        nearest = np.sort(np.argsort(distance, kind="stable")[:FIT_TRIALS])
        with one_blas_thread():
            return cls(columns, GaussianProcess.fit(x[nearest], y[nearest], keep))

    @property
    def hyperparameters(self) -> Hyperparameters:
        return self._gp.hyperparameters

    def pick(self, candidates: Sequence[Point]) -> int:
        """The index of the candidate with the highest expected improvement (the first on a
        tie)."""
        return int(np.argmax(self.acquisition(candidates)))

    def acquisition(self, candidates: Sequence[Point]) -> np.ndarray:
        """Each candidate's log expected improvement: higher is a better pick."""
        with one_blas_thread():
            mean, sd = self._gp.predict(self.columns.matrix(candidates))
        return log_expected_improvement(mean, sd, self._incumbent)

    def observe(self, point: Point, score: float) -> None:
        """Take in a real result (lower better) of the stage's own, hyperparameters kept: with
        one worker a stage's next pick learns from it at once."""
        z = self.columns.matrix([point])[0]
        with one_blas_thread():
            self._gp = self._gp.observe(z, score)
            mean, _ = self._gp.predict(z[None, :])
        self._incumbent = min(self._incumbent, float(mean[0]))

    def believe(self, point: Point) -> None:
        """Take the model's own mean at ``point`` as if it had been observed: a trial of the
        stage that is out, so the stage's next picks go elsewhere. Past MAX_BELIEVED points
        (a stage of thousands of trials) the model stops growing."""
        if self._believed >= MAX_BELIEVED:
            return
        z = self.columns.matrix([point])[0]
        with one_blas_thread():
            mean, _ = self._gp.predict(z[None, :])
            self._gp = self._gp.believe(z)
        self._incumbent = min(self._incumbent, float(mean[0]))
        self._believed += 1


@dataclass(frozen=True)
class Columns:
    """How points become the model's inputs: numeric parameters as their unit coordinates,
    then each choice as 0/1 columns (one per category; one in all for a two-way choice)."""

    numeric: tuple[str, ...]
    choices: tuple[tuple[str, Choice], ...] = ()
    integers: tuple[tuple[str, Scale], ...] = ()  # numeric ones, seen at their value's point

    @property
    def width(self) -> int:
        return len(self.numeric) + sum(_hot_columns(c.cells) for _, c in self.choices)

    def matrix(self, points: Sequence[Point]) -> np.ndarray:
        """One row per point, one column per input."""
        rows = np.array([[p[n] for n in self.numeric] for p in points], dtype=float)
        rows = rows.reshape(len(points), len(self.numeric))
        for name, scale in self.integers:
            j = self.numeric.index(name)
            rows[:, j] = scale.snapped(rows[:, j])
        blocks = [rows]
        for name, choice in self.choices:
            hot = np.eye(choice.cells)[[choice.category(p[name]) for p in points]]
            blocks.append(hot[:, choice.cells - _hot_columns(choice.cells) :])
        return np.hstack(blocks)


def _hot_columns(cells: int) -> int:
    """A choice's 0/1 columns: none for one category, one for two, else one per category."""
    return 0 if cells < 2 else 1 if cells == 2 else cells
