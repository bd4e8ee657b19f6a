"""catdog_cnn on real PyTorch: learning, augmentation, mixed precision, channels_last."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from tests.image_fixtures import write_pets
from trials.config import DataConfig, DataSource
from trials.hparams import amp_mode
from trials.models import PhotoCNN
from trials.precision import Precision
from trials.registry import WORKLOADS, get_workload
from trials.sources import resolve_source
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
    workload = WORKLOADS["catdog_cnn"]  # looked up per run: the spy below may replace it
    train(workload, {**FAST, **params}, *data, epochs, 5, reports.append, threads=2)
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


CATDOG = WORKLOADS["catdog_cnn"]


@dataclasses.dataclass
class Spy:
    """What the model saw while train() ran, recorded by hooks on the model it built."""

    model: nn.Module | None = None
    # (training, layer type, output dtype) of every Conv2d and Linear call
    outputs: set[tuple[bool, str, torch.dtype]] = dataclasses.field(default_factory=set)
    # (training, channels_last, NCHW-contiguous) of the first convolution's input
    inputs: set[tuple[bool, bool, bool]] = dataclasses.field(default_factory=set)
    # largest |d loss / d logits| of each training batch, as backward() saw it
    logit_grads: list[float] = dataclasses.field(default_factory=list)


def _spy_on_model(monkeypatch: pytest.MonkeyPatch) -> Spy:
    spy = Spy()
    workload = CATDOG  # the original, also when a spy replaced it before in the same test

    def build(hp: dict[str, Any]) -> nn.Module:
        model = workload.build_model(hp)
        assert isinstance(model, PhotoCNN)
        spy.model = model
        convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
        for layer in [*convs, model.head[-1]]:
            layer.register_forward_hook(
                lambda m, _, out: spy.outputs.add((m.training, type(m).__name__, out.dtype))
            )

        def first_input(m: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
            channels_last = args[0].is_contiguous(memory_format=torch.channels_last)
            spy.inputs.add((m.training, channels_last, args[0].is_contiguous()))

        def logits(m: nn.Module, _: Any, out: torch.Tensor) -> None:
            if out.requires_grad:
                out.register_hook(lambda g: spy.logit_grads.append(float(g.abs().max())))

        convs[0].register_forward_pre_hook(first_input)
        model.head[-1].register_forward_hook(logits)
        return model

    replaced = dataclasses.replace(workload, build_model=build)
    monkeypatch.setitem(WORKLOADS, "catdog_cnn", replaced)
    return spy


# Plain SGD: unlike Adam, its step grows with the gradient, so an unscaled fp16 step would show.
SGD = {"optimizer": "sgd", "lr": 0.02, "momentum": 0.0, "augment": False}
DTYPES = {"off": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


@pytest.mark.parametrize("amp", ["off", "bf16", "fp16"])
def test_amp_runs_the_forward_pass_in_its_dtype(
    pets: tuple[DataConfig, DataSource], monkeypatch: pytest.MonkeyPatch, amp: str
) -> None:
    spy = _spy_on_model(monkeypatch)
    (report,) = _run(pets, epochs=1, amp=amp, **SGD)
    dtype = DTYPES[amp]
    assert spy.outputs == {
        (training, layer, dtype) for training in (True, False) for layer in ("Conv2d", "Linear")
    }
    assert spy.model is not None
    assert all(p.dtype == torch.float32 for p in spy.model.parameters()), "weights stay fp32"
    assert math.isfinite(report["train_loss"]) and math.isfinite(report["val_loss"])


def test_fp16_scales_the_loss_and_unscales_the_step(
    pets: tuple[DataConfig, DataSource], monkeypatch: pytest.MonkeyPatch
) -> None:
    """fp16 backpropagates loss * 2**16 (GradScaler's initial scale); off and bf16 do not scale.

    The zero head predicts 1/2 for both classes, so on the first batch every logit's gradient is
    +-0.5 / batch_size times the loss scale, exactly.
    """
    grads, losses = {}, {}
    for amp in ("off", "bf16", "fp16"):
        spy = _spy_on_model(monkeypatch)
        (report,) = _run(pets, epochs=1, amp=amp, **SGD)
        grads[amp], losses[amp] = spy.logit_grads, report["train_loss"]
    assert len(grads["off"]) == len(grads["fp16"]) > 1
    assert grads["off"][0] == 0.5 / FAST["batch_size"]
    assert grads["bf16"][0] == grads["off"][0]
    assert grads["fp16"][0] == 2.0**16 * grads["off"][0]
    # Unscaled before the optimizer steps: an SGD step 65536 times too large would diverge. The
    # scaler skips a step whose scaled gradients overflow fp16 (here the second), so fp16 does not
    # match off exactly; bf16 rounds the forward pass only.
    assert losses["fp16"] == pytest.approx(losses["off"], abs=0.1)
    assert losses["bf16"] == pytest.approx(losses["off"], abs=0.01)


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "channels_last"])
def test_channels_last_reaches_weights_and_inputs(
    pets: tuple[DataConfig, DataSource], monkeypatch: pytest.MonkeyPatch, channels_last: bool
) -> None:
    spy = _spy_on_model(monkeypatch)
    _run(pets, epochs=1, amp="bf16", channels_last=channels_last, batch_norm=True)
    # 3 input channels and 32x32 images: the two layouts cannot be confused with each other.
    assert spy.inputs == {
        (training, channels_last, not channels_last) for training in (True, False)
    }
    assert spy.model is not None
    weights = [m.weight for m in spy.model.modules() if isinstance(m, nn.Conv2d)]
    assert len(weights) == FAST["blocks"]
    for w in weights:
        assert w.is_contiguous(memory_format=torch.channels_last) is channels_last
        assert w.is_contiguous() is not channels_last


def test_saves_the_trained_model(pets: tuple[DataConfig, DataSource], tmp_path: Path) -> None:
    kept: list[torch.nn.Module] = []
    train(WORKLOADS["catdog_cnn"], FAST, *pets, 1, 0, lambda r: None, on_trained=kept.append)
    (model,) = kept
    assert isinstance(model, PhotoCNN) and model.head[-1].out_features == 2


def test_precision_modes() -> None:
    assert amp_mode(False) == "off"  # YAML reads a bare `off` as false
    with pytest.raises(
        ValueError, match="hyperparameter amp: expected one of off, bf16, fp16, got 'fp8'"
    ):
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
