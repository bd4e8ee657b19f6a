"""Decode and resize an image folder once into a uint8 array on disk that workers memory-map.

Decoding JPEGs costs far more than a training epoch of a small CNN, so the driver does it once
per (file list, size, count) and every trial of every search reuses the result.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock
from PIL import Image, ImageOps

from trials.config import DEFAULT_IMAGE_CACHE, DataConfig, DataSource
from trials.errors import DataError
from trials.files import write_atomic
from trials.image_folders import ImageFolder, find_images

CACHE_VERSION = 1
_SHOWN_CORRUPT = 5


def decode_image(path: str, size: int) -> tuple[np.ndarray | None, bool]:
    """(size x size x 3 uint8 centre crop, converted from non-RGB) or (None, False) if corrupt."""
    try:
        with warnings.catch_warnings(), Image.open(path) as img:
            warnings.simplefilter("ignore")  # PetImages has files with broken EXIF; still usable
            converted = img.mode != "RGB"
            img.draft("RGB", (size, size))  # JPEG: decode at a reduced scale, much faster
            rgb = img.convert("RGB")
            fitted = ImageOps.fit(rgb, (size, size), Image.Resampling.BILINEAR)
            return np.asarray(fitted, dtype=np.uint8), converted
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None, False


def fingerprint(folder: ImageFolder, cfg: DataConfig) -> str:
    """Names the cache: changes when a file is added, removed or rewritten, or an option changes."""
    digest = hashlib.sha256()
    options = [CACHE_VERSION, cfg.size, cfg.per_class, list(folder.classes), folder.directory]
    digest.update(json.dumps(options).encode())
    for path, label in folder.files:
        st = os.stat(path)
        digest.update(f"{path}\0{label}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def cache_paths(cfg: DataConfig, key: str) -> tuple[Path, Path]:
    """The image array (.npy) and its metadata (.json) for a cache key."""
    directory = Path(cfg.cache_dir or DEFAULT_IMAGE_CACHE).expanduser()
    stem = f"{cfg.dataset}-{cfg.size}px-{key}"
    return directory / f"{stem}.npy", directory / f"{stem}.json"


def build_cache(cfg: DataConfig) -> DataSource:
    """Find the images and decode them into the cache unless it is there; runs in the driver."""
    folder = find_images(cfg.root)
    images_path, meta_path = cache_paths(cfg, fingerprint(folder, cfg))
    images_path.parent.mkdir(parents=True, exist_ok=True)
    # The lock makes concurrent drivers wait for one decode instead of each doing it.
    with FileLock(str(images_path.with_suffix(".lock")), timeout=3600):
        reused = meta_path.is_file() and images_path.is_file()
        meta = _read_meta(meta_path) if reused else _decode_into(folder, cfg, images_path)
        if not reused:
            write_atomic(meta_path, lambda f: f.write(json.dumps(meta).encode()))
    description = describe(meta, reused)
    return DataSource(
        cfg.dataset, "image_cache", str(images_path), description, sum(meta["counts"])
    )


def describe(meta: dict[str, Any], reused: bool) -> str:
    """One line for the console and the search's run: counts, skips and where the cache is."""
    pairs = zip(meta["classes"], meta["counts"], strict=True)
    per_class = ", ".join(f"{n:,} {c}" for c, n in pairs)
    corrupt = meta["corrupt"]
    shown = ", ".join(os.path.basename(p) for p in corrupt[:_SHOWN_CORRUPT])
    more = ", ..." if len(corrupt) > _SHOWN_CORRUPT else ""
    skipped = f"skipped {len(corrupt)} corrupt" + (f" ({shown}{more})" if corrupt else "")
    return (
        f"{meta['dataset']}: {sum(meta['counts']):,} images ({per_class}) at "
        f"{meta['image_size']}px from {meta['layout']} in {meta['directory']}; {skipped}; "
        f"converted {meta['converted']} non-RGB to RGB; cache {'reused' if reused else 'built'} "
        f"at {meta['images']}"
    )


def read_cache(path: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Memory-mapped images (N, S, S, 3), int64 labels and class names; for the workers."""
    meta_path = Path(path).with_suffix(".json")
    if not (Path(path).is_file() and meta_path.is_file()):
        raise DataError(f"{path}: image cache is gone since the source was resolved; run again")
    meta = _read_meta(meta_path)
    images = np.load(path, mmap_mode="r")
    return images, np.asarray(meta["labels"], dtype=np.int64), tuple(meta["classes"])


def _decode_into(folder: ImageFolder, cfg: DataConfig, images_path: Path) -> dict[str, Any]:
    """Decode per class (the first per_class usable files in name order) and save the array."""
    size = cfg.size
    budget = [len(folder.of_class(c)) for c in range(len(folder.classes))]
    if cfg.per_class is not None:
        budget = [min(n, cfg.per_class) for n in budget]
    out = np.empty((sum(budget), size, size, 3), dtype=np.uint8)
    labels: list[int] = []
    counts, corrupt, converted = [], [], 0
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # PIL decodes without GIL
        for label, want in enumerate(budget):
            paths, got, i = folder.of_class(label), 0, 0
            while got < want and i < len(paths):
                chunk = paths[i : i + max(want - got, 16)]
                i += len(chunk)
                for path, (array, was_converted) in zip(
                    chunk, pool.map(partial(decode_image, size=size), chunk), strict=True
                ):
                    if got == want:  # the rest of the chunk was decoded ahead; not needed
                        break
                    if array is None:
                        corrupt.append(path)
                        continue
                    out[len(labels)] = array
                    labels.append(label)
                    got += 1
                    converted += was_converted
            counts.append(got)
    usable = [c for c, n in zip(folder.classes, counts, strict=True) if n]
    if len(usable) < 2:
        raise DataError(
            f"{folder.directory}: usable images in {len(usable)} class(es) "
            f"({', '.join(usable) or 'none'}) after skipping {len(corrupt)} corrupt file(s); "
            "need at least two classes"
        )
    write_atomic(images_path, lambda f: np.save(f, out[: len(labels)]))
    return {
        "version": CACHE_VERSION,
        "dataset": cfg.dataset,
        "layout": folder.layout,
        "directory": folder.directory,
        "image_size": size,
        "per_class": cfg.per_class,
        "classes": list(folder.classes),
        "counts": counts,
        "corrupt": corrupt,
        "converted": converted,
        "images": str(images_path),
        "labels": labels,
    }


def _read_meta(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())
