"""Model output shapes, He-initialised hidden layers, a zero head: chance loss at the start."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tests.idx_fixtures import make_digits
from tests.image_fixtures import pet_image
from trials.data import NORMALISATION, PHOTO_MEAN, PHOTO_STD
from trials.models import MLP, MnistCNN, PhotoCNN


@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("layers", [0, 1, 3])
def test_mlp_output_shape(layers: int, batch_norm: bool) -> None:
    model = MLP(hidden_units=32, hidden_layers=layers, dropout=0.5, batch_norm=batch_norm)
    assert model(torch.randn(5, 1, 28, 28)).shape == (5, 10)
    assert sum(isinstance(m, nn.BatchNorm1d) for m in model.modules()) == layers * batch_norm


@pytest.mark.parametrize("batch_norm", [False, True])
def test_cnn_output_shape(batch_norm: bool) -> None:
    model = MnistCNN(channels=8, dropout=0.25, batch_norm=batch_norm)
    assert model(torch.randn(3, 1, 28, 28)).shape == (3, 10)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 2 * batch_norm


def _weights(model: nn.Module) -> list[nn.Conv2d | nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]


@pytest.mark.parametrize(
    "model",
    [MLP(512, 2, 0.0, False), MnistCNN(32, 0.0, False)],
    ids=["mlp", "cnn"],
)
def test_he_initialisation(model: nn.Module) -> None:
    torch.manual_seed(0)
    *hidden, head = _weights(model)
    for layer in hidden:
        fan_in = layer.weight[0].numel()
        if layer.weight.numel() < 5000:
            continue  # too few weights for a tight estimate of the std
        expected = math.sqrt(2.0 / fan_in)
        assert layer.weight.std().item() == pytest.approx(expected, rel=0.05)
        assert layer.weight.mean().abs().item() < 0.05 * expected
        if layer.bias is not None:
            assert torch.count_nonzero(layer.bias) == 0
    assert isinstance(head, nn.Linear) and head.out_features == 10
    assert torch.count_nonzero(head.weight) == 0 and torch.count_nonzero(head.bias) == 0


def test_batch_norm_layers_have_no_redundant_bias() -> None:
    assert all(m.bias is None for m in _weights(MnistCNN(4, 0.0, True).features))


def _photos(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random uint8 RGB pixels, normalised like the catdog data; balanced labels 0/1."""
    g = torch.Generator().manual_seed(seed)
    pixels = torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8)
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in (PHOTO_MEAN, PHOTO_STD))
    return (pixels.float() / 255.0 - mean) / std, torch.arange(n) % 2


def _digits(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random uint8 28x28 pixels, normalised like MNIST; balanced labels 0..9."""
    g = torch.Generator().manual_seed(seed)
    pixels = torch.randint(0, 256, (n, 1, 28, 28), generator=g, dtype=torch.uint8)
    mean, std = NORMALISATION["mnist"]
    return (pixels.float() / 255.0 - mean) / std, torch.arange(n) % 10


# (builder, data, number of classes); dropout on, as in real trials.
MODELS: dict[str, tuple[Callable[[bool], nn.Module], Callable[..., tuple], int]] = {
    "photo_cnn": (lambda bn: PhotoCNN(32, 4, 0.25, bn), _photos, 2),
    "mnist_cnn": (lambda bn: MnistCNN(32, 0.25, bn), _digits, 10),
    "mlp": (lambda bn: MLP(256, 2, 0.25, bn), _digits, 10),
}


@pytest.mark.parametrize("batch_norm", [False, True], ids=["plain", "bn"])
@pytest.mark.parametrize("name", list(MODELS))
def test_first_loss_is_chance(name: str, batch_norm: bool) -> None:
    """Kaiming weights in the head gave a first loss of 2-7 (catdog, where chance is ln 2)."""
    build, data, classes = MODELS[name]
    x, y = data(100)
    tolerance = 0.1 if classes == 2 else 0.2
    for seed in range(3):
        torch.manual_seed(seed)
        model = build(batch_norm).train()
        loss = F.cross_entropy(model(x), y).item()
        assert loss == pytest.approx(math.log(classes), abs=tolerance), f"seed {seed}"


def _learnable_photos(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(0)
    labels = np.arange(n) % 2
    pixels = np.stack([np.asarray(pet_image(int(c), 32, rng)) for c in labels])
    x = torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 255.0
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in (PHOTO_MEAN, PHOTO_STD))
    return (x - mean) / std, torch.from_numpy(labels)


def _learnable_digits(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = make_digits(n, seed=1)
    mean, std = NORMALISATION["mnist"]
    x = (torch.from_numpy(images).float()[:, None] / 255.0 - mean) / std
    return x, torch.from_numpy(labels.astype(np.int64))


@pytest.mark.parametrize(
    ("build", "data", "classes"),
    [
        (lambda: PhotoCNN(4, 3, 0.0, False), _learnable_photos, 2),
        (lambda: MnistCNN(4, 0.0, False), _learnable_digits, 10),
        (lambda: MLP(32, 1, 0.0, False), _learnable_digits, 10),
    ],
    ids=["photo_cnn", "mnist_cnn", "mlp"],
)
def test_zero_head_still_trains(build: Callable, data: Callable, classes: int) -> None:
    """The zero head gets a gradient at once and the layers below it learn from step two."""
    torch.manual_seed(0)
    model = build()
    x, y = data(64)
    first = _weights(model)[0]
    before = first.weight.detach().clone()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(10):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[0] == pytest.approx(math.log(classes), abs=1e-4)
    assert losses[-1] < 0.5 * losses[0]
    assert all(b < a for a, b in zip(losses[:4], losses[1:5], strict=True)), losses
    assert not torch.equal(first.weight, before), "the first layer must learn too"
