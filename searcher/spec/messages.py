"""pydantic's validation errors in the spec's one form: `field.path`, `expected …, got …`."""

from __future__ import annotations

import typing
from typing import Any

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from search_spaces.scales import format_number, short_repr

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
    return ".".join(loc), f"{_expected(err, loc, root)}, got {short_repr(err.get('input'))}"


def _expected(err: Any, loc: list[str], root: type[BaseModel]) -> str:
    """What the field accepts, in our words rather than pydantic's."""
    kind = err["type"]
    if kind == "value_error":  # our own validators already say "expected ..."
        return str(err["msg"]).removeprefix("Value error, ")
    field = _field_at(root, loc)
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
