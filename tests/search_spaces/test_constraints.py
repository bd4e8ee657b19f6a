"""Constraints: what each says it accepts, where it draws the line, and how it refuses."""

from __future__ import annotations

import math
import pickle
from typing import Annotated, Any

import numpy as np
import pytest
from pydantic import BaseModel, ValidationError

from search_spaces.constraints import (
    MAX_EPOCHS,
    Bool,
    Constraint,
    ConstraintError,
    Integer,
    Number,
    OneOf,
    OrNone,
    Rule,
    String,
)


def _refusal(constraint: Constraint, value: Any) -> str:
    with pytest.raises(ConstraintError) as info:
        constraint.check(value)
    assert isinstance(info.value, ValueError)
    assert str(info.value) == info.value.message
    return info.value.message


@pytest.mark.parametrize(
    ("constraint", "text"),
    [
        (Integer(low=1, high=MAX_EPOCHS), "an integer >= 1 and <= 1000000"),
        (Integer(), "an integer"),
        (Integer(0, below=2**32), "an integer >= 0 and < 4294967296"),
        (Integer(high=5), "an integer <= 5"),
        (Number(above=0, high=1), "a number > 0 and <= 1"),
        (Number(low=0, below=1), "a number >= 0 and < 1"),
        (Number(low=0.5), "a number >= 0.5"),
        (Number(), "a number"),
        (Number(above=0, text="> 0 for scale 'log'"), "> 0 for scale 'log'"),
        (Bool(), "true or false"),
        (String(), "a string"),
        (String(max_length=4096), "a string of at most 4096 characters"),
        (String(pattern="[a-z]+", text="lower-case letters"), "lower-case letters"),
        (OneOf(("sgd", "adam")), "one of sgd, adam"),
        (OrNone(Integer(1)), "an integer >= 1"),
        (Rule(lambda x: x % 2 == 0, "an even number"), "an even number"),
    ],
)
def test_describe_says_what_is_accepted(constraint: Constraint, text: str) -> None:
    assert constraint.describe() == text


def test_integer_bounds_are_inclusive_and_exclusive_as_named() -> None:
    epochs = Integer(1, MAX_EPOCHS)
    assert epochs.check(1) == 1 and epochs.check(MAX_EPOCHS) == MAX_EPOCHS
    assert _refusal(epochs, 0) == "expected an integer >= 1 and <= 1000000, got 0"
    assert (
        _refusal(epochs, MAX_EPOCHS + 1) == "expected an integer >= 1 and <= 1000000, got 1000001"
    )
    seed = Integer(0, below=2**63)
    assert seed.check(2**63 - 1) == 2**63 - 1
    assert _refusal(seed, 2**63).endswith("got 9223372036854775808")
    assert Integer(above=-3).check(-2) == -2
    assert _refusal(Integer(above=-3), -3) == "expected an integer > -3, got -3"


@pytest.mark.parametrize("value", [True, False, np.True_, 1.0, 64.5, "3", None, [1]])
def test_integers_are_never_bools_and_floats_only_when_asked(value: Any) -> None:
    assert _refusal(Integer(), value) == f"expected an integer, got {value!r}"


def test_whole_floats_are_integers_when_asked() -> None:
    counts = Integer(low=1, whole_floats=True)
    assert counts.check(64.0) == 64 and type(counts.check(64.0)) is int
    assert counts.check(np.int64(8)) == 8 and type(counts.check(np.int64(8))) is int
    assert _refusal(counts, 64.5) == "expected an integer >= 1, got 64.5"
    assert _refusal(counts, 0.0) == "expected an integer >= 1, got 0.0"
    for bad in (math.inf, math.nan, True):
        _refusal(counts, bad)


def test_numbers_are_finite_floats_and_never_bools() -> None:
    unit = Number(low=0, below=1)
    assert unit.check(0) == 0.0 and type(unit.check(0)) is float
    assert unit.check(np.float32(0.5)) == 0.5
    assert _refusal(unit, 1) == "expected a number >= 0 and < 1, got 1"
    assert _refusal(unit, -1e-9) == "expected a number >= 0 and < 1, got -1e-09"
    for bad in (math.nan, math.inf, -math.inf):
        assert _refusal(Number(), bad) == f"expected a number, got {bad!r}"
    assert _refusal(Number(), True) == "expected a number, got True"
    assert _refusal(Number(), "1e-4") == "expected a number, got '1e-4'"
    # An int too large for a float is refused, and said by its size rather than its digits.
    assert _refusal(Number(), 10**400) == "expected a number, got an integer of 1329 bits"


def test_bools_strings_choices_and_none() -> None:
    assert Bool().check(np.False_) is False and Bool().check(True) is True
    assert _refusal(Bool(), 1) == "expected true or false, got 1"
    assert _refusal(Bool(), "yes") == "expected true or false, got 'yes'"
    short = String(max_length=3)
    assert short.check("abc") == "abc"
    assert _refusal(short, "abcd") == "expected a string of at most 3 characters, got 'abcd'"
    assert _refusal(short, 5) == "expected a string of at most 3 characters, got 5"
    word = String(pattern="[a-z]+", text="lower-case letters")
    assert word.check("ok") == "ok"
    assert _refusal(word, "ok!") == "expected lower-case letters, got 'ok!'"  # matched whole
    modes = OneOf(("max", "min"))
    assert modes.check("min") == "min"
    assert _refusal(modes, "up") == "expected one of max, min, got 'up'"
    assert _refusal(modes, ["max"]) == "expected one of max, min, got ['max']"
    assert _refusal(OneOf((0, 1)), False) == "expected one of 0, 1, got False"
    maybe = OrNone(Integer(1))
    assert maybe.check(None) is None and maybe.check(3) == 3
    assert _refusal(maybe, 0) == "expected an integer >= 1, got 0"


def test_long_values_are_cut_in_the_refusal() -> None:
    message = _refusal(Integer(), "z" * 10_000)
    assert message == "expected an integer, got '" + "z" * 78 + "…"


def test_constraints_are_immutable_values_and_errors_pickle() -> None:
    epochs = Integer(1, MAX_EPOCHS)
    assert epochs == Integer(low=1, high=MAX_EPOCHS)
    assert hash(epochs) == hash(Integer(1, MAX_EPOCHS))
    with pytest.raises(AttributeError):
        epochs.low = 0  # type: ignore[misc]
    err = pickle.loads(pickle.dumps(ConstraintError("expected an integer, got 'a'")))
    assert (type(err), err.message) == (ConstraintError, "expected an integer, got 'a'")


class _Budget(BaseModel):
    epochs: Annotated[int | None, OrNone(Integer(1, MAX_EPOCHS))] = None
    cpu: Annotated[float, Number(above=0)] = 1.0


def test_a_constraint_is_a_pydantic_annotation_that_refuses_in_its_own_words() -> None:
    assert _Budget(epochs=3, cpu=2).model_dump() == {"epochs": 3, "cpu": 2.0}
    assert _Budget().epochs is None
    with pytest.raises(ValidationError) as info:
        _Budget(epochs=True)
    (error,) = info.value.errors()
    assert error["loc"] == ("epochs",) and isinstance(error["ctx"]["error"], ConstraintError)
    assert error["ctx"]["error"].message == "expected an integer >= 1 and <= 1000000, got True"
