"""The search spec: YAML in, validated objects out, every error one line naming the field."""

from __future__ import annotations

import copy
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import annotated_types
import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from search_spaces.scales import ScaleError, format_number, short_repr
from search_spaces.space import SearchSpace
from search_spaces.strategies import Strategy, make_strategy
from searcher.errors import SpecError
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
        field, message = _first_error(exc)
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


# pydantic's error types that say "wrong type" or "out of range": both are answered with what the
# field accepts, its type and every bound, e.g. "expected an integer >= 1".
_RANGE_ERRORS = frozenset(
    {
        "int_type",
        "int_parsing",
        "int_from_float",
        "float_type",
        "float_parsing",
        "bool_type",
        "bool_parsing",
        "string_type",
        "finite_number",
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
    }
)
_NOUNS = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
_BOUNDS = (
    (annotated_types.Gt, "gt", ">"),
    (annotated_types.Ge, "ge", ">="),
    (annotated_types.Lt, "lt", "<"),
    (annotated_types.Le, "le", "<="),
)
_PYDANTIC_WORDS = (
    ("Input should be ", "expected "),
    ("greater than or equal to ", ">= "),
    ("greater than ", "> "),
    ("less than or equal to ", "<= "),
    ("less than ", "< "),
)


def _first_error(exc: ValidationError) -> tuple[str, str]:
    """The first pydantic error as (dotted field, "expected ..., got ...")."""
    err = exc.errors()[0]
    loc = [str(part) for part in err["loc"]]
    kind = err["type"]
    if kind == "extra_forbidden":
        parent = _model_at(SpecModel, loc[:-1])
        allowed = ", ".join(parent.model_fields) if parent else "?"
        return ".".join(loc), f"unknown key; expected one of {allowed}"
    if kind == "missing":
        return ".".join(loc), "expected a value, got nothing"
    return ".".join(loc), f"{_expected(err, loc)}, got {short_repr(err.get('input'))}"


def _expected(err: Any, loc: list[str]) -> str:
    """What the field accepts, in our words rather than pydantic's."""
    kind = err["type"]
    if kind == "value_error":  # our own validators already say "expected ..."
        return str(err["msg"]).removeprefix("Value error, ")
    field = _field_at(SpecModel, loc)
    if kind == "literal_error" and field is not None:
        choices = typing.get_args(_bare(field.annotation))
        if choices:
            return f"expected one of {', '.join(str(c) for c in choices)}"
    if kind in _RANGE_ERRORS and field is not None:
        accepted = _accepts(field)
        if accepted:
            return f"expected {accepted}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "expected a mapping"
    if kind in ("tuple_type", "list_type", "iterable_type"):
        return "expected a list"
    if kind == "too_short":
        least = err.get("ctx", {}).get("min_length", 1)
        return f"expected at least {least} {'entry' if least == 1 else 'entries'}"
    message = str(err["msg"]).split(", unable to")[0].split(", got a number")[0]
    for theirs, ours in _PYDANTIC_WORDS:
        message = message.replace(theirs, ours)
    return message


def _accepts(field: FieldInfo) -> str:
    """A field's type and bounds in words, e.g. 'a number > 0 and <= 1'; '' if unknown."""
    noun = _NOUNS.get(_bare(field.annotation), "")  # type: ignore[call-overload]
    bounds = [
        f"{op} {format_number(getattr(meta, attr))}"
        for meta in field.metadata
        for cls, attr, op in _BOUNDS
        if isinstance(meta, cls)
    ]
    return " ".join(part for part in (noun, " and ".join(bounds)) if part)


def _bare(annotation: Any) -> Any:
    """`X | None` as X; other annotations unchanged."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if type(None) in typing.get_args(annotation) and len(args) == 1:
        return args[0]
    return annotation


def _field_at(model: type[BaseModel], loc: list[str]) -> FieldInfo | None:
    """The pydantic field that a location names, e.g. search.stages.0.keep_top."""
    names = [i for i, part in enumerate(loc) if not part.isdigit()]
    if not names:
        return None
    parent = _model_at(model, loc[: names[-1]])
    return parent.model_fields.get(loc[names[-1]]) if parent else None


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
