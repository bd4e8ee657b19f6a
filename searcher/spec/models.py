"""The spec's sections as pydantic models: what each key accepts.

A value's type and bounds are a constraint (search_spaces.constraints) in the field's annotation,
which says "expected ..., got VALUE" itself. Cross-field validators raise ValueError("expected
...") without the value: messages.py adds ", got VALUE", and load.py the field's path, so every
error reads the same way. pydantic keeps the structure: sections, unknown and missing keys.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from search_spaces.constraints import (
    MAX_EPOCHS,
    MAX_PATH,
    MAX_STAGES,
    MAX_TRIALS,
    ByteSize,
    Duration,
    Integer,
    Number,
    OneOf,
    OrNone,
    String,
)
from search_spaces.prior import DEFAULT_RERUNS
from search_spaces.strategies import REGISTRY, StageSpec, stages_for
from trials.config import DataConfig


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Names that become paths (experiments, artifact folders) or MLflow keys: short, safe characters.
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}"
METRIC_PATTERN = r"[A-Za-z_][A-Za-z0-9_.\-/]{0,199}"
NAME = String(
    pattern=NAME_PATTERN,
    text="1 to 100 letters, digits, '_', '.' or '-', starting with a letter or digit",
)
METRIC_NAME = String(
    pattern=METRIC_PATTERN,
    text="1 to 200 letters, digits, '_', '.', '-' or '/', starting with a letter or '_'",
)
PATH = OrNone(String(max_length=MAX_PATH))
Mode = Literal["max", "min"]
SchedulerType = Literal["fifo", "asha"]


class MetricSpec(_Strict):
    name: Annotated[str, METRIC_NAME] = "val_accuracy"
    mode: Annotated[Mode, OneOf(get_args(Mode))] = "max"


DEFAULT_EPOCHS = 3  # built-in workloads; the user's own code may leave the budget unset


class BudgetSpec(_Strict):
    epochs: Annotated[int | None, OrNone(Integer(1, MAX_EPOCHS))] = None
    # A trial running longer is stopped and FAILED "timed out after <this>"; unset: no limit.
    trial_timeout: Annotated[str | None, OrNone(Duration())] = None


class CommandSpec(_Strict):
    """A command run once per trial: a string (split like a shell) or a list of arguments."""

    command: str | tuple[str, ...]

    @field_validator("command")
    @classmethod
    def _not_empty(cls, value: str | tuple[str, ...]) -> str | tuple[str, ...]:
        if not (value.strip() if isinstance(value, str) else value):
            raise ValueError("expected a command line")
        return value


class WarmStartSpec(BaseModel):
    """An earlier search to start from (searcher.warm_start): its experiment (or spec file),
    which of its searches (default: the latest), in which store (default: this search's), and
    how many of its best trials to run again first."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, serialize_by_alias=True
    )

    from_: Annotated[str, String(max_length=MAX_PATH)] = Field(alias="from")
    search: Annotated[str | None, OrNone(NAME)] = None
    uri: Annotated[str | None, PATH] = None
    rerun: Annotated[int, Integer(0, 100)] = DEFAULT_RERUNS


DEFAULT_TRIALS = 16
DEFAULT_STAGED_TRIALS = 32  # coarse_to_fine's default budget, split by stages_for


class SearchSpec(_Strict):
    strategy: Annotated[str, OneOf(tuple(REGISTRY))] = "coarse_to_fine"
    seed: Annotated[int, Integer(0, below=2**63)] = 0
    trials: Annotated[int | None, OrNone(Integer(1, MAX_TRIALS))] = None
    stages: tuple[StageSpec, ...] | None = Field(None, max_length=MAX_STAGES)
    grid_points: Annotated[int, Integer(1, 1000)] = 3
    # Known configurations, run first and counted in the budget (search_spaces.given).
    start_with: tuple[Any, ...] = Field((), max_length=MAX_TRIALS)
    # No trial starts once this much time has passed (running trials finish); unset: none.
    time_budget: Annotated[str | None, OrNone(Duration())] = None
    warm_start: WarmStartSpec | None = None

    @field_validator("trials", "stages")
    @classmethod
    def _sizes_the_strategy(cls, value: Any, info: ValidationInfo) -> Any:
        """`stages` only for strategies sized by stages, which take `trials` or `stages`."""
        # `strategy` is declared first, so it is in info.data here unless it was invalid.
        strategy = info.data.get("strategy")
        if value is None or strategy is None:
            return value
        sized_by = REGISTRY[strategy].sized_by
        if info.field_name == "stages":
            if sized_by != "stages":
                raise ValueError(
                    f"expected no stages for strategy {strategy}, which takes {sized_by}"
                )
            if not value:
                raise ValueError("expected at least one stage")
            if info.data.get("trials") is not None:
                raise ValueError("expected trials or stages, not both")
        return value

    @field_validator("start_with")
    @classmethod
    def _not_for_grid(cls, value: tuple[Any, ...], info: ValidationInfo) -> tuple[Any, ...]:
        if value and info.data.get("strategy") == "grid":
            raise ValueError("expected no start_with for strategy grid, which runs its grid")
        return value

    def stage_list(self) -> tuple[StageSpec, ...]:
        """The stages to run: the spec's, or its trials (default 32) split by stages_for."""
        if self.stages is not None:
            return self.stages
        return tuple(stages_for(self.trials or DEFAULT_STAGED_TRIALS))

    def trial_count(self) -> int:
        """Trials for strategies sized by trials (default 16)."""
        return self.trials if self.trials is not None else DEFAULT_TRIALS


class SchedulerSpec(_Strict):
    type: Annotated[SchedulerType, OneOf(get_args(SchedulerType))] = "fifo"
    grace_period: Annotated[int, Integer(1, MAX_EPOCHS)] = 1
    reduction_factor: Annotated[float, Number(above=1, high=1000)] = 2.0


class ResourcesSpec(_Strict):
    cpu: Annotated[float, Number(above=0, high=10_000)] = 1.0
    gpu: Annotated[float, Number(0, 1_000)] = 0.0
    max_concurrent: Annotated[int | None, OrNone(Integer(1, MAX_TRIALS))] = None
    # Per trial: reserved in Ray's scheduler and enforced on the trial's worker process tree.
    memory: Annotated[str | None, OrNone(ByteSize())] = None

    @field_validator("gpu")
    @classmethod
    def _whole_above_one(cls, value: float) -> float:
        if value > 1 and value != int(value):
            raise ValueError("expected a fraction <= 1 or a whole number")
        return value


class TrackingSpec(_Strict):
    uri: Annotated[str | None, PATH] = None
    experiment: Annotated[str | None, OrNone(NAME)] = None  # a path and a key: safe characters


class SpecModel(_Strict):
    name: Annotated[str, NAME]  # it names the experiment and its artifact folder
    workload: str | CommandSpec
    code_dir: Annotated[str | None, PATH] = None  # the workload's folder [the spec's]
    data: DataConfig = DataConfig()
    metric: MetricSpec = MetricSpec()
    budget: BudgetSpec = BudgetSpec()
    space: dict[str, Any] = Field(min_length=1)
    search: SearchSpec = SearchSpec()
    scheduler: SchedulerSpec = SchedulerSpec()
    resources: ResourcesSpec = ResourcesSpec()
    tracking: TrackingSpec = TrackingSpec()
    storage_path: Annotated[str | None, PATH] = None  # Ray's state; shared on a cluster
