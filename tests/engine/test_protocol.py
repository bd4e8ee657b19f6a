"""The trial protocol: one record per trial, and the one place its outcome is decided."""

from __future__ import annotations

import pickle

import pytest

from searcher.engine.protocol import (
    ENDED,
    FAILED,
    PLACEMENT,
    RAISED,
    REPORTED_AT,
    TrialBook,
    TrialConfig,
    Verdict,
    metrics_of,
)

CONFIG = TrialConfig("1-000", 1, {"lr": 0.01, "opt": "adam"}, {"lr": 0.5})


def _book(mode: str = "max", epochs: int = 3) -> TrialBook:
    book = TrialBook("acc", mode, epochs, ignore=frozenset({"time_this_iter_s"}))
    book.open("t", CONFIG)
    return book


def test_config_round_trips_through_the_dict_tune_carries() -> None:
    assert TrialConfig.from_dict(CONFIG.to_dict()) == CONFIG
    assert pickle.loads(pickle.dumps(CONFIG)) == CONFIG


def test_finished_after_the_whole_budget_with_the_best_epoch_as_score() -> None:
    book = _book()
    for epoch, acc in enumerate([0.5, 0.8, 0.7], start=1):
        book.observe("t", {"epoch": epoch, "acc": acc, REPORTED_AT: 100.0 + epoch})
    assert book.verdict("t") == Verdict("FINISHED", 0.8)
    assert book.records["t"].reported_at == 103.0


def test_min_mode_keeps_the_lowest() -> None:
    book = _book(mode="min")
    for epoch, acc in enumerate([0.5, 0.2, 0.7], start=1):
        book.observe("t", {"epoch": epoch, "acc": acc})
    assert book.verdict("t").score == 0.2


def test_stopped_before_the_budget_is_finished_early_with_its_score() -> None:
    book = _book()
    book.observe("t", {"epoch": 1, "acc": 0.4})
    assert book.verdict("t") == Verdict("FINISHED", 0.4, stopped_early=True)


def test_reported_failure_and_raised_error_are_failed_without_score() -> None:
    book = _book()
    book.observe("t", {"epoch": 1, "acc": 0.4})
    book.observe("t", {FAILED: "train loss became nan", REPORTED_AT: 1.0})
    assert book.verdict("t") == Verdict("FAILED", None, "train loss became nan")
    assert book.records["t"].best == 0.4, "the best epoch before the failure is still known"
    raised = _book()
    raised.observe("t", {"epoch": 1, "acc": 0.4})
    assert raised.verdict("t", RAISED) == Verdict("FAILED", None, RAISED)


def test_the_verdict_is_decided_once() -> None:
    book = _book()
    book.observe("t", {"epoch": 3, "acc": 0.9})
    first = book.verdict("t")
    book.observe("t", {FAILED: "late"})
    assert book.verdict("t", "ValueError: boom") is first


def test_own_code_that_ends_by_itself_is_finished_before_the_budget() -> None:
    book = _book(epochs=5)
    book.observe("t", {"epoch": 2, "acc": 0.7})
    book.observe("t", {ENDED: True})
    assert book.verdict("t") == Verdict("FINISHED", 0.7)


def test_without_a_budget_a_trial_is_never_killed_for_stopping_early() -> None:
    book = TrialBook("acc", "max", None)
    book.open("t", CONFIG)
    book.observe("t", {"acc": 0.3})
    assert book.verdict("t") == Verdict("FINISHED", 0.3)


def test_the_search_stops_when_its_first_trials_all_miss_the_metric() -> None:
    book = TrialBook("acc", "max", 1)
    for i in range(4):
        book.open(f"t{i}", CONFIG)
        book.observe(f"t{i}", {"epoch": 1, "accuracy": 0.5})
        assert book.metric_never_comes(4) is None, "not before the first four have ended"
        book.end(book.verdict(f"t{i}"))
    reason = book.metric_never_comes(4)
    assert reason is not None
    assert "the first 4 trials ended without reporting the metric acc" in reason
    assert "(the last one reported: accuracy)" in reason


def test_one_trial_that_scores_among_the_first_keeps_the_search_going() -> None:
    book = TrialBook("acc", "max", 1)
    for i, metric in enumerate(["accuracy", "acc", "accuracy", "accuracy", "accuracy"]):
        book.open(f"t{i}", CONFIG)
        book.observe(f"t{i}", {"epoch": 1, metric: 0.5})
        book.end(book.verdict(f"t{i}"))
    assert book.metric_never_comes(4) is None


def test_a_metric_never_reported_fails_naming_what_was_reported() -> None:
    book = _book(epochs=1)
    book.observe("t", {"epoch": 1, "accuracy": 0.9, "time_this_iter_s": 0.1, PLACEMENT: {}})
    verdict = book.verdict("t")
    assert verdict.status == "FAILED"
    assert verdict.reason == "no acc was reported (reported: accuracy)"


def test_observing_the_same_report_twice_changes_nothing() -> None:
    once, twice = _book(), _book()
    report = {"epoch": 2, "acc": 0.6}
    once.observe("t", report)
    twice.observe("t", report)
    twice.observe("t", report)
    assert once.records["t"] == twice.records["t"]


def test_non_finite_and_boolean_values_are_not_metrics() -> None:
    found = metrics_of({"a": 1, "b": float("nan"), "c": True, "d": "x", "epoch": 3, "e": 2.5})
    assert found == {"a": 1.0, "e": 2.5}
    book = _book()
    book.observe("t", {"epoch": 3, "acc": float("inf")})
    assert book.verdict("t").status == "FAILED"


def test_unknown_trial_ids_are_ignored() -> None:
    book = _book()
    book.observe("other", {"acc": 1.0})
    assert book.get("other") is None
    with pytest.raises(KeyError):
        book.verdict("other")
