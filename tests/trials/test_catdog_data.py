"""The catdog data path: three folder layouts, corrupt and grayscale files, the decode cache."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from tests.image_fixtures import LAYOUTS, pet_image, write_pets
from trials import image_cache
from trials.augment import flip_and_crop
from trials.config import DataConfig, DataSource
from trials.data import load_split
from trials.errors import DataError
from trials.image_folders import find_images
from trials.sources import resolve_source


def _config(tmp_path: Path, **changes: object) -> DataConfig:
    options = {
        "dataset": "catdog",
        "root": str(tmp_path / "pets"),
        "image_size": 32,
        "cache_dir": str(tmp_path / "cache"),
        "val_fraction": 0.25,
        **changes,
    }
    return DataConfig(**options)  # type: ignore[arg-type]


def _cache_files(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache").glob("*.npy"))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_layout_counts_skips_and_converts(tmp_path: Path, layout: str) -> None:
    special = write_pets(tmp_path / "pets", layout, per_class=12)
    folder = find_images(str(tmp_path / "pets"))
    assert len(folder.classes) == 2 and len(folder.files) == 25  # Thumbs.db is not an image
    source = resolve_source(_config(tmp_path))
    assert source.kind == "image_cache"
    assert "24 images (12 " in source.description
    assert f"skipped 1 corrupt ({special['corrupt'].name})" in source.description
    assert "converted 1 non-RGB to RGB" in source.description
    assert "cache built" in source.description
    images, labels, classes = image_cache.read_cache(source.path or "")
    assert images.shape == (24, 32, 32, 3) and images.dtype == np.uint8
    assert isinstance(images, np.memmap)
    assert np.bincount(labels).tolist() == [12, 12]
    assert [c.lower().rstrip("s") for c in classes] == ["cat", "dog"]


def test_kaggle_layout_in_root_or_train(tmp_path: Path) -> None:
    write_pets(tmp_path / "pets", "kaggle", per_class=3)
    assert find_images(str(tmp_path / "pets")).layout == "Kaggle Dogs vs. Cats"
    assert find_images(str(tmp_path / "pets" / "train")).classes == ("cat", "dog")


def test_split_is_stratified_uint8_and_normalised(tmp_path: Path) -> None:
    write_pets(tmp_path / "pets", "folders", per_class=12)
    cfg = _config(tmp_path)
    split = load_split(cfg, resolve_source(cfg))
    assert split.train_x.shape == (18, 3, 32, 32) and split.val_x.shape == (6, 3, 32, 32)
    assert split.train_x.dtype == torch.uint8 and split.num_classes == 2
    assert torch.bincount(split.train_y).tolist() == [9, 9]
    assert torch.bincount(split.val_y).tolist() == [3, 3]
    x = split.inputs(split.train_x[:4])
    assert x.dtype == torch.float32 and x.shape == (4, 3, 32, 32)
    manual = (split.train_x[:4].float() / 255 - split.mean) / split.std
    torch.testing.assert_close(x, manual)
    # Another data seed validates on other images; the same seed on the same ones.
    other = load_split(_config(tmp_path, seed=1), resolve_source(cfg))
    assert not torch.equal(other.val_x, split.val_x)
    again = load_split(_config(tmp_path, image_size=32), resolve_source(cfg))
    assert torch.equal(again.val_x, split.val_x)


def test_second_load_reuses_the_cache_without_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_pets(tmp_path / "pets", "petimages", per_class=8)
    cfg = _config(tmp_path)
    decoded: list[str] = []  # list.append is atomic: the decoder runs in a thread pool
    real_decode = image_cache.decode_image

    def decode(path: str, size: int) -> tuple[np.ndarray | None, bool]:
        decoded.append(path)
        return real_decode(path, size)

    monkeypatch.setattr(image_cache, "decode_image", decode)
    first = resolve_source(cfg)
    assert len(decoded) == len(set(decoded)) == 17  # every file once, the corrupt one too
    (cache,) = _cache_files(tmp_path)
    stamp = cache.stat().st_mtime_ns
    decoded.clear()
    second = resolve_source(cfg)
    load_split.cache_clear()
    load_split(cfg, second)
    assert decoded == []
    assert cache.stat().st_mtime_ns == stamp and second.path == first.path
    assert "cache reused" in second.description and "skipped 1 corrupt" in second.description
    # A different size is a different cache; so is a changed file list.
    resolve_source(_config(tmp_path, image_size=16))
    pet_image(0, 40, np.random.default_rng(0)).save(tmp_path / "pets/PetImages/Cat/99.jpg")
    resolve_source(cfg)
    assert len(_cache_files(tmp_path)) == 3


def test_per_class_takes_the_first_usable_files(tmp_path: Path) -> None:
    write_pets(tmp_path / "pets", "kaggle", per_class=10)
    # Make the second cat corrupt: per_class must skip it and take the next one.
    (tmp_path / "pets/train/cat.1.jpg").write_bytes(b"\xff\xd8\xff garbage")
    source = resolve_source(_config(tmp_path, per_class=4))
    assert "8 images (4 cat, 4 dog)" in source.description
    assert "skipped 1 corrupt (cat.1.jpg)" in source.description
    assert "converted 1 non-RGB" in source.description  # cat.0 is the grayscale one


def test_cache_is_written_atomically(tmp_path: Path) -> None:
    write_pets(tmp_path / "pets", "folders", per_class=3)
    resolve_source(_config(tmp_path))
    names = sorted(os.listdir(tmp_path / "cache"))
    assert [n for n in names if ".tmp" in n] == []
    assert {Path(n).suffix for n in names} == {".npy", ".json", ".lock"}


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda root: root.mkdir(), "no images found"),
        (lambda root: write_pets(root, "folders") and _drop(root / "dogs"), "only one class"),
        (lambda root: _all_corrupt(root), r"usable images in 1 class\(es\) \(cats\)"),
    ],
    ids=["empty", "one-class", "all-dogs-corrupt"],
)
def test_unusable_folders_raise_one_line(tmp_path: Path, make, match: str) -> None:
    make(tmp_path / "pets")
    with pytest.raises(DataError, match=match) as info:
        resolve_source(_config(tmp_path))
    assert "\n" not in str(info.value)
    assert _cache_files(tmp_path) == []


def test_missing_root_and_mnist_only_options(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"expected Kaggle's .*nowhere' \(not a folder\)"):
        resolve_source(_config(tmp_path, root=str(tmp_path / "nowhere")))
    with pytest.raises(
        ValidationError, match="only for dataset catdog; expected nothing for mnist"
    ):
        DataConfig(image_size=32)
    with pytest.raises(ValidationError, match="per_class\n.*expected an integer >= 1"):
        _config(tmp_path, per_class=0)


def test_gone_cache_is_a_clear_error(tmp_path: Path) -> None:
    source = DataSource("catdog", "image_cache", str(tmp_path / "x.npy"), "")
    with pytest.raises(DataError, match="image cache is gone"):
        load_split(_config(tmp_path), source)


def test_flip_and_crop() -> None:
    torch.manual_seed(0)
    x = torch.randn(64, 3, 8, 8)
    flipped = flip_and_crop(x, pad=0)
    same = [torch.equal(a, b) for a, b in zip(flipped, x, strict=True)]
    mirrored = [torch.equal(a, b.flip(2)) for a, b in zip(flipped, x, strict=True)]
    assert all(s or m for s, m in zip(same, mirrored, strict=True))
    assert 10 < sum(same) < 54
    cropped = flip_and_crop(torch.ones(64, 3, 8, 8), pad=2)
    assert cropped.shape == (64, 3, 8, 8)
    # Shifted crops bring in zero padding for most samples, never more than 2 rows/columns.
    assert (cropped == 0).any() and (cropped[:, :, 2:6, 2:6] == 1).all()


def _drop(path: Path) -> None:
    for child in path.iterdir():
        child.unlink()
    path.rmdir()


def _all_corrupt(root: Path) -> None:
    write_pets(root, "folders", per_class=3)
    for child in (root / "dogs").iterdir():
        child.write_bytes(b"\xff\xd8\xff not a jpeg")
