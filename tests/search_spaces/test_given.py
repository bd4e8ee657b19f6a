"""Known configurations first (search.start_with): checked against the scales, run first by
every strategy with their values exactly, the rest of each point sampled."""

from __future__ import annotations

from typing import Any

import pytest

from search_spaces.given import given_points
from search_spaces.scales import ScaleError
from search_spaces.space import SearchSpace
from search_spaces.strategies import DONE, StageSpec, Strategy, make_strategy
from search_spaces.trial import TrialResult
from tests.search_spaces.test_conditional import SPACE as BRANCHES

SPACE = SearchSpace.from_mapping(
    {
        "lr": {"scale": "log", "low": 1e-4, "high": 0.1},
        "momentum": {"scale": "one_minus_log", "low": 0.5, "high": 0.999},
        "batch_size": {"scale": "pow2", "low": 16, "high": 256},
        "layers": {"scale": "int", "low": 1, "high": 4},
        "optimizer": ["sgd", "adam"],
        "epochs": 3,
    }
)
GIVEN = [
    {"lr": 0.01, "momentum": 0.9, "batch_size": 64, "layers": 2, "optimizer": "sgd"},
    {"lr": 0.003},  # the rest sampled
]


@pytest.mark.parametrize(
    ("config", "field", "message"),
    [
        ({"lr": 0.5}, "0.lr", "expected a value in log [0.0001, 0.1], got 0.5"),
        ({"lr": "0.01"}, "0.lr", "expected a number (log [0.0001, 0.1]), got '0.01'"),
        ({"lr": True}, "0.lr", "expected a number (log [0.0001, 0.1]), got True"),
        ({"batch_size": 48}, "0.batch_size", "expected a power of two (pow2 [16, 256]), got 48"),
        ({"layers": 1.5}, "0.layers", "expected an integer (int [1, 4]), got 1.5"),
        ({"layers": float("inf")}, "0.layers", "expected an integer (int [1, 4]), got inf"),
        ({"optimizer": "adamw"}, "0.optimizer", "expected one of sgd, adam, got 'adamw'"),
        (
            {"beta1": 0.9},
            "0.beta1",
            "expected one of lr, momentum, batch_size, layers, optimizer, got an unknown name",
        ),
        ({"epochs": 4}, "0.epochs", "expected a tuned parameter, got a fixed one"),
        ([0.01], "0", "expected a mapping of parameter values, got [0.01]"),
    ],
)
def test_bad_configurations_name_the_value(config: Any, field: str, message: str) -> None:
    with pytest.raises(ScaleError) as caught:
        given_points(SPACE, [config])
    assert (caught.value.field, caught.value.message) == (field, message)


def test_a_conditional_configuration_names_its_branch() -> None:
    (point,) = given_points(BRANCHES, [{"optimizer": "adam", "lr": 0.001, "beta1": 0.9}])
    assert set(point.unit) == {"optimizer", "lr/optimizer:adam", "beta1"}
    with pytest.raises(ScaleError) as caught:
        given_points(BRANCHES, [{"optimizer": "sgd", "beta1": 0.9}])
    assert caught.value.field == "0.beta1"
    assert caught.value.message == (
        "expected a parameter of the branch these values choose (optimizer=sgd), got beta1, "
        "which is inactive there"
    )
    with pytest.raises(ScaleError) as caught:
        given_points(BRANCHES, [{"lr": 0.001}])  # which lr: sgd's, adam's or rmsprop's?
    assert caught.value.message.startswith("expected the values that choose its branch too")
    # weight_decay is in every branch: no branch needs naming.
    (point,) = given_points(BRANCHES, [{"weight_decay": 1e-4}])
    assert set(point.unit) == {"weight_decay"}


def _first(strategy: Strategy, count: int) -> list:
    out = []
    for _ in range(count):
        trial = strategy.ask()
        assert trial is not DONE
        out.append(trial)
        strategy.tell(trial.key, trial.unit.get("lr", 0.5))
    return out


@pytest.mark.parametrize("name", ["random", "coarse_to_fine", "optuna_tpe", "optuna_gp"])
def test_every_strategy_runs_the_given_values_first_and_exactly(name: str) -> None:
    def build() -> Strategy:
        strategy = make_strategy(name, SPACE, "min", 3, trials=12, stages=[StageSpec(trials=12)])
        strategy.start_with(given_points(SPACE, GIVEN))
        return strategy

    strategy = build()
    trials = _first(strategy, 12)
    assert strategy.ask() is DONE  # they count in the budget
    first, second = trials[0], trials[1]
    assert first.key == "1-000" and second.key == "1-001"
    assert first.params == {**GIVEN[0], "epochs": 3}
    assert second.params["lr"] == 0.003  # exactly, not via its unit coordinate
    assert set(second.params) == set(first.params)
    assert SPACE.is_complete(second.unit)
    # Deterministic, and a resumed search keeps the given trials as they ran.
    assert [t.params for t in _first(build(), 12)] == [t.params for t in trials]
    resumed = build()
    resumed.replay(TrialResult.of(t, t.unit["lr"]) for t in trials[:2])
    rest = _first(resumed, 10)
    assert [r.key for r in resumed.known_results[:2]] == ["1-000", "1-001"]
    assert [r.params for r in resumed.known_results[:2]] == [t.params for t in trials[:2]]
    if not name.startswith("optuna"):  # Optuna's own RNG moves on differently after a replay
        assert [t.params for t in rest] == [t.params for t in trials[2:]]


def test_given_points_inside_a_conditional_space() -> None:
    strategy = make_strategy("coarse_to_fine", BRANCHES, "min", 1, stages=[StageSpec(trials=6)])
    strategy.start_with(given_points(BRANCHES, [{"optimizer": "rmsprop", "rmsprop_alpha": 0.95}]))
    trial = _first(strategy, 1)[0]
    assert trial.params["optimizer"] == "rmsprop" and trial.params["rmsprop_alpha"] == 0.95
    assert set(trial.params) == {"optimizer", "lr", "rmsprop_alpha", "weight_decay", "dropout"}
    assert BRANCHES.is_complete(trial.unit)


def test_given_values_claim_their_latin_slices_and_the_rest_fill_the_others() -> None:
    """Four given lrs in the 10-trial coarse stage: with the other six trials, every tenth of
    lr's range holds exactly one trial (the givens take the slices they lie in)."""
    lrs = [2e-4, 1e-3, 5e-3, 0.05]
    strategy = make_strategy("coarse_to_fine", SPACE, "min", 4, stages=[StageSpec(trials=10)])
    strategy.start_with(given_points(SPACE, [{"lr": lr} for lr in lrs]))
    trials = _first(strategy, 10)
    assert [t.params["lr"] for t in trials[:4]] == lrs
    assert sorted(int(t.unit["lr"] * 10) for t in trials) == list(range(10))
    # Parameters no configuration gives stay one trial per slice as before.
    assert sorted(int(t.unit["momentum"] * 10) for t in trials) == list(range(10))


def test_given_values_in_one_slice_leave_the_others_to_the_sampled_trials() -> None:
    """Two given lrs in the same tenth: one slice stays empty, the sampled trials still take
    each of the others once."""
    strategy = make_strategy("coarse_to_fine", SPACE, "min", 4, stages=[StageSpec(trials=10)])
    strategy.start_with(given_points(SPACE, [{"lr": 0.01}, {"lr": 0.0101}]))
    trials = _first(strategy, 10)
    sampled = [int(t.unit["lr"] * 10) for t in trials[2:]]
    given = int(trials[0].unit["lr"] * 10)
    assert int(trials[1].unit["lr"] * 10) == given
    assert len(set(sampled)) == 8 and given not in sampled
