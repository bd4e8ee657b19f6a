"""The search spec: YAML in, validated objects out, every error one line naming the field."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from search_spaces.scales import ScaleError, short_repr
from search_spaces.space import SearchSpace
from search_spaces.strategies import Strategy, make_strategy
from searcher.errors import SpecError
from searcher.spec.messages import first_error
from searcher.spec.models import SpecModel
from searcher.spec.yaml_io import load_yaml
from trials.config import DataConfig
from trials.errors import ParamError, UnknownWorkload
from trials.hparams import check_params
from trials.registry import REPORTED_METRICS, Workload, get_workload


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

    def build_strategy(self) -> Strategy:
        """The spec's strategy over its space."""
        search = self.model.search
        return make_strategy(
            search.strategy,
            self.space,
            self.model.metric.mode,
            search.seed,
            trials=search.trial_count(),
            stages=search.stage_list(),
            grid_points=search.grid_points,
        )


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
            raise SpecError(source, "--set", f"expected key.path=value, got {short_repr(item)}")
        keys = path.strip().split(".")
        node = result
        for depth, key in enumerate(keys[:-1]):
            child = node.get(key)
            if child is None:
                child = node[key] = {}
            elif not isinstance(child, dict):
                where = ".".join(keys[: depth + 1])
                raise SpecError(
                    source,
                    "--set",
                    f"expected a mapping at '{where}' to set '{path}', got {short_repr(child)}",
                )
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
        field, message = first_error(exc, SpecModel)
        raise SpecError(source, field, message) from None
    try:
        space = SearchSpace.from_mapping(model.space)
    except ScaleError as exc:
        raise SpecError(source, f"space.{exc.field}".rstrip("."), exc.message) from None
    try:
        workload = get_workload(model.workload)
    except UnknownWorkload as exc:
        expected = f"expected one of {', '.join(exc.known)} or package.module:WORKLOAD"
        got = short_repr(exc.name) + (f" ({exc.why})" if exc.why else "")
        raise SpecError(source, "workload", f"{expected}, got {got}") from None
    _check_fit(source, model, space, workload)
    _check_values(source, space, workload)
    return Spec(source, raw, model, space, model.data, workload)


def _check_values(source: str, space: SearchSpace, workload: Workload) -> None:
    """Every value the space can produce must be one the workload accepts.

    Checked at the range ends and for every choice, so `optimizer: adamw` or `dropout` up to 1.5
    is a spec error now, not a FAILED trial in every stage later.
    """
    for name, scale in space.params.items():
        for value in scale.grid(2):
            try:
                check_params(workload.defaults, {name: value})
            except ParamError as exc:
                raise SpecError(source, f"space.{exc.name}", exc.message) from None


def _check_fit(source: str, model: SpecModel, space: SearchSpace, workload: Workload) -> None:
    """Cross-field checks: the space, data and metric must suit the workload."""
    if workload.defaults is not None:
        unknown = [name for name in space.params if name not in workload.defaults]
        if unknown:
            allowed = ", ".join(sorted(workload.defaults))
            raise SpecError(
                source,
                f"space.{unknown[0]}",
                f"unknown to workload {workload.name}; expected one of {allowed}",
            )
    data = model.data
    if workload.datasets and data.dataset not in workload.datasets:
        raise SpecError(
            source,
            "data.dataset",
            f"expected one of {', '.join(workload.datasets)} for workload {workload.name}, "
            f"got {short_repr(data.dataset)}",
        )
    if workload.defaults is not None and model.metric.name not in REPORTED_METRICS:
        raise SpecError(
            source,
            "metric.name",
            f"expected one of {', '.join(REPORTED_METRICS)}, got {short_repr(model.metric.name)}",
        )


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__
