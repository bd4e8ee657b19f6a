"""What happens to a search's trials, as typed events the engine publishes to sinks.

The engine decides each trial's verdict once and publishes it; the tracking sink (the store),
the console sink and the stopper subscribe. No sink knows Ray, and the engine knows no sink:
the controller wires them together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, TypedDict

from search_spaces.trial import Trial

Status = Literal["FINISHED", "FAILED", "KILLED"]


class Placement(TypedDict, total=False):
    """Where a trial runs (what Ray assigned and what the process sees), sent once."""

    device: str
    threads: int
    gpu_ids: str
    cuda_visible_devices: str
    node_id: str
    node_ip: str
    hostname: str
    started_at: float


@dataclass(frozen=True)
class Verdict:
    """How a trial ended: its status, its score (best epoch value) and why it failed."""

    status: Status
    score: float | None
    reason: str | None = None
    missing_metric: bool = False  # failed only because the spec's metric never came
    reported: str = ""  # then: the metric names it did report
    stopped_early: bool = False  # FINISHED before its epoch budget: the scheduler stopped it


@dataclass(frozen=True)
class StageStarted:
    """A stage handed out its first trial; ``ranges``: where a zoom stage samples."""

    stage: int
    trials: int
    ranges: dict[str, str] | None = None


@dataclass(frozen=True)
class TrialStarted:
    trial: Trial


@dataclass(frozen=True)
class TrialPlaced:
    """Where the trial's worker runs, from its first report."""

    key: str
    placement: Placement


@dataclass(frozen=True)
class TrialReported:
    """One report of the user's metrics (finite numbers only) at a step (its epoch)."""

    key: str
    step: int
    metrics: dict[str, float]


@dataclass(frozen=True)
class TrialOutput:
    """What a command printed since its last report: {stream: text}."""

    key: str
    chunk: dict[str, str]


@dataclass(frozen=True)
class TrialRetried:
    """The trial's worker died (not its code), and it runs again from the start."""

    key: str
    attempt: int
    reason: str


@dataclass(frozen=True)
class TrialEnded:
    """The one verdict of a trial, with its best value and where it got to."""

    trial: Trial
    verdict: Verdict
    best: float | None  # best epoch value of the metric, kept even when the trial failed later
    steps: int
    ended_at: float | None = None  # wall-clock time of its last report, in the worker


@dataclass(frozen=True)
class Tick:
    """Tune's loop finished a step: a sink may show what has happened since."""


Event = (
    StageStarted
    | TrialStarted
    | TrialPlaced
    | TrialReported
    | TrialOutput
    | TrialRetried
    | TrialEnded
    | Tick
)


class Sink(Protocol):
    """A subscriber; called from Tune's loop, so it must never block on I/O."""

    def handle(self, event: Event) -> None: ...


@dataclass
class Publisher:
    """Hands every event to every sink, in the order they were given.

    A sink that raises (a console whose pipe closed) is noted in ``errors`` and the others
    still hear the event: no sink can take Tune's loop, and so the search, down.
    """

    sinks: list[Sink] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def publish(self, event: Event) -> None:
        for sink in self.sinks:
            try:
                sink.handle(event)
            except Exception as exc:
                self.errors.append(f"{type(sink).__name__}: {type(exc).__name__}: {exc}")
