"""The wire form of a trial's reports: the user's metrics and searcher's control data, apart.

A worker reports ``{"metrics": {...}, "control": {...}}``: whatever the user's code reports is
under ``metrics`` (so a metric may be called anything, ``failed`` or ``done`` included), and
what searcher needs to follow the trial (its placement, a failure, its end, a command's output,
the report's time) is under ``control``. Tune's own bookkeeping keys stay at the top level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from searcher.events import Placement

METRICS, CONTROL = "metrics", "control"
EPOCH = "epoch"  # a report's "epoch" is its step (the convention built-ins and examples follow)
TUNE_ITERATION = "training_iteration"  # Tune's count of reports: the step when no epoch is given


def metric_path(name: str) -> str:
    """Where Tune's flattened results (schedulers read these) hold a user metric."""
    return f"{METRICS}/{name}"


@dataclass(frozen=True)
class Control:
    """searcher's side of one report."""

    reported_at: float | None = None  # wall-clock time in the worker
    placement: Placement | None = None  # with the first report only
    failed: str | None = None  # the trial failed, with this reason (its worker lives on)
    ended: bool = False  # the user's code returned by itself (so it was not stopped early)
    # With a failure: the worker ends itself after this report (a trial past its limits holds
    # what only the end of its process frees), so Tune must not run the trial again.
    ends_worker: bool = False
    output: dict[str, str] = field(default_factory=dict)  # what a command printed since


def pack(metrics: dict[str, Any], control: Control) -> dict[str, Any]:
    """The dict a worker hands to ``tune.report``."""
    wire: dict[str, Any] = {"reported_at": control.reported_at, "ended": control.ended}
    if control.placement is not None:
        wire["placement"] = dict(control.placement)
    if control.failed is not None:
        wire["failed"] = control.failed
    if control.ends_worker:
        wire["ends_worker"] = True
    if control.output:
        wire["output"] = dict(control.output)
    return {METRICS: dict(metrics), CONTROL: wire}


@dataclass(frozen=True)
class Received:
    """One report as the driver reads it."""

    step: int
    metrics: dict[str, float]  # finite numbers only, the step's epoch left out
    control: Control


def unpack(result: dict[str, Any]) -> Received:
    """A Tune result (nested, as callbacks get it) back into metrics and control."""
    raw = result.get(METRICS) or {}
    wire = result.get(CONTROL) or {}
    epoch = raw.get(EPOCH)
    step = int(epoch) if _number(epoch) and math.isfinite(epoch) else 0
    metrics = {
        str(name): float(value)
        for name, value in raw.items()
        if name != EPOCH and _number(value) and math.isfinite(value)
    }
    control = Control(
        reported_at=_float(wire.get("reported_at")),
        placement=wire.get("placement"),
        failed=None if wire.get("failed") is None else str(wire["failed"]),
        ended=bool(wire.get("ended")),
        ends_worker=bool(wire.get("ends_worker")),
        output=dict(wire.get("output") or {}),
    )
    return Received(step or int(result.get(TUNE_ITERATION) or 0), metrics, control)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _float(value: Any) -> float | None:
    return float(value) if _number(value) else None
