"""A plain training script with argparse; it knows nothing of searcher.

searcher runs it once per trial as ``python train.py --alpha=... --eta0=...`` and reads the
``name=value`` metric lines it prints (one per epoch).
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alpha", type=float, default=1e-4, help="L2 regularisation")
    parser.add_argument("--eta0", type=float, default=0.01, help="initial learning rate")
    parser.add_argument("--loss", default="log_loss", choices=["log_loss", "modified_huber"])
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()

    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(
        x / 16.0, y, test_size=0.25, random_state=0, stratify=y
    )
    model = SGDClassifier(
        loss=args.loss,
        alpha=args.alpha,
        learning_rate="invscaling",
        eta0=args.eta0,
        random_state=0,
    )
    classes = np.unique(y)
    for epoch in range(1, args.epochs + 1):
        model.partial_fit(x_train, y_train, classes=classes)
        accuracy = model.score(x_val, y_val)
        loss = log_loss(y_val, model.predict_proba(x_val), labels=classes)
        print(f"epoch={epoch} val_accuracy={accuracy:.4f} val_loss={loss:.4f}", flush=True)


if __name__ == "__main__":
    main()
