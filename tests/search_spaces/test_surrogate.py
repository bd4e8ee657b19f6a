"""Latin hypercube coarse stages, and the Gaussian process that picks a zoom trial's point."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from scipy import stats
from scipy.optimize import approx_fprime

from search_spaces import gaussian_process, surrogate
from search_spaces.gaussian_process import (
    FANTASY_NOISE,
    JITTER,
    GaussianProcess,
    _matern,
    _neg_log_posterior,
    log_expected_improvement,
    squared_differences,
)
from search_spaces.latin import latin_point, latin_slices
from search_spaces.space import SearchSpace
from search_spaces.surrogate import StageModel

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


def _xy(points: list[dict[str, float]]) -> np.ndarray:
    return np.array([[p["x"], p["y"]] for p in points])


def test_the_likelihoods_gradient_is_its_derivative() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((25, 3))
    y = np.sin(5 * x[:, 0]) + x[:, 1] ** 2 + 0.05 * rng.standard_normal(25)
    y = (y - y.mean()) / y.std()
    theta = np.array([-0.5, 0.2, 0.1, 0.3, -3.0])
    squares = squared_differences(x)
    numeric = approx_fprime(theta, lambda t: _neg_log_posterior(t, squares, y)[0], 1e-6)
    analytic = _neg_log_posterior(theta, squares, y)[1]
    np.testing.assert_allclose(analytic, numeric, rtol=1e-4, atol=1e-4)


def test_the_gp_predicts_a_smooth_function_it_has_not_seen() -> None:
    points, scores = _bowl(40, noise=0.0, seed=1)
    gp = GaussianProcess.fit(_xy(points), np.array(scores))
    held_out, truth = _bowl(200, noise=0.0, seed=2)
    mean, sd = gp.predict(_xy(held_out))
    assert stats.pearsonr(mean, truth).statistic > 0.99
    # Uncertain far from the trials (a corner none is near), sure at them.
    _, at_trials = gp.predict(_xy(points))
    _, far = gp.predict(np.array([[3.0, 3.0]]))
    assert at_trials.max() < 0.2 < far[0]
    again = GaussianProcess.fit(_xy(points), np.array(scores))
    assert np.array_equal(again.lengths, gp.lengths), "the same trials, the same model"


def test_kept_hyperparameters_condition_on_new_trials_without_a_fit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A zoom stage between refits keeps the last fit's hyperparameters: its model is the
    last fit's kernel on all of today's trials, and no likelihood is optimised."""
    points, scores = _bowl(20, noise=0.01, seed=4)
    earlier = GaussianProcess.fit(_xy(points[:12]), np.array(scores[:12]))
    monkeypatch.setattr(
        gaussian_process, "minimize", lambda *a, **k: pytest.fail("the kept fit optimised")
    )
    kept = GaussianProcess.fit(_xy(points), np.array(scores), earlier.hyperparameters)
    assert np.array_equal(kept.lengths, earlier.lengths) and kept.noise == earlier.noise
    assert len(kept.y) == 20
    # What it predicts at the new trials is what the full formula gives with that kernel.
    y = (np.array(scores) - np.mean(scores)) / np.std(scores)
    x = _xy(points)
    cov = _matern(x, x, kept.lengths, kept.signal) + (kept.noise + JITTER) * np.eye(20)
    np.testing.assert_allclose(kept.predict(x)[0], _matern(x, x, kept.lengths, kept.signal)
                               @ np.linalg.solve(cov, y), atol=1e-9)  # fmt: skip
    # Hyperparameters of another width are not kept: the fit runs.
    monkeypatch.undo()
    wider = GaussianProcess.fit(np.hstack([x, x[:, :1]]), np.array(scores), earlier.hyperparameters)
    assert len(wider.lengths) == 3


def test_a_believed_point_is_a_refit_that_saw_its_own_mean_there() -> None:
    points, scores = _bowl(20, noise=0.01, seed=3)
    gp = GaussianProcess.fit(_xy(points), np.array(scores))
    point = np.array([0.9, 0.1])
    believed = gp.believe(point)
    mean, sd = gp.predict(point[None, :])
    # The same as the factor of the kernel matrix built whole, the believed point noiseless.
    x = np.vstack([gp.x, point])
    cov = _matern(x, x, gp.lengths, gp.signal) + np.diag(
        [gp.noise + JITTER] * len(gp.y) + [FANTASY_NOISE]
    )
    np.testing.assert_allclose(believed.chol, np.linalg.cholesky(cov), atol=1e-9)
    np.testing.assert_allclose(believed.y, np.append(gp.y, mean))
    assert believed.predict(point[None, :])[1][0] < sd[0] / 10
    np.testing.assert_allclose(believed.predict(point[None, :])[0], mean, atol=1e-6)
    # Far from the point nothing changes.
    np.testing.assert_allclose(
        believed.predict(np.array([[0.0, 1.0]]))[1],
        gp.predict(np.array([[0.0, 1.0]]))[1],
        rtol=1e-3,
    )


def test_log_expected_improvement_matches_its_formula_and_stays_finite_in_the_tail() -> None:
    z = np.array([-30.0, -8.0, -6.01, -5.99, -2.0, 0.0, 1.5, 4.0])
    sd = np.full(len(z), 0.7)
    mean = -z * sd  # incumbent 0: z = (0 - mean) / sd
    exact = np.log(sd * (z * stats.norm.cdf(z) + stats.norm.pdf(z)))
    got = log_expected_improvement(mean, sd, 0.0)
    assert np.all(np.isfinite(got)) and np.all(np.diff(got) > 0), "finite and rising in z"
    np.testing.assert_allclose(got[1:], exact[1:], rtol=1e-9)
    # Where scipy's own terms underflow, the value still falls like log phi(z) - 2 log|z|.
    assert got[0] == pytest.approx(-0.5 * 30**2 - 0.5 * math.log(2 * math.pi) - 2 * math.log(30)
                                   + math.log(0.7), abs=0.01)  # fmt: skip


def test_a_stage_model_needs_two_finite_scores() -> None:
    centre, half = {"x": 0.5, "y": 0.5}, {"x": 0.5, "y": 0.5}
    points, scores = _bowl(5, noise=0.0, seed=5)
    assert StageModel.fit(points[:1], scores[:1], centre, half) is None
    assert StageModel.fit(points, [*scores[:4], math.nan], centre, half) is None
    assert StageModel.fit(points, scores, centre, half) is not None


def test_a_stage_picks_by_expected_improvement_and_spreads_its_picks() -> None:
    points, scores = _bowl(30, noise=0.01, seed=6)
    model = StageModel.fit(points, scores, {"x": 0.3, "y": 0.6}, {"x": 0.3, "y": 0.3})
    assert model is not None
    rng = random.Random(7)
    candidates = [{"x": rng.random(), "y": rng.random()} for _ in range(300)]
    expected = np.argmax(
        log_expected_improvement(*model._gp.predict(_xy(candidates)), model._incumbent)
    )
    first = model.pick(candidates)
    assert first == expected
    assert model.pick(candidates) == first, "picking alone changes nothing"
    model.believe(candidates[first])
    assert math.dist((candidates[first]["x"], candidates[first]["y"]), (0.3, 0.6)) < 0.15
    # Told its own mean at each pick, the model does not pick the same point again: five
    # picks from fresh candidates (as a stage's trials draw them) spread around the optimum.
    picks = [candidates[first]]
    for _ in range(4):
        fresh = [{"x": rng.random(), "y": rng.random()} for _ in range(300)]
        picks.append(fresh[model.pick(fresh)])
        model.believe(picks[-1])
    pairs = [math.dist(a.values(), b.values()) for i, a in enumerate(picks) for b in picks[:i]]
    assert min(pairs) > 0.01
    assert all(math.dist(p.values(), (0.3, 0.6)) < 0.2 for p in picks)


def test_beyond_its_cap_the_model_keeps_the_trials_nearest_the_centre(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(surrogate, "FIT_TRIALS", 10)
    points, scores = _bowl(60, noise=0.0, seed=8)
    centre, half = {"x": 0.3, "y": 0.6}, {"x": 0.1, "y": 0.2}
    model = StageModel.fit(points, scores, centre, half)
    assert model is not None and len(model._gp.y) == 10
    far = sorted(max(abs(p["x"] - 0.3) / 0.1, abs(p["y"] - 0.6) / 0.2) for p in points)
    kept = np.max(np.abs((model._gp.x - [0.3, 0.6]) / [0.1, 0.2]), axis=1)
    np.testing.assert_allclose(np.sort(kept), far[:10])


def test_a_stage_model_stops_growing_past_its_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(surrogate, "MAX_BELIEVED", 2)
    points, scores = _bowl(10, noise=0.0, seed=9)
    model = StageModel.fit(points, scores, {"x": 0.5, "y": 0.5}, {"x": 0.5, "y": 0.5})
    assert model is not None
    for p in _bowl(5, noise=0.0, seed=10)[0]:
        model.believe(p)
    assert len(model._gp.y) == 12


def test_a_choice_enters_the_model_as_one_column_per_category() -> None:
    """A 4-way choice is four 0/1 columns, a 2-way one a single column, a 1-way none."""
    two = SearchSpace.from_mapping({"flag": [False, True], "only": ["a"], "x": [0, 1]})
    scales = {n: SPACE.params[n] for n in ("opt",)} | {n: two.params[n] for n in ("flag", "only")}
    columns = surrogate.Columns(("x",), tuple(scales.items()))
    assert columns.width == 1 + 4 + 1
    opt, flag = SPACE.params["opt"], two.params["flag"]
    points = [
        {"x": 0.25, "opt": opt.to_unit("sgd"), "flag": flag.to_unit(True), "only": 0.5},
        {"x": 0.75, "opt": opt.to_unit("adagrad"), "flag": flag.to_unit(False), "only": 0.5},
    ]
    np.testing.assert_array_equal(
        columns.matrix(points), [[0.25, 0, 1, 0, 0, 1], [0.75, 0, 0, 0, 1, 0]]
    )


def test_a_stage_model_learns_what_a_choice_is_worth() -> None:
    """The score depends on the category alone: told of it, the model picks the best category;
    on numeric parameters alone it could not tell the candidates apart."""
    opt = SPACE.params["opt"]
    worth = {"adam": 0.0, "sgd": 1.0, "rmsprop": 2.0, "adagrad": 3.0}
    rng = random.Random(11)
    points, scores = [], []
    for _ in range(24):
        name = rng.choice(list(worth))
        points.append({"x": rng.random(), "y": rng.random(), "opt": opt.to_unit(name)})
        scores.append(worth[name] + rng.gauss(0, 0.05))
    centre, half = {"x": 0.5, "y": 0.5}, {"x": 0.5, "y": 0.5}
    model = StageModel.fit(points, scores, centre, half, {"opt": opt})
    assert model is not None
    for name in ("sgd", "rmsprop", "adagrad"):
        candidates = [{"x": 0.5, "y": 0.5, "opt": opt.to_unit(name)},
                      {"x": 0.5, "y": 0.5, "opt": opt.to_unit("adam")}]  # fmt: skip
        assert model.pick(candidates) == 1, name
    mean, _ = model._gp.predict(model.columns.matrix([
        {"x": 0.5, "y": 0.5, "opt": opt.to_unit(n)} for n in worth
    ]))  # fmt: skip
    assert list(np.argsort(mean)) == [0, 1, 2, 3]


def test_an_integer_enters_the_model_at_its_value_s_coordinate() -> None:
    """Two trials that ran the same batch size are one point to the model, not two points
    whose different scores look like noise; a float parameter is left as it is."""
    space = SearchSpace.from_mapping(
        {"batch": {"scale": "pow2", "low": 16, "high": 256},
         "depth": {"scale": "int_log", "low": 1, "high": 64},
         "x": {"scale": "linear", "low": 0, "high": 1}}
    )  # fmt: skip
    scales = space.params
    integers = (("batch", scales["batch"]), ("depth", scales["depth"]))
    columns = surrogate.Columns(("batch", "depth", "x"), (), integers)
    a, b = {"batch": 0.41, "depth": 0.50, "x": 0.3}, {"batch": 0.59, "depth": 0.51, "x": 0.3}
    assert space.to_values(a)["batch"] == space.to_values(b)["batch"] == 64
    assert space.to_values(a)["depth"] == space.to_values(b)["depth"]
    rows = columns.matrix([a, b])
    np.testing.assert_array_equal(rows[0], rows[1])
    assert rows[0, 0] == scales["batch"].to_unit(64) == 0.5
    assert surrogate.Columns(("x",)).matrix([a])[0, 0] == 0.3
