"""Zoom regions on hand-made results: centre, per-parameter widths, pad, categories, sampling."""

from __future__ import annotations

import statistics

import numpy as np
import pytest
from scipy import stats

from search_spaces.space import SearchSpace
from search_spaces.trial import TrialResult, ranked
from search_spaces.zoom import INITIAL_SIDE, MIN_SIDE, SHRINK, Region, next_side, zoom_region

SPACE = SearchSpace.from_mapping(
    {"x": {"scale": "linear", "low": 0, "high": 1}, "y": {"scale": "linear", "low": 0, "high": 1},
     "opt": ["adam", "sgd", "rmsprop"], "epochs": 2}
)  # fmt: skip


def result(key: str, x: float, y: float, opt: int, score: float | None) -> TrialResult:
    unit = {"x": x, "y": y, "opt": (opt + 0.5) / 3}
    return TrialResult(key, 1, unit, SPACE.to_values(unit), score)


# The top three agree on x (0.47 to 0.56) and disagree on y (0.1, 0.5, 0.9).
RESULTS = [
    result("1-000", 0.50, 0.50, 0, 0.9),
    result("1-001", 0.56, 0.90, 1, 0.8),
    result("1-002", 0.47, 0.10, 0, 0.7),
    result("1-003", 0.05, 0.95, 2, 0.1),
    result("1-004", 0.95, 0.05, 2, 0.2),
    result("1-005", 0.20, 0.70, 2, None),  # failed: ranked() drops it
]
FINISHED = ranked(RESULTS, "max")


def test_centre_averages_where_the_top_three_agree_with_the_best() -> None:
    region = zoom_region(SPACE, FINISHED, side=0.4, keep_top=0.1, pad=0.0)
    assert region.centre["x"] == pytest.approx((0.50 + 0.56 + 0.47) / 3)
    # y: the others lie 0.4 from the best, beyond half the side; the best's own value stays.
    assert region.centre["y"] == 0.50


def test_widths_follow_the_spread_of_the_top_trials() -> None:
    region = zoom_region(SPACE, FINISHED, side=0.4, keep_top=0.1, pad=0.0)
    # keep_top 0.1 of 5 is one trial, raised to the minimum of three.
    assert region.narrow["x"] == region.wide["x"] == 0.4  # they agree: the side wins
    # y: distances 0, 0.4, 0.4 from the centre -> median 0.4 -> narrow 0.8;
    # pstdev(0.5, 0.9, 0.1) = 0.3266 -> wide 1.306.
    assert region.narrow["y"] == pytest.approx(0.8)
    assert region.wide["y"] == pytest.approx(4 * statistics.pstdev([0.5, 0.9, 0.1]))
    box = region.box()
    assert box.intervals["x"] == pytest.approx((region.centre["x"] - 0.2, region.centre["x"] + 0.2))
    assert box.intervals["y"] == (0.0, 1.0)  # clipped to the unit interval


def test_pad_widens_every_range_on_both_sides() -> None:
    plain = zoom_region(SPACE, FINISHED, side=0.1, keep_top=0.1, pad=0.0)
    padded = zoom_region(SPACE, FINISHED, side=0.1, keep_top=0.1, pad=0.05)
    for name in ("x", "y"):
        assert padded.narrow[name] == pytest.approx(plain.narrow[name] + 0.1)
        assert padded.wide[name] == pytest.approx(plain.wide[name] + 0.1)


def test_keep_top_counts_the_trials_that_size_ranges_and_categories() -> None:
    three = zoom_region(SPACE, FINISHED, side=0.1, keep_top=0.5, pad=0.0)
    assert three.categories == {"opt": (0, 1)}  # ceil(0.5 * 5) = 3 trials: adam, sgd, adam
    everyone = zoom_region(SPACE, FINISHED, side=0.1, keep_top=1.0, pad=0.0)
    assert everyone.categories == {"opt": (0, 1, 2)}
    assert everyone.wide["x"] > three.wide["x"]
    assert everyone.box().to_values(SPACE)["opt"] == "{adam, sgd, rmsprop}"


def test_no_finished_trial_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one finished trial"):
        zoom_region(SPACE, [], side=0.4, keep_top=0.3, pad=0.0)


def test_the_side_shrinks_only_after_a_zoom_that_did_not_improve() -> None:
    assert next_side(None, improved=True) == INITIAL_SIDE
    assert next_side(0.4, improved=True) == 0.4
    assert next_side(0.4, improved=False) == pytest.approx(0.4 * SHRINK) and SHRINK < 1
    assert next_side(MIN_SIDE * 1.2, improved=False) == MIN_SIDE


def test_samples_are_truncated_normals_inside_the_region() -> None:
    region = Region({"x": 0.5, "y": 0.95}, {"x": 0.4, "y": 0.4}, {"x": 0.8, "y": 0.8},
                    {"opt": (1, 2)})  # fmt: skip
    gen = np.random.default_rng(0)
    assert SPACE.tuned_names == ["x", "y", "opt"]  # the columns' order
    narrow = region.draw(gen, SPACE, False, 3000)
    xs = narrow[:, 0]
    assert xs.min() >= 0.3 and xs.max() <= 0.7
    # Normal(0.5, 0.1) truncated at +-2 sd: a KS test against exactly that.
    law = stats.truncnorm(-2, 2, loc=0.5, scale=0.1)
    assert stats.kstest(xs, law.cdf).pvalue > 0.001
    # Near the edge the range is cut at 1: nothing outside [0.75, 1].
    ys = narrow[:, 1]
    assert ys.min() >= 0.75 and ys.max() <= 1.0
    wide = region.draw(gen, SPACE, True, 3000)[:, 0]
    assert wide.std() == pytest.approx(2 * xs.std(), rel=0.1)
    cats = [SPACE.params["opt"].category(u) for u in narrow[:, 2]]
    assert set(cats) == {1, 2}
    assert stats.chisquare(np.bincount(cats)[1:]).pvalue > 0.001
