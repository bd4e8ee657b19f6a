"""pydantic's validation errors in the spec's one form: `field.path`, `expected …, got …`.

A field annotated with a constraint (search_spaces.constraints) words its own refusal; this
words the structure (unknown or missing keys, sections) and fields still bounded the pydantic
way, `Field(ge=...)` (data, stages), by reading their bounds into the constraint they mean.
"""

from __future__ import annotations

import typing
from typing import Any

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from search_spaces.constraints import (
    Bool,
    Constraint,
    ConstraintError,
    Integer,
    Number,
    String,
    short_repr,
)

# pydantic's bound metadata and the constraint argument each one means.
_BOUNDS = (
    (annotated_types.Ge, "ge", "low"),
    (annotated_types.Gt, "gt", "above"),
    (annotated_types.Le, "le", "high"),
    (annotated_types.Lt, "lt", "below"),
)


def first_error(exc: ValidationError, root: type[BaseModel]) -> tuple[str, str]:
    """The first pydantic error as (dotted field, "expected ..., got ...")."""
    err = exc.errors()[0]
    loc = [str(part) for part in err["loc"]]
    kind = err["type"]
    if kind == "extra_forbidden":
        parent = _model_at(root, loc[:-1])
        allowed = ", ".join(parent.model_fields) if parent else "?"
        return ".".join(loc), f"unknown key; expected one of {allowed}"
    if kind == "missing":
        return ".".join(loc), "expected a value, got nothing"
    refused = err.get("ctx", {}).get("error")
    if isinstance(refused, ConstraintError):  # already "expected ..., got ..."
        return ".".join(loc), refused.message
    return ".".join(loc), f"{_expected(err, loc, root)}, got {short_repr(err.get('input'))}"


def _expected(err: Any, loc: list[str], root: type[BaseModel]) -> str:
    """What the field accepts, in our words rather than pydantic's."""
    kind = err["type"]
    if kind == "value_error":  # our own validators already say "expected ..."
        return str(err["msg"]).removeprefix("Value error, ")
    field = _field_at(root, loc)
    # Any other error on a scalar field (type, bound, length) is answered with all it accepts.
    constraint = _constraint_of(field) if field is not None else None
    if constraint is not None:
        return f"expected {constraint.describe()}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "expected a mapping"
    if kind in ("tuple_type", "list_type", "iterable_type"):
        return "expected a list"
    if kind in ("too_short", "too_long"):
        short = kind == "too_short"
        count = err.get("ctx", {}).get("min_length" if short else "max_length", 1)
        bound = "at least" if short else "at most"
        return f"expected {bound} {count} {'entry' if count == 1 else 'entries'}"
    message = str(err["msg"]).split(", unable to")[0].split(", got a number")[0]
    return message.replace("Input should be ", "expected ")


def _constraint_of(field: FieldInfo) -> Constraint | None:
    """The constraint a pydantic-bounded field means, e.g. Integer(low=1) for Field(ge=1)."""
    kind = _bare(field.annotation)
    bounds = {
        name: getattr(meta, attr)
        for meta in field.metadata
        for cls, attr, name in _BOUNDS
        if isinstance(meta, cls)
    }
    if kind is int:
        return Integer(**bounds)
    if kind is float:
        return Number(**bounds)
    if kind is bool:
        return Bool()
    if kind is str:
        lengths = [m.max_length for m in field.metadata if isinstance(m, annotated_types.MaxLen)]
        return String(max_length=lengths[0] if lengths else None)
    return None


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
