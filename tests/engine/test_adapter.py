"""The Ray Searcher adapter: waits between stages, finishes, and learns verdicts as a sink."""

from __future__ import annotations

import pickle

from ray.tune.search import Searcher

from search_spaces.space import SearchSpace
from search_spaces.strategies import make_strategy
from search_spaces.strategies.coarse_to_fine import StageSpec
from search_spaces.trial import Trial
from searcher.engine.adapter import StrategySearcher
from searcher.engine.outcomes import TrialOutcomes
from searcher.engine.protocol import Control, Received
from searcher.events import Publisher, StageStarted
from tests.engine.sinks import Collect

SPACE = SearchSpace.from_mapping(
    {"lr": {"scale": "log", "low": 1e-4, "high": 1e-1}, "opt": ["adam", "sgd"]}
)


def _searcher() -> tuple[StrategySearcher, TrialOutcomes, Collect]:
    stages = [StageSpec(trials=4), StageSpec(trials=2, keep_top=0.5, pad=0.0)]
    strategy = make_strategy("coarse_to_fine", SPACE, "max", 7, stages=stages)
    collect = Collect()
    publisher = Publisher()
    outcomes = TrialOutcomes("acc", "max", 2, publisher)
    searcher = StrategySearcher(strategy, outcomes)
    publisher.sinks = [searcher, collect]
    return searcher, outcomes, collect


def _finish(outcomes: TrialOutcomes, tid: str, acc: float | None) -> None:
    outcomes.started(tid)
    if acc is None:
        outcomes.reported(tid, Received(0, {}, Control(failed="loss became nan")))
    else:
        outcomes.reported(tid, Received(1, {"acc": acc - 0.1}, Control()))
        outcomes.reported(tid, Received(2, {"acc": acc}, Control()))
    outcomes.ended(tid)


def test_waits_between_stages_tells_verdicts_and_finishes() -> None:
    searcher, outcomes, collect = _searcher()
    configs = {f"t{i}": searcher.suggest(f"t{i}") for i in range(4)}
    assert all(Trial.from_wire(c).stage == 1 for c in configs.values())
    assert searcher.suggest("t4") is None, "stage 2 must wait for stage 1"
    for i, tid in enumerate(configs):
        _finish(outcomes, tid, None if i == 0 else 0.5 + i / 10)
    told = {r.key: r for r in searcher.strategy.known_results}
    assert told["1-000"].failed and told["1-000"].error == "loss became nan"
    assert told["1-003"].score == 0.8, "the score is the best epoch, not the last"
    second = [Trial.from_wire(searcher.suggest(f"s{i}")) for i in range(2)]
    assert [t.stage for t in second] == [2, 2]
    stages = [e for e in collect.events if isinstance(e, StageStarted)]
    assert [(e.stage, e.trials) for e in stages] == [(1, 4), (2, 2)]
    assert stages[0].ranges is None and set(stages[1].ranges or {}) == {"lr", "opt"}
    for i in range(2):
        _finish(outcomes, f"s{i}", 0.9)
    assert searcher.suggest("x") == Searcher.FINISHED


def test_a_killed_trial_is_not_told_so_resume_runs_it_again() -> None:
    searcher, outcomes, _ = _searcher()
    searcher.suggest("t0")
    outcomes.started("t0")
    outcomes.interrupted()
    assert searcher.strategy.known_results == []


def test_a_stopped_early_trial_is_told_its_score_not_a_failure() -> None:
    searcher, outcomes, _ = _searcher()
    searcher.suggest("t0")
    outcomes.started("t0")
    outcomes.reported("t0", Received(1, {"acc": 0.4}, Control()))
    outcomes.ended("t0")
    [result] = searcher.strategy.known_results
    assert (result.score, result.error, result.failed) == (0.4, None, False)


def test_tune_pickles_the_searcher_without_this_process_sinks() -> None:
    searcher, _, _ = _searcher()
    searcher.suggest("t0")
    copy = pickle.loads(pickle.dumps(searcher))
    assert copy.outcomes is None and copy.strategy.planned_trials == 6
