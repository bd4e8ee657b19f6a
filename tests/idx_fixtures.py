"""Synthetic, learnable MNIST-shaped data written as IDX files for the trials tests."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from trials.idx import write_idx

IMAGES = "train-images-idx3-ubyte"
LABELS = "train-labels-idx1-ubyte"


def make_digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Noisy images whose class is a bright 7x7 square at one of ten positions: easy to learn."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % 10).astype(np.uint8)
    rng.shuffle(labels)
    images = rng.integers(0, 60, size=(n, 28, 28), dtype=np.uint8)
    for c in range(10):
        row, col = 2 + 14 * (c // 5), 1 + 5 * (c % 5)
        images[labels == c, row : row + 7, col : col + 7] = 255
    return images, labels


def write_digits(directory: str | os.PathLike[str], n: int = 600, gz: bool = True) -> Path:
    """Write n synthetic training images and labels into directory (created), as .gz or raw."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    images, labels = make_digits(n)
    ext = ".gz" if gz else ""
    write_idx(path / (IMAGES + ext), images)
    write_idx(path / (LABELS + ext), labels)
    return path
