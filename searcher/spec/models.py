"""The spec's sections as pydantic models: what each key accepts.

Validators raise ValueError("expected ...") without the value: load.py adds ", got VALUE" and
the field's path, so every error reads the same way.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from search_spaces.strategies import REGISTRY, StageSpec, stages_for
from trials.config import DataConfig


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Names that become paths (experiments, artifact folders) or MLflow keys: short, safe characters.
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}"
METRIC_PATTERN = r"[A-Za-z_][A-Za-z0-9_.\-/]{0,199}"
MAX_EPOCHS = 1_000_000
MAX_COUNT = 100_000  # trials of a stage or a search, concurrent trials


def _name(value: str) -> str:
    if not re.fullmatch(NAME_PATTERN, value):
        raise ValueError(
            "expected 1 to 100 letters, digits, '_', '.' or '-', starting with a letter or digit"
        )
    return value


class MetricSpec(_Strict):
    name: str = Field("val_accuracy", pattern=f"^{METRIC_PATTERN}$")
    mode: Literal["max", "min"] = "max"


DEFAULT_EPOCHS = 3  # built-in workloads; the user's own code may leave the budget unset


class BudgetSpec(_Strict):
    epochs: int | None = Field(None, ge=1, le=MAX_EPOCHS, strict=True)


class CommandSpec(_Strict):
    """A command run once per trial: a string (split like a shell) or a list of arguments."""

    command: str | tuple[str, ...]

    @field_validator("command")
    @classmethod
    def _not_empty(cls, value: str | tuple[str, ...]) -> str | tuple[str, ...]:
        if not (value.strip() if isinstance(value, str) else value):
            raise ValueError("expected a command line")
        return value


DEFAULT_TRIALS = 16
DEFAULT_STAGED_TRIALS = 32  # coarse_to_fine's default budget, split by stages_for


class SearchSpec(_Strict):
    strategy: str = "coarse_to_fine"
    seed: int = Field(0, ge=0, lt=2**63, strict=True)
    trials: int | None = Field(None, ge=1, le=MAX_COUNT, strict=True)
    stages: tuple[StageSpec, ...] | None = Field(None, max_length=100)
    grid_points: int = Field(3, ge=1, le=1000, strict=True)

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, value: str) -> str:
        if value not in REGISTRY:
            raise ValueError(f"expected one of {', '.join(REGISTRY)}")
        return value

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

    def stage_list(self) -> tuple[StageSpec, ...]:
        """The stages to run: the spec's, or its trials (default 32) split by stages_for."""
        if self.stages is not None:
            return self.stages
        return tuple(stages_for(self.trials or DEFAULT_STAGED_TRIALS))

    def trial_count(self) -> int:
        """Trials for strategies sized by trials (default 16)."""
        return self.trials if self.trials is not None else DEFAULT_TRIALS


class SchedulerSpec(_Strict):
    type: Literal["fifo", "asha"] = "fifo"
    grace_period: int = Field(1, ge=1, le=MAX_EPOCHS, strict=True)
    reduction_factor: float = Field(2.0, gt=1, le=1000, allow_inf_nan=False, strict=True)


class ResourcesSpec(_Strict):
    cpu: float = Field(1.0, gt=0, le=10_000, allow_inf_nan=False, strict=True)
    gpu: float = Field(0.0, ge=0, le=1_000, allow_inf_nan=False, strict=True)
    max_concurrent: int | None = Field(None, ge=1, le=MAX_COUNT, strict=True)

    @field_validator("gpu")
    @classmethod
    def _whole_above_one(cls, value: float) -> float:
        if value > 1 and value != int(value):
            raise ValueError("expected a fraction <= 1 or a whole number")
        return value


class TrackingSpec(_Strict):
    uri: str | None = Field(None, max_length=4096)
    experiment: str | None = None

    _safe_experiment = field_validator("experiment")(
        classmethod(lambda cls, v: v if v is None else _name(v))
    )


class SpecModel(_Strict):
    name: str
    workload: str | CommandSpec
    code_dir: str | None = Field(None, max_length=4096)  # the workload's folder [the spec's]
    data: DataConfig = DataConfig()
    metric: MetricSpec = MetricSpec()
    budget: BudgetSpec = BudgetSpec()
    space: dict[str, Any] = Field(min_length=1)
    search: SearchSpec = SearchSpec()
    scheduler: SchedulerSpec = SchedulerSpec()
    resources: ResourcesSpec = ResourcesSpec()
    tracking: TrackingSpec = TrackingSpec()
    storage_path: str | None = Field(None, max_length=4096)  # Ray's state; shared on a cluster

    @field_validator("name")
    @classmethod
    def _usable_name(cls, value: str) -> str:
        return _name(value)  # it names the experiment and its artifact folder
