"""pydantic's validation errors in the spec's one form: `field.path`, `expected …, got …`.

Every scalar field is annotated with a constraint (search_spaces.constraints), which words its
own refusal; this words the rest: structure (unknown or missing keys, sections, lists) and the
models' own validators, which raise ValueError("expected ...") without the value.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from search_spaces.constraints import ConstraintError, short_repr


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
    return ".".join(loc), f"{_expected(err)}, got {short_repr(err.get('input'))}"


def _expected(err: Any) -> str:
    """What the field accepts, in our words rather than pydantic's."""
    kind = err["type"]
    if kind == "value_error":  # our own validators already say "expected ..."
        return str(err["msg"]).removeprefix("Value error, ")
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
