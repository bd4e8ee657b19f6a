"""The search spec: YAML in, validated objects out, every error one line naming the field."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from search_spaces.scales import ScaleError
from search_spaces.space import SearchSpace
from search_spaces.strategies import STRATEGIES
from searcher.errors import SpecError
from searcher.yaml_io import load_yaml
from trials.errors import DataError
from trials.hparams import check_params
from trials.registry import REPORTED_METRICS, UnknownWorkload, Workload, get_workload
from trials.sources import DataConfig


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricSpec(_Strict):
    name: str = "val_accuracy"
    mode: Literal["max", "min"] = "max"


class BudgetSpec(_Strict):
    epochs: int = Field(3, ge=1)


class StageSpecModel(_Strict):
    trials: int = Field(ge=1)
    keep_top: float = Field(0.25, gt=0, le=1)
    pad: float = Field(0.1, ge=0, lt=1)


DEFAULT_STAGES = (
    StageSpecModel(trials=16),
    StageSpecModel(trials=8),
    StageSpecModel(trials=8),
)


class SearchSpec(_Strict):
    strategy: str = "coarse_to_fine"
    seed: int = 0
    trials: int | None = Field(None, ge=1)
    stages: tuple[StageSpecModel, ...] | None = None
    grid_points: int = Field(3, ge=1)

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, value: str) -> str:
        if value not in STRATEGIES:
            raise ValueError(f"unknown strategy '{value}'; expected one of {', '.join(STRATEGIES)}")
        return value

    @model_validator(mode="after")
    def _shape_fits_strategy(self) -> SearchSpec:
        if self.strategy == "coarse_to_fine":
            if self.trials is not None:
                raise ValueError("coarse_to_fine takes 'stages', not 'trials'")
            if self.stages is not None and len(self.stages) == 0:
                raise ValueError("stages must list at least one stage")
        elif self.stages is not None:
            raise ValueError(f"'stages' is only for coarse_to_fine, not {self.strategy}")
        return self

    def stage_list(self) -> tuple[StageSpecModel, ...]:
        """The stages to run: the spec's, or the default 16 + 8 + 8."""
        return self.stages if self.stages is not None else DEFAULT_STAGES

    def trial_count(self) -> int:
        """Trials for random/optuna_tpe (default 16)."""
        return self.trials if self.trials is not None else 16


class SchedulerSpec(_Strict):
    type: Literal["fifo", "asha"] = "fifo"
    grace_period: int = Field(1, ge=1)
    reduction_factor: float = Field(2.0, gt=1)


class ResourcesSpec(_Strict):
    cpu: float = Field(1.0, gt=0)
    gpu: float = Field(0.0, ge=0)
    max_concurrent: int | None = Field(None, ge=1)

    @field_validator("gpu")
    @classmethod
    def _whole_above_one(cls, value: float) -> float:
        if value > 1 and value != int(value):
            raise ValueError(f"must be a fraction <= 1 or a whole number, got {value}")
        return value


class TrackingSpec(_Strict):
    uri: str | None = None
    experiment: str | None = None


class SpecModel(_Strict):
    name: str
    workload: str
    data: dict[str, Any] = Field(default_factory=dict)
    metric: MetricSpec = MetricSpec()
    budget: BudgetSpec = BudgetSpec()
    space: dict[str, Any] = Field(min_length=1)
    search: SearchSpec = SearchSpec()
    scheduler: SchedulerSpec = SchedulerSpec()
    resources: ResourcesSpec = ResourcesSpec()
    tracking: TrackingSpec = TrackingSpec()
    storage_path: str | None = None  # Ray's experiment state; shared path or URI on a cluster

    @field_validator("name")
    @classmethod
    def _usable_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", value):
            raise ValueError(
                "expected letters, digits, '_', '.' or '-' (it names the experiment), "
                f"got {value!r}"
            )
        return value


@dataclass(frozen=True)
class Spec:
    """A validated spec with its derived objects; ``raw`` is what it was built from."""

    source: str
    raw: dict[str, Any]
    model: SpecModel
    space: SearchSpace
    data: DataConfig
    workload: Workload

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def experiment(self) -> str:
        return self.model.tracking.experiment or self.model.name


def read_spec_file(path: str | Path) -> dict[str, Any]:
    """Read a spec file into a mapping, with clear errors for missing files and bad YAML."""
    source = str(path)
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise SpecError(source, "", "spec file not found") from None
    except OSError as exc:
        raise SpecError(source, "", f"cannot read spec file: {exc.strerror}") from None
    try:
        raw = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(source, "", f"invalid YAML{where}: {problem}") from None
    if not isinstance(raw, dict):
        raise SpecError(source, "", f"expected a mapping at the top level, got {_kind(raw)}")
    return raw


def apply_overrides(raw: dict[str, Any], overrides: list[str], source: str) -> dict[str, Any]:
    """Return a copy of ``raw`` with ``key.path=value`` overrides; values are parsed as YAML."""
    result = copy.deepcopy(raw)
    for item in overrides:
        path, sep, text = item.partition("=")
        if not sep or not path.strip():
            raise SpecError(source, "--set", f"expected key.path=value, got '{item}'")
        keys = path.strip().split(".")
        node = result
        for depth, key in enumerate(keys[:-1]):
            child = node.get(key)
            if child is None:
                child = node[key] = {}
            elif not isinstance(child, dict):
                where = ".".join(keys[: depth + 1])
                raise SpecError(source, "--set", f"'{where}' is not a mapping, cannot set '{path}'")
            node = child
        try:
            node[keys[-1]] = load_yaml(text) if text.strip() else ""
        except yaml.YAMLError:
            node[keys[-1]] = text
    return result


def load_spec(path: str | Path, overrides: list[str] | None = None) -> Spec:
    """Load, override and validate a spec file."""
    source = str(path)
    raw = apply_overrides(read_spec_file(path), overrides or [], source)
    return validate_spec(raw, source)


def validate_spec(raw: dict[str, Any], source: str) -> Spec:
    """Validate a spec mapping; raises SpecError naming the first bad field."""
    try:
        model = SpecModel.model_validate(raw)
    except ValidationError as exc:
        field, message = _first_error(exc)
        raise SpecError(source, field, message) from None
    try:
        space = SearchSpace.from_mapping(model.space)
    except ScaleError as exc:
        raise SpecError(source, f"space.{exc.field}".rstrip("."), exc.message) from None
    try:
        workload = get_workload(model.workload)
    except UnknownWorkload as exc:
        raise SpecError(source, "workload", exc.args[0]) from None
    try:
        data = DataConfig.from_mapping(model.data)
    except DataError as exc:
        raise SpecError(source, "data", str(exc)) from None
    _check_fit(source, model, space, workload, data)
    _check_values(source, space, workload)
    return Spec(source, raw, model, space, data, workload)


def _check_values(source: str, space: SearchSpace, workload: Workload) -> None:
    """Every value the space can produce must be one the workload accepts.

    Checked at the range ends and for every choice, so `optimizer: adamw` or `dropout` up to 1.5
    is a spec error now, not a FAILED trial in every stage later.
    """
    for name, scale in space.params.items():
        for value in scale.grid(2):
            try:
                check_params(workload.defaults, {name: value})
            except ValueError as exc:
                raise SpecError(source, f"space.{name}", str(exc)) from None


def _check_fit(
    source: str, model: SpecModel, space: SearchSpace, workload: Workload, data: DataConfig
) -> None:
    """Cross-field checks: the space, data and metric must suit the workload."""
    if workload.defaults is not None:
        unknown = [name for name in space.params if name not in workload.defaults]
        if unknown:
            allowed = ", ".join(sorted(workload.defaults))
            raise SpecError(
                source,
                f"space.{unknown[0]}",
                f"workload {workload.name} has no hyperparameter '{unknown[0]}'; "
                f"expected one of {allowed}",
            )
    if workload.datasets and data.dataset not in workload.datasets:
        raise SpecError(
            source,
            "data.dataset",
            f"workload {workload.name} trains on {', '.join(workload.datasets)}, "
            f"got '{data.dataset}'",
        )
    if workload.defaults is not None and model.metric.name not in REPORTED_METRICS:
        raise SpecError(
            source,
            "metric.name",
            f"expected one of {', '.join(REPORTED_METRICS)}, got '{model.metric.name}'",
        )


def _first_error(exc: ValidationError) -> tuple[str, str]:
    """The first pydantic error as (dotted field, message that says what was expected)."""
    err = exc.errors()[0]
    loc = [str(part) for part in err["loc"]]
    kind = err["type"]
    if kind == "extra_forbidden":
        parent = _model_at(SpecModel, loc[:-1])
        allowed = ", ".join(parent.model_fields) if parent else "?"
        return ".".join(loc), f"unknown key '{loc[-1]}'; expected one of {allowed}"
    if kind == "missing":
        return ".".join(loc), "required field is missing"
    message = err["msg"]
    message = message.removeprefix("Value error, ")
    return ".".join(loc), f"{message}, got {err['input']!r}" if kind != "value_error" else message


def _model_at(model: type[BaseModel], loc: list[str]) -> type[BaseModel] | None:
    """The nested pydantic model that a location points into (for listing allowed keys)."""
    for part in loc:
        if part.isdigit():
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        annotation = field.annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        for sub in list(candidates):
            candidates.extend(getattr(sub, "__args__", ()))
        nested = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not nested:
            return None
        model = nested[0]
    return model


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__
