"""Train one workload for some epochs, reporting validation metrics after each; Ray-free."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trials.augment import flip_and_crop
from trials.config import DataConfig, DataSource
from trials.data import Split, load_split
from trials.errors import TrialDiverged
from trials.hparams import check_params
from trials.precision import Precision


class ModelFamily(Protocol):
    """What train() needs of a model workload (trials.registry.ModelWorkload is one)."""

    name: str
    datasets: tuple[str, ...]
    defaults: dict[str, Any]
    build_model: Callable[[dict[str, Any]], nn.Module]


# Checking for NaN forces a device sync, so look at the losses every few batches only.
CHECK_EVERY = 25
EVAL_BATCH = 2048


def seed_everything(seed: int) -> None:
    """Seed every generator a trial may touch."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def make_optimizer(weights: Any, params: dict[str, Any]) -> torch.optim.Optimizer:
    """The optimizer params["optimizer"] names, over the model's weights, with the params that
    apply to it."""
    lr, wd = params["lr"], params["weight_decay"]
    if params["optimizer"] == "adam":
        betas = (params["beta1"], params["beta2"])
        return torch.optim.Adam(weights, lr=lr, betas=betas, weight_decay=wd)
    if params["optimizer"] == "rmsprop":
        alpha, momentum = params["rmsprop_alpha"], params["momentum"]
        return torch.optim.RMSprop(weights, lr=lr, alpha=alpha, momentum=momentum, weight_decay=wd)
    return torch.optim.SGD(
        weights, lr=lr, momentum=params["momentum"], nesterov=params["nesterov"], weight_decay=wd
    )


def _check_finite(window: torch.Tensor, epoch: int, first_batch: int) -> None:
    bad = ~torch.isfinite(window)
    if bool(bad.any()):
        j = int(bad.nonzero()[0, 0])
        value = float(window[j])
        raise TrialDiverged(f"train loss became {value} at epoch {epoch}, batch {first_batch + j}")


@dataclass(frozen=True)
class Batches:
    """How a batch becomes model input: normalise uint8 pixels, augment, pick the memory format."""

    split: Split
    augment: bool = False
    channels_last: bool = False

    def inputs(self, x: torch.Tensor, training: bool) -> torch.Tensor:
        x = self.split.inputs(x)
        if training and self.augment:
            x = flip_and_crop(x)
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x


def train_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    split: Split,
    batch_size: int,
    generator: torch.Generator,
    epoch: int,
    *,
    batches: Batches | None = None,
    precision: Precision | None = None,
) -> tuple[float, int]:
    """One pass over a seeded permutation of the in-memory training set; returns (loss, samples).

    Batches are slices of tensors already on the model's device: no loader, no copies per batch.
    """
    batches = batches or Batches(split)
    precision = precision or Precision(split.train_x.device.type, "off")
    model.train()
    n = len(split.train_y)
    perm = torch.randperm(n, generator=generator).to(split.train_x.device)
    # A batch of one breaks batch norm and adds nothing; drop it.
    starts = [s for s in range(0, n, batch_size) if min(batch_size, n - s) > 1]
    losses = torch.empty(len(starts), device=split.train_x.device)
    sizes = torch.tensor([min(batch_size, n - s) for s in starts], dtype=torch.float32)
    checked = 0
    for i, start in enumerate(starts):
        idx = perm[start : start + batch_size]
        with precision.autocast():
            logits = model(batches.inputs(split.train_x[idx], training=True))
        loss = F.cross_entropy(logits.float(), split.train_y[idx])
        optimizer.zero_grad(set_to_none=True)
        precision.step(loss, optimizer)
        losses[i] = loss.detach()
        if i + 1 - checked == CHECK_EVERY or i + 1 == len(starts):
            _check_finite(losses[checked : i + 1], epoch, checked + 1)
            checked = i + 1
    total = float((losses.cpu() * sizes).sum())
    samples = int(sizes.sum())
    return total / samples, samples


@torch.no_grad()
def evaluate(
    model: nn.Module, batches: Batches, precision: Precision | None = None
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy on the validation split, in batches so it fits in memory."""
    x, y = batches.split.val_x, batches.split.val_y
    precision = precision or Precision(x.device.type, "off")
    model.eval()
    loss_sum = torch.zeros((), device=x.device)
    correct = torch.zeros((), device=x.device, dtype=torch.int64)
    for start in range(0, len(y), EVAL_BATCH):
        with precision.autocast():
            logits = model(batches.inputs(x[start : start + EVAL_BATCH], training=False)).float()
        target = y[start : start + EVAL_BATCH]
        loss_sum += F.cross_entropy(logits, target, reduction="sum")
        correct += (logits.argmax(1) == target).sum()
    return float(loss_sum) / len(y), int(correct) / len(y)


def train(
    workload: ModelFamily,
    params: dict[str, Any],
    data: DataConfig,
    source: DataSource,
    epochs: int,
    seed: int,
    report: Callable[[dict[str, Any]], None],
    *,
    device: str | None = None,
    threads: int | None = None,
    on_trained: Callable[[nn.Module], None] | None = None,
) -> dict[str, Any]:
    """Train and report metrics after every epoch; return the last report. Raises TrialDiverged.

    The data is loaded once per process and device (see load_split, Split.to); `on_trained`
    receives the final model, e.g. to save it.
    """
    wl = workload
    params = check_params(wl.defaults, params)  # with the workload's defaults filled in
    if data.dataset not in wl.datasets:
        raise ValueError(f"workload {wl.name} does not accept data set {data.dataset!r}")
    if epochs < 1:
        raise ValueError(f"epochs: must be >= 1, got {epochs}")
    if threads is not None:
        torch.set_num_threads(threads)
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input shapes: let cuDNN pick kernels once
    split = load_split(data, source).to(dev)
    seed_everything(seed)
    model = wl.build_model({**params, "num_classes": split.num_classes}).to(dev)
    channels_last = bool(params.get("channels_last", False))
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    batches = Batches(split, bool(params.get("augment", False)), channels_last)
    precision = Precision(dev.type, params.get("amp", "off"))
    optimizer = make_optimizer(model.parameters(), params)
    generator = torch.Generator().manual_seed(seed)
    result: dict[str, Any] = {}
    for epoch in range(epochs):
        lr = params["lr"] / (1.0 + params["lr_decay"] * epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        started = time.perf_counter()
        train_loss, samples = train_epoch(
            model,
            optimizer,
            split,
            params["batch_size"],
            generator,
            epoch + 1,
            batches=batches,
            precision=precision,
        )
        train_seconds = time.perf_counter() - started
        val_loss, val_accuracy = evaluate(model, batches, precision)
        if not math.isfinite(val_loss):
            raise TrialDiverged(f"validation loss became {val_loss} at epoch {epoch + 1}")
        result = {
            "epoch": epoch + 1,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "val_accuracy": val_accuracy,
            "lr": lr,
            "epoch_seconds": time.perf_counter() - started,
            "samples_per_second": samples / train_seconds,
        }
        report(result)
    if on_trained is not None:
        on_trained(model)
    return result
