"""A PyTorch model on your own data, tuned by searcher as a function workload.

searcher calls ``fit(params, report)`` once per trial: ``params`` holds this trial's value of
every entry of the spec's ``space``, and ``report`` takes the metrics of each epoch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn


def load_data(seed: int = 0) -> tuple[torch.Tensor, ...]:
    """scikit-learn's 1,797 8x8 digits, scaled to [0, 1], split 75/25 with a fixed seed."""
    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(
        x / 16.0, y, test_size=0.25, random_state=seed, stratify=y
    )
    as_x = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    as_y = lambda a: torch.tensor(a, dtype=torch.int64)  # noqa: E731
    return as_x(x_train), as_y(y_train), as_x(x_val), as_y(y_val)


def fit(params: dict[str, Any], report: Callable[[dict[str, float]], None]) -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    x_train, y_train, x_val, y_val = load_data()
    model = nn.Sequential(
        nn.Linear(64, params["hidden_units"]),
        nn.ReLU(),
        nn.Dropout(params["dropout"]),
        nn.Linear(params["hidden_units"], 10),
    )
    optimizer = torch.optim.SGD(
        model.parameters(), lr=params["lr"], momentum=params["momentum"], nesterov=True
    )
    for epoch in range(1, params["epochs"] + 1):
        model.train()
        order = torch.randperm(len(y_train))
        for start in range(0, len(order), params["batch_size"]):
            batch = order[start : start + params["batch_size"]]
            loss = F.cross_entropy(model(x_train[batch]), y_train[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            logits = model(x_val)
            val_loss = F.cross_entropy(logits, y_val).item()
            val_accuracy = (logits.argmax(1) == y_val).float().mean().item()
        report({"epoch": epoch, "val_loss": val_loss, "val_accuracy": val_accuracy})
