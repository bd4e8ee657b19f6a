"""Warm starts inside the strategies: which earlier trials a space can use and why not, the
shorter coarse stage, reruns first with their values exactly, the first zoom region from old
and new results, TPE's completed trials, a grid's skipped points, and the drift test."""

from __future__ import annotations

import math
import random

import pytest

from search_spaces.prior import (
    PRIOR_KEY,
    EarlierTrial,
    best_usable,
    drift,
    usable_trials,
)
from search_spaces.space import SearchSpace
from search_spaces.strategies import CoarseToFine, GridSearch, RandomSearch, stages_for
from search_spaces.strategies.base import Trial
from search_spaces.strategies.coarse_to_fine import WARM_COARSE
from search_spaces.trial import TrialResult, ranked
from search_spaces.zoom import next_side, zoom_region

SPACE = {
    "lr": {"scale": "log", "low": 1e-4, "high": 1e-1},
    "width": {"scale": "pow2", "low": 8, "high": 128},
    "epochs": 2,
}


def _score(params: dict) -> float:
    return -((math.log10(params["lr"]) + 2.5) ** 2) - 0.1 * (math.log2(params["width"]) - 5) ** 2


def _earlier(count: int, seed: int = 1) -> list[EarlierTrial]:
    """Trials of an earlier search over the same space, scored by _score."""
    space = SearchSpace.from_mapping(SPACE)
    rng = random.Random(seed)
    out = []
    for i in range(count):
        params = space.to_values(space.sample_unit(rng))
        out.append(EarlierTrial(f"1-{i:03d}", params, _score(params)))
    return out


def test_usable_trials_are_counted_with_their_reasons() -> None:
    space = SearchSpace.from_mapping(SPACE)
    trials = [
        EarlierTrial("1-000", {"lr": 0.01, "width": 32, "epochs": 5}, 0.9),  # epochs: fixed
        EarlierTrial("1-001", {"lr": 0.5, "width": 32}, 0.8),  # lr out of the new range
        EarlierTrial("1-002", {"lr": 0.3, "width": 64}, 0.7),
        EarlierTrial("1-003", {"lr": 0.001}, 0.6),  # width: a parameter added since
        EarlierTrial("1-004", {"lr": 0.001, "width": 24}, 0.5),  # not a power of two
        EarlierTrial("1-005", {"lr": 0.001, "width": 16}, None),  # failed
        EarlierTrial("1-006", {"lr": 0.001, "width": 16}, float("nan")),  # diverged
    ]
    prior = usable_trials(space, trials)
    assert [r.key for r in prior.usable] == [PRIOR_KEY + "1-000"]
    (used,) = prior.usable
    assert used.params == {"lr": 0.01, "width": 32, "epochs": 2}  # the new space's fixed value
    assert used.unit == space.to_unit({"lr": 0.01, "width": 32})
    assert used.stage == 0 and used.score == 0.9
    assert dict(prior.unusable) == {
        "had lr outside log [0.0001, 0.1]": 2,
        "had no value for width": 1,
        "had width outside pow2 [8, 128]": 1,
        "failed or recorded no score": 2,
    }
    assert prior.summary.startswith("1 of 7 earlier trials usable; 2 had lr outside")


def test_conditional_trials_are_usable_in_their_branch_only() -> None:
    space = SearchSpace.from_mapping(
        {
            "optimizer": {
                "scale": "choice",
                "values": {
                    "sgd": {"momentum": {"scale": "one_minus_log", "low": 0.5, "high": 0.99}},
                    "adam": {"beta1": {"scale": "one_minus_log", "low": 0.8, "high": 0.99}},
                },
            },
            "lr": {"scale": "log", "low": 1e-4, "high": 1e-1},
        }
    )
    prior = usable_trials(
        space,
        [
            EarlierTrial("1-000", {"optimizer": "sgd", "momentum": 0.9, "lr": 0.01}, 1.0),
            EarlierTrial("1-001", {"optimizer": "adam", "beta1": 0.9, "lr": 0.01}, 1.0),
            EarlierTrial("1-002", {"optimizer": "adam", "momentum": 0.9, "lr": 0.01}, 1.0),
            EarlierTrial("1-003", {"optimizer": "rmsprop", "lr": 0.01}, 1.0),
        ],
    )
    assert [r.key for r in prior.usable] == ["prior:1-000", "prior:1-001"]
    assert [space.branch_of(r.unit).label for r in prior.usable] == [
        "optimizer=sgd",
        "optimizer=adam",
    ]
    assert dict(prior.unusable) == {
        "had no value for beta1": 1,
        "had optimizer not in choice {sgd, adam}": 1,
    }


def test_a_warm_coarse_stage_is_shorter_by_the_usable_trials() -> None:
    cold = [s.trials for s in stages_for(30)]
    assert cold[0] == 10
    assert [s.trials for s in stages_for(30, prior=3)][0] == 7
    assert [s.trials for s in stages_for(30, prior=12)][0] == WARM_COARSE
    assert [s.trials for s in stages_for(30, prior=12, given=8)][0] == 8
    for prior in (0, 3, 12, 100):
        assert sum(s.trials for s in stages_for(30, prior=prior)) == 30


def _run(strategy, objective) -> list[Trial]:
    """Ask and tell until DONE, one trial at a time."""
    asked = []
    while isinstance(trial := strategy.ask(), Trial):
        asked.append(trial)
        strategy.tell(trial.key, objective(trial.params))
    return asked


def test_reruns_run_first_with_their_values_exactly() -> None:
    space = SearchSpace.from_mapping(SPACE)
    prior = usable_trials(space, _earlier(12))
    strategy = CoarseToFine(space, "max", 0, stages_for(20, prior=12, given=3))
    strategy.warm_start(prior.usable, reruns=3)
    best = best_usable(prior.usable, "max", 3)
    asked = _run(strategy, _score)
    assert strategy.reruns == {f"1-00{i}": best[i].key for i in range(3)}
    for i in range(3):
        tuned = {n: best[i].params[n] for n in ("lr", "width")}
        assert {n: asked[i].params[n] for n in tuned} == tuned  # exactly, not via unit
    assert len(asked) == 20
    assert sum(t.stage == 1 for t in asked) == WARM_COARSE
    assert strategy.best().key.startswith(("1-", "2-", "3-", "4-"))  # never a prior trial
    assert all(not r.key.startswith(PRIOR_KEY) for r in strategy.known_results)


@pytest.mark.parametrize("shift", [0.0, -0.7])
def test_first_zoom_region_is_from_prior_and_new_results(shift: float) -> None:
    """Stage 2's box is the zoom region of the earlier trials (the ones run again replaced by
    their reruns, the rest moved by the reruns' median change) and the coarse stage's."""
    space = SearchSpace.from_mapping(SPACE)
    prior = usable_trials(space, _earlier(12))
    stages = stages_for(20, prior=12, given=3)
    strategy = CoarseToFine(space, "max", 0, stages)
    strategy.warm_start(prior.usable, reruns=3)
    asked = _run(strategy, lambda p: _score(p) + shift)
    records = strategy.boxes
    coarse = [
        TrialResult.of(t, _score(t.params) + shift)
        for t in asked
        if t.stage == 1 and t.key in records[1].based_on
    ]
    rerun = set(strategy.reruns.values())
    moved = [
        TrialResult(p.key, p.stage, p.unit, p.params, p.score + shift)
        for p in prior.usable
        if p.key not in rerun
    ]
    evidence = ranked([*moved, *coarse], "max")
    assert set(records[1].based_on) == {r.key for r in evidence}
    spec = stages[1]
    region = zoom_region(space, evidence, next_side(None, True), spec.keep_top, spec.pad)
    assert records[1].box == region.box().to_dict()


def test_warm_start_beats_none_in_the_first_zoom_on_a_known_optimum() -> None:
    """With 12 earlier trials the first zoom stage centres nearer the optimum than cold, with
    trials in flight (the cold first zoom waits for 8 of its 10 coarse trials; with one
    worker it waits for all 10 and is as near, 10 trials in against the warm one's 5)."""
    space = SearchSpace.from_mapping(SPACE)
    optimum = space.to_unit({"lr": 10**-2.5, "width": 32})["lr"]
    gaps = {}
    for warm in (False, True):
        gap = []
        for seed in range(10):
            prior = usable_trials(space, _earlier(12, seed=100 + seed))
            strategy = CoarseToFine(
                space, "max", seed, stages_for(15, prior=12 if warm else 0, given=3 if warm else 0)
            )
            strategy.expect_workers(4)
            if warm:
                strategy.warm_start(prior.usable, reruns=3)
            _run(strategy, _score)
            box = strategy.boxes[1].box["intervals"]["lr"]
            gap.append(abs((box[0] + box[1]) / 2 - optimum))
        gaps[warm] = sorted(gap)[len(gap) // 2]
    assert gaps[True] < gaps[False]


def test_optuna_gets_the_earlier_trials_as_completed_trials() -> None:
    pytest.importorskip("optuna")
    from search_spaces.strategies.optuna_tpe import OptunaTPE

    space = SearchSpace.from_mapping(SPACE)
    prior = usable_trials(space, _earlier(12))
    strategy = OptunaTPE(space, "max", 0, 5)
    strategy.warm_start(prior.usable, reruns=2)
    trials = strategy._study.get_trials(deepcopy=False)
    assert len(trials) == 12
    assert sorted(t.value for t in trials) == sorted(r.score for r in prior.usable)
    asked = _run(strategy, _score)
    best = best_usable(prior.usable, "max", 2)
    assert [asked[i].params["lr"] for i in range(2)] == [b.params["lr"] for b in best]
    assert len(asked) == 5 and len(strategy.known_results) == 5


def test_a_grid_skips_the_points_the_earlier_search_ran() -> None:
    space = SearchSpace.from_mapping(SPACE)
    grid = space.grid(3)
    ran = [EarlierTrial(f"1-{i:03d}", grid[i], 1.0) for i in (0, 4, 8)]
    strategy = GridSearch(space, "max", 0, 3)
    strategy.warm_start(usable_trials(space, ran).usable, reruns=3)
    asked = _run(strategy, _score)
    assert strategy.planned_trials == 6 and len(asked) == 6
    assert [t.key for t in asked] == ["1-001", "1-002", "1-003", "1-005", "1-006", "1-007"]
    assert strategy.reruns == {}


def test_random_search_samples_as_without_them_but_reruns_first() -> None:
    space = SearchSpace.from_mapping(SPACE)
    prior = usable_trials(space, _earlier(8))
    cold, warm = RandomSearch(space, "max", 3, 6), RandomSearch(space, "max", 3, 6)
    warm.warm_start(prior.usable, reruns=2)
    a, b = _run(cold, _score), _run(warm, _score)
    assert [t.unit for t in a[2:]] == [t.unit for t in b[2:]]
    assert [t.unit for t in b[:2]] == [r.unit for r in best_usable(prior.usable, "max", 2)]


def test_drift_is_significant_beyond_the_reruns_scatter() -> None:
    same = drift([0.9, 0.8, 0.7], [0.9, 0.8, 0.7])
    assert same is not None and same.mean == 0 and not same.significant
    moved = drift([0.9, 0.8, 0.7], [0.85, 0.75, 0.65])
    assert moved is not None and moved.significant and moved.mean == pytest.approx(-0.05)
    noisy = drift([0.9, 0.8, 0.7], [0.95, 0.74, 0.69])
    assert noisy is not None and not noisy.significant
    one = drift([0.9], [0.5])
    assert one is not None and not one.significant and "too few" in one.describe("acc")
    assert drift([], []) is None


def test_the_first_zoom_uses_only_the_reruns_it_waits_for() -> None:
    """With 5 reruns in a 5-trial coarse stage the first zoom waits for 4 of them: whether
    the fifth has finished when it starts must not change it (nor, so, a resume)."""
    space = SearchSpace.from_mapping(SPACE)
    prior = usable_trials(space, _earlier(20)).usable
    boxes = []
    for tell_last_first in (False, True):
        strategy = CoarseToFine(space, "max", 0, stages_for(20, prior=20, given=5))
        strategy.warm_start(prior, reruns=5)
        coarse = [strategy.ask() for _ in range(5)]
        assert [t.key for t in coarse] == [f"1-00{i}" for i in range(5)]
        told = coarse if tell_last_first else coarse[:4]
        for trial in told:
            strategy.tell(trial.key, _score(trial.params) - 0.3 - 0.1 * (trial.key == "1-004"))
        assert isinstance(strategy.ask(), Trial)  # stage 2 began
        boxes.append(strategy.boxes[1])
    assert boxes[0] == boxes[1]


def test_trials_run_with_another_fixed_value_are_usable_and_noted() -> None:
    space = SearchSpace.from_mapping(SPACE)  # epochs: 2
    prior = usable_trials(
        space,
        [
            EarlierTrial("1-000", {"lr": 0.01, "width": 32, "epochs": 5}, 0.9),
            EarlierTrial("1-001", {"lr": 0.02, "width": 32, "epochs": 5}, 0.8),
            EarlierTrial("1-002", {"lr": 0.02, "width": 64, "epochs": 2.0}, 0.8),
        ],
    )
    assert len(prior.usable) == 3
    assert dict(prior.other_fixed) == {"ran with epochs=5 (now 2)": 2}
    assert prior.summary == "3 of 3 earlier trials usable; 2 of them ran with epochs=5 (now 2)"
