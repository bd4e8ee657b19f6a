"""Synthetic cats-vs-dogs JPEGs in the three layouts, with one corrupt and one grayscale file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

LAYOUTS = ("kaggle", "petimages", "folders")


def pet_image(label: int, size: int, rng: np.random.Generator) -> Image.Image:
    """Cats are warm with horizontal stripes, dogs cool with vertical ones: learnable."""
    stripes = (np.arange(size) // 4 % 2).astype(np.float32)
    pattern = stripes[:, None] if label == 0 else stripes[None, :]
    base = np.array([200, 110, 60] if label == 0 else [60, 110, 200], dtype=np.float32)
    pixels = base * (0.6 + 0.4 * pattern[..., None]) + rng.normal(0, 25, (size, size, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def _path(root: Path, layout: str, label: int, index: int) -> Path:
    name = ("cat", "dog")[label]
    if layout == "kaggle":
        return root / "train" / f"{name}.{index}.jpg"
    if layout == "petimages":
        return root / "PetImages" / name.capitalize() / f"{index}.jpg"
    return root / f"{name}s" / f"img_{index}.jpg"


def write_pets(
    root: Path, layout: str, per_class: int = 24, size: int = 40, seed: int = 0
) -> dict[str, Path]:
    """Write per_class good images per class; cat 0 is grayscale, dog 0 is corrupt (truncated)."""
    rng = np.random.default_rng(seed)
    special: dict[str, Path] = {}
    for label in (0, 1):
        for index in range(per_class):
            path = _path(root, layout, label, index)
            path.parent.mkdir(parents=True, exist_ok=True)
            image = pet_image(label, size, rng)
            if label == 0 and index == 0:
                image = image.convert("L")
                special["grayscale"] = path
            image.save(path, quality=90)
    # One extra dog file that is cut off after its header, like PetImages' broken downloads.
    corrupt = _path(root, layout, 1, per_class)
    good = corrupt.with_name("tmp.jpg")
    pet_image(1, size, rng).save(good)
    corrupt.write_bytes(good.read_bytes()[:200])
    good.unlink()
    special["corrupt"] = corrupt
    (corrupt.parent / "Thumbs.db").write_bytes(b"not an image")
    return special
