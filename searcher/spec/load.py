"""The search spec: YAML in, validated objects out, every error one line naming the field."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from search_spaces.constraints import MAX_TRIALS
from search_spaces.given import given_points
from search_spaces.scales import ScaleError, short_repr
from search_spaces.space import SearchSpace
from search_spaces.strategies import REGISTRY, Strategy, make_strategy
from searcher.errors import SpecError
from searcher.spec.messages import first_error
from searcher.spec.models import DEFAULT_EPOCHS, CommandSpec, SpecModel
from searcher.spec.yaml_io import load_yaml
from trials.config import DataConfig
from trials.errors import UnknownWorkload
from trials.limits import Limits
from trials.registry import get_workload
from trials.user_code import CommandWorkload, FunctionWorkload
from trials.workload import Workload, WorkloadMismatch

MAX_SPEC_BYTES = 1 << 20  # a spec is a page of YAML; anything near this is a mistake


@dataclass(frozen=True)
class Spec:
    """A validated spec with its derived objects; ``raw`` is what it was built from."""

    source: str
    raw: dict[str, Any]
    model: SpecModel
    space: SearchSpace
    data: DataConfig
    workload: Workload  # resolved and checked once, here; the object reaches the workers
    code_dir: str  # absolute: where the user's module or command lives

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def epochs(self) -> int | None:
        """The epoch budget; the user's own code may leave it unset (then it ends by itself)."""
        epochs = self.model.budget.epochs
        return epochs if epochs is not None or self.workload.owns_data else DEFAULT_EPOCHS

    @property
    def limits(self) -> Limits:
        """What each trial runs within: ``budget.trial_timeout`` and ``resources.memory``."""
        return Limits(self.model.budget.trial_timeout, self.model.resources.memory)

    @property
    def code_dirs(self) -> list[str]:
        """Where the user's modules are looked for: the code folder, then the current one."""
        return list(dict.fromkeys([self.code_dir, os.getcwd()]))

    @property
    def experiment(self) -> str:
        return self.model.tracking.experiment or self.model.name

    def build_strategy(self) -> Strategy:
        """The spec's strategy over its space."""
        search = self.model.search
        strategy = make_strategy(
            search.strategy,
            self.space,
            self.model.metric.mode,
            search.seed,
            trials=search.trial_count(),
            stages=search.stage_list(),
            grid_points=search.grid_points,
        )
        strategy.start_with(given_points(self.space, search.start_with))
        return strategy


def read_spec_file(path: str | Path) -> dict[str, Any]:
    """Read a spec file into a mapping, with clear errors for missing files and bad YAML."""
    source = str(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_SPEC_BYTES + 1)
    except FileNotFoundError:
        raise SpecError(source, "", "spec file not found") from None
    except OSError as exc:
        raise SpecError(source, "", f"cannot read spec file: {exc.strerror}") from None
    if len(data) > MAX_SPEC_BYTES:
        raise SpecError(source, "", f"expected a spec of at most {MAX_SPEC_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(
            source, "", f"expected UTF-8 text, got byte {data[exc.start]:#04x} at {exc.start}"
        ) from None
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


def experiment_of(name: str) -> tuple[str, str | None]:
    """The experiment NAME means, and the store a spec file names: NAME is an experiment, or a
    spec file (then its experiment and tracking.uri)."""
    if Path(name).suffix in (".yaml", ".yml") and Path(name).is_file():
        raw = read_spec_file(name)
        tracking = raw.get("tracking") if isinstance(raw.get("tracking"), dict) else {}
        experiment = tracking.get("experiment") or raw.get("name")
        if not isinstance(experiment, str) or not experiment:
            raise SpecError(name, "name", "expected the spec's name (its experiment)")
        uri = tracking.get("uri")
        return experiment, uri if isinstance(uri, str) else None
    return name, None


def apply_overrides(
    raw: dict[str, Any], overrides: list[str] | dict[str, Any], source: str
) -> dict[str, Any]:
    """A copy of ``raw`` with overrides set: ``key.path=value`` texts (values parsed as YAML,
    as ``--set`` gives them) or a mapping of ``key.path`` to values (the Python API)."""
    result = copy.deepcopy(raw)
    if isinstance(overrides, dict):
        for path, value in overrides.items():
            _set_path(result, str(path), value, source)
        return result
    for item in overrides:
        path, sep, text = item.partition("=")
        if not sep or not path.strip():
            raise SpecError(source, "--set", f"expected key.path=value, got {short_repr(item)}")
        try:
            value = load_yaml(text) if text.strip() else ""
        except yaml.YAMLError:
            value = text
        _set_path(result, path.strip(), value, source)
    return result


def _set_path(raw: dict[str, Any], path: str, value: Any, source: str) -> None:
    keys = path.split(".")
    node = raw
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
    node[keys[-1]] = value


def load_spec(path: str | Path, overrides: list[str] | None = None) -> Spec:
    """Load, override and validate a spec file."""
    source = str(path)
    raw = apply_overrides(read_spec_file(path), overrides or [], source)
    return validate_spec(raw, source)


def validate_spec(
    raw: dict[str, Any], source: str, *, train: Callable[..., Any] | None = None
) -> Spec:
    """Validate a spec mapping; raises SpecError naming the first bad field.

    ``train``, a function, is the workload instead of the spec's (the Python API's ``train=``).
    """
    try:
        model = SpecModel.model_validate(raw)
    except ValidationError as exc:
        field, message = first_error(exc, SpecModel)
        raise SpecError(source, field, message) from None
    try:
        space = SearchSpace.from_mapping(model.space)
    except ScaleError as exc:
        raise SpecError(source, f"space.{exc.field}".rstrip("."), exc.message) from None
    _check_size(source, model, space)
    _check_given(source, model, space)
    if model.metric.name in space.value_names:  # `best` would read the one for the other
        raise SpecError(
            source,
            f"space.{model.metric.name}",
            f"expected a name other than the metric's, got {short_repr(model.metric.name)}",
        )
    code_dir = _code_dir(model, source)
    workload = _workload(model, source, code_dir, train)
    try:
        workload.check(space, model.metric.name, model.data.dataset)
    except WorkloadMismatch as exc:
        raise SpecError(source, exc.field, exc.message) from None
    if model.scheduler.type == "asha" and model.budget.epochs is None and workload.owns_data:
        raise SpecError(
            source,
            "budget.epochs",
            "expected an integer >= 1 (the early-stopping scheduler's maximum), got nothing",
        )
    return Spec(source, raw, model, space, model.data, workload, code_dir)


def _check_given(source: str, model: SpecModel, space: SearchSpace) -> None:
    """Every start_with value one its scale can take, and no more of them than trials."""
    try:
        given_points(space, model.search.start_with)
    except ScaleError as exc:
        raise SpecError(source, f"search.start_with.{exc.field}", exc.message) from None
    search = model.search
    if REGISTRY[search.strategy].sized_by == "stages":  # they are coarse trials: stage 1's
        room, what = search.stage_list()[0].trials, "the coarse stage's trials"
    else:
        room, what = _planned(model, space), "the planned trials"
    if len(search.start_with) > room:
        raise SpecError(
            source,
            "search.start_with",
            f"expected at most {room} configurations ({what}), got {len(search.start_with)}",
        )


def _planned(model: SpecModel, space: SearchSpace) -> int:
    search = model.search
    sized_by = REGISTRY[search.strategy].sized_by
    if sized_by == "stages":
        return sum(stage.trials for stage in search.stage_list())
    if sized_by == "grid_points":
        return space.grid_size(search.grid_points)
    return search.trial_count()


def _check_size(source: str, model: SpecModel, space: SearchSpace) -> None:
    """At most MAX_TRIALS planned trials, counted before a strategy builds any of them."""
    planned = _planned(model, space)
    if planned > MAX_TRIALS:
        raise SpecError(
            source, "search", f"expected at most {MAX_TRIALS} planned trials, got {planned}"
        )


def _code_dir(model: SpecModel, source: str) -> str:
    """The spec's ``code_dir`` (relative to the spec file), else the spec file's folder."""
    spec_dir = Path(source).parent if Path(source).suffix in (".yaml", ".yml") else Path()
    folder = (spec_dir / Path(model.code_dir).expanduser()) if model.code_dir else spec_dir
    if not folder.is_dir():
        raise SpecError(source, "code_dir", f"expected a folder, got {short_repr(str(folder))}")
    return str(folder.resolve())


def _workload(
    model: SpecModel, source: str, code_dir: str, train: Callable[..., Any] | None
) -> Workload:
    if train is not None:
        name = f"{getattr(train, '__module__', '?')}:{getattr(train, '__qualname__', 'train')}"
        return FunctionWorkload(name, train)
    if isinstance(model.workload, CommandSpec):
        return CommandWorkload(model.workload.command, code_dir)
    try:
        return get_workload(model.workload, list(dict.fromkeys([code_dir, os.getcwd()])))
    except UnknownWorkload as exc:
        expected = f"expected one of {', '.join(exc.known)} or module:function"
        got = short_repr(exc.name) + (f" ({exc.why})" if exc.why else "")
        raise SpecError(source, "workload", f"{expected}, got {got}") from None


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__
