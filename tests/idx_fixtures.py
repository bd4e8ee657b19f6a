"""Synthetic, learnable MNIST-shaped data written as IDX files for the trials tests, and the
IDX writer (the product only reads IDX)."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

from trials.idx import _CODE_TO_DTYPE

# The IDX type code of each storable dtype, from the reader's own table.
_KIND_TO_CODE = {(dt.kind, dt.itemsize): code for code, dt in _CODE_TO_DTYPE.items()}

IMAGES = "train-images-idx3-ubyte"
LABELS = "train-labels-idx1-ubyte"


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Write an array as IDX, gzip-compressed when the name ends in .gz."""
    array = np.asarray(array)
    code = _KIND_TO_CODE.get((array.dtype.kind, array.dtype.itemsize))
    if code is None or array.ndim == 0:
        raise ValueError(f"{path}: cannot store a {array.ndim}-d {array.dtype} array as IDX")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(_CODE_TO_DTYPE[code], copy=False).tobytes()
    opener = gzip.open if os.fspath(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(payload)


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
