"""Scales: each maps a unit coordinate u in [0, 1] to a hyperparameter value and back."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np

from search_spaces.constraints import (
    MAX_INT,
    MAX_MAGNITUDE,
    MIN_MAGNITUDE,
    Constraint,
    ConstraintError,
    Integer,
    Number,
    Rule,
    format_number,
    is_number,
    short_repr,
)


class ScaleError(ValueError):
    """A bad search-space entry; `field` names the sub-key at fault so callers can prefix a path.

    `message` reads "expected ..., got ..." and never repeats the field.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message

    def __reduce__(self) -> tuple[type[ScaleError], tuple[str, str]]:
        # Keeps the error intact when it crosses a process boundary (Ray pickles exceptions).
        return (ScaleError, (self.field, self.message))

    def within(self, name: str) -> ScaleError:
        """The same error seen from one level up, e.g. 'low' becomes 'lr.low'."""
        return ScaleError(f"{name}.{self.field}" if self.field else name, self.message)


def same(a: Any, b: Any) -> bool:
    # 1, 1.0 and True compare equal in Python but are different choices to a user.
    return type(a) is type(b) and a == b


def _clip(u: float) -> float:
    return min(max(float(u), 0.0), 1.0)


def _plain_number(x: Any) -> bool:
    return is_number(x) and not (isinstance(x, int) and x.bit_length() > 1000)


def _normal(x: float) -> bool:
    size = abs(float(x))
    return size == 0 or MIN_MAGNITUDE <= size <= MAX_MAGNITUDE


def _power_of_two(x: int) -> bool:
    return x >= 1 and not x & (x - 1)


def _non_empty_list(x: Any) -> bool:
    return isinstance(x, list | tuple) and len(x) > 0


# What every end of a range must be, in steps that each say what they want.
_BOUND: tuple[Constraint, ...] = (
    Rule(_plain_number, "a number"),
    Rule(_normal, "0 or a normal float of magnitude up to 1e300"),
)
_INTEGER_BOUND: tuple[Constraint, ...] = (
    *_BOUND,
    Integer(whole_floats=True),
    Integer(above=-MAX_INT, below=MAX_INT, text="an integer between -2^31 and 2^31"),
)
# What one scale asks of one end beyond that, worded for that scale.
_LOG_LOW = Number(above=0, text="> 0 for scale 'log'")
_BETA = Number(above=0, below=1, text="a number in (0, 1) for scale 'one_minus_log'")
_INT_LOG_LOW = Integer(low=1, text="an integer >= 1 for scale 'int_log'")
_POW2 = Rule(_power_of_two, "a power of two >= 1 for scale 'pow2'")
_VALUES = Rule(_non_empty_list, "a non-empty list")


def _checked(field: str, value: Any, rules: Iterable[Constraint]) -> Any:
    """value passed through each rule in turn; the first refusal is a ScaleError on `field`."""
    try:
        for rule in rules:
            value = rule.check(value)
    except ConstraintError as exc:
        raise ScaleError(field, exc.message) from None
    return value


def _check_order(low: float, high: float) -> None:
    _checked("high", high, [Number(above=low, text=f"> low ({low!r})")])


class Scale(ABC):
    """A hyperparameter's range and how sampling coordinates map onto it."""

    kind: ClassVar[str]
    axis: ClassVar[str] = "linear"
    tuned: ClassVar[bool] = True

    @property
    def numeric(self) -> bool:
        return True

    @abstractmethod
    def from_unit(self, u: float) -> Any: ...

    @abstractmethod
    def to_unit(self, value: Any) -> float: ...

    @abstractmethod
    def describe(self) -> str: ...

    def snapped(self, units: np.ndarray) -> np.ndarray:
        """``to_unit(from_unit(u))`` for each of ``units``: where the value each one stands
        for sits. The surrogate sees integers this way; scales it sees often do it in numpy."""
        return np.array([self.to_unit(self.from_unit(u)) for u in units], dtype=float)

    def format(self, value: Any) -> str:
        """A value as text, precise enough to tell neighbouring values on this scale apart."""
        return format_number(value)

    def grid(self, n: int) -> list[Any]:
        """n points evenly spaced in unit coordinates, as values, duplicates dropped."""
        if n < 1:
            raise ValueError(f"grid needs at least 1 point, got {n}")
        units = [0.5] if n == 1 else [i / (n - 1) for i in range(n)]
        out: list[Any] = []
        for u in units:
            v = self.from_unit(u)
            if not any(same(v, w) for w in out):
                out.append(v)
        return out

    def to_mapping(self) -> dict[str, Any]:
        """The YAML form this scale was built from."""
        return {"scale": self.kind, **{f.name: getattr(self, f.name) for f in fields(self)}}


@dataclass(frozen=True)
class _Interval(Scale):
    low: float
    high: float

    def __post_init__(self) -> None:
        for name in ("low", "high"):
            value = getattr(self, name)
            _checked(name, value, (*_BOUND, *self._rules(name)))
            object.__setattr__(self, name, float(value))
        _check_order(self.low, self.high)

    def _rules(self, end: str) -> tuple[Constraint, ...]:
        """What this scale asks of one end (`low` or `high`), beyond being a sane number."""
        return ()

    @abstractmethod
    def _map(self, u: float) -> float: ...

    def from_unit(self, u: float) -> float:
        # The ends come back exactly, so the best trial can sit on low or high without fuzz.
        u = _clip(u)
        return self.low if u == 0.0 else self.high if u == 1.0 else self._map(u)

    def describe(self) -> str:
        return f"{self.kind} [{self.format(self.low)}, {self.format(self.high)}]"


@dataclass(frozen=True)
class Linear(_Interval):
    kind: ClassVar[str] = "linear"

    def _map(self, u: float) -> float:
        return self.low + u * (self.high - self.low)

    def to_unit(self, value: Any) -> float:
        return (float(value) - self.low) / (self.high - self.low)


@dataclass(frozen=True)
class Log(_Interval):
    kind: ClassVar[str] = "log"
    axis: ClassVar[str] = "log"

    def _rules(self, end: str) -> tuple[Constraint, ...]:
        return (_LOG_LOW,) if end == "low" else ()

    def _map(self, u: float) -> float:
        a, b = math.log(self.low), math.log(self.high)
        return math.exp(a + u * (b - a))

    def to_unit(self, value: Any) -> float:
        a, b = math.log(self.low), math.log(self.high)
        return (math.log(float(value)) - a) / (b - a)


@dataclass(frozen=True)
class OneMinusLog(_Interval):
    """Log-uniform in the horizon 1/(1-x): for momentum-like β near 1."""

    kind: ClassVar[str] = "one_minus_log"
    axis: ClassVar[str] = "one_minus_log"

    def _rules(self, end: str) -> tuple[Constraint, ...]:
        return (_BETA,)

    def _map(self, u: float) -> float:
        # log1p/expm1 keep 1 - x exact to the last digit even for x = 0.9999.
        a, b = math.log1p(-self.low), math.log1p(-self.high)
        return -math.expm1(a + u * (b - a))

    def to_unit(self, value: Any) -> float:
        a, b = math.log1p(-self.low), math.log1p(-self.high)
        return (math.log1p(-float(value)) - a) / (b - a)

    def format(self, value: Any) -> str:
        # 0.9995 must not print as "1": keep three significant digits of 1 - x.
        gap = 1.0 - float(value)
        if gap <= 0:
            return format_number(value)
        decimals = max(1, math.floor(-math.log10(gap)) + 3)
        return f"{float(value):.{decimals}f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class _Cells(Scale):
    """Uniform over n equal cells of [0, 1]; to_unit returns a cell's centre."""

    @property
    def cells(self) -> int:
        """How many discrete values the scale has: one cell of [0, 1] each."""
        raise NotImplementedError

    def cell_centre(self, i: int) -> float:
        """The unit coordinate of the centre of cell i (0-based)."""
        return (i + 0.5) / self.cells

    def _index(self, u: float) -> int:
        n = self.cells
        return min(math.floor(_clip(u) * n), n - 1)

    def snapped(self, units: np.ndarray) -> np.ndarray:
        n = self.cells
        index = np.minimum(np.floor(np.clip(units, 0.0, 1.0) * n), n - 1)
        return (index + 0.5) / n


@dataclass(frozen=True)
class _Integers(Scale):
    """Integers from low to high: checked as integers once, then per scale, then in order."""

    low: int
    high: int

    def __post_init__(self) -> None:
        for name in ("low", "high"):
            x = _checked(name, getattr(self, name), (*_INTEGER_BOUND, *self._rules(name)))
            object.__setattr__(self, name, x)
        _check_order(self.low, self.high)

    def _rules(self, end: str) -> tuple[Constraint, ...]:
        """What this scale asks of one end (`low` or `high`), beyond being a sane integer."""
        return ()

    def describe(self) -> str:
        return f"{self.kind} [{self.low}, {self.high}]"


def is_integer(scale: Scale) -> bool:
    """Whether a scale's values are integers (int, int_log, pow2)."""
    return isinstance(scale, _Integers)


@dataclass(frozen=True)
class Int(_Integers, _Cells):
    kind: ClassVar[str] = "int"

    @property
    def cells(self) -> int:
        return self.high - self.low + 1

    def from_unit(self, u: float) -> int:
        return self.low + self._index(u)

    def to_unit(self, value: Any) -> float:
        return self.cell_centre(int(value) - self.low)


@dataclass(frozen=True)
class IntLog(_Integers):
    """Integers log-uniform: a continuous log scale over [low-0.5, high+0.5], then rounded."""

    kind: ClassVar[str] = "int_log"
    axis: ClassVar[str] = "log"

    def _rules(self, end: str) -> tuple[Constraint, ...]:
        return (_INT_LOG_LOW,) if end == "low" else ()

    def _ends(self) -> tuple[float, float]:
        return math.log(self.low - 0.5), math.log(self.high + 0.5)

    def unrounded(self, u: float) -> float:
        """The continuous value at u, before rounding: where u sits on a plot's log axis."""
        a, b = self._ends()
        return math.exp(a + _clip(u) * (b - a))

    def from_unit(self, u: float) -> int:
        x = math.floor(self.unrounded(u) + 0.5)
        return min(max(x, self.low), self.high)

    def to_unit(self, value: Any) -> float:
        a, b = self._ends()
        return _clip((math.log(float(value)) - a) / (b - a))

    def snapped(self, units: np.ndarray) -> np.ndarray:
        a, b = self._ends()
        values = np.floor(np.exp(a + np.clip(units, 0.0, 1.0) * (b - a)) + 0.5)
        values = np.clip(values, self.low, self.high)
        return np.clip((np.log(values) - a) / (b - a), 0.0, 1.0)


@dataclass(frozen=True)
class Pow2(_Integers, _Cells):
    """Powers of two with the exponent uniform: batch sizes."""

    kind: ClassVar[str] = "pow2"
    axis: ClassVar[str] = "log"

    def _rules(self, end: str) -> tuple[Constraint, ...]:
        return (_POW2,)

    @property
    def cells(self) -> int:
        return self.high.bit_length() - self.low.bit_length() + 1

    def from_unit(self, u: float) -> int:
        return self.low << self._index(u)

    def to_unit(self, value: Any) -> float:
        return self.cell_centre(int(value).bit_length() - self.low.bit_length())


@dataclass(frozen=True)
class Choice(_Cells):
    """One of a list; stored as a tuple so the scale stays immutable."""

    kind: ClassVar[str] = "choice"
    axis: ClassVar[str] = "category"
    values: tuple[Any, ...]

    def __post_init__(self) -> None:
        values = tuple(_checked("values", self.values, [_VALUES]))
        for i, v in enumerate(values):
            if any(same(v, w) for w in values[:i]):
                raise ScaleError("values", f"expected distinct values, got {short_repr(v)} twice")
        object.__setattr__(self, "values", values)

    @property
    def numeric(self) -> bool:
        return all(is_number(v) for v in self.values)

    @property
    def cells(self) -> int:
        return len(self.values)

    def index(self, value: Any) -> int:
        """Position of value; an exact-type match first, then plain equality."""
        for match in (same, lambda a, b: a == b):
            for i, v in enumerate(self.values):
                if match(v, value):
                    return i
        raise ValueError(f"{value!r} is not one of {list(self.values)!r}")

    def category(self, u: float) -> int:
        """Index of the category whose cell holds u."""
        return self._index(u)

    def from_unit(self, u: float) -> Any:
        return self.values[self._index(u)]

    def to_unit(self, value: Any) -> float:
        return self.cell_centre(self.index(value))

    def grid(self, n: int) -> list[Any]:
        return list(self.values)

    def describe(self) -> str:
        return "choice {" + ", ".join(format_number(v) for v in self.values) + "}"

    def to_mapping(self) -> dict[str, Any]:
        return {"scale": self.kind, "values": list(self.values)}


@dataclass(frozen=True)
class Value(Scale):
    """A constant: kept in the space so every trial records it."""

    kind: ClassVar[str] = "value"
    tuned: ClassVar[bool] = False
    value: Any

    @property
    def numeric(self) -> bool:
        return is_number(self.value)

    @property
    def axis(self) -> str:  # type: ignore[override]
        return "linear" if self.numeric else "category"

    def from_unit(self, u: float) -> Any:
        return self.value

    def to_unit(self, value: Any) -> float:
        return 0.5

    def grid(self, n: int) -> list[Any]:
        return [self.value]

    def describe(self) -> str:
        return f"value {format_number(self.value)}"


SCALES: dict[str, type[Scale]] = {
    cls.kind: cls for cls in (Linear, Log, OneMinusLog, Int, IntLog, Pow2, Choice, Value)
}


def make_scale(raw: Any) -> Scale:
    """Build a scale from its YAML form: a mapping with 'scale', a list (choice) or a scalar."""
    if isinstance(raw, list | tuple):
        return Choice(tuple(raw))
    if raw is None or isinstance(raw, str | int | float | bool):
        return Value(raw)
    if not isinstance(raw, Mapping):
        raise ScaleError(
            "",
            "expected a mapping with 'scale', a list of choices or a single value, "
            f"got {short_repr(raw)}",
        )
    kind = raw.get("scale")
    if not isinstance(kind, str) or kind not in SCALES:
        said = "nothing" if kind is None else short_repr(kind)
        raise ScaleError("scale", f"expected one of {', '.join(SCALES)}, got {said}")
    cls = SCALES[kind]
    allowed = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    for key in raw:
        if key != "scale" and key not in allowed:
            keys = ", ".join(["scale", *allowed])
            raise ScaleError(
                str(key),
                f"unknown key for scale {kind!r}; expected one of {keys}",
            )
    for key in allowed:
        if key not in raw:
            raise ScaleError(key, f"expected a value for scale {kind!r}, got nothing")
    return cls(**{key: raw[key] for key in allowed})
