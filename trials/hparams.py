"""Check a trial's hyperparameters at the boundary, with messages naming the parameter and value."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from search_spaces.scales import short_repr
from trials.errors import ParamError

OPTIMIZERS = ("sgd", "adam", "rmsprop")
AMP_MODES = ("off", "bf16", "fp16")


def amp_mode(value: Any) -> str:
    """The amp setting as a mode name; YAML reads a bare `off` as false, so accept that too."""
    if value is False:
        return "off"
    if value not in AMP_MODES:
        allowed = ", ".join(AMP_MODES)
        raise ParamError("amp", f"expected one of {allowed}, got {short_repr(value)}")
    return value


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

# name -> (kind, lower bound, lower bound allowed, upper bound or None (exclusive))
_RANGES: dict[str, tuple[str, float, bool, float | None]] = {
    "lr": ("real", 0.0, False, None),
    "momentum": ("real", 0.0, True, 1.0),
    "beta1": ("real", 0.0, True, 1.0),
    "beta2": ("real", 0.0, True, 1.0),
    "rmsprop_alpha": ("real", 0.0, True, 1.0),
    "weight_decay": ("real", 0.0, True, None),
    "dropout": ("real", 0.0, True, 1.0),
    "lr_decay": ("real", 0.0, True, None),
    "batch_size": ("int", 1, True, None),
    "hidden_units": ("int", 1, True, None),
    "hidden_layers": ("int", 0, True, None),
    "channels": ("int", 1, True, None),
    "blocks": ("int", 1, True, None),
}
_BOOLS = ("nesterov", "batch_norm", "channels_last", "augment")


def _range_text(name: str) -> str:
    """What a ranged parameter accepts, e.g. 'a number >= 0 and < 1' or 'an integer >= 1'."""
    kind, low, low_ok, high = _RANGES[name]
    noun = "an integer" if kind == "int" else "a number"
    text = f"{noun} {'>=' if low_ok else '>'} {low:g}"
    return text + (f" and < {high:g}" if high is not None else "")


def _bad(name: str, value: object, allowed: str) -> ParamError:
    return ParamError(name, f"expected {allowed}, got {short_repr(value)}")


def _number(name: str, value: object) -> float | int:
    kind, low, low_ok, high = _RANGES[name]
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _bad(name, value, _range_text(name))
    number = float(value)
    if kind == "int":
        # Search spaces may hand over 64.0 for an integer; accept it, but not 64.5.
        if not number.is_integer():
            raise _bad(name, value, _range_text(name))
        number = int(number)
    ok = math.isfinite(number) and (number > low or (low_ok and number == low))
    if not ok or (high is not None and number >= high):
        raise _bad(name, value, _range_text(name))
    return number


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
        if name in _RANGES:
            merged[name] = _number(name, value)
        elif name in _BOOLS:
            if not isinstance(value, bool) and type(value).__name__ != "bool_":
                raise _bad(name, value, "true or false")
            merged[name] = bool(value)
        elif name == "optimizer" and value not in OPTIMIZERS:
            raise _bad(name, value, "one of " + ", ".join(OPTIMIZERS))
        elif name == "amp":
            merged[name] = amp_mode(value)
    if merged.get("nesterov") and merged.get("momentum", 0) == 0:
        momentum = short_repr(merged.get("momentum", 0))
        raise ParamError("nesterov", f"expected momentum > 0 for nesterov, got momentum {momentum}")
    return merged
