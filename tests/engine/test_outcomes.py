"""The outcome pipeline: one verdict per trial, decided once, published in order to sinks."""

from __future__ import annotations

from search_spaces.trial import Trial
from searcher.engine.outcomes import INTERRUPTED, TrialOutcomes
from searcher.engine.protocol import Control, Received
from searcher.engine.tuner import MetricNeverComes
from searcher.events import (
    Event,
    Publisher,
    StageStarted,
    TrialEnded,
    TrialOutput,
    TrialPlaced,
    TrialReported,
    TrialRetried,
    TrialStarted,
    Verdict,
)
from tests.engine.sinks import Collect

TRIAL = Trial("1-000", 1, {"lr": 0.5}, {"lr": 0.01, "opt": "adam"})


def _pipeline(mode: str = "max", epochs: int | None = 3) -> tuple[TrialOutcomes, Collect]:
    sink = Collect()
    outcomes = TrialOutcomes("acc", mode, epochs, Publisher([sink]))
    return outcomes, sink


def _run(outcomes: TrialOutcomes, tid: str = "t", trial: Trial = TRIAL) -> None:
    outcomes.suggested(tid, trial)
    outcomes.started(tid)


def _report(outcomes: TrialOutcomes, step: int, tid: str = "t", **metrics: float) -> None:
    outcomes.reported(tid, Received(step, dict(metrics), Control(reported_at=100.0 + step)))


def _control(outcomes: TrialOutcomes, tid: str = "t", **control: object) -> None:
    outcomes.reported(tid, Received(0, {}, Control(**control)))  # type: ignore[arg-type]


def test_finished_after_the_whole_budget_with_the_best_epoch_as_score() -> None:
    outcomes, sink = _pipeline()
    _run(outcomes)
    for epoch, acc in enumerate([0.5, 0.8, 0.7], start=1):
        _report(outcomes, epoch, acc=acc)
    outcomes.ended("t")
    [end] = sink.ended()
    assert end.verdict == Verdict("FINISHED", 0.8)
    assert (end.best, end.steps, end.ended_at) == (0.8, 3, 103.0)
    kinds = [type(e) for e in sink.events]
    assert kinds == [TrialStarted, TrialReported, TrialReported, TrialReported, TrialEnded]
    assert outcomes.statuses == {"1-000": "FINISHED"}


def test_min_mode_keeps_the_lowest() -> None:
    outcomes, sink = _pipeline(mode="min")
    _run(outcomes)
    for epoch, acc in enumerate([0.5, 0.2, 0.7], start=1):
        _report(outcomes, epoch, acc=acc)
    outcomes.ended("t")
    assert sink.ended()[0].verdict.score == 0.2


def test_stopped_before_the_budget_is_finished_early_with_its_score() -> None:
    outcomes, sink = _pipeline()
    _run(outcomes)
    _report(outcomes, 1, acc=0.4)
    outcomes.ended("t")
    verdict = sink.ended()[0].verdict
    assert (verdict.status, verdict.score, verdict.stopped_early) == ("FINISHED", 0.4, True)
    assert verdict.reason == "stopped early after 1 of 3 epochs"


def test_own_code_that_ends_by_itself_is_finished_before_the_budget() -> None:
    outcomes, sink = _pipeline(epochs=5)
    _run(outcomes)
    _report(outcomes, 2, acc=0.7)
    _control(outcomes, ended=True)
    outcomes.ended("t")
    assert sink.ended()[0].verdict == Verdict("FINISHED", 0.7)


def test_reported_failure_and_worker_error_fail_without_score_but_keep_the_best() -> None:
    outcomes, sink = _pipeline()
    _run(outcomes)
    _report(outcomes, 1, acc=0.4)
    _control(outcomes, failed="train loss became nan")
    outcomes.ended("t")
    _run(outcomes, "u", Trial("1-001", 1, {}, {}))
    _report(outcomes, 1, "u", acc=0.3)
    outcomes.ended("u", "ValueError: boom")
    failed, raised = sink.ended()
    assert failed.verdict == Verdict("FAILED", None, "train loss became nan")
    assert failed.best == 0.4, "the best epoch before the failure is still known"
    assert raised.verdict == Verdict("FAILED", None, "ValueError: boom")


def test_trials_ended_by_a_halt_are_killed_with_its_reason() -> None:
    """The store stopped taking writes: the running trials end KILLED, for a resume to redo."""
    outcomes, sink = _pipeline()
    _run(outcomes)
    _report(outcomes, 1, acc=0.4)
    _run(outcomes, "u", Trial("1-001", 1, {}, {}))
    _run(outcomes, "v", Trial("1-002", 1, {}, {}))
    outcomes.halt("database or disk is full")
    outcomes.ended("t")  # Tune stopped it
    outcomes.ended("u", "RayActorError: died")  # its worker died meanwhile: that is its end
    outcomes.interrupted()
    ended = {e.trial.key: e.verdict for e in sink.ended()}
    stopped = "the search stopped: database or disk is full"
    assert ended["1-000"] == Verdict("KILLED", None, stopped)
    assert ended["1-001"] == Verdict("FAILED", None, "RayActorError: died")
    assert ended["1-002"] == Verdict("KILLED", None, stopped)


def test_a_failure_reported_before_the_worker_ends_itself_is_the_reason() -> None:
    """A trial past its limits reports why, then raises so that its worker ends."""
    outcomes, sink = _pipeline()
    _run(outcomes)
    _control(outcomes, failed="timed out after 20m", ends_worker=True)
    outcomes.ended("t", "LimitExceeded: timed out after 20m")
    [end] = sink.ended()
    assert end.verdict == Verdict("FAILED", None, "timed out after 20m")


def test_the_verdict_is_decided_once_and_published_once() -> None:
    outcomes, sink = _pipeline()
    _run(outcomes)
    _report(outcomes, 3, acc=0.9)
    outcomes.ended("t")
    _control(outcomes, failed="late")
    outcomes.ended("t", "ValueError: boom")  # Tune hears of one end from two places
    outcomes.interrupted()
    assert [e.verdict for e in sink.ended()] == [Verdict("FINISHED", 0.9)]


def test_a_metric_never_reported_fails_naming_what_was_reported() -> None:
    outcomes, sink = _pipeline(epochs=1)
    _run(outcomes)
    _report(outcomes, 1, accuracy=0.9)
    outcomes.ended("t")
    verdict = sink.ended()[0].verdict
    assert verdict.status == "FAILED" and verdict.missing_metric
    assert verdict.reason == "no acc was reported (reported: accuracy)"


def test_an_interrupt_kills_running_trials_and_forgets_unstarted_ones() -> None:
    outcomes, sink = _pipeline()
    _run(outcomes)
    _report(outcomes, 1, acc=0.5)
    outcomes.suggested("never", Trial("1-001", 1, {}, {}))
    outcomes.ended("never")  # Tune stops a pending trial: it has no run and no verdict
    outcomes.interrupted()
    [end] = sink.ended()
    assert end.trial.key == "1-000" and end.verdict == Verdict("KILLED", None, INTERRUPTED)
    assert outcomes.statuses == {"1-000": "KILLED"}


def test_a_recovered_trial_starts_over_under_the_same_key() -> None:
    outcomes, sink = _pipeline()
    _run(outcomes)
    _report(outcomes, 2, acc=0.9)
    outcomes.retried("t", "worker died")
    outcomes.started("t")  # Tune starts it again: no second start event
    _report(outcomes, 3, acc=0.6)
    outcomes.ended("t")
    retried = [e for e in sink.events if isinstance(e, TrialRetried)]
    assert retried == [TrialRetried("1-000", 1, "worker died")]
    assert sum(isinstance(e, TrialStarted) for e in sink.events) == 1
    assert sink.ended()[0].verdict == Verdict("FINISHED", 0.6), "the lost attempt's 0.9 is gone"


def test_placement_and_output_travel_as_their_own_events() -> None:
    outcomes, sink = _pipeline()
    _run(outcomes)
    _control(outcomes, placement={"device": "cpu"}, output={"stdout": "hi\n"})
    outcomes.stage_started(2, 4, {"lr": "[0.1, 0.2]"})
    assert sink.events[1:] == [
        TrialPlaced("1-000", {"device": "cpu"}),
        TrialOutput("1-000", {"stdout": "hi\n"}),
        StageStarted(2, 4, {"lr": "[0.1, 0.2]"}),
    ]


def test_unknown_trial_ids_are_ignored() -> None:
    outcomes, sink = _pipeline()
    _report(outcomes, 1, "other", acc=1.0)
    outcomes.ended("other")
    assert sink.events == []


def _ends(stopper: MetricNeverComes, names: list[str]) -> None:
    for i, name in enumerate(names):
        outcomes = TrialOutcomes("acc", "max", 1, Publisher([stopper]))
        _run(outcomes, f"t{i}")
        _report(outcomes, 1, f"t{i}", **{name: 0.5})
        outcomes.ended(f"t{i}")


def test_the_search_stops_when_its_first_trials_all_miss_the_metric() -> None:
    stopper = MetricNeverComes("acc", 4)
    _ends(stopper, ["accuracy"] * 3)
    assert stopper.reason() is None, "not before the first four have ended"
    _ends(stopper, ["accuracy"])
    reason = stopper.reason()
    assert reason is not None and stopper.stop_all()
    assert "the first 4 trials ended without reporting the metric acc" in reason
    assert "(the last one reported: accuracy)" in reason


def test_one_trial_that_scores_among_the_first_keeps_the_search_going() -> None:
    stopper = MetricNeverComes("acc", 4)
    _ends(stopper, ["accuracy", "acc", "accuracy", "accuracy", "accuracy"])
    assert stopper.reason() is None and not stopper.stop_all()


def test_a_trial_whose_worker_fails_before_it_starts_fails_on_the_record() -> None:
    outcomes, sink = _pipeline()
    outcomes.suggested("t", TRIAL)
    outcomes.retried("t", "actor died")  # Tune retries a worker that never ran the trial
    outcomes.ended("t", "RayActorError: the actor died unexpectedly")
    kinds = [type(e) for e in sink.events]
    assert kinds == [TrialStarted, TrialEnded], "a run is made so the failure is recorded"
    assert sink.ended()[0].verdict == Verdict(
        "FAILED", None, "RayActorError: the actor died unexpectedly"
    )


def test_a_sink_that_raises_is_noted_and_the_others_still_hear_every_event() -> None:
    class Broken:
        def handle(self, event: Event) -> None:
            raise BrokenPipeError("the console's pipe closed")

    sink = Collect()
    publisher = Publisher([Broken(), sink])
    outcomes = TrialOutcomes("acc", "max", 1, publisher)
    _run(outcomes)
    _report(outcomes, 1, acc=0.5)
    outcomes.ended("t")
    assert [type(e) for e in sink.events] == [TrialStarted, TrialReported, TrialEnded]
    assert len(publisher.errors) == 3
    assert publisher.errors[0] == "Broken: BrokenPipeError: the console's pipe closed"
