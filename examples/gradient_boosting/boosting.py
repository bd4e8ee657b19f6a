"""A model that is not deep learning: scikit-learn's histogram gradient boosting.

``fit(params, report)`` trains in rounds of ``rounds_per_report`` trees (warm start) and
reports the validation accuracy after each round, so early stopping works here too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split


def fit(params: dict[str, Any], report: Callable[[dict[str, float]], None]) -> None:
    x, y = load_breast_cancer(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=0.3, random_state=0, stratify=y
    )
    model = HistGradientBoostingClassifier(
        learning_rate=params["learning_rate"],
        max_leaf_nodes=params["max_leaf_nodes"],
        l2_regularization=params["l2_regularization"],
        min_samples_leaf=params["min_samples_leaf"],
        early_stopping=False,
        warm_start=True,
        random_state=0,
    )
    step = params["rounds_per_report"]
    for round_ in range(1, params["rounds"] + 1):
        model.set_params(max_iter=round_ * step)
        model.fit(x_train, y_train)
        report(
            {
                "round": round_,
                "val_accuracy": model.score(x_val, y_val),
                "val_loss": log_loss(y_val, model.predict_proba(x_val)),
            }
        )
