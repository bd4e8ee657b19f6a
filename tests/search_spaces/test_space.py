"""Search spaces and boxes: conversions, sampling and edge warnings."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from scipy import stats

from search_spaces.box import Box, edge_warnings
from search_spaces.scales import ScaleError
from search_spaces.space import SearchSpace

RAW = {
    "lr": {"scale": "log", "low": 1e-4, "high": 0.1},
    "x": {"scale": "linear", "low": 0, "high": 1},
    "epochs": 5,
    "opt": ["adam", "sgd", "rmsprop"],
    "layers": {"scale": "int", "low": 1, "high": 4},
}
SPACE = SearchSpace.from_mapping(RAW)


def test_from_mapping_keeps_order_and_splits_tuned_from_fixed() -> None:
    assert list(SPACE.params) == ["lr", "x", "epochs", "opt", "layers"]
    assert SPACE.tuned_names == ["lr", "x", "opt", "layers"]
    assert SPACE.fixed_in(SPACE.branches[0]) == {"epochs": 5}


def test_from_mapping_errors_name_the_parameter() -> None:
    with pytest.raises(ScaleError) as info:
        SearchSpace.from_mapping({"lr": {"scale": "log", "low": 0, "high": 0.1}})
    assert info.value.field == "lr.low"
    assert str(info.value) == "lr.low: expected > 0 for scale 'log', got 0"
    with pytest.raises(ScaleError) as info:
        SearchSpace.from_mapping({"opt": {1, 2}})
    assert info.value.field == "opt"


def test_values_and_units_round_trip() -> None:
    unit = SPACE.sample_unit(random.Random(3))
    assert list(unit) == SPACE.tuned_names
    values = SPACE.to_values(unit)
    assert list(values) == list(SPACE.params) and values["epochs"] == 5
    back = SPACE.to_values(SPACE.to_unit(values))
    assert back["opt"] == values["opt"] and back["layers"] == values["layers"]
    assert back["lr"] == pytest.approx(values["lr"], rel=1e-12)


def test_sample_unit_is_seeded_and_stays_in_the_box() -> None:
    assert SPACE.sample_unit(random.Random(1)) == SPACE.sample_unit(random.Random(1))
    box = Box({"lr": (0.2, 0.3), "x": (0.0, 0.1), "layers": (0.5, 1.0)}, {"opt": (0, 2)})
    rng = random.Random(2)
    for _ in range(200):
        unit = box.sample(rng, SPACE)
        assert box.contains(unit, SPACE)
        assert SPACE.to_values(unit)["opt"] in ("adam", "rmsprop")


def test_a_box_draws_many_points_uniformly_inside_it_at_once() -> None:
    """Box.draw, a column at a time for a zoom trial's candidates: the same law as sample."""
    box = Box({"lr": (0.2, 0.3), "x": (0.0, 0.1), "layers": (0.5, 1.0)}, {"opt": (0, 2)})
    rows = box.draw(np.random.default_rng(0), SPACE, 2000)
    assert rows.shape == (2000, len(SPACE.tuned_names))
    points = [dict(zip(SPACE.tuned_names, row, strict=True)) for row in rows]
    assert all(box.contains(p, SPACE) for p in points)
    lr = rows[:, SPACE.tuned_names.index("lr")]
    assert stats.kstest(lr, stats.uniform(0.2, 0.1).cdf).pvalue > 0.001
    opts = [SPACE.to_values(p)["opt"] for p in points]
    assert stats.chisquare([opts.count("adam"), opts.count("rmsprop")]).pvalue > 0.001
    assert np.array_equal(box.draw(np.random.default_rng(0), SPACE, 2000), rows)  # seeded


# Drawn with random.Random(42) before sample_unit stopped going through Box: seeded searches
# (random search, `searcher sample`) must keep drawing exactly these coordinates.
PINNED = [
    {
        "lr": 0.6394267984578837,
        "x": 0.025010755222666936,
        "opt": 0.5,
        "layers": 0.24489185380347622,
    },
    {"lr": 0.1395379285251439, "x": 0.1024951761715075, "opt": 5 / 6, "layers": 0.8921795677048454},
    {
        "lr": 0.08693883262941615,
        "x": 0.4219218196852704,
        "opt": 1 / 6,
        "layers": 0.09369523986159245,
    },
]


def test_sample_unit_draws_the_pinned_coordinates() -> None:
    rng = random.Random(42)
    assert [SPACE.sample_unit(rng) for _ in range(3)] == PINNED
    full = Box.full(SPACE)
    a, b = random.Random(7), random.Random(7)
    for _ in range(50):
        assert SPACE.sample_unit(a) == full.sample(b, SPACE)


def test_grid_is_the_product_with_fixed_values() -> None:
    space = SearchSpace.from_mapping(
        {"a": {"scale": "linear", "low": 0, "high": 1}, "b": [1, 2], "c": "z"}
    )
    assert space.grid(3) == [{"a": a, "b": b, "c": "z"} for a in (0.0, 0.5, 1.0) for b in (1, 2)]


def test_box_serialises_to_json_and_reads_as_values() -> None:
    box = Box({"lr": (0.375, 0.625), "x": (0.125, 0.625), "layers": (0.0, 1.0)}, {"opt": (0, 1)})
    assert Box.from_dict(json.loads(json.dumps(box.to_dict()))) == box
    assert box.to_values(SPACE)["opt"] == "{adam, sgd}"
    assert box.contains({"lr": 0.5, "x": 0.2, "layers": 0.9, "opt": 0.5}, SPACE)
    assert not box.contains({"lr": 0.5, "x": 0.7, "layers": 0.9, "opt": 0.5}, SPACE)
    assert not box.contains({"lr": 0.5, "x": 0.2, "layers": 0.9, "opt": 0.9}, SPACE)
    full = Box.full(SPACE).to_values(SPACE)
    assert full == {
        "lr": "[0.0001, 0.1]",
        "x": "[0, 1]",
        "opt": "{adam, sgd, rmsprop}",
        "layers": "[1, 4]",
    }


def test_edge_warnings() -> None:
    lr = SPACE.params["lr"]
    best = {"lr": lr.to_unit(0.0998), "x": 0.5, "opt": 0.01, "layers": 0.5}
    assert edge_warnings(SPACE, best) == [
        "lr=0.0998 is at the upper edge of its range log [0.0001, 0.1]; widen the range"
    ]
    best = {"lr": 0.5, "x": 0.02, "opt": 0.99, "layers": 0.1}
    assert edge_warnings(SPACE, best) == [
        "x=0.02 is at the lower edge of its range linear [0, 1]; widen the range",
        "layers=1 is at the lower edge of its range int [1, 4]; widen the range",
    ]
    assert edge_warnings(SPACE, {"lr": 0.5, "x": 0.5, "opt": 0.5, "layers": 0.5}) == []
