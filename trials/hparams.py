"""Check a trial's hyperparameters at the boundary, with messages naming the parameter and value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from search_spaces.constraints import (
    Bool,
    Constraint,
    ConstraintError,
    Integer,
    Number,
    OneOf,
    short_repr,
)
from trials.errors import ParamError

OPTIMIZERS = ("sgd", "adam", "rmsprop")
AMP_MODES = ("off", "bf16", "fp16")
_AMP = OneOf(AMP_MODES)


def amp_mode(value: Any) -> str:
    """The amp setting as a mode name; YAML reads a bare `off` as false, so accept that too."""
    if value is False:
        return "off"
    try:
        return _AMP.check(value)
    except ConstraintError as exc:
        raise ParamError("amp", exc.message) from None


# Shared by every workload; a workload adds its architecture parameters.
COMMON_DEFAULTS: dict[str, Any] = {
    "optimizer": "sgd",
    "lr": 0.05,
    "momentum": 0.9,
    "nesterov": False,
    "beta1": 0.9,
    "beta2": 0.999,
    "rmsprop_alpha": 0.99,
    "weight_decay": 0.0,
    "dropout": 0.0,
    "batch_norm": False,
    "batch_size": 128,
    "lr_decay": 0.0,
    "amp": "off",
}
# Convolutional workloads also take these; augment is only for photos.
CNN_DEFAULTS: dict[str, Any] = {"channels_last": False}
PHOTO_DEFAULTS: dict[str, Any] = {"channels": 32, "blocks": 4, "augment": True}

_FRACTION = Number(low=0, below=1)  # momentum-like betas and dropout
_NON_NEGATIVE = Number(low=0)
_SWITCH = Bool()


def _size(high: int, low: int = 1) -> Integer:
    """A size with a sane upper bound, so that no trial tries to allocate the impossible.

    Search spaces may hand over 64.0 for an integer; accepted, but not 64.5."""
    return Integer(low=low, high=high, whole_floats=True)


# What each knob a workload may take accepts; a name missing here takes any value.
KNOBS: dict[str, Constraint] = {
    "optimizer": OneOf(OPTIMIZERS),
    "lr": Number(above=0),
    "momentum": _FRACTION,
    "nesterov": _SWITCH,
    "beta1": _FRACTION,
    "beta2": _FRACTION,
    "rmsprop_alpha": _FRACTION,
    "weight_decay": _NON_NEGATIVE,
    "dropout": _FRACTION,
    "batch_norm": _SWITCH,
    "batch_size": _size(2**20),
    "lr_decay": _NON_NEGATIVE,
    "hidden_units": _size(2**16),
    "hidden_layers": _size(100, low=0),
    "channels": _size(4096),
    "blocks": _size(16),
    "channels_last": _SWITCH,
    "augment": _SWITCH,
}


# The knobs each optimizer reads (trials.train); the others it ignores.
OPTIMIZER_KNOBS: dict[str, frozenset[str]] = {
    "sgd": frozenset({"momentum", "nesterov"}),
    "adam": frozenset({"beta1", "beta2"}),
    "rmsprop": frozenset({"rmsprop_alpha", "momentum"}),
}


def check_branch_knobs(names: list[str], optimizer: Any) -> None:
    """A branch of the optimizer holds only knobs that optimizer reads: a flat space cannot
    say which knob goes with which optimizer, a branch can, so a stray one there (beta1
    under sgd) is a mistake in the spec."""
    if optimizer not in OPTIMIZER_KNOBS:
        return
    for name in names:
        owners = [o for o, knobs in OPTIMIZER_KNOBS.items() if name in knobs]
        if owners and optimizer not in owners:
            raise ParamError(
                name,
                f"expected knobs that optimizer {optimizer} reads, got {name} "
                f"(read by {' and '.join(owners)} only)",
            )


def check_params(defaults: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """Merge params over defaults, rejecting unknown names and out-of-range or mistyped values.

    Raises ParamError naming the first parameter at fault.
    """
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        others = f" (so are {', '.join(unknown[1:])})" if len(unknown) > 1 else ""
        raise ParamError(
            unknown[0],
            f"unknown to this workload{others}; expected one of {', '.join(sorted(defaults))}",
        )
    merged = {**defaults, **params}
    for name, value in merged.items():
        if name == "amp":
            merged[name] = amp_mode(value)
        elif name in KNOBS:
            try:
                merged[name] = KNOBS[name].check(value)
            except ConstraintError as exc:
                raise ParamError(name, exc.message) from None
    if merged.get("nesterov") and merged.get("momentum", 0) == 0:
        momentum = short_repr(merged.get("momentum", 0))
        raise ParamError("nesterov", f"expected momentum > 0 for nesterov, got momentum {momentum}")
    return merged
