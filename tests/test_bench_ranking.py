"""bench/ranking.py: the ranks and tests bench/quality.py's suites report."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from ranking import against, friedman, holm, mean_ranks, normalised  # noqa: E402


def test_mean_ranks_share_ties_and_rank_lower_first() -> None:
    scores = {"a": [1.0, 2.0, 5.0], "b": [2.0, 2.0, 1.0], "c": [3.0, 9.0, 3.0]}
    # Block 1: a 1, b 2, c 3; block 2: a and b tie at 1.5, c 3; block 3: b 1, c 2, a 3.
    assert mean_ranks(scores) == pytest.approx({"a": 5.5 / 3, "b": 4.5 / 3, "c": 8 / 3})


def test_friedman_matches_scipy_and_sees_a_real_difference() -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(3, 40))
    scores = {"good": noise[0] - 1.0, "mid": noise[1], "bad": noise[2] + 1.0}
    assert friedman(scores) == pytest.approx(stats.friedmanchisquare(*scores.values()).pvalue)
    assert friedman(scores) < 1e-6
    same = {"x": noise[0], "y": noise[0], "z": noise[0]}
    assert friedman(same) == 1.0


def test_holm_adjusts_step_down_and_stays_monotone() -> None:
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5]) == [0.5]
    assert holm([0.9, 0.8]) == [1.0, 1.0]  # 0.8 doubled is capped at 1


def test_against_says_who_is_ahead_and_whether_it_is_real() -> None:
    rng = np.random.default_rng(1)
    mine = rng.normal(size=60)
    scores = {"me": mine, "worse": mine + 0.5 + 0.1 * rng.normal(size=60), "same": mine}
    by_name = {c.name: c for c in against("me", scores)}
    assert not by_name["worse"].ahead and by_name["worse"].p < 1e-6
    assert by_name["same"].p == 1.0
    better = {"me": mine, "better": mine - 0.5}
    (only,) = against("me", better)
    assert only.ahead and only.p < 1e-6
    # More blocks lost by a little than won by a lot: the signed ranks, as the test weighs
    # them, say the reference is ahead (lower is better; me minus them > 0: they win).
    lopsided = np.array([-1.0] * 60 + [10.0] * 50)  # they lose 60 blocks by 1, win 50 by 10
    (weighed,) = against("me", {"me": lopsided, "them": np.zeros(110)})
    assert weighed.ahead and weighed.p < 0.01


def test_normalised_score_is_bayesmarks() -> None:
    assert normalised(best=0.1, random_median=0.5, best_known=0.1) == 100.0
    assert normalised(best=0.5, random_median=0.5, best_known=0.1) == 0.0
    assert normalised(best=0.3, random_median=0.5, best_known=0.1) == pytest.approx(50.0)
    assert normalised(best=0.7, random_median=0.5, best_known=0.1) == pytest.approx(-50.0)
    assert normalised(best=0.9, random_median=0.5, best_known=0.499) == -100.0, "clipped"
    assert normalised(best=0.2, random_median=0.2, best_known=0.2) == 100.0
