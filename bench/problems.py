"""Tuning problems that no one here wrote, for bench/quality.py's ``--suite real`` and ``bbob``.

``real``: Bayesmark's scikit-learn problems (Turner et al., NeurIPS 2020 black-box
optimisation challenge). The ``bayesmark`` package installs but no longer imports with
today's scikit-learn (its data module imports ``load_boston``, removed in 1.2), so its
model definitions and search ranges are copied here (bayesmark 0.0.8, ``sklearn_funcs.py``),
with these changes, each because the original no longer runs or costs time that measures
nothing: ``normalize`` is gone from Lasso and Ridge (removed in scikit-learn 1.2); SVC has
no ``probability=True`` (Platt scaling is an inner 5-fold fit that accuracy never reads);
3-fold cross-validation instead of 5, and the MLPs train at most 30 epochs (this 2-core
machine runs ~500,000 evaluations for one table); every model has ``random_state=0``, so a
point has one score. AdaBoost (``ada``) is defined but left out of the default suite: at
~200 ms an evaluation it costs more than the other eight together.
Features are standardised by median and inter-quantile range and clipped, as Bayesmark does.
Ranges are Bayesmark's; scales are searcher's natural ones ("the seeds' scales": ``log`` where
Bayesmark warps by log, ``one_minus_log`` for momenta and Adam's betas, ``int_log`` for sizes),
and the ``uniform`` space is every range on a linear scale.

``bbob``: the noiseless BBOB functions (Hansen et al., COCO) through ``ioh``, on [-5, 5]^d,
one function from each of BBOB's five groups, in 2, 5 and 10 dimensions; instance
``1 + seed % 15``, so every seed meets a shifted and rotated copy, as COCO runs them.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

CV_FOLDS = 3  # Bayesmark uses 5 (CV_SPLITS); 3 takes 40 % less time, same problems
MLP_EPOCHS = 30


@dataclass(frozen=True)
class Problem:
    """An objective to minimise, made per seed (BBOB instances differ by seed), its space on
    natural scales and on linear ones, and its optimum where one is known (else None)."""

    name: str
    make: Callable[[int], Callable[[Mapping[str, Any]], float]]
    natural: dict[str, Any]
    uniform: dict[str, Any]
    optimum: Callable[[int], float | None] = lambda seed: None


def _lin(low: float, high: float) -> dict[str, Any]:
    return {"scale": "linear", "low": low, "high": high}


def _log(low: float, high: float) -> dict[str, Any]:
    return {"scale": "log", "low": low, "high": high}


def _int(low: int, high: int) -> dict[str, Any]:
    return {"scale": "int", "low": low, "high": high}


def _int_log(low: int, high: int) -> dict[str, Any]:
    return {"scale": "int_log", "low": low, "high": high}


def _beta(low: float, high: float) -> dict[str, Any]:
    return {"scale": "one_minus_log", "low": low, "high": high}


def _uniform(space: Mapping[str, Any]) -> dict[str, Any]:
    """The same ranges on linear scales (ints stay ints, choices stay choices)."""
    out: dict[str, Any] = {}
    for name, entry in space.items():
        if isinstance(entry, dict) and entry.get("scale") in ("log", "one_minus_log"):
            out[name] = _lin(entry["low"], entry["high"])
        elif isinstance(entry, dict) and entry.get("scale") == "int_log":
            out[name] = _int(entry["low"], entry["high"])
        else:
            out[name] = entry
    return out


@cache
def _data(dataset: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """Features (robust-standardised and clipped, as Bayesmark's data.py), target, is it a
    classification; the target of a regression is standardised too."""
    from sklearn import datasets

    loaders = {
        "breast": datasets.load_breast_cancer,
        "digits": datasets.load_digits,
        "iris": datasets.load_iris,
        "wine": datasets.load_wine,
        "diabetes": datasets.load_diabetes,
    }
    x, y = loaders[dataset](return_X_y=True)
    x = _robust(x.astype(float))
    classify = dataset != "diabetes"
    if not classify:
        y = _robust(y.astype(float)[:, None])[:, 0]
    return x, y, classify


def _robust(x: np.ndarray, q: float = 0.86) -> np.ndarray:
    """(x - median) / inter-quantile range at ``q``, clipped to +-3 of that range."""
    lo, mid, hi = np.quantile(x, [(1 - q) / 2, 0.5, (1 + q) / 2], axis=0)
    scale = np.where(hi - lo > 0, (hi - lo) / 2, 1.0)
    return np.clip((x - mid) / scale, -3.0, 3.0)


def _model(kind: str, params: Mapping[str, Any]) -> Any:
    from sklearn import ensemble, linear_model, neighbors, neural_network, svm, tree

    p = dict(params)
    if kind == "SVM":
        return svm.SVC(kernel="rbf", random_state=0, **p)
    if kind == "kNN":
        return neighbors.KNeighborsClassifier(**p)
    if kind == "DT":
        return tree.DecisionTreeClassifier(random_state=0, **p)
    if kind == "RF":
        return ensemble.RandomForestClassifier(n_estimators=10, random_state=0, **p)
    if kind == "ada":
        return ensemble.AdaBoostClassifier(random_state=0, **p)
    if kind == "MLP-adam":
        return neural_network.MLPClassifier(
            solver="adam", early_stopping=True, max_iter=MLP_EPOCHS, random_state=0, **p
        )
    if kind == "MLP-sgd":
        return neural_network.MLPClassifier(
            solver="sgd", early_stopping=True, learning_rate="invscaling",
            nesterovs_momentum=True, max_iter=MLP_EPOCHS, random_state=0, **p,
        )  # fmt: skip
    if kind == "lasso":
        return linear_model.Lasso(random_state=0, **p)
    if kind == "ridge":
        return linear_model.Ridge(random_state=0, solver="sag", **p)
    raise ValueError(kind)


def _cv_loss(kind: str, dataset: str) -> Callable[[int], Callable[[Mapping[str, Any]], float]]:
    """The objective: minus the mean CV_FOLDS-fold CV score (accuracy; minus MSE for a
    regression)."""

    def make(seed: int) -> Callable[[Mapping[str, Any]], float]:
        def loss(params: Mapping[str, Any]) -> float:
            from sklearn.model_selection import cross_val_score

            x, y, classify = _data(dataset)
            scoring = "accuracy" if classify else "neg_mean_squared_error"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                scores = cross_val_score(_model(kind, params), x, y, scoring=scoring, cv=CV_FOLDS)
            return -float(np.mean(scores))

        return loss

    return make


def subsampled_loss(
    kind: str, dataset: str, share: float, seed: int
) -> Callable[[Mapping[str, Any]], float]:
    """The CV loss on a random ``share`` of the rows (drawn by ``seed``; 1.0: all of them):
    the data before a change, for bench/warm_start.py."""
    from sklearn.model_selection import cross_val_score

    x, y, classify = _data(dataset)
    if share < 1.0:
        rows = np.random.default_rng(seed).permutation(len(y))[: round(share * len(y))]
        x, y = x[rows], y[rows]
    scoring = "accuracy" if classify else "neg_mean_squared_error"

    def loss(params: Mapping[str, Any]) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores = cross_val_score(_model(kind, params), x, y, scoring=scoring, cv=CV_FOLDS)
        return -float(np.mean(scores))

    return loss


# Bayesmark's ranges, searcher's scales.
REAL_SPACES: dict[str, dict[str, Any]] = {
    "SVM": {"C": _log(1.0, 1e3), "gamma": _log(1e-4, 1e-3), "tol": _log(1e-5, 1e-1)},
    "kNN": {"n_neighbors": _int(1, 25), "p": _int(1, 4)},
    "DT": {
        "max_depth": _int(1, 15),
        "min_samples_split": _lin(0.01, 0.99),
        "min_samples_leaf": _lin(0.01, 0.49),
        "min_weight_fraction_leaf": _lin(0.01, 0.49),
        "max_features": _lin(0.01, 0.99),
        "min_impurity_decrease": _lin(0.0, 0.5),
    },
    "RF": {
        "max_depth": _int(1, 15),
        "max_features": _lin(0.01, 0.99),
        "min_samples_split": _lin(0.01, 0.99),
        "min_samples_leaf": _lin(0.01, 0.49),
        "min_weight_fraction_leaf": _lin(0.01, 0.49),
        "min_impurity_decrease": _lin(0.0, 0.5),
    },
    "ada": {"n_estimators": _int_log(10, 100), "learning_rate": _log(1e-4, 1e1)},
    "MLP-adam": {
        "hidden_layer_sizes": _int_log(50, 200),
        "alpha": _log(1e-5, 1e1),
        "batch_size": _int_log(10, 250),
        "learning_rate_init": _log(1e-5, 1e-1),
        "tol": _log(1e-5, 1e-1),
        "validation_fraction": _lin(0.1, 0.9),
        "beta_1": _beta(0.5, 0.99),
        "beta_2": _beta(0.9, 1.0 - 1e-6),
        "epsilon": _log(1e-9, 1e-6),
    },
    "MLP-sgd": {
        "hidden_layer_sizes": _int_log(50, 200),
        "alpha": _log(1e-5, 1e1),
        "batch_size": _int_log(10, 250),
        "learning_rate_init": _log(1e-5, 1e-1),
        "power_t": _lin(0.1, 0.9),
        "tol": _log(1e-5, 1e-1),
        "momentum": _beta(0.001, 0.999),
        "validation_fraction": _lin(0.1, 0.9),
    },
    "lasso": {
        "alpha": _log(1e-2, 1e2),
        "fit_intercept": {"scale": "choice", "values": [False, True]},
        "max_iter": _int_log(10, 5000),
        "tol": _log(1e-5, 1e-1),
        "positive": {"scale": "choice", "values": [False, True]},
    },
    "ridge": {
        "alpha": _log(1e-2, 1e2),
        "fit_intercept": {"scale": "choice", "values": [False, True]},
        "max_iter": _int_log(10, 5000),
        "tol": _log(1e-4, 1e-1),
    },
}

OPTIONAL_CASES = (("ada", "iris"),)  # --problems ada-iris
REAL_CASES = (
    ("SVM", "wine"),
    ("kNN", "wine"),
    ("DT", "breast"),
    ("RF", "wine"),
    ("MLP-adam", "wine"),
    ("MLP-sgd", "iris"),
    ("lasso", "diabetes"),
    ("ridge", "diabetes"),
)


def real_suite(optional: bool = False) -> list[Problem]:
    cases = REAL_CASES + (OPTIONAL_CASES if optional else ())
    return [
        Problem(
            f"{kind}-{data}", _cv_loss(kind, data), REAL_SPACES[kind], _uniform(REAL_SPACES[kind])
        )
        for kind, data in cases
    ]


BBOB_FUNCTIONS = {2: "ellipsoid", 8: "rosenbrock", 10: "ellipsoid-rot", 15: "rastrigin-rot",
                  21: "gallagher101"}  # fmt: skip
BBOB_DIMENSIONS = (2, 5, 10)


def _bbob(fid: int, dim: int) -> Problem:
    def problem(seed: int) -> Any:
        import ioh

        return ioh.get_problem(fid, 1 + seed % 15, dim, ioh.ProblemClass.BBOB)

    def make(seed: int) -> Callable[[Mapping[str, Any]], float]:
        f = problem(seed)
        return lambda v: float(f([v[f"x{i}"] for i in range(dim)]))

    space = {f"x{i}": _lin(-5.0, 5.0) for i in range(dim)}
    name = f"f{fid}-{BBOB_FUNCTIONS[fid]}-{dim}d"
    return Problem(name, make, space, space, lambda seed: float(problem(seed).optimum.y))


def bbob_suite(optional: bool = False) -> list[Problem]:
    return [_bbob(fid, dim) for dim in BBOB_DIMENSIONS for fid in BBOB_FUNCTIONS]
