"""catdog_cnn on real PyTorch: learning, augmentation, mixed precision, channels_last."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.image_fixtures import write_pets
from trials.models import PhotoCNN
from trials.precision import Precision, amp_mode
from trials.registry import get_workload
from trials.sources import DataConfig, DataSource, resolve_source
from trials.train import train

FAST = {"optimizer": "adam", "lr": 0.01, "batch_size": 16, "channels": 8, "blocks": 3}


@pytest.fixture(scope="module")
def pets(tmp_path_factory: pytest.TempPathFactory) -> tuple[DataConfig, DataSource]:
    root = tmp_path_factory.mktemp("pets")
    write_pets(root / "images", "kaggle", per_class=30)
    cfg = DataConfig(
        dataset="catdog", root=str(root / "images"), image_size=32, cache_dir=str(root / "cache")
    )
    return cfg, resolve_source(cfg)


def _run(data: tuple[DataConfig, DataSource], epochs: int = 2, **params: Any) -> list[dict]:
    reports: list[dict[str, Any]] = []
    train("catdog_cnn", {**FAST, **params}, *data, epochs, 5, reports.append, threads=2)
    return reports


def test_learns_above_chance(pets: tuple[DataConfig, DataSource]) -> None:
    reports = _run(pets)
    assert [r["epoch"] for r in reports] == [1, 2]
    assert all(math.isfinite(r[k]) for r in reports for k in ("train_loss", "val_loss"))
    assert reports[-1]["val_accuracy"] >= 0.75


def test_same_seed_same_losses_with_augmentation(pets: tuple[DataConfig, DataSource]) -> None:
    a, b = _run(pets, epochs=1), _run(pets, epochs=1)
    assert a[0]["train_loss"] == b[0]["train_loss"]
    off = _run(pets, epochs=1, augment=False)
    assert off[0]["train_loss"] != a[0]["train_loss"]


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_mixed_precision_and_channels_last(pets: tuple[DataConfig, DataSource], amp: str) -> None:
    (report,) = _run(pets, epochs=1, amp=amp, channels_last=True, batch_norm=True)
    assert math.isfinite(report["train_loss"]) and math.isfinite(report["val_loss"])


def test_saves_the_trained_model(pets: tuple[DataConfig, DataSource], tmp_path: Path) -> None:
    kept: list[torch.nn.Module] = []
    train("catdog_cnn", FAST, *pets, 1, 0, lambda r: None, on_trained=kept.append)
    (model,) = kept
    assert isinstance(model, PhotoCNN) and model.head[-1].out_features == 2


def test_precision_modes() -> None:
    assert amp_mode(False) == "off"  # YAML reads a bare `off` as false
    with pytest.raises(ValueError, match="hyperparameter amp: got 'fp8'"):
        amp_mode("fp8")
    assert Precision("cpu", "fp16").scaler.is_enabled()
    assert not Precision("cpu", "bf16").scaler.is_enabled()
    with Precision("cpu", "bf16").autocast():
        assert torch.nn.Linear(4, 2)(torch.ones(1, 4)).dtype == torch.bfloat16


@pytest.mark.parametrize("size", [8, 24, 64])
def test_photo_cnn_fits_any_image_size(size: int) -> None:
    model = PhotoCNN(channels=4, blocks=4, dropout=0.5, batch_norm=True, num_classes=3)
    assert model(torch.randn(2, 3, size, size)).shape == (2, 3)


def test_catdog_workload_options() -> None:
    defaults = get_workload("catdog_cnn").defaults
    assert {"augment", "amp", "channels_last", "blocks", "channels"} <= set(defaults)
    assert defaults["augment"] is True and defaults["amp"] == "off"
    assert get_workload("catdog_cnn").datasets == ("catdog",)
    assert "catdog" not in get_workload("mnist_cnn").datasets
