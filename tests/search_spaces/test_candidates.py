"""How a zoom trial chooses its point: candidates in the region, exploring ones across the
whole space, local steps and moves to the ends of the ranges."""

from __future__ import annotations

import random

import numpy as np

from search_spaces.box import Box
from search_spaces.candidates import choose, in_region, refined
from search_spaces.space import SearchSpace
from search_spaces.surrogate import StageModel
from search_spaces.zoom import Region

SPACE = SearchSpace.from_mapping(
    {"x": {"scale": "linear", "low": 0, "high": 1}, "y": {"scale": "linear", "low": 0, "high": 1}}
)
BOX = Box({"x": (0.2, 0.6), "y": (0.3, 0.7)}, {})
WHOLE = Box.full(SPACE)
REGION = Region({"x": 0.4, "y": 0.5}, {"x": 0.2, "y": 0.2}, {"x": 0.4, "y": 0.4}, {})


def sloped_model() -> StageModel:
    """Scores (lower better) that fall with x and ignore y: the best is at x = 1."""
    rng = random.Random(0)
    points = [{"x": rng.uniform(0.0, 0.6), "y": rng.random()} for _ in range(20)]
    model = StageModel.fit(
        points, [1.0 - p["x"] for p in points], REGION.centre, {"x": 0.2, "y": 0.2}
    )  # fmt: skip
    assert model is not None
    return model


def test_a_trial_that_does_not_explore_stays_in_its_box_and_reaches_its_edge() -> None:
    """The favourite moved to the end of its range: x lands exactly on the box's top, which
    no truncated normal or uniform draw does."""
    model = sloped_model()
    for seed in range(5):
        rng = random.Random(seed)
        point = choose(model, in_region(REGION, BOX, SPACE, rng), BOX, WHOLE, SPACE, rng, False)
        assert BOX.contains(point, SPACE)
        assert point["x"] == 0.6


def test_an_exploring_trial_leaves_the_box_where_the_model_expects_more() -> None:
    model = sloped_model()
    for seed in range(5):
        rng = random.Random(seed)
        point = choose(model, in_region(REGION, BOX, SPACE, rng), BOX, WHOLE, SPACE, rng, True)
        assert not BOX.contains(point, SPACE)
        assert point["x"] == 1.0  # the whole range's end


def test_the_choice_depends_only_on_the_stream_and_the_model() -> None:
    model = sloped_model()
    picks = []
    for _ in range(2):
        rng = random.Random(7)
        picks.append(
            choose(model, in_region(REGION, BOX, SPACE, rng), BOX, WHOLE, SPACE, rng, True)
        )
    assert picks[0] == picks[1]


def test_the_choice_is_the_best_rated_of_every_point_weighed() -> None:
    """Nothing weighed beats the point chosen, by the model's own rating."""
    rng = random.Random(3)
    model = StageModel.fit(
        [{"x": u, "y": v} for u, v in random.Random(1).sample([(i / 9, (i * 7 % 10) / 9)
                                                              for i in range(10)], 10)],
        [((i / 9) - 0.45) ** 2 for i in range(10)], REGION.centre, {"x": 0.2, "y": 0.2},
    )  # fmt: skip
    assert model is not None
    drawn = in_region(REGION, BOX, SPACE, rng)
    state = rng.getstate()
    point = choose(model, drawn, BOX, WHOLE, SPACE, rng, False)
    replay = random.Random()
    replay.setstate(state)
    rated = model.acquisition(drawn)
    favourites = [drawn[i] for i in np.argsort(-rated, kind="stable")[:4]]
    weighed = drawn + refined(favourites, BOX, WHOLE, SPACE, replay)
    assert point in weighed
    assert model.acquisition([point])[0] >= model.acquisition(weighed).max() - 1e-12


def test_refining_steps_stay_in_the_range_of_their_favourite() -> None:
    inside = {"x": 0.59, "y": 0.31}
    outside = {"x": 0.95, "y": 0.05}
    near = refined([inside], BOX, WHOLE, SPACE, random.Random(0))
    assert all(BOX.contains(p, SPACE) for p in near)
    assert {"x": 0.6, "y": 0.31} in near and {"x": 0.59, "y": 0.3} in near  # moved to the edges
    far = refined([outside], BOX, WHOLE, SPACE, random.Random(0))
    assert any(not BOX.contains(p, SPACE) for p in far)
    assert {"x": 1.0, "y": 0.05} in far and {"x": 0.95, "y": 0.0} in far
