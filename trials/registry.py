"""The named workloads a search can run: which data sets they accept and what they tune."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from search_spaces.branches import Branch
from search_spaces.scales import short_repr
from search_spaces.space import SearchSpace
from trials.config import IMAGE_DATASETS, MNIST_DATASETS
from trials.errors import ParamError, UnknownWorkload
from trials.hparams import (
    CNN_DEFAULTS,
    COMMON_DEFAULTS,
    PHOTO_DEFAULTS,
    check_branch_knobs,
    check_params,
)
from trials.user_code import FunctionWorkload, failure_text, import_from, local_modules
from trials.workload import Report, TrialContext, WorkloadMismatch
from trials.workload import Workload as AnyWorkload

if TYPE_CHECKING:
    from torch import nn

# What train() reports after every epoch besides "epoch"; a spec's metric must be one of these.
REPORTED_METRICS = (
    "val_loss",
    "val_accuracy",
    "train_loss",
    "lr",
    "epoch_seconds",
    "samples_per_second",
)


@dataclass(frozen=True)
class ModelWorkload(AnyWorkload):
    """A trainable model family; `defaults` lists every hyperparameter it accepts.

    searcher owns its data and its training loop (trials.train); `build_model` gets the
    hyperparameters plus `num_classes`, which comes from the data.
    """

    name: str
    datasets: tuple[str, ...]
    defaults: dict[str, Any]
    build_model: Callable[[dict[str, Any]], nn.Module]
    owns_data: bool = field(default=False, init=False)

    def check(self, space: SearchSpace, metric: str, dataset: str) -> None:
        """Known hyperparameters, each value the space can produce accepted, a data set and a
        metric that the training loop has; checked at range ends and every choice, so
        `optimizer: adamw` is a spec error now, not a FAILED trial in every stage later."""
        unknown = [name for name in space.value_names if name not in self.defaults]
        if unknown:
            allowed = ", ".join(sorted(self.defaults))
            raise WorkloadMismatch(
                f"space.{unknown[0]}", f"unknown to workload {self.name}; expected one of {allowed}"
            )
        for branch in space.branches:  # one for a flat space
            # The branch's fixed values and choices: rules that join knobs (nesterov needs
            # momentum) see them too.
            fixed = space.fixed_in(branch)
            for coordinate in branch.names:
                name, scale = space.name_of(coordinate), space.params[coordinate]
                for value in [fixed[name]] if name in fixed else scale.grid(2):
                    try:
                        check_params(self.defaults, {**fixed, name: value})
                    except ParamError as exc:
                        raise _mismatch(space, branch, exc) from None
            if any(space.name_of(n) == "optimizer" for n, _ in branch.choices):  # its branch
                try:
                    check_branch_knobs([space.name_of(n) for n in branch.names], fixed["optimizer"])
                except ParamError as exc:
                    raise _mismatch(space, branch, exc) from None
        if self.datasets and dataset not in self.datasets:
            raise WorkloadMismatch(
                "data.dataset",
                f"expected one of {', '.join(self.datasets)} for workload {self.name}, "
                f"got {short_repr(dataset)}",
            )
        if metric not in REPORTED_METRICS:
            raise WorkloadMismatch(
                "metric.name",
                f"expected one of {', '.join(REPORTED_METRICS)}, got {short_repr(metric)}",
            )

    def modules(self, code_dirs: Sequence[str]) -> list[ModuleType]:
        return local_modules(self.build_model, code_dirs)

    def shipped_files(self, code_dir: Path) -> list[Path]:
        builtin = WORKLOADS.get(self.name) is self  # installed with searcher: nothing to ship
        return [] if builtin else super().shipped_files(code_dir)

    def run(self, params: dict[str, Any], report: Report, context: TrialContext) -> None:
        from trials.train import train

        assert context.data is not None and context.source is not None
        assert context.epochs is not None
        train(
            self,
            params,
            context.data,
            context.source,
            context.epochs,
            context.seed,
            report,
            device=context.device,
            threads=context.threads,
        )


# The name model-builder modules written for searcher 0.1.0 construct (`module:WORKLOAD`).
Workload = ModelWorkload


# The builders import the models when a trial builds one, so validating a spec loads no torch.
def _mlp(p: dict[str, Any]) -> nn.Module:
    from trials.models import MLP

    classes = p.get("num_classes", 10)
    return MLP(p["hidden_units"], p["hidden_layers"], p["dropout"], p["batch_norm"], classes)


def _cnn(p: dict[str, Any]) -> nn.Module:
    from trials.models import MnistCNN

    return MnistCNN(p["channels"], p["dropout"], p["batch_norm"], p.get("num_classes", 10))


def _photo_cnn(p: dict[str, Any]) -> nn.Module:
    from trials.models import PhotoCNN

    return PhotoCNN(
        p["channels"], p["blocks"], p["dropout"], p["batch_norm"], p.get("num_classes", 2)
    )


_MLP_DEFAULTS = {**COMMON_DEFAULTS, "hidden_units": 256, "hidden_layers": 2}
_CNN_DEFAULTS = {**COMMON_DEFAULTS, **CNN_DEFAULTS, "channels": 32}
WORKLOADS: dict[str, Workload] = {
    "mnist_mlp": Workload("mnist_mlp", MNIST_DATASETS, _MLP_DEFAULTS, _mlp),
    "mnist_cnn": Workload("mnist_cnn", MNIST_DATASETS, _CNN_DEFAULTS, _cnn),
    "catdog_cnn": Workload(
        "catdog_cnn",
        IMAGE_DATASETS,
        {**COMMON_DEFAULTS, **CNN_DEFAULTS, **PHOTO_DEFAULTS},
        _photo_cnn,
    ),
}


def get_workload(name: str, code_dirs: Sequence[str] = ()) -> AnyWorkload:
    """A built-in workload by name, or the user's own as ``module:ATTRIBUTE``.

    ATTRIBUTE is a function ``fit(params, report)`` or a workload object (a model builder). The
    module is looked for first in ``code_dirs`` (the spec's folder and the current directory), then
    on the normal path.
    """
    if name in WORKLOADS:
        return WORKLOADS[name]
    known = sorted(WORKLOADS)
    module_name, colon, attr = name.partition(":")
    if not colon:
        raise UnknownWorkload(name, known)
    if not module_name.strip() or not attr.strip():
        raise UnknownWorkload(name, known, "expected module:function")
    try:
        found = getattr(import_from(module_name, code_dirs), attr)
    except (ImportError, AttributeError) as exc:
        raise UnknownWorkload(name, known, f"cannot load it: {exc}") from None
    except Exception as exc:  # the user's module itself raised while being imported
        raise UnknownWorkload(name, known, f"importing it raised {failure_text(exc)}") from None
    if isinstance(found, AnyWorkload):
        return found
    if inspect.isfunction(found) or inspect.ismethod(found) or isinstance(found, partial):
        return FunctionWorkload(name, found)
    raise UnknownWorkload(
        name, known, "it is neither a function fit(params, report) nor a Workload"
    )


def _mismatch(space: SearchSpace, branch: Branch, exc: ParamError) -> WorkloadMismatch:
    """A knob's error, naming the branch it is in when the space has branches."""
    where = f" (in branch {branch.label})" if space.conditional else ""
    return WorkloadMismatch(f"space.{exc.name}", exc.message + where)
