"""The one Workload interface: each kind checks the spec, names what it ships, and runs."""

from __future__ import annotations

import importlib
import pickle
import sys
from pathlib import Path
from typing import Any

import pytest

from search_spaces.space import SearchSpace
from trials.errors import CommandFailed
from trials.registry import WORKLOADS, get_workload
from trials.user_code import CommandWorkload, FunctionWorkload, local_modules
from trials.workload import TrialContext, Workload, WorkloadMismatch

CONTEXT = TrialContext(key="1-000", seed=1, metric="acc", epochs=None, device="cpu", threads=1)


def _space(**entries: Any) -> SearchSpace:
    return SearchSpace.from_mapping(entries)


def test_every_kind_implements_the_interface() -> None:
    kinds = [WORKLOADS["mnist_mlp"], FunctionWorkload("m:f", print), CommandWorkload("true", ".")]
    assert all(isinstance(w, Workload) for w in kinds)
    assert [w.owns_data for w in kinds] == [False, True, True]
    assert [w.name for w in kinds] == ["mnist_mlp", "m:f", "command: true"]


def test_a_model_workload_checks_names_values_data_and_metric() -> None:
    mlp = WORKLOADS["mnist_mlp"]
    mlp.check(_space(lr={"scale": "log", "low": 1e-4, "high": 0.1}), "val_accuracy", "mnist")
    cases = [
        (_space(depth=3), "val_accuracy", "mnist", "space.depth"),
        (_space(optimizer=["adam", "adamw"]), "val_accuracy", "mnist", "space.optimizer"),
        (_space(lr=0.1), "val_accuracy", "catdog", "data.dataset"),
        (_space(lr=0.1), "acc", "mnist", "metric.name"),
    ]
    for space, metric, dataset, field in cases:
        with pytest.raises(WorkloadMismatch) as caught:
            mlp.check(space, metric, dataset)
        assert caught.value.field == field


def test_a_command_checks_its_placeholders_and_ships_the_files_it_names(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("")
    (tmp_path / "run.sh").write_text("")
    (tmp_path / "data.csv").write_text("")
    command = CommandWorkload("sh run.sh --lr {lr}", str(tmp_path))
    command.check(_space(lr=0.1), "acc", "mnist")
    with pytest.raises(WorkloadMismatch, match=r"got \{width\}"):
        CommandWorkload("python train.py {width}", str(tmp_path)).check(_space(), "acc", "")
    assert [p.name for p in command.shipped_files(tmp_path)] == ["run.sh", "train.py"]
    assert WORKLOADS["mnist_mlp"].shipped_files(tmp_path) == [], "a built-in ships nothing"


def test_a_command_reports_its_output_with_its_metrics(tmp_path: Path) -> None:
    script = tmp_path / "t.py"
    script.write_text("import sys\nprint('acc=0.5')\nprint('oops', file=sys.stderr)\n")
    calls: list[tuple[dict, dict | None]] = []
    CommandWorkload(f"python {script.name}", str(tmp_path)).run(
        {"lr": 0.1}, lambda m, *, output=None: calls.append((m, output)), CONTEXT
    )
    assert calls[0][0] == {"acc": 0.5}
    streams = {s: "".join((o or {}).get(s, "") for _, o in calls) for s in ("stdout", "stderr")}
    assert streams == {"stdout": "acc=0.5\n", "stderr": "oops\n"}
    with pytest.raises(CommandFailed):
        CommandWorkload("false", str(tmp_path)).run({}, lambda m, **_: None, CONTEXT)


def test_a_function_gets_its_params_and_a_plain_report() -> None:
    seen: list[dict] = []

    def fit(params: dict, report: Any) -> None:
        report({"acc": params["lr"] * 2})

    FunctionWorkload("t:fit", fit).run({"lr": 0.25}, lambda m, **_: seen.append(m), CONTEXT)
    assert seen == [{"acc": 0.5}]


def test_only_the_users_own_modules_travel_by_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "users_model.py").write_text("def fit(params, report):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("users_model")
    try:
        user = get_workload("users_model:fit", [str(tmp_path)])
        assert user.modules([str(tmp_path)]) == [module]
        # searcher's own modules stay by reference even when the code folder holds them
        root = str(Path(__file__).resolve().parents[2])
        assert local_modules(WORKLOADS["mnist_mlp"].build_model, [root]) == []
        assert WORKLOADS["mnist_mlp"].modules([root]) == []
        assert local_modules(pickle.dumps, [root]) == [], "an installed module stays by name"
    finally:
        sys.modules.pop("users_model", None)
