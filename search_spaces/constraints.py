"""One vocabulary for what a value may be: small immutable checks that say what they accept.

The spec's fields, the search space's scales and the workloads' hyperparameters all check values
with these, so a bound is written once and every refusal reads "expected <what>, got <value>".
A constraint is also a pydantic annotation (`Annotated[int, Integer(1, 10)]`); pydantic itself
is imported only then. Like all of search_spaces, nothing here imports Ray, MLflow or torch.
"""

from __future__ import annotations

import math
import numbers
import re
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

# Limits shared by the spec, the strategies and the workloads; each is written here only.
MAX_TRIALS = 100_000  # planned trials of a search (all stages), of one stage, or running at once
MAX_EPOCHS = 1_000_000  # a trial's epoch budget, and the early-stopping grace period
MAX_PATH = 4096  # characters of a path or URI in the spec
MAX_STAGES = 100  # coarse-to-fine stages of a search
MAX_EXAMPLES = 10**9  # examples a data set may be asked for (train_size, per_class)
MAX_DURATION_S = 366 * 86400  # a time limit (a trial's): a year is already no limit
# Scale bounds are plain numbers a range can sensibly hold: no overflow in a log, no subnormals.
MAX_MAGNITUDE, MIN_MAGNITUDE = 1e300, sys.float_info.min
MAX_INT = 2**31  # integer scales (sizes, counts) stay well inside what every framework takes

# Longest repr of an offending value that an error message shows.
REPR_LIMIT = 80


def short_repr(value: Any, limit: int = REPR_LIMIT) -> str:
    """repr(value) cut to about `limit` characters, so a huge value never floods a message."""
    if isinstance(value, int) and value.bit_length() > 256:  # repr is slow, or refused, past that
        return f"an integer of {value.bit_length()} bits"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_number(x: Any) -> str:
    """Three significant digits: enough to read a range, short enough for a table."""
    if isinstance(x, float):
        return f"{x:.3g}"
    return str(x)


def is_bool(x: Any) -> bool:
    """True for Python's and numpy's booleans (a space's grid may hand over numpy values)."""
    return isinstance(x, bool | np.bool_)


def is_number(x: Any) -> bool:
    """True for int and float but not bool, which YAML users rarely mean as a number."""
    return isinstance(x, int | float) and not isinstance(x, bool)


class ConstraintError(ValueError):
    """A value a constraint refuses; the message is "expected <describe()>, got <value>"."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Constraint(ABC):
    """What a value may be: `check` returns it in its plain form or raises ConstraintError."""

    @abstractmethod
    def describe(self) -> str:
        """What is accepted, as the words after "expected", e.g. 'an integer >= 1'."""

    @abstractmethod
    def check(self, value: Any) -> Any: ...

    def refuse(self, value: Any) -> ConstraintError:
        return ConstraintError(f"expected {self.describe()}, got {short_repr(value)}")

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        # The check replaces pydantic's own type and bound checks, so a refusal is ours alone.
        from pydantic_core import core_schema

        return core_schema.no_info_plain_validator_function(self.check)


@dataclass(frozen=True)
class _Bounded(Constraint):
    """A number with inclusive (`low`, `high`) or exclusive (`above`, `below`) bounds.

    `text`, when given, is said instead of the bounds, for a rule that reads better in words.
    """

    noun: ClassVar[str]
    low: float | None = None
    high: float | None = None
    above: float | None = None
    below: float | None = None
    text: str = field(default="", kw_only=True)

    def describe(self) -> str:
        if self.text:
            return self.text
        ends = ((">=", self.low), (">", self.above), ("<=", self.high), ("<", self.below))
        bounds = " and ".join(f"{op} {format_number(x)}" for op, x in ends if x is not None)
        return f"{self.noun} {bounds}" if bounds else self.noun

    def _within(self, x: float) -> bool:
        return (
            (self.low is None or x >= self.low)
            and (self.above is None or x > self.above)
            and (self.high is None or x <= self.high)
            and (self.below is None or x < self.below)
        )


@dataclass(frozen=True)
class Integer(_Bounded):
    """An int, never a bool; `whole_floats` also takes 64.0 as 64 (search spaces hand those)."""

    noun: ClassVar[str] = "an integer"
    whole_floats: bool = field(default=False, kw_only=True)

    def check(self, value: Any) -> int:
        if is_bool(value) or not isinstance(value, numbers.Real):
            raise self.refuse(value)
        if not isinstance(value, numbers.Integral):
            whole = self.whole_floats and math.isfinite(value) and float(value).is_integer()
            if not whole:
                raise self.refuse(value)
        number = int(value)
        if not self._within(number):
            raise self.refuse(value)
        return number


@dataclass(frozen=True)
class Number(_Bounded):
    """A finite real number, as a float; never a bool."""

    noun: ClassVar[str] = "a number"

    def check(self, value: Any) -> float:
        if is_bool(value) or not isinstance(value, numbers.Real):
            raise self.refuse(value)
        try:
            number = float(value)
        except OverflowError:  # an int past 1e308
            raise self.refuse(value) from None
        if not math.isfinite(number) or not self._within(number):
            raise self.refuse(value)
        return number


@dataclass(frozen=True)
class Bool(Constraint):
    """true or false: never 0, 1 or a string, which YAML users rarely mean as a switch."""

    def describe(self) -> str:
        return "true or false"

    def check(self, value: Any) -> bool:
        if not is_bool(value):
            raise self.refuse(value)
        return bool(value)


@dataclass(frozen=True)
class String(Constraint):
    """A str, at most `max_length` characters, matching `pattern` whole; `text` says the rule."""

    max_length: int | None = None
    pattern: str | None = None
    text: str = field(default="", kw_only=True)

    def describe(self) -> str:
        if self.text:
            return self.text
        noun = "a string"
        if self.max_length is not None:
            noun += f" of at most {self.max_length} characters"
        return noun + (f" matching {self.pattern}" if self.pattern else "")

    def check(self, value: Any) -> str:
        if not isinstance(value, str):
            raise self.refuse(value)
        too_long = self.max_length is not None and len(value) > self.max_length
        if too_long or (self.pattern is not None and not re.fullmatch(self.pattern, value)):
            raise self.refuse(value)
        return value


DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?[smhd])+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")


def duration_seconds(text: str) -> float:
    """Seconds in a duration such as ``90s``, ``20m``, ``2h`` or ``1h30m`` (checked by Duration)."""
    return sum(float(n) * DURATION_UNITS[u] for n, u in _DURATION_PART.findall(text))


@dataclass(frozen=True)
class Duration(Constraint):
    """A time written as people write it (``90s``, ``20m``, ``2h``, ``1h30m``), kept as written
    so that messages and records say it the user's way; over 0 and at most MAX_DURATION_S.
    A bare number is seconds."""

    def describe(self) -> str:
        return "a duration such as 90s, 20m, 2h or 1h30m (s, m, h, d), up to 366d"

    def check(self, value: Any) -> str:
        if is_number(value) and math.isfinite(value) and 0 < value <= MAX_DURATION_S:
            return f"{value:g}s"
        if not isinstance(value, str) or len(value) > 40:
            raise self.refuse(value)
        text = value.strip().replace(" ", "")
        if not _DURATION.fullmatch(text) or not 0 < duration_seconds(text) <= MAX_DURATION_S:
            raise self.refuse(value)
        return text


SIZE_UNITS = {
    "": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
}  # fmt: skip
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?", re.IGNORECASE)
MAX_BYTES = 2**50  # a memory size: a pebibyte is past any machine's


def size_bytes(text: str) -> int:
    """Bytes in a size such as ``4GB``, ``512MiB`` or ``1.5gb`` (checked by ByteSize)."""
    found = _SIZE.fullmatch(text.strip())
    if found is None:
        raise ValueError(f"not a size: {text!r}")
    return int(float(found.group(1)) * SIZE_UNITS[(found.group(2) or "").lower()])


@dataclass(frozen=True)
class ByteSize(Constraint):
    """A memory size as people write it (``4GB``, ``512MiB``), kept as written; at least 1 MB.
    A bare number is bytes."""

    def describe(self) -> str:
        return "a size such as 4GB or 512MiB (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB), at least 1MB"

    def check(self, value: Any) -> str:
        if is_number(value) and isinstance(value, int):
            value = f"{value}B"
        if not isinstance(value, str) or len(value) > 40 or not _SIZE.fullmatch(value.strip()):
            raise self.refuse(value)
        if not 10**6 <= size_bytes(value) <= MAX_BYTES:
            raise self.refuse(value)
        return value.strip().replace(" ", "")


@dataclass(frozen=True)
class OneOf(Constraint):
    """One of a few choices, matched by equality but never a bool for a number or back."""

    choices: tuple[Any, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "choices", tuple(self.choices))

    def describe(self) -> str:
        return "one of " + ", ".join(str(c) for c in self.choices)

    def check(self, value: Any) -> Any:
        for choice in self.choices:
            if is_bool(value) == is_bool(choice) and _equal(value, choice):
                return choice
        raise self.refuse(value)


@dataclass(frozen=True)
class OrNone(Constraint):
    """None, or what `inner` accepts; said as `inner` alone, since None is always a default."""

    inner: Constraint

    def describe(self) -> str:
        return self.inner.describe()

    def check(self, value: Any) -> Any:
        return None if value is None else self.inner.check(value)


@dataclass(frozen=True)
class Rule(Constraint):
    """Any value `test` holds for, said as `text`: for rules no bound expresses (a power of two)."""

    test: Callable[[Any], bool]
    text: str

    def describe(self) -> str:
        return self.text

    def check(self, value: Any) -> Any:
        if not self.test(value):
            raise self.refuse(value)
        return value


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # an array compares element-wise
        return False
