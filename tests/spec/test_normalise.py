"""The normalised spec the store records: validating it again gives the same search."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from searcher.spec import validate_spec
from searcher.spec.normalise import normalised, stage_plan
from tests.conftest import WORKLOAD_DIR, base_spec, paced_spec

COMMAND = {
    "name": "cmd",
    "workload": {"command": "python train.py --x {x}"},
    "code_dir": str(WORKLOAD_DIR),
    "metric": {"name": "score"},
    "space": {"x": {"scale": "log", "low": 0.01, "high": 1.0}, "b": [8, 16]},
    "search": {"strategy": "grid", "grid_points": 2},
}


@pytest.mark.parametrize(
    "raw",
    [
        paced_spec("paced"),
        {**paced_spec("budget"), "search": {"trials": 40}},
        base_spec("mlp", Path("/tmp")),
        COMMAND,
    ],
    ids=["stages", "trials", "builtin", "command"],
)
def test_the_normalised_spec_validates_to_the_same_search(raw: dict[str, Any]) -> None:
    spec = validate_spec(raw, "<spec>")
    again = validate_spec(normalised(spec), "<record>")
    assert normalised(again) == normalised(spec)
    assert list(again.space.params) == list(spec.space.params), "the space keeps its order"
    first, second = spec.build_strategy(), again.build_strategy()
    assert first.planned_trials == second.planned_trials
    asked = [first.ask(), second.ask()]
    assert asked[0] == asked[1], "the same first trial"


def test_defaults_are_written_out() -> None:
    mlp = normalised(validate_spec(base_spec("mlp", Path("/tmp"), budget={}), "<spec>"))
    assert mlp["budget"] == {"epochs": 3}, "a model workload's default epochs"
    assert mlp["resources"]["cpu"] == 1 and mlp["scheduler"]["type"] == "fifo"
    staged = normalised(validate_spec({**paced_spec("b"), "search": {"trials": 40}}, "<spec>"))
    assert "trials" not in staged["search"]
    assert [s["trials"] for s in staged["search"]["stages"]] == [10, 5, 5, 4, 4, 4, 4, 4]
    spec = validate_spec(paced_spec("p"), "<spec>")
    assert stage_plan(spec, 10) == (6, 4)
    grid = validate_spec(COMMAND, "<spec>")
    assert stage_plan(grid, 4) == (4,)


def test_a_function_passed_to_the_api_is_the_recorded_workload() -> None:
    from searcher.api import load

    def fit(params: dict, report: Any) -> None:
        report({"score": params["lr"]})

    spec = load({**paced_spec("api"), "workload": "paced:fit"}, train=fit)
    assert spec.workload.name.endswith(
        ":test_a_function_passed_to_the_api_is_the_recorded_workload.<locals>.fit"
    )
    assert normalised(spec)["workload"] == spec.workload.name


def test_a_resume_refuses_a_spec_that_plans_other_stages_than_recorded() -> None:
    from searcher.errors import SpecError
    from searcher.resuming import check_plan
    from searcher.tracking.records import SearchRecord

    spec = validate_spec(paced_spec("p"), "<spec>")
    check_plan(spec, SearchRecord(normalised(spec), (6, 4), 10), "search x")
    with pytest.raises(SpecError, match=r"expected the recorded stage plan \[5, 5\], got \[6, 4\]"):
        check_plan(spec, SearchRecord(normalised(spec), (5, 5), 10), "search x")


def test_spec_changes_name_each_leaf_that_differs() -> None:
    from searcher.spec.normalise import spec_changes

    old = {"space": {"lr": {"low": 1, "high": 2}, "w": 3}, "metric": {"name": "a"}, "seed": 1}
    new = {"space": {"lr": {"low": 1, "high": 5}, "x": [1, 2]}, "metric": {"name": "b"}, "seed": 1}
    assert spec_changes(old, new) == [
        "space.lr.high: 2 -> 5",
        "space.w: removed",
        "space.x: added",
        "metric.name: 'a' -> 'b'",
    ]
    assert spec_changes(old, new, ("seed", "workload")) == [], "only the keys asked, both absent"
