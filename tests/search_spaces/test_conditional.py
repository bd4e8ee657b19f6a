"""Conditional spaces: the tree, its unit coordinates, and every strategy on it."""

from __future__ import annotations

import math
import random
from collections import Counter
from typing import Any

import pytest
import yaml
from scipy import stats

from search_spaces.latin import latin_point, latin_slices
from search_spaces.scales import ScaleError
from search_spaces.space import SearchSpace
from search_spaces.strategies import DONE, WAIT, StageSpec, Strategy, Trial, make_strategy
from search_spaces.strategies.coarse_to_fine import BEHIND_SHARE, CoarseToFine, allocate
from search_spaces.trial import TrialResult

# The spec, verbatim: specs written for it must keep working.
OPTIMIZERS = yaml.safe_load(
    """
optimizer:
  scale: choice
  values:
    sgd:
      lr: {scale: log, low: 1.0e-3, high: 0.5}
      momentum: {scale: one_minus_log, low: 0.5, high: 0.995}
      nesterov: [false, true]
    adam:
      lr: {scale: log, low: 1.0e-4, high: 1.0e-2}
      beta1: {scale: one_minus_log, low: 0.5, high: 0.99}
      beta2: {scale: one_minus_log, low: 0.9, high: 0.9999}
    rmsprop:
      lr: {scale: log, low: 1.0e-4, high: 1.0e-2}
      rmsprop_alpha: {scale: one_minus_log, low: 0.8, high: 0.999}
weight_decay: {scale: log, low: 1.0e-6, high: 1.0e-2}
dropout: {scale: linear, low: 0.0, high: 0.5, when: {optimizer: [adam, rmsprop]}}
"""
)
SPACE = SearchSpace.from_mapping(OPTIMIZERS)
ACTIVE = {
    "sgd": {"optimizer", "lr", "momentum", "nesterov", "weight_decay"},
    "adam": {"optimizer", "lr", "beta1", "beta2", "weight_decay", "dropout"},
    "rmsprop": {"optimizer", "lr", "rmsprop_alpha", "weight_decay", "dropout"},
}
LR_RANGE = {"sgd": (1e-3, 0.5), "adam": (1e-4, 1e-2), "rmsprop": (1e-4, 1e-2)}


def test_the_tree_names_each_branch_parameter_once() -> None:
    assert [b.label for b in SPACE.branches] == [
        "optimizer=sgd",
        "optimizer=adam",
        "optimizer=rmsprop",
    ]
    # One name in three branches: three coordinates, each trial sees plain 'lr'.
    assert {c for c in SPACE.params if SPACE.name_of(c) == "lr"} == {
        "lr/optimizer:sgd",
        "lr/optimizer:adam",
        "lr/optimizer:rmsprop",
    }
    assert SPACE.value_names == [
        "optimizer",
        "lr",
        "momentum",
        "nesterov",
        "beta1",
        "beta2",
        "rmsprop_alpha",
        "weight_decay",
        "dropout",
    ]
    assert SPACE.conditional and not SearchSpace.from_mapping({"x": [1, 2]}).conditional


def test_a_trial_has_exactly_its_branch_parameters_and_round_trips() -> None:
    rng = random.Random(3)
    for _ in range(300):
        unit = SPACE.sample_unit(rng)
        values = SPACE.to_values(unit)
        assert set(values) == ACTIVE[values["optimizer"]]
        assert set(unit) == {n for n in SPACE.active_names(unit) if SPACE.params[n].tuned}
        back = SPACE.to_unit(values)
        assert back.keys() == unit.keys()
        assert all(math.isclose(back[n], unit[n], abs_tol=1e-9) for n in unit)
        assert SPACE.is_complete(unit) and not SPACE.is_complete({**unit, "beta9": 0.5})


def test_sampling_gives_each_branch_its_share_and_each_parameter_its_scale() -> None:
    rng = random.Random(11)
    samples = [SPACE.to_values(SPACE.sample_unit(rng)) for _ in range(6000)]
    counts = Counter(s["optimizer"] for s in samples)
    assert stats.chisquare([counts[o] for o in ACTIVE]).pvalue > 0.001
    for optimizer, (low, high) in LR_RANGE.items():
        lr = [s["lr"] for s in samples if s["optimizer"] == optimizer]
        assert min(lr) >= low and max(lr) <= high
        u = [(math.log(x) - math.log(low)) / (math.log(high) - math.log(low)) for x in lr]
        assert stats.kstest(u, "uniform").pvalue > 0.001
    # The horizon 1/(1-β) is log-uniform in its branch, and the check has teeth.
    beta2 = [s["beta2"] for s in samples if s["optimizer"] == "adam"]
    u = [(math.log(1 - b) - math.log(0.1)) / (math.log(1e-4) - math.log(0.1)) for b in beta2]
    assert stats.kstest(u, "uniform").pvalue > 0.001
    assert stats.kstest([(b - 0.9) / 0.0999 for b in beta2], "uniform").pvalue < 1e-6


def test_grid_enumerates_each_branch_own_grid() -> None:
    space = SearchSpace.from_mapping(
        {
            "optimizer": {
                "scale": "choice",
                "values": {"sgd": {"momentum": [0.0, 0.9]}, "adam": None},
            },
            "lr": {"scale": "log", "low": 0.001, "high": 0.1},
        }
    )
    grid = space.grid(3)
    assert space.grid_size(3) == len(grid) == 2 * 3 + 1 * 3
    assert grid[0] == {"optimizer": "sgd", "momentum": 0.0, "lr": 0.001}
    assert [g for g in grid if g["optimizer"] == "adam"] == [
        {"optimizer": "adam", "lr": x} for x in (0.001, pytest.approx(0.01), 0.1)
    ]


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        (
            {"a": [1, 2], "b": {"scale": "linear", "low": 0, "high": 1, "when": {"c": 1}}},
            "b.when.c",
            "expected the name of another parameter, got 'c'",
        ),
        (
            {
                **OPTIMIZERS,
                "x": {"scale": "linear", "low": 0, "high": 1, "when": {"optimizer": "adamw"}},
            },
            "x.when.optimizer",
            "expected one of 'sgd', 'adam', 'rmsprop' (the values of optimizer), got 'adamw'",
        ),
        (
            {
                "a": {"scale": "choice", "values": [1, 2], "when": {"b": 1}},
                "b": {"scale": "choice", "values": [1, 2], "when": {"a": 1}},
            },
            "a.when",
            "expected conditions without a cycle, got a -> b -> a",
        ),
        (
            {
                "optimizer": {"scale": "choice", "values": {"sgd": {"m": [0, 1]}, "adam": None}},
                "x": {"scale": "choice", "values": [1, 2], "when": {"m": 1, "optimizer": "adam"}},
            },
            "x.when",
            "expected conditions that some trial can meet, got ones that never hold together",
        ),
        (
            {"optimizer": {"scale": "choice", "values": {"sgd": {"lr": 0.1}}}, "lr": 0.2},
            "optimizer.values.sgd.lr",
            "expected a name not also used unconditionally (space.lr), got 'lr' in both",
        ),
        (
            {
                "lr": {"scale": "log", "low": 0.1, "high": 1},
                "b": {"scale": "linear", "low": 0, "high": 1, "when": {"lr": 0.5}},
            },
            "b.when.lr",
            "expected a choice or a fixed value to depend on, got lr (log [0.1, 1])",
        ),
        (
            {"a": [1, 2], "b": {"scale": "linear", "low": 0, "high": 1, "when": "a"}},
            "b.when",
            "expected a mapping of choice names to a value or a list of values, got 'a'",
        ),
        (
            {
                "optimizer": {"scale": "choice", "values": {"sgd": {"lr": 0.1}, "adam": None}},
                "lr": {"scale": "log", "low": 0.01, "high": 1, "when": {"optimizer": "sgd"}},
            },
            "lr",
            "expected each name once in a branch, got lr twice in branch optimizer=sgd "
            "(space.optimizer.values.sgd.lr and space.lr)",
        ),
        (
            {"optimizer": {"scale": "choice", "values": {"sgd": [1, 2]}}},
            "optimizer.values.sgd",
            "expected a mapping of parameter names, got [1, 2]",
        ),
        (
            {
                "optimizer": {
                    "scale": "choice",
                    "values": {"sgd": {"lr": {"scale": "log", "low": 0, "high": 1}}},
                }
            },
            "optimizer.values.sgd.lr.low",
            "expected > 0 for scale 'log', got 0",
        ),
    ],
)
def test_bad_conditions_name_the_field(raw: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ScaleError) as caught:
        SearchSpace.from_mapping(raw)
    assert (caught.value.field, caught.value.message) == (field, message)


def test_when_on_a_nested_choice_and_yaml_booleans() -> None:
    space = SearchSpace.from_mapping(
        {
            "arch": {"scale": "choice", "values": {"cnn": {"bn": [False, True]}, "mlp": None}},
            "bn_momentum": {"scale": "linear", "low": 0.1, "high": 0.9, "when": {"bn": True}},
        }
    )
    assert [b.label for b in space.branches] == [
        "arch=cnn, bn=False",
        "arch=cnn, bn=True",
        "arch=mlp",
    ]
    assert space.to_values(space.to_unit({"arch": "cnn", "bn": True, "bn_momentum": 0.5})) == {
        "arch": "cnn",
        "bn": True,
        "bn_momentum": pytest.approx(0.5),
    }
    assert space.to_values(space.to_unit({"arch": "mlp"})) == {"arch": "mlp"}


def ask_all(strategy: Strategy, score: Any) -> list[Trial]:
    """Run a strategy to the end, telling each trial its score as soon as it is asked."""
    seen = []
    while (trial := strategy.ask()) is not DONE:
        assert trial is not WAIT
        seen.append(trial)
        strategy.tell(trial.key, score(trial))
    return seen


def branch_objective(trial: Trial) -> float:
    """Adam is the best branch (optimum lr 1e-3); SGD a close second; RMSProp far behind."""
    p = trial.params
    offset = {"adam": 0.0, "sgd": 0.05, "rmsprop": 1.0}[p["optimizer"]]
    return offset + (math.log10(p["lr"]) + 3) ** 2 / 4 + 0.01 * p.get("dropout", 0)


@pytest.mark.parametrize("name", ["random", "grid", "optuna_tpe", "coarse_to_fine", "optuna_gp"])
def test_every_strategy_suggests_only_active_parameters(name: str) -> None:
    strategy = make_strategy(
        name,
        SPACE,
        "min",
        4,
        trials=24,
        stages=[StageSpec(trials=12), StageSpec(trials=12)],
        grid_points=2,
    )
    seen = ask_all(strategy, branch_objective)
    assert len(seen) == strategy.planned_trials
    for trial in seen:
        assert set(trial.params) == ACTIVE[trial.params["optimizer"]], trial
        assert SPACE.is_complete(trial.unit), trial
    assert {t.params["optimizer"] for t in seen} == set(ACTIVE)


def test_coarse_stage_is_stratified_per_branch() -> None:
    slices = latin_slices(SPACE, 7, 1, 20)
    points = [latin_point(SPACE, slices, i, random.Random(i)) for i in range(20)]
    branches = Counter(SPACE.to_values(p)["optimizer"] for p in points)
    assert sorted(branches.values()) == [6, 7, 7]
    # Within a branch its own parameter is a Latin hypercube over that branch's trials.
    beta1 = sorted(p["beta1"] for p in points if "beta1" in p)
    n = len(beta1)
    assert [math.floor(u * n) for u in beta1] == list(range(n))
    # weight_decay is in every branch: one slice per trial of the stage.
    assert sorted(math.floor(p["weight_decay"] * 20) for p in points) == list(range(20))


def test_a_branch_clearly_behind_gets_fewer_zoom_trials_and_its_own_box() -> None:
    strategy = CoarseToFine(SPACE, "min", 2, [StageSpec(trials=15), StageSpec(trials=10)])
    first = [strategy.ask() for _ in range(15)]
    for trial in first:
        strategy.tell(trial.key, branch_objective(trial))
    zoom = [strategy.ask() for _ in range(10)]
    counts = Counter(t.params["optimizer"] for t in zoom if isinstance(t, Trial))
    assert counts["rmsprop"] <= 1 < counts["adam"] and counts["sgd"] >= 1
    record = strategy.boxes[1]
    assert set(record.branches) == {"optimizer=sgd", "optimizer=adam", "optimizer=rmsprop"}
    assert sum(b["trials"] for b in record.branches.values()) == 10
    adam = record.branches["optimizer=adam"]
    assert set(adam["ranges"]) == {
        "optimizer",
        "lr/optimizer:adam",
        "beta1",
        "beta2",
        "weight_decay",
        "dropout",
    }
    lo, hi = adam["box"]["intervals"]["lr/optimizer:adam"]
    assert hi - lo < 1.0  # zoomed in on the branch's own best lr
    # Each zoom trial the next stage waits for (the first 8) lies in its branch's recorded
    # box; the last two explore, and the whole space is theirs.
    for trial in zoom[:8]:
        box = record.branches[SPACE.branch_of(trial.unit).label]["box"]
        for n, u in trial.unit.items():
            if n in box["intervals"]:
                lo, hi = box["intervals"][n]
                assert lo - 1e-12 <= u <= hi + 1e-12


def test_allocation_follows_the_weights_and_interleaves() -> None:
    assert allocate([1.0], 5, 2) == [0] * 5
    assert Counter(allocate([1.0, 1.0, 1.0], 9, 2)) == {0: 3, 1: 3, 2: 3}
    order = allocate([1.0, BEHIND_SHARE, BEHIND_SHARE], 5, 2)
    assert order.count(0) == 4 and order[:3] == [0, 0, 0]
    # The odd trial goes round the branches that are behind, stage after stage.
    assert {allocate([1.0, BEHIND_SHARE, BEHIND_SHARE], 5, s)[3] for s in range(2, 8)} >= {1, 2}


def test_conditional_coarse_to_fine_is_deterministic_and_replays() -> None:
    stages = [StageSpec(trials=9), StageSpec(trials=6), StageSpec(trials=6)]

    def fresh() -> CoarseToFine:
        return CoarseToFine(SPACE, "min", 5, stages)

    full = ask_all(fresh(), branch_objective)  # one at a time, as the strategy sees
    assert [t.unit for t in ask_all(fresh(), branch_objective)] == [t.unit for t in full]
    # A resumed search (results of the first 13 trials replayed) suggests the same trials,
    # told its one worker as the engine tells it (a replayed trial shows no workers).
    resumed = fresh()
    resumed.expect_workers(1)
    resumed.replay(TrialResult.of(t, branch_objective(t)) for t in full[:13])
    rest = ask_all(resumed, branch_objective)
    assert [t.key for t in rest] == [t.key for t in full[13:]]
    assert [t.unit for t in rest] == [t.unit for t in full[13:]]


def test_failed_trials_never_shape_a_branch_region() -> None:
    stages = [StageSpec(trials=9), StageSpec(trials=12)]
    failing = CoarseToFine(SPACE, "min", 5, stages)
    scored = CoarseToFine(SPACE, "min", 5, stages)  # its failures carry the best score
    first = [failing.ask() for _ in range(9)]
    assert [t.unit for t in first] == [scored.ask().unit for _ in range(9)]  # type: ignore[union-attr]
    for trial in first:
        if trial.params["optimizer"] == "sgd":
            failing.tell(trial.key, None, "boom")
            scored.tell(trial.key, -100.0, "diverged")
        else:
            failing.tell(trial.key, branch_objective(trial))
            scored.tell(trial.key, branch_objective(trial))
    second = [failing.ask() for _ in range(12)]
    assert [t.unit for t in second] == [scored.ask().unit for _ in range(12)]  # type: ignore[union-attr]
    assert failing.boxes[1].branches == scored.boxes[1].branches
    # The failed branch has no trials to zoom on: it samples the whole of its own branch.
    sgd = failing.boxes[1].branches["optimizer=sgd"]
    assert sgd["box"]["intervals"]["lr/optimizer:sgd"] == [0.0, 1.0]
    assert sgd["ranges"]["optimizer"] == "{sgd}"
    assert sgd["trials"] >= 1 and sgd["trials"] == sum(
        t.params["optimizer"] == "sgd" for t in second
    )
    assert all(isinstance(t, Trial) and SPACE.is_complete(t.unit) for t in second)


def test_a_search_whose_every_trial_failed_samples_every_branch_whole() -> None:
    strategy = CoarseToFine(SPACE, "min", 5, [StageSpec(trials=6), StageSpec(trials=9)])
    for _ in range(6):
        trial = strategy.ask()
        strategy.tell(trial.key, None, "boom")  # type: ignore[union-attr]
    second = [strategy.ask() for _ in range(9)]
    assert Counter(t.params["optimizer"] for t in second) == {"sgd": 3, "adam": 3, "rmsprop": 3}
    assert all(SPACE.is_complete(t.unit) for t in second)
