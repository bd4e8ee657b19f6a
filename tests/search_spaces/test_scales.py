"""Scales: round trips, sampling distributions, and validation messages."""

from __future__ import annotations

import math
import pickle
import random
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from search_spaces.constraints import REPR_LIMIT
from search_spaces.scales import (
    SCALES,
    Choice,
    Int,
    IntLog,
    Linear,
    Log,
    OneMinusLog,
    Pow2,
    Scale,
    ScaleError,
    Value,
    make_scale,
    short_repr,
)

units = st.floats(0.0, 1.0)


def samples(scale: Scale, n: int = 2000, seed: int = 0) -> list[Any]:
    rng = random.Random(seed)
    return [scale.from_unit(rng.random()) for _ in range(n)]


@st.composite
def linear_bounds(draw: st.DrawFn) -> Linear:
    low = draw(st.floats(-1e3, 1e3, allow_subnormal=False))
    return Linear(low, low + draw(st.floats(1e-3, 1e3)))


@st.composite
def log_bounds(draw: st.DrawFn) -> Log:
    low = 10 ** draw(st.floats(-8, 3))
    return Log(low, low * 10 ** draw(st.floats(0.01, 8)))


@st.composite
def one_minus_log_bounds(draw: st.DrawFn) -> OneMinusLog:
    low = draw(st.floats(1e-6, 0.99))
    gap = (1 - low) * 10 ** -draw(st.floats(0.01, 5))
    return OneMinusLog(low, 1 - gap)


@given(st.one_of(linear_bounds(), log_bounds(), one_minus_log_bounds()), units)
def test_continuous_round_trip(scale: Scale, u: float) -> None:
    value = scale.from_unit(u)
    assert scale.to_unit(value) == pytest.approx(u, abs=1e-9)
    assert scale.from_unit(0.0) == scale.low and scale.from_unit(1.0) == scale.high  # type: ignore[attr-defined]


@st.composite
def discrete_scales(draw: st.DrawFn) -> Scale:
    low = draw(st.integers(-50, 50))
    high = low + draw(st.integers(1, 60))
    pos = draw(st.integers(1, 200))
    e = draw(st.integers(0, 8))
    values = draw(st.lists(st.one_of(st.integers(), st.text(max_size=3)), min_size=1, unique=True))
    return draw(
        st.sampled_from(
            [Int(low, high), IntLog(pos, pos + high - low), Pow2(2**e, 2 ** (e + 1 + pos % 5))]
            + [Choice(tuple(values))]
        )
    )


@given(discrete_scales(), units)
def test_discrete_round_trip(scale: Scale, u: float) -> None:
    value = scale.from_unit(u)
    assert scale.from_unit(scale.to_unit(value)) == value
    for allowed in scale.grid(10_000):
        assert scale.from_unit(scale.to_unit(allowed)) == allowed


@given(
    st.one_of(discrete_scales(), linear_bounds(), log_bounds()),
    st.lists(st.one_of(units, st.sampled_from([0.0, 1.0, -0.1, 1.1])), min_size=1),
)
def test_snapped_is_where_each_unit_s_value_sits(scale: Scale, us: list[float]) -> None:
    """The surrogate's numpy version of to_unit(from_unit(u)), for all of a column at once."""
    expected = [scale.to_unit(scale.from_unit(u)) for u in us]
    np.testing.assert_allclose(scale.snapped(np.array(us)), expected, rtol=0, atol=1e-12)


def test_value_is_fixed() -> None:
    scale = Value("relu")
    assert scale.from_unit(0.1) == scale.from_unit(0.9) == "relu"
    assert scale.to_unit("relu") == 0.5
    assert (scale.tuned, scale.numeric, scale.grid(5)) == (False, False, ["relu"])
    assert Value(3).numeric and Value(3).axis == "linear"


def normalised_log(xs: list[float], low: float, high: float) -> list[float]:
    return [(math.log(x) - math.log(low)) / (math.log(high) - math.log(low)) for x in xs]


def test_log_is_log_uniform_and_the_test_can_fail() -> None:
    lo, hi = 1e-4, 0.1
    assert stats.kstest(normalised_log(samples(Log(lo, hi)), lo, hi), "uniform").pvalue > 0.001
    wrong = normalised_log(samples(Linear(lo, hi)), lo, hi)
    assert stats.kstest(wrong, "uniform").pvalue < 0.001


def syne_tune_reverse_log(u: float, low: float, high: float) -> float:
    """Syne Tune's reverse log (`logfinrange` on 1 - x): -log(1 - x) is uniform."""
    a, b = -math.log(1.0 - low), -math.log(1.0 - high)
    return 1.0 - math.exp(-(a + u * (b - a)))


def test_one_minus_log_puts_half_the_betas_above_099() -> None:
    scale = OneMinusLog(0.9, 0.999)
    betas = samples(scale)
    gaps = [1 - b for b in betas]
    assert stats.kstest(normalised_log(gaps, 0.1, 0.001), "uniform").pvalue > 0.001
    above = sum(b > 0.99 for b in betas)
    assert stats.binomtest(above, len(betas), 0.5).pvalue > 0.001
    assert scale.from_unit(0.5) == pytest.approx(0.99, abs=1e-15)
    for u in (0.0, 0.1, 0.37, 0.5, 0.93, 1.0):
        assert scale.from_unit(u) == pytest.approx(syne_tune_reverse_log(u, 0.9, 0.999), abs=1e-12)


def test_linear_betas_are_rejected_by_the_horizon_test() -> None:
    gaps = [1 - b for b in samples(Linear(0.9, 0.999))]
    assert stats.kstest(normalised_log(gaps, 0.1, 0.001), "uniform").pvalue < 0.001


@pytest.mark.parametrize(
    ("scale", "allowed"),
    [
        (Int(-2, 5), set(range(-2, 6))),
        (IntLog(1, 32), set(range(1, 33))),
        (Pow2(16, 512), {16, 32, 64, 128, 256, 512}),
    ],
)
def test_discrete_samples_hit_every_allowed_value_and_nothing_else(
    scale: Scale, allowed: set[int]
) -> None:
    drawn = samples(scale)
    assert set(drawn) == allowed
    assert all(type(v) is int for v in drawn)


def test_int_and_pow2_are_uniform_over_their_values() -> None:
    for scale in (Int(1, 6), Pow2(8, 256)):
        drawn = samples(scale)
        counts = [drawn.count(v) for v in scale.grid(1000)]
        assert stats.chisquare(counts).pvalue > 0.001


def test_choice_frequencies_are_uniform() -> None:
    scale = Choice(("adam", "sgd", "rmsprop", "lion"))
    drawn = samples(scale)
    assert stats.chisquare([drawn.count(v) for v in scale.values]).pvalue > 0.001
    skewed = samples(Choice(("a", "b")), seed=1) + ["a"] * 300
    assert stats.chisquare([skewed.count("a"), skewed.count("b")]).pvalue < 0.001


def test_grids() -> None:
    assert Linear(0, 1).grid(3) == [0.0, 0.5, 1.0]
    assert Log(1e-4, 1e-2).grid(3) == pytest.approx([1e-4, 1e-3, 1e-2])
    assert Int(1, 3).grid(10) == [1, 2, 3]
    assert Pow2(16, 64).grid(5) == [16, 32, 64]
    assert Choice(("a", "b")).grid(1) == ["a", "b"]
    assert Linear(0, 1).grid(1) == [0.5]
    with pytest.raises(ValueError):
        Linear(0, 1).grid(0)


def test_properties_and_descriptions() -> None:
    assert Log(1e-4, 0.1).describe() == "log [0.0001, 0.1]"
    assert OneMinusLog(0.9, 0.999).describe() == "one_minus_log [0.9, 0.999]"
    assert OneMinusLog(0.9, 0.999).format(0.9995) == "0.9995"
    assert Choice(("adam", "sgd")).describe() == "choice {adam, sgd}"
    axes = {kind: cls.axis for kind, cls in SCALES.items() if kind != "value"}
    assert axes == {
        "linear": "linear",
        "log": "log",
        "one_minus_log": "one_minus_log",
        "int": "linear",
        "int_log": "log",
        "pow2": "log",
        "choice": "category",
    }
    assert Value("x").axis == "category"
    assert Choice(("a", 1)).numeric is False and Choice((1, 2.5)).numeric is True
    assert Choice((1, True)).index(True) == 1


def test_make_scale_forms() -> None:
    assert make_scale({"scale": "log", "low": 1e-4, "high": 0.1}) == Log(1e-4, 0.1)
    assert make_scale(["adam", "sgd"]) == Choice(("adam", "sgd"))
    assert make_scale({"scale": "choice", "values": [1, 2]}) == Choice((1, 2))
    assert make_scale({"scale": "value", "value": [1, 2]}) == Value([1, 2])
    for scalar in ("relu", 3, 0.5, True, None):
        assert make_scale(scalar) == Value(scalar)
    assert make_scale({"scale": "int", "low": 1.0, "high": 4}) == Int(1, 4)
    for scale in (Log(1e-4, 0.1), Choice(("a",)), Pow2(1, 8), Value(None)):
        assert make_scale(scale.to_mapping()) == scale


LOG = {"scale": "log", "low": 1e-4, "high": 0.1}
ALL = "linear, log, one_minus_log, int, int_log, pow2, choice, value"


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ({**LOG, "low": 0}, "low", "expected > 0 for scale 'log', got 0"),
        ({**LOG, "low": 0.1, "high": 0.01}, "high", "expected > low (0.1), got 0.01"),
        (
            {"scale": "one_minus_log", "low": 0.9, "high": 1.0},
            "high",
            "expected a number in (0, 1) for scale 'one_minus_log', got 1.0",
        ),
        ({"scale": "loggy"}, "scale", f"expected one of {ALL}, got 'loggy'"),
        ({"low": 1}, "scale", f"expected one of {ALL}, got nothing"),
        (
            {"scale": "log", "lo": 1e-4, "high": 0.1},
            "lo",
            "unknown key for scale 'log'; expected one of scale, low, high",
        ),
        ({"scale": "log", "high": 0.1}, "low", "expected a value for scale 'log', got nothing"),
        ({**LOG, "low": "abc"}, "low", "expected a number, got 'abc'"),
        ({**LOG, "low": "1e-4"}, "low", "expected a number, got '1e-4'"),
        ({**LOG, "high": True}, "high", "expected a number, got True"),
        (
            {**LOG, "high": math.inf},
            "high",
            "expected 0 or a normal float of magnitude up to 1e300, got inf",
        ),
        ({"scale": "int", "low": 1, "high": 2.5}, "high", "expected an integer, got 2.5"),
        ({"scale": "int", "low": 3, "high": 3}, "high", "expected > low (3), got 3"),
        ({"scale": "int_log", "low": "a", "high": 8}, "low", "expected a number, got 'a'"),
        (
            {"scale": "int_log", "low": 0, "high": 8},
            "low",
            "expected an integer >= 1 for scale 'int_log', got 0",
        ),
        (
            {"scale": "pow2", "low": 16, "high": 100},
            "high",
            "expected a power of two >= 1 for scale 'pow2', got 100",
        ),
        ({"scale": "pow2", "low": 1.5, "high": 4}, "low", "expected an integer, got 1.5"),
        ({"scale": "pow2", "low": 8, "high": 4}, "high", "expected > low (8), got 4"),
        ({"scale": "choice", "values": []}, "values", "expected a non-empty list, got []"),
        ({"scale": "choice", "values": "ab"}, "values", "expected a non-empty list, got 'ab'"),
        (["a", "b", "a"], "values", "expected distinct values, got 'a' twice"),
        ({"scale": "value"}, "value", "expected a value for scale 'value', got nothing"),
        ({1, 2}, "", "expected a mapping with 'scale', a list of choices or a single value, got"),
    ],
)
def test_make_scale_errors(raw: Any, field: str, message: str) -> None:
    with pytest.raises(ScaleError) as info:
        make_scale(raw)
    assert info.value.field == field
    assert info.value.message.startswith(message)
    assert isinstance(info.value, ValueError)
    assert str(info.value) == (f"{field}: " if field else "") + info.value.message
    # The field is kept apart: the message never repeats it, so callers prefix it once.
    assert not field or not info.value.message.startswith(field)


def test_huge_values_are_cut_in_messages() -> None:
    assert short_repr("x" * 10) == repr("x" * 10)
    cut = short_repr("x" * 1000)
    assert len(cut) == REPR_LIMIT and cut.endswith("…") and cut.startswith("'xxx")
    with pytest.raises(ScaleError) as info:
        make_scale({**LOG, "low": "y" * 10_000})
    assert len(info.value.message) < 120
    assert info.value.message.startswith("expected a number, got 'yyy") and "…" in str(info.value)


def test_integer_scales_share_checks_and_descriptions() -> None:
    assert Int(1, 4).describe() == "int [1, 4]"
    assert IntLog(1, 32).describe() == "int_log [1, 32]"
    assert Pow2(16, 512).describe() == "pow2 [16, 512]"
    assert Int(1.0, 4.0) == Int(1, 4) and type(Int(1.0, 4).low) is int  # type: ignore[arg-type]
    assert IntLog(2.0, 8).to_mapping() == {"scale": "int_log", "low": 2, "high": 8}  # type: ignore[arg-type]


def test_cells_and_their_centres() -> None:
    assert Int(-2, 5).cells == 8
    assert Pow2(16, 512).cells == 6
    assert Choice(("a", "b", "c")).cells == 3
    choice = Choice(("a", "b", "c"))
    assert [choice.cell_centre(i) for i in range(3)] == [1 / 6, 0.5, 5 / 6]
    for scale in (Int(-2, 5), Pow2(16, 512), choice):
        for i in range(scale.cells):
            assert scale.to_unit(scale.from_unit(scale.cell_centre(i))) == scale.cell_centre(i)


def test_int_log_unrounded_is_continuous_and_rounds_to_from_unit() -> None:
    scale = IntLog(1, 32)
    assert scale.unrounded(0.0) == pytest.approx(0.5)
    assert scale.unrounded(1.0) == pytest.approx(32.5)
    us = [i / 50 for i in range(51)]
    values = [scale.unrounded(u) for u in us]
    assert values == sorted(values)
    for u, x in zip(us, values, strict=True):
        assert scale.from_unit(u) == min(max(math.floor(x + 0.5), 1), 32)


def test_scale_error_pickles() -> None:
    err = pickle.loads(pickle.dumps(ScaleError("lr.low", "expected > 0")))
    assert (err.field, err.message, str(err)) == ("lr.low", "expected > 0", "lr.low: expected > 0")
