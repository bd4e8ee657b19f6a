"""The Ray Searcher adapter: waits between stages, finishes, saves and restores exactly."""

from __future__ import annotations

from pathlib import Path

from ray.tune.search import Searcher

from search_spaces.space import SearchSpace
from search_spaces.strategies import make_strategy
from search_spaces.strategies.coarse_to_fine import StageSpec
from searcher.engine.adapter import StrategySearcher
from searcher.engine.protocol import FAILED, TrialBook

SPACE = SearchSpace.from_mapping(
    {"lr": {"scale": "log", "low": 1e-4, "high": 1e-1}, "opt": ["adam", "sgd"]}
)


def _searcher() -> StrategySearcher:
    stages = [StageSpec(trials=4), StageSpec(trials=2, keep_top=0.5, pad=0.0)]
    strategy = make_strategy("coarse_to_fine", SPACE, "max", 7, stages=stages)
    return StrategySearcher(strategy, TrialBook("acc", "max", epochs=2))


def _finish(searcher: StrategySearcher, tid: str, config: dict, acc: float | None) -> None:
    if acc is None:
        searcher.on_trial_complete(tid, {FAILED: "loss became nan"})
        return
    searcher.on_trial_result(tid, {"acc": acc - 0.1})
    searcher.on_trial_result(tid, {"acc": acc})
    searcher.on_trial_complete(tid, {"acc": acc - 0.05})


def test_waits_between_stages_and_finishes() -> None:
    searcher = _searcher()
    configs = {f"t{i}": searcher.suggest(f"t{i}") for i in range(4)}
    assert all(c["stage"] == 1 for c in configs.values())
    assert searcher.suggest("t4") is None, "stage 2 must wait for stage 1"
    for i, (tid, cfg) in enumerate(configs.items()):
        _finish(searcher, tid, cfg, None if i == 0 else 0.5 + i / 10)
    results = {r.key: r for r in searcher.strategy.results}
    assert results["1-000"].failed and "nan" in results["1-000"].error
    assert results["1-003"].score == 0.8, "the score is the best epoch, not the last"
    second = [searcher.suggest(f"s{i}") for i in range(2)]
    assert [c["stage"] for c in second] == [2, 2]
    for i, cfg in enumerate(second):
        _finish(searcher, f"s{i}", cfg, 0.9)
    assert searcher.suggest("x") == Searcher.FINISHED


def test_save_and_restore_continue_identically(tmp_path: Path) -> None:
    first = _searcher()
    configs = {f"t{i}": first.suggest(f"t{i}") for i in range(4)}
    for i, (tid, cfg) in enumerate(list(configs.items())[:3]):
        _finish(first, tid, cfg, 0.5 + i / 10)
    first.save(str(tmp_path / "state.pkl"))

    restored = _searcher()
    restored.restore(str(tmp_path / "state.pkl"))
    for s in (first, restored):
        _finish(s, "t3", configs["t3"], 0.6)
    assert [first.suggest("a")["params"] for _ in range(1)] == [
        restored.suggest("a")["params"] for _ in range(1)
    ]


def test_the_result_that_stops_a_trial_counts_toward_its_score() -> None:
    searcher = _searcher()
    cfg = searcher.suggest("t0")
    searcher.on_trial_result("t0", {"acc": 0.2})
    # ASHA's stop decision: Tune passes this result only to on_trial_complete.
    searcher.on_trial_complete("t0", {"acc": 0.4, "done": True})
    assert searcher.book.records["t0"].best == 0.4
    assert searcher.strategy.results[0].score == 0.4
    assert cfg["key"] == "1-000"
