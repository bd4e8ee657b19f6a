"""Model output shapes and He initialisation."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from trials.models import MLP, MnistCNN


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
    for layer in _weights(model):
        fan_in = layer.weight[0].numel()
        if layer.weight.numel() < 5000:
            continue  # too few weights for a tight estimate of the std
        expected = math.sqrt(2.0 / fan_in)
        assert layer.weight.std().item() == pytest.approx(expected, rel=0.05)
        assert layer.weight.mean().abs().item() < 0.05 * expected
        if layer.bias is not None:
            assert torch.count_nonzero(layer.bias) == 0


def test_batch_norm_layers_have_no_redundant_bias() -> None:
    assert all(m.bias is None for m in _weights(MnistCNN(4, 0.0, True).features))
