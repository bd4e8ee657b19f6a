"""Latin hypercube coarse stages and the models that pick a zoom trial's point."""

from __future__ import annotations

import math
import random

import pytest

from search_spaces.latin import latin_point, latin_slices
from search_spaces.space import SearchSpace
from search_spaces.surrogate import KernelSmoother, SeparableQuadratic, fit_model

SPACE = SearchSpace.from_mapping(
    {"x": {"scale": "linear", "low": 0, "high": 1}, "y": {"scale": "log", "low": 1e-4, "high": 1},
     "opt": ["adam", "sgd", "rmsprop", "adagrad"], "epochs": 3}
)  # fmt: skip


@pytest.mark.parametrize("trials", [1, 7, 20])
def test_latin_points_put_one_trial_in_each_slice(trials: int) -> None:
    points = [
        latin_point(SPACE, latin_slices(SPACE, 5, 1, trials), i, random.Random(f"t{i}"))
        for i in range(trials)
    ]
    for name in ("x", "y"):
        slices = sorted(math.floor(p[name] * trials) for p in points)
        assert slices == list(range(trials)), name
    # Choices are stratified too: 20 trials over 4 categories give 5 each.
    if trials == 20:
        counts = [
            sum(SPACE.params["opt"].category(p["opt"]) == c for p in points) for c in range(4)
        ]
        assert counts == [5, 5, 5, 5]
    again = [
        latin_point(SPACE, latin_slices(SPACE, 5, 1, trials), i, random.Random(f"t{i}"))
        for i in range(trials)
    ]
    assert again == points
    other = [
        latin_point(SPACE, latin_slices(SPACE, 6, 1, trials), i, random.Random(f"t{i}"))
        for i in range(trials)
    ]
    assert trials == 1 or other != points


def _bowl(n: int, noise: float, seed: int) -> tuple[list[dict[str, float]], list[float]]:
    rng = random.Random(seed)
    points = [{"x": rng.random(), "y": rng.random()} for _ in range(n)]
    scores = [(p["x"] - 0.3) ** 2 + 2 * (p["y"] - 0.6) ** 2 + rng.gauss(0, noise) for p in points]
    return points, scores


def test_the_quadratic_finds_a_noisy_bowls_minimum() -> None:
    points, scores = _bowl(60, noise=0.02, seed=1)
    centre = {"x": 0.5, "y": 0.5}
    model = SeparableQuadratic.fit(points, scores, centre, {"x": 0.5, "y": 0.5})
    assert model is not None
    grid = [{"x": i / 50, "y": j / 50} for i in range(51) for j in range(51)]
    best = min(grid, key=model.predict)
    assert best["x"] == pytest.approx(0.3, abs=0.06)
    assert best["y"] == pytest.approx(0.6, abs=0.06)


def test_cross_validation_picks_the_quadratic_on_a_bowl_and_the_smoother_on_ripples() -> None:
    half = {"x": 0.5, "y": 0.5}
    bandwidths = {"x": 0.05, "y": 0.05}
    points, scores = _bowl(60, noise=0.02, seed=2)
    bowl = fit_model(points, scores, {"x": 0.5, "y": 0.5}, half, bandwidths)
    assert isinstance(bowl, SeparableQuadratic)
    rng = random.Random(3)
    points = [{"x": rng.random(), "y": rng.random()} for _ in range(200)]
    ripples = [math.sin(25 * p["x"]) + math.sin(25 * p["y"]) for p in points]
    model = fit_model(points, ripples, {"x": 0.5, "y": 0.5}, half, bandwidths)
    assert isinstance(model, KernelSmoother)


def test_too_few_trials_near_the_region_leave_the_smoother() -> None:
    points, scores = _bowl(6, noise=0.0, seed=4)  # a quadratic in 2 parameters needs 7
    model = fit_model(points, scores, {"x": 0.5, "y": 0.5}, {"x": 0.5, "y": 0.5},
                      {"x": 0.1, "y": 0.1})  # fmt: skip
    assert isinstance(model, KernelSmoother)
    # Far from every trial the smoother falls back towards the mean score.
    far = KernelSmoother(tuple(points), tuple(scores), {"x": 1e-3, "y": 1e-3})
    assert far.predict({"x": 0.123456, "y": 0.654321}) == pytest.approx(sum(scores) / len(scores))
