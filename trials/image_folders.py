"""Find labelled images in the layouts people have: Kaggle, PetImages, one folder per class."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from trials.errors import DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
# Kaggle's Dogs vs. Cats names its training files cat.123.jpg / dog.45.jpg in one folder.
_KAGGLE_NAME = re.compile(r"^(cat|dog)\.\d+\.(jpe?g|png)$", re.IGNORECASE)
LAYOUTS_HELP = (
    "expected Kaggle's train/cat.N.jpg + train/dog.N.jpg, Microsoft's PetImages/Cat/*.jpg + "
    "PetImages/Dog/*.jpg, or one sub-folder of images per class"
)


@dataclass(frozen=True)
class ImageFolder:
    """The labelled image files found under a root, in a fixed (natural) order per class."""

    layout: str
    directory: str
    classes: tuple[str, ...]
    files: tuple[tuple[str, int], ...]

    def of_class(self, label: int) -> list[str]:
        return [path for path, lab in self.files if lab == label]


def natural_key(name: str) -> tuple:
    """Sort cat.2.jpg before cat.10.jpg."""
    return tuple(int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name))


def _is_image(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)


def _kaggle(directory: str) -> ImageFolder | None:
    names = [n for n in os.listdir(directory) if _KAGGLE_NAME.match(n)]
    if not names:
        return None
    classes = tuple(sorted({n.split(".", 1)[0].lower() for n in names}))
    files = [
        (os.path.join(directory, n), classes.index(n.split(".", 1)[0].lower()))
        for n in sorted(names, key=natural_key)
    ]
    return ImageFolder("Kaggle Dogs vs. Cats", directory, classes, _by_class(files))


def _class_folders(directory: str, layout: str) -> ImageFolder | None:
    found: dict[str, list[str]] = {}
    for entry in sorted(os.scandir(directory), key=lambda e: e.name.lower()):
        if entry.is_dir() and not entry.name.startswith("."):
            images = sorted((n for n in os.listdir(entry.path) if _is_image(n)), key=natural_key)
            if images:
                found[entry.name] = [os.path.join(entry.path, n) for n in images]
    if not found:
        return None
    classes = tuple(found)
    files = [(path, label) for label, name in enumerate(classes) for path in found[name]]
    return ImageFolder(layout, directory, classes, tuple(files))


def _by_class(files: list[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(files, key=lambda item: item[1]))


def find_images(root: str) -> ImageFolder:
    """The images under root in the first layout that matches; DataError if none or one class."""
    base = os.path.expanduser(root)
    if not os.path.isdir(base):
        raise DataError(f"{LAYOUTS_HELP}, got {root!r} (not a folder)", field="data.root")
    folder = None
    for directory in (base, os.path.join(base, "train")):
        if folder is None and os.path.isdir(directory):
            folder = _kaggle(directory)
    pet = os.path.join(base, "PetImages")
    if folder is None and os.path.isdir(pet):
        folder = _class_folders(pet, "PetImages")
    if folder is None:
        folder = _class_folders(base, "class folders")
    if folder is None:
        raise DataError(f"{root}: no images found; {LAYOUTS_HELP}")
    if len(folder.classes) < 2:
        raise DataError(
            f"{folder.directory}: images of only one class ({folder.classes[0]!r}); "
            f"need at least two; {LAYOUTS_HELP}"
        )
    return folder
