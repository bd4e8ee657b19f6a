"""Strategies: the ask/tell protocol, determinism, pickling and coarse-to-fine zooming."""

from __future__ import annotations

import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from search_spaces import gaussian_process
from search_spaces.box import Box, choice_scale
from search_spaces.candidates import choose, in_region
from search_spaces.space import SearchSpace
from search_spaces.strategies import (
    DONE,
    REGISTRY,
    WAIT,
    CoarseToFine,
    GridSearch,
    RandomSearch,
    StageSpec,
    Strategy,
    Trial,
    coarse_to_fine,
    make_strategy,
    stages_for,
)
from search_spaces.strategies.base import trial_rng
from search_spaces.strategies.coarse_to_fine import REFIT_STAGES
from search_spaces.strategies.optuna_tpe import OptunaGP, OptunaTPE
from search_spaces.surrogate import StageModel
from search_spaces.trial import TrialResult, ranked
from search_spaces.zoom import INITIAL_SIDE, Region, zoom_region

SPACE = SearchSpace.from_mapping(
    {
        "lr": {"scale": "log", "low": 1e-4, "high": 0.1},
        "beta": {"scale": "one_minus_log", "low": 0.9, "high": 0.999},
        "opt": ["adam", "sgd", "rmsprop"],
        "batch": {"scale": "pow2", "low": 16, "high": 256},
        "epochs": 3,
    }
)
STAGES = [
    StageSpec(trials=8),
    StageSpec(trials=8, keep_top=0.25, pad=0.05),
    StageSpec(trials=4, keep_top=0.5),
]


def score(s: Trial) -> float | None:
    """A toy objective peaking at lr unit 0.3 with adam; some trials fail."""
    if s.key.endswith("3"):
        return None
    return -((s.unit["lr"] - 0.3) ** 2) - (s.params["opt"] != "adam") * 0.1


def ask_stage(strategy: Strategy) -> list[Trial]:
    """Ask until the strategy waits or is done."""
    out = []
    while isinstance(got := strategy.ask(), Trial):
        out.append(got)
    return out


def run(strategy: Strategy, order: Callable[[list[Trial]], list[Trial]] = list) -> list:
    """Run a whole search, telling each batch in the given order; returns all suggestions."""
    seen: list[Trial] = []
    while batch := ask_stage(strategy):
        seen += batch
        for s in order(batch):
            strategy.tell(s.key, score(s))
    assert strategy.ask() is DONE
    return seen


def test_random_search_is_seeded() -> None:
    a = run(RandomSearch(SPACE, "max", seed=7, trials=10))
    assert [s.key for s in a] == [f"1-{i:03d}" for i in range(10)]
    assert a == run(RandomSearch(SPACE, "max", seed=7, trials=10), order=lambda b: b[::-1])
    assert a != run(RandomSearch(SPACE, "max", seed=8, trials=10))
    assert all(s.params["epochs"] == 3 for s in a)


def test_grid_counts_and_values() -> None:
    grid = GridSearch(SPACE, "max", seed=0, points=3)
    assert grid.planned_trials == 3 * 3 * 3 * 3
    seen = run(grid)
    assert len(seen) == 81 and len(grid.known_results) == 81
    assert sorted({s.params["lr"] for s in seen}) == pytest.approx([1e-4, 10**-2.5, 0.1])
    assert {s.params["batch"] for s in seen} == {16, 64, 256}
    assert {s.params["opt"] for s in seen} == {"adam", "sgd", "rmsprop"}
    assert seen[0].params == {"lr": 1e-4, "beta": 0.9, "opt": "adam", "batch": 16, "epochs": 3}


def test_tell_rejects_unknown_and_repeated_keys() -> None:
    strategy = RandomSearch(SPACE, "max", seed=0, trials=2)
    s = strategy.ask()
    assert isinstance(s, Trial)
    with pytest.raises(KeyError, match="unknown"):
        strategy.tell("9-999", 1.0)
    strategy.tell(s.key, 1.0)
    with pytest.raises(KeyError, match="already told"):
        strategy.tell(s.key, 1.0)


def test_coarse_to_fine_protocol() -> None:
    c2f = CoarseToFine(SPACE, "max", seed=1, stages=STAGES)
    assert c2f.planned_trials == 20
    stage1 = ask_stage(c2f)
    assert [s.key for s in stage1] == [f"1-{i:03d}" for i in range(8)]
    assert c2f.ask() is WAIT
    # Stage 2 is shaped by the first 6 of stage 1's 8 trials (ready 0.75): it waits for
    # those, and only those.
    for s in stage1[1:6]:
        c2f.tell(s.key, score(s))
    assert c2f.ask() is WAIT
    c2f.tell(stage1[0].key, score(stage1[0]))
    used = c2f.known_results
    assert [r.key for r in used] == [f"1-{i:03d}" for i in range(6)]
    expected = zoom_region(SPACE, ranked(used, "max"), INITIAL_SIDE, 0.25, 0.05)
    stage2 = ask_stage(c2f)
    assert [s.key for s in stage2] == [f"2-{i:03d}" for i in range(8)]
    box = Box.from_dict(c2f.boxes[-1].box)  # where the current stage samples
    assert box == expected.box() and box != Box.full(SPACE)
    # Its first 6 trials (those stage 3 waits for) lie in the box; the last two explore.
    assert all(box.contains(s.unit, SPACE) for s in stage2[:6])
    # The best trial's own coordinates anchor the region.
    best = ranked(used, "max")[0]
    assert best.key == "1-005"
    lo, hi = box.intervals["lr"]
    assert lo <= best.unit["lr"] <= hi and hi - lo < 1

    for s in stage1[6:] + stage2:
        c2f.tell(s.key, score(s))
    stage3 = ask_stage(c2f)
    assert [s.stage for s in stage3] == [3] * 4
    assert c2f.ask() is DONE
    assert [b.stage for b in c2f.boxes] == [1, 2, 3]
    assert c2f.boxes[1].box == expected.box().to_dict()
    assert c2f.boxes[1].based_on == tuple(f"1-{i:03d}" for i in range(6))
    # Stage 3: all of stage 1 and the first 6 of stage 2.
    assert c2f.boxes[2].based_on == tuple(f"1-{i:03d}" for i in range(8)) + tuple(
        f"2-{i:03d}" for i in range(6)
    )
    assert c2f.boxes[0].ranges["lr"] == "[0.0001, 0.1]" and c2f.boxes[0].based_on == ()


def stage_model(finished: list[TrialResult], region: Region) -> StageModel:
    """The model coarse_to_fine fits on ``finished`` (best first) for ``region``, by hand."""
    half = {n: region.half_width(n) for n in region.centre}
    choices = {n: choice_scale(SPACE, n) for n in region.categories}
    integers = {"batch": SPACE.params["batch"]}
    model = StageModel.fit([r.unit for r in finished], [-r.score for r in finished],
                           region.centre, half, choices, integers)  # fmt: skip
    assert model is not None
    return model


def test_a_zoom_trial_runs_the_candidate_its_stage_model_likes_best() -> None:
    """Each zoom trial draws its candidates from its own (seed, stage, index) stream and runs
    the one a model fitted on the trials that shaped the stage picks, the model told of the
    stage's earlier picks in index order; the trials past those the next stage waits for
    also weigh candidates from the whole space."""
    c2f = CoarseToFine(SPACE, "max", seed=8, stages=[StageSpec(trials=12)] * 2)
    stage1 = ask_stage(c2f)
    for s in stage1:
        c2f.tell(s.key, score(s) or 0.0)
    stage2 = ask_stage(c2f)
    assert c2f.boxes[1].model == "gp"
    # The first 75 % of stage 1 shaped stage 2.
    assert c2f.boxes[1].based_on == tuple(s.key for s in stage1[:9])
    finished = ranked([c2f.known_results[i] for i in range(9)], "max")
    region = zoom_region(SPACE, finished, INITIAL_SIDE, 0.3, 0.0)
    model = stage_model(finished, region)
    box, whole = region.box(), Box.full(SPACE)
    for index, s in enumerate(stage2):
        rng = trial_rng(8, 2, index)
        drawn = in_region(region, box, SPACE, rng)
        assert s.unit == choose(model, drawn, box, whole, SPACE, rng, explore=index >= 9)
        if index < 9:
            assert box.contains(s.unit, SPACE)
        model.believe(s.unit)
    assert len({tuple(s.unit.values()) for s in stage2}) == len(stage2)


def test_with_one_worker_a_zoom_trial_waits_for_and_learns_from_the_one_before() -> None:
    """Told that trials run one at a time, a zoom trial waits for the stage's trials before
    it and runs the pick of the stage's model conditioned on their real scores (failed ones
    left out, the stage fit's hyperparameters kept); the next stage waits for every trial."""
    c2f = CoarseToFine(SPACE, "max", seed=8, stages=[StageSpec(trials=12)] * 3)
    c2f.expect_workers(1)
    stage1 = ask_stage(c2f)
    for s in stage1[:11]:
        c2f.tell(s.key, score(s) or 0.0)
    assert c2f.ask() is WAIT  # the whole coarse stage shapes the first zoom
    c2f.tell(stage1[11].key, 0.0)
    finished = ranked([r for r in c2f.known_results if r.stage == 1], "max")
    region = zoom_region(SPACE, finished, INITIAL_SIDE, 0.3, 0.0)
    model = stage_model(finished, region)
    box, whole = region.box(), Box.full(SPACE)
    for index in range(12):
        trial = c2f.ask()
        assert isinstance(trial, Trial) and trial.key == f"2-{index:03d}"
        assert c2f.ask() is WAIT  # the next one waits for this one's result
        rng = trial_rng(8, 2, index)
        drawn = in_region(region, box, SPACE, rng)
        assert trial.unit == choose(model, drawn, box, whole, SPACE, rng, explore=index >= 9)
        if index == 4:
            c2f.tell(trial.key, 99.0, "diverged")  # failed: the model never sees it
        else:
            c2f.tell(trial.key, score(trial) or 0.0)
            model.observe(trial.unit, -(score(trial) or 0.0))
    assert [s.stage for s in ask_stage(c2f)] == [3]  # one at a time
    assert c2f.boxes[1].based_on == tuple(s.key for s in stage1)
    assert c2f.boxes[2].based_on == tuple(r.key for r in c2f.known_results if r.stage < 3)


def test_more_workers_than_one_leave_coarse_to_fine_as_it_was() -> None:
    """With trials in flight waiting would leave a worker idle: the search runs as one never
    told its workers (stages waiting for their first 75 %, kriging believer)."""
    plain = run(CoarseToFine(SPACE, "max", seed=3, stages=STAGES))
    told = CoarseToFine(SPACE, "max", seed=3, stages=STAGES)
    told.expect_workers(2)
    assert run(told) == plain
    one = CoarseToFine(SPACE, "max", seed=3, stages=STAGES)
    one.expect_workers(1)
    stage1 = ask_stage(one)
    for s in stage1:
        one.tell(s.key, score(s))
    assert one.ask() != plain[8]  # stage 2 learns from all 8, not the first 6
    with pytest.raises(ValueError, match="workers must be >= 1, got 0"):
        one.expect_workers(0)


def one_at_a_time(strategy: Strategy) -> list[Trial]:
    """Run a whole search asking each trial after the one before was told."""
    seen = []
    while isinstance(trial := strategy.ask(), Trial):
        seen.append(trial)
        strategy.tell(trial.key, score(trial))
    assert trial is DONE
    return seen


def test_a_strategy_never_told_its_workers_sees_them_in_how_it_is_asked() -> None:
    """Asked one trial at a time, coarse_to_fine runs as told one worker; one trial asked
    beside another switches it to workers in flight for good."""
    told = CoarseToFine(SPACE, "max", seed=9, stages=STAGES)
    told.expect_workers(1)
    inferred = CoarseToFine(SPACE, "max", seed=9, stages=STAGES)
    seen = one_at_a_time(inferred)
    assert seen == one_at_a_time(told) and inferred.one_at_a_time
    in_flight = CoarseToFine(SPACE, "max", seed=9, stages=STAGES)
    in_flight.expect_workers(4)
    mixed = CoarseToFine(SPACE, "max", seed=9, stages=STAGES)
    first = mixed.ask()
    assert isinstance(first, Trial) and not mixed.one_at_a_time  # one trial shows nothing
    mixed.tell(first.key, score(first))
    second = mixed.ask()
    assert isinstance(second, Trial) and mixed.one_at_a_time
    third = mixed.ask()  # asked with a trial out
    assert isinstance(third, Trial) and not mixed.one_at_a_time
    for trial in (second, third):
        mixed.tell(trial.key, score(trial))
    asked = [first, second, third, *one_at_a_time(mixed)]
    assert not mixed.one_at_a_time
    assert asked == run(in_flight) and asked[8:] != seen[8:]


def test_a_resumed_stage_believes_where_its_trials_ran() -> None:
    """A stage's later picks steer clear of the points its earlier trials ran at: on resume a
    recorded point that differs from today's suggestion is the one the model believes."""
    whole = CoarseToFine(SPACE, "max", seed=8, stages=[StageSpec(trials=12)] * 2)
    stage1 = ask_stage(whole)
    for s in stage1:
        whole.tell(s.key, score(s) or 0.0)
    recorded = [r for r in whole.known_results if r.stage == 1]
    first = ask_stage(whole)[0]
    moved = TrialResult(first.key, 2, {**first.unit, "lr": 0.99}, first.params, 0.0)
    resumed = CoarseToFine(SPACE, "max", seed=8, stages=[StageSpec(trials=12)] * 2)
    resumed.replay([*recorded, moved])
    second = ask_stage(resumed)[0]
    assert second.key == "2-001"
    finished = ranked(recorded[:9], "max")
    region = zoom_region(SPACE, finished, INITIAL_SIDE, 0.3, 0.0)
    model = stage_model(finished, region)
    model.believe(moved.unit)
    rng = trial_rng(8, 2, 1)
    box = region.box()
    drawn = in_region(region, box, SPACE, rng)
    assert second.unit == choose(model, drawn, box, Box.full(SPACE), SPACE, rng, explore=False)
    assert any("ran at other values" in w for w in resumed.warnings())


def test_the_next_stage_needs_every_earlier_stage_finished() -> None:
    """A straggler of stage 1 holds back stage 3 even when stage 2's ready trials are in."""
    c2f = CoarseToFine(SPACE, "max", seed=4, stages=[StageSpec(trials=4)] * 3)
    stage1 = ask_stage(c2f)
    for s in stage1[:3]:
        c2f.tell(s.key, score(s))
    stage2 = ask_stage(c2f)
    assert [s.stage for s in stage2] == [2] * 4
    for s in stage2[:3]:
        c2f.tell(s.key, score(s))
    assert c2f.ask() is WAIT
    c2f.tell(stage1[3].key, 0.0)
    assert [s.stage for s in ask_stage(c2f)] == [3] * 4


def test_failed_trials_never_shape_a_stage() -> None:
    """Failures that claim great scores (NaN, errors) change neither box nor samples."""
    plain = CoarseToFine(SPACE, "max", seed=6, stages=STAGES)
    noisy = CoarseToFine(SPACE, "max", seed=6, stages=STAGES)
    for s in ask_stage(plain):
        plain.tell(s.key, score(s) if not s.key.endswith(("1", "2")) else None)
    for s in ask_stage(noisy):
        if s.key.endswith("1"):
            noisy.tell(s.key, 99.0, error="CUDA out of memory")
        elif s.key.endswith("2"):
            noisy.tell(s.key, float("nan"))
        else:
            noisy.tell(s.key, score(s))
    assert ask_stage(plain) == ask_stage(noisy)
    assert plain.boxes == noisy.boxes


@pytest.mark.parametrize(
    ("trials", "sizes"),
    [(1, [1]), (10, [10]), (12, [10, 2]), (27, [10, 5, 4, 4, 4]), (32, [10, 5, 5, 4, 4, 4]),
     (48, [10, 5, 5, 4, 4, 4, 4, 4, 4, 4]), (100, [20] + [4] * 20),
     (5000, [1000] + [41] * 40 + [40] * 59)],
)  # fmt: skip
def test_stages_for_a_budget(trials: int, sizes: list[int]) -> None:
    plan = stages_for(trials)
    assert [s.trials for s in plan] == sizes
    assert all((s.keep_top, s.pad) == (0.3, 0.0) for s in plan)
    with pytest.raises(ValueError, match="trials must be >= 1"):
        stages_for(0)


@pytest.mark.parametrize("growth", [1.0, 1.1])
def test_a_branch_s_model_is_refitted_as_its_trials_grow(
    monkeypatch: pytest.MonkeyPatch, growth: float
) -> None:
    """A full fit comes when a branch's finished trials grew by REFIT_GROWTH since its last
    one or REFIT_STAGES stages passed; the stages between keep that fit's hyperparameters
    and condition on all the trials. 1.0 refits every stage."""
    monkeypatch.setattr(coarse_to_fine, "REFIT_GROWTH", growth)
    real, optimised = gaussian_process.minimize, []
    monkeypatch.setattr(
        gaussian_process, "minimize", lambda *a, **k: optimised.append(1) or real(*a, **k)
    )
    c2f = CoarseToFine(SPACE, "max", seed=1, stages=stages_for(100))
    stages: list[tuple[int, Any, Any]] = []  # per zoom stage: trials modelled, its fit, model
    while batch := ask_stage(c2f):
        if c2f._stage > 1:
            model = c2f._zooms[0].model
            modelled = len(model._gp.y) - model._believed
            stages.append((modelled, c2f._refits[""], model))
        for t in batch:
            c2f.tell(t.key, score(t))
    fits = list({id(refit): refit for _, refit, _ in stages}.values())
    assert len(optimised) == len(fits)
    for (modelled, refit, model), before in zip(stages[1:], stages, strict=False):
        last = before[1]
        due = modelled >= growth * last.trials or refit.stage - last.stage >= REFIT_STAGES
        if refit is last:
            assert not due and modelled > last.trials
            assert np.array_equal(model.hyperparameters.lengths, last.hyperparameters.lengths)
        else:
            assert (due, refit.trials) == (True, modelled)
    zooms = len(stages)
    assert len(fits) == zooms if growth == 1.0 else zooms / REFIT_STAGES <= len(fits) < zooms


def test_coarse_to_fine_ignores_tell_order() -> None:
    forward = run(CoarseToFine(SPACE, "max", seed=3, stages=STAGES))
    backward = run(CoarseToFine(SPACE, "max", seed=3, stages=STAGES), order=lambda b: b[::-1])
    assert forward == backward


def test_coarse_to_fine_survives_pickling_mid_search() -> None:
    c2f = CoarseToFine(SPACE, "max", seed=5, stages=STAGES)
    for s in ask_stage(c2f):
        c2f.tell(s.key, score(s))
    half = [s for s in (c2f.ask() for _ in range(4)) if isinstance(s, Trial)]
    assert len(half) == 4
    c2f.tell(half[0].key, score(half[0]))
    copy = pickle.loads(pickle.dumps(c2f))
    rests = []
    for strategy in (c2f, copy):
        for s in half[1:]:
            strategy.tell(s.key, score(s))
        rests.append(run(strategy))
    assert rests[0] == rests[1] and len(rests[0]) == 8
    assert c2f.known_results == copy.known_results and c2f.boxes == copy.boxes


def test_all_failed_stage_falls_back_to_the_full_box() -> None:
    c2f = CoarseToFine(SPACE, "min", seed=2, stages=[StageSpec(trials=3)] * 2)
    for s in ask_stage(c2f):
        c2f.tell(s.key, None, error="diverged")
    assert [s.stage for s in ask_stage(c2f)] == [2] * 3
    assert Box.from_dict(c2f.boxes[-1].box) == Box.full(SPACE)
    assert c2f.best() is None
    assert c2f.warnings() == ["every trial up to stage 1 failed; stage 2 samples the full range"]


def test_optuna_tpe_runs_and_pickles() -> None:
    tpe = OptunaTPE(SPACE, "min", seed=0, trials=20)
    for i in range(12):
        s = tpe.ask()
        assert isinstance(s, Trial)
        tpe.tell(s.key, None if i == 4 else (s.unit["lr"] - 0.3) ** 2 + s.unit["beta"])
    copy = pickle.loads(pickle.dumps(tpe))
    for strategy in (tpe, copy):
        for _ in range(8):
            s = strategy.ask()
            assert isinstance(s, Trial)
            strategy.tell(s.key, (s.unit["lr"] - 0.3) ** 2 + s.unit["beta"])
        assert strategy.ask() is DONE
    assert tpe.known_results == copy.known_results
    assert len(tpe.known_results) == 20 and tpe.best() is not None
    assert tpe.known_results[4].failed
    assert tpe._study.trials[4].state.name == "FAIL", "the study was told the failure"


def test_make_strategy() -> None:
    assert tuple(REGISTRY) == ("random", "grid", "coarse_to_fine", "optuna_tpe", "optuna_gp")
    assert isinstance(make_strategy("random", SPACE, "max", 0, trials=3), RandomSearch)
    assert make_strategy("grid", SPACE, "max", 0, grid_points=2).planned_trials == 2 * 2 * 3 * 2
    assert isinstance(make_strategy("coarse_to_fine", SPACE, "max", 0, stages=STAGES), CoarseToFine)
    assert isinstance(make_strategy("optuna_tpe", SPACE, "min", 0, trials=3), OptunaTPE)
    with pytest.raises(ValueError, match="random, grid, coarse_to_fine, optuna_tpe, optuna_gp"):
        make_strategy("bayes", SPACE, "max", 0)
    with pytest.raises(ValueError, match="needs trials"):
        make_strategy("random", SPACE, "max", 0)
    with pytest.raises(ValueError, match="mode"):
        make_strategy("random", SPACE, "maximize", 0, trials=3)


SIZES = {"trials": 3, "stages": STAGES, "grid_points": 2}
BUILDS = {
    "random": RandomSearch,
    "grid": GridSearch,
    "coarse_to_fine": CoarseToFine,
    "optuna_tpe": OptunaTPE,
    "optuna_gp": OptunaGP,
}


@pytest.mark.parametrize("name", list(REGISTRY))
def test_registry_sizes_and_builds_each_strategy(name: str) -> None:
    """make_strategy builds what the registry says, sized by the setting the registry names."""
    entry = REGISTRY[name]
    size = SIZES[entry.sized_by]
    built = make_strategy(name, SPACE, "max", 0, **{entry.sized_by: size})
    assert type(built) is BUILDS[name]
    planned = {"trials": 3, "stages": 20, "grid_points": 2 * 2 * 3 * 2}[entry.sized_by]
    assert built.planned_trials == planned
    seen = run(built)  # it runs the size it was given, in the strategy's keys
    assert len(seen) == planned and len({s.key for s in seen}) == planned
    if entry.sized_by != "grid_points":  # grid has a default size; the others need theirs
        with pytest.raises(ValueError, match=f"needs {entry.sized_by}"):
            make_strategy(name, SPACE, "max", 0)


def test_optuna_is_imported_only_when_its_strategy_is_built() -> None:
    code = (
        "import sys\n"
        "from search_spaces.space import SearchSpace\n"
        "from search_spaces.strategies import make_strategy\n"
        "import searcher.spec.models\n"
        "space = SearchSpace.from_mapping({'x': {'scale': 'linear', 'low': 0, 'high': 1}})\n"
        "make_strategy('random', space, 'max', 0, trials=2)\n"
        "assert 'optuna' not in sys.modules\n"
        "make_strategy('optuna_tpe', space, 'max', 0, trials=2)\n"
        "assert 'optuna' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"trials": 0}, "expected an integer >= 1 and <= 100000, got 0"),
        ({"trials": 2, "keep_top": 0}, "expected a number > 0 and <= 1, got 0"),
        ({"trials": 2, "keep_top": 1.5}, "expected a number > 0 and <= 1, got 1.5"),
        ({"trials": 2, "pad": -0.1}, "expected a number >= 0 and < 1, got -0.1"),
        ({"trials": 2, "pad": 1.0}, "expected a number >= 0 and < 1, got 1.0"),
        ({"trials": 2, "zoom": 2}, "Extra inputs are not permitted"),
    ],
)
def test_stage_spec_validates(changes: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        StageSpec(**changes)


def test_stage_spec_defaults_pickle_and_hash() -> None:
    stage = StageSpec(trials=4)
    assert (stage.keep_top, stage.pad) == (0.3, 0.0)
    assert pickle.loads(pickle.dumps(stage)) == stage
    assert hash(stage) == hash(StageSpec(trials=4, keep_top=0.3, pad=0.0))
    with pytest.raises(ValidationError):
        stage.trials = 5  # type: ignore[misc]


def _replay_case(name: str) -> Strategy:
    plain, _, workers = name.partition("@")
    strategy = make_strategy(plain, SPACE, "max", 0, **{REGISTRY[plain].sized_by: SIZES_BIG[plain]})
    if workers:
        strategy.expect_workers(int(workers))
    return strategy


SIZES_BIG = {"random": 12, "grid": 2, "coarse_to_fine": STAGES, "optuna_tpe": 12, "optuna_gp": 12}


def _results(strategy: Strategy, seen: list[Trial]) -> dict[str, TrialResult]:
    told = {r.key: r for r in strategy.known_results}
    return {s.key: told[s.key] for s in seen}


@pytest.mark.parametrize("name", ["random", "grid", "coarse_to_fine", "coarse_to_fine@1"])
@pytest.mark.parametrize("crash_at", [0.3, 0.45, 0.75])
def test_replay_suggests_what_the_uninterrupted_search_did(name: str, crash_at: float) -> None:
    """A search stopped part-way, resumed from its recorded results: the trials it still runs
    are exactly those the uninterrupted search ran, with the same values, and none twice."""
    whole = _replay_case(name)
    seen = run(whole)
    results = _results(whole, seen)
    cut = int(len(seen) * crash_at)
    # Done before the crash: the first `cut` keys, minus two that were in flight.
    done = [s.key for s in seen[:cut]]
    in_flight = set(done[-2:])
    recorded = [results[k] for k in done if k not in in_flight]

    resumed = _replay_case(name)
    resumed.replay(recorded)
    asked = run(resumed)
    assert sorted(s.key for s in asked) == sorted(set(results) - {r.key for r in recorded})
    by_key = {s.key: s for s in seen}
    for s in asked:
        assert s.unit == by_key[s.key].unit and s.params == by_key[s.key].params
    assert resumed.known_results == whole.known_results
    assert resumed.boxes == whole.boxes
    assert resumed.best() == whole.best()
    assert resumed.warnings() == whole.warnings()


@pytest.mark.parametrize("name", ["optuna_tpe", "optuna_gp"])
def test_replay_of_an_optuna_sampler_enters_the_recorded_points(name: str) -> None:
    """Optuna's samplers are not deterministic across tell orders, but a replayed trial joins
    the study at the point it ran, and every other key is asked exactly once."""
    whole = _replay_case(name)
    seen = run(whole)
    results = _results(whole, seen)
    recorded = [results[s.key] for s in seen[:7] if s.key != "1-005"]
    resumed = _replay_case(name)
    resumed.replay(recorded)
    asked = run(resumed)
    assert sorted(s.key for s in asked) == ["1-005", *[s.key for s in seen[7:]]]
    trials = resumed._study.trials
    for r in recorded:
        number = int(r.key.split("-")[1])
        assert trials[number].params == pytest.approx(r.unit)
    assert {r.key for r in resumed.known_results} == set(results)


def test_replay_keeps_a_recorded_point_that_differs_and_says_so() -> None:
    whole = _replay_case("random")
    seen = run(whole)
    moved = _results(whole, seen)["1-001"]
    moved = TrialResult(moved.key, 1, {**moved.unit, "lr": 0.5}, moved.params, 7.0)
    resumed = _replay_case("random")
    resumed.replay([moved])
    before_known = {r.key for r in resumed.known_results}
    assert before_known == {"1-001"}  # known before its key comes up
    run(resumed)
    told = {r.key: r for r in resumed.known_results}
    assert told["1-001"].unit["lr"] == 0.5 and told["1-001"].score == 7.0
    assert resumed.best() is not None and resumed.best().key == "1-001"
    assert any("1-001 ran at other values" in w for w in resumed.warnings())
