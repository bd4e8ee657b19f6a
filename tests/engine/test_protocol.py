"""The report's wire form: the user's metrics and searcher's control data never mix."""

from __future__ import annotations

import pickle

from searcher.engine.protocol import CONTROL, METRICS, Control, metric_path, pack, unpack

CONTROL_NAMES = ["failed", "ended", "placement", "output", "reported_at", "done", "trial_id"]


def test_metrics_named_like_control_data_or_tune_keys_stay_metrics() -> None:
    metrics = {name: float(i) for i, name in enumerate(CONTROL_NAMES)} | {"epoch": 2, "acc": 0.5}
    wire = pack(metrics, Control(reported_at=10.0))
    # Tune adds its own bookkeeping at the top level, beside ours.
    received = unpack({**wire, "done": False, "trial_id": "abc", "training_iteration": 7})
    assert received.metrics == {name: float(i) for i, name in enumerate(CONTROL_NAMES)} | {
        "acc": 0.5
    }
    assert received.step == 2, "a report's epoch is its step"
    assert received.control == Control(reported_at=10.0)


def test_control_data_round_trips_and_pickles() -> None:
    control = Control(
        reported_at=1.5,
        placement={"device": "cpu", "threads": 2},
        failed="timed out after 20m",
        ended=True,
        ends_worker=True,
        output={"stdout": "x"},
    )
    wire = pack({}, control)
    assert set(wire) == {METRICS, CONTROL}
    assert unpack(pickle.loads(pickle.dumps(wire))).control == control


def test_non_finite_and_non_numeric_values_are_not_metrics() -> None:
    wire = pack({"a": 1, "b": float("nan"), "c": True, "d": "x", "e": 2.5, "f": None}, Control())
    assert unpack(wire).metrics == {"a": 1.0, "e": 2.5}


def test_without_an_epoch_the_step_is_tunes_report_count() -> None:
    received = unpack({**pack({"acc": 0.1}, Control()), "training_iteration": 4})
    assert received.step == 4


def test_schedulers_read_metrics_under_their_flattened_path() -> None:
    assert metric_path("val_accuracy") == "metrics/val_accuracy"
