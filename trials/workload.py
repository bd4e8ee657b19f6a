"""The one interface every kind of workload implements: built-in models, the user's model
builders, the user's functions and commands.

A workload is resolved and checked once, in the driver, and the object itself is shipped to the
workers, so a new kind of workload is one new class and nothing else changes.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from search_spaces.space import SearchSpace
from trials.config import DataConfig, DataSource


class Report(Protocol):
    """What a workload calls after each epoch: metrics, and what a command printed since."""

    def __call__(
        self, metrics: dict[str, Any], *, output: dict[str, str] | None = None
    ) -> None: ...


@dataclass(frozen=True)
class TrialContext:
    """What one trial runs with besides its params: where, for how long, on what data."""

    key: str
    seed: int  # this trial's own seed, derived from the search's seed and the key
    metric: str
    epochs: int | None
    device: str
    threads: int
    data: DataConfig | None = None  # for workloads whose data searcher prepares
    source: DataSource | None = None
    env: dict[str, str] | None = None  # extra environment for a command
    should_stop: Callable[[], bool] = lambda: False  # the scheduler or the search ended it


def derive_seed(base_seed: int, key: str) -> int:
    """A 31-bit seed from (base_seed, key), equal in every process (unlike the salted hash())."""
    digest = hashlib.sha256(f"{base_seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


class WorkloadMismatch(ValueError):
    """The spec does not suit the workload; ``field`` is the spec field at fault."""

    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}")


class Workload(ABC):
    """What a trial runs."""

    name: str  # how the console, the store and errors call it
    # True for the user's own code, which loads its data and picks its device itself; False
    # for model workloads, whose data searcher prepares once in the driver and puts on the device.
    owns_data: bool = True

    def check(self, space: SearchSpace, metric: str, dataset: str) -> None:  # noqa: B027
        """Raise WorkloadMismatch when the spec's space, metric or data cannot suit it."""

    def modules(self, code_dirs: Sequence[str]) -> list[ModuleType]:
        """The user's modules this workload needs that workers may not have: shipped by value."""
        return []

    def shipped_files(self, code_dir: Path) -> list[Path]:
        """The files ``searcher submit`` copies into a job: the folder's Python files."""
        return sorted(p for p in code_dir.glob("*.py") if p.is_file())

    @abstractmethod
    def run(self, params: dict[str, Any], report: Report, context: TrialContext) -> None:
        """Run one trial, calling ``report`` per epoch; raise to fail it (TrialFailed says why)."""
