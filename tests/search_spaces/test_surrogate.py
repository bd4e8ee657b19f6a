"""Latin hypercube coarse stages and the models that pick a zoom trial's point."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from search_spaces import surrogate
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


def test_the_quadratic_recovers_a_noiseless_quadratics_coefficients() -> None:
    # Without the ridge the fit is exact; with it the intercept is free and only slopes and
    # curvatures shrink, so compare against the ridge solution written out by hand in numpy.
    rng = np.random.default_rng(5)
    centre, scale = {"x": 0.4, "y": 0.5, "w": 0.6}, {"x": 0.2, "y": 0.5, "w": 0.1}
    truth = np.array([0.7, -1.5, 0.25, 2.0, 3.0, 0.5, 1.25])  # a, b_x, b_y, b_w, c_x, c_y, c_w
    points = [dict(zip(centre, row, strict=True)) for row in rng.uniform(0, 1, (40, 3))]
    z = np.array([[(p[n] - c) / scale[n] for n, c in centre.items()] for p in points])
    features = np.hstack([np.ones((40, 1)), z, z * z])
    scores = list(features @ truth)
    model = SeparableQuadratic.fit(points, scores, centre, scale)
    assert model is not None
    penalty = np.diag([0.0] + [surrogate.RIDGE] * 6)
    ridge = np.linalg.solve(features.T @ features + penalty, features.T @ np.array(scores))
    np.testing.assert_allclose(model.weights, ridge, rtol=0, atol=1e-8)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(surrogate, "RIDGE", 0.0)
        exact = SeparableQuadratic.fit(points, scores, centre, scale)
    assert exact is not None
    np.testing.assert_allclose(exact.weights, truth, rtol=0, atol=1e-8)
    assert exact.predict({"x": 0.1, "y": 0.9, "w": 0.3}) == pytest.approx(
        float(np.array([1, -1.5, 0.8, -3, 2.25, 0.64, 9]) @ truth), abs=1e-8
    )


def test_a_degenerate_quadratic_fit_gives_none() -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(surrogate, "RIDGE", 0.0)
        same = [{"x": 0.5}] * 5  # z is constant: the intercept and the slope are not identified
        assert SeparableQuadratic.fit(same, [1.0] * 5, {"x": 0.5}, {"x": 0.5}) is None
    assert SeparableQuadratic.fit([{"x": 0.5}] * 5, [math.nan] * 5, {"x": 0.5}, {"x": 0.5}) is None


def test_the_smoother_matches_its_definition() -> None:
    rng = random.Random(6)
    points = tuple({"x": rng.random(), "y": rng.random()} for _ in range(30))
    scores = tuple(rng.gauss(0, 1) for _ in points)
    bandwidths = {"x": 0.1, "y": 0.3}

    def by_hand(unit: dict[str, float], pts: tuple, ys: tuple) -> float:
        w = [
            math.exp(-0.5 * sum(((unit[n] - p[n]) / h) ** 2 for n, h in bandwidths.items()))
            for p in pts
        ]
        mean = sum(ys) / len(ys)
        return (surrogate.PRIOR_WEIGHT * mean + sum(a * b for a, b in zip(w, ys, strict=True))) / (
            surrogate.PRIOR_WEIGHT + sum(w)
        )

    smoother = KernelSmoother(points, scores, bandwidths)
    unit = {"x": 0.3, "y": 0.7}
    assert smoother.predict(unit) == pytest.approx(by_hand(unit, points, scores), abs=1e-12)
    # Leave-one-out: each trial predicted from the others alone, also in small row blocks.
    expected = [
        by_hand(points[i], points[:i] + points[i + 1 :], scores[:i] + scores[i + 1 :])
        for i in range(30)
    ]
    indices = np.array([0, 3, 7, 29, 12])
    np.testing.assert_allclose(smoother.held_out(indices), np.take(expected, indices), atol=1e-12)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(surrogate, "BLOCK", 1)
        np.testing.assert_allclose(smoother.held_out(np.arange(30)), expected, rtol=0, atol=1e-12)


# What the pure-Python Gauss-Jordan solver chose (quadratic or kernel) before the move to
# numpy, per seed: bowls of 12, 30 and 60 trials with noise 0.02, the same with noise 0.2, then
# 80 trials of ripples.
CHOICES_BEFORE = [
    "qqqkqqk", "qqqqqqk", "qqqqqqk", "qqqqqqk", "qqqqqqk", "qqqkqqk",
    "qqqkkkk", "qqqqqqk", "qqqkqqk", "qqqqkqk", "qqqkqqk", "qqqqqqk",
]  # fmt: skip


@pytest.mark.parametrize("seed", range(len(CHOICES_BEFORE)))
def test_cross_validation_makes_the_choices_it_made_before_numpy(seed: int) -> None:
    centre, half, bandwidths = {"x": 0.5, "y": 0.5}, {"x": 0.5, "y": 0.5}, {"x": 0.05, "y": 0.05}
    cases = [_bowl(n, noise, seed) for noise in (0.02, 0.2) for n in (12, 30, 60)]
    rng = random.Random(seed)
    points = [{"x": rng.random(), "y": rng.random()} for _ in range(80)]
    cases.append((points, [math.sin(25 * p["x"]) + math.sin(25 * p["y"]) for p in points]))
    models = [fit_model(p, s, centre, half, bandwidths) for p, s in cases]
    assert "".join(m.name[0] for m in models) == CHOICES_BEFORE[seed]
    # Same inputs, same model, weights and all.
    assert [fit_model(p, s, centre, half, bandwidths) for p, s in cases] == models
