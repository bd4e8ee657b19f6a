"""Spec validation: every bad spec is one line naming file and field, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from searcher.cli import cli
from searcher.errors import SpecError
from searcher.spec import apply_overrides, load_spec
from searcher.yaml_io import load_yaml
from tests.conftest import base_spec, write_spec


def _bad(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    return base_spec("bad", tmp_path, **changes)


def _space(**entries: Any) -> dict[str, Any]:
    return {"space": {"optimizer": "adam", **entries}}


BAD_SPECS = [
    ("unknown top key", {"epochz": 3}, "epochz", "unknown key 'epochz'; expected one of name,"),
    ("unknown nested key", {"budget": {"epoch": 3}}, "budget.epoch", "unknown key 'epoch'"),
    ("wrong type", {"budget": {"epochs": "many"}}, "budget.epochs", "valid integer"),
    (
        "low >= high",
        _space(lr={"scale": "log", "low": 0.1, "high": 0.01}),
        "space.lr.high",
        "low must be < high",
    ),
    (
        "log low <= 0",
        _space(lr={"scale": "log", "low": 0, "high": 0.1}),
        "space.lr.low",
        "must be > 0 for scale 'log', got 0",
    ),
    (
        "beta outside (0,1)",
        _space(beta1={"scale": "one_minus_log", "low": 0.9, "high": 1.0}),
        "space.beta1.high",
        "must be in (0, 1)",
    ),
    (
        "unknown scale",
        _space(lr={"scale": "loggy", "low": 1, "high": 2}),
        "space.lr.scale",
        "loggy",
    ),
    ("unknown workload", {"workload": "resnet"}, "workload", "unknown workload 'resnet'"),
    (
        "unknown strategy",
        {"search": {"strategy": "bayes"}},
        "search.strategy",
        "unknown strategy 'bayes'; expected one of random, grid, coarse_to_fine, optuna_tpe",
    ),
    ("param the workload lacks", _space(momentun=0.9), "space.momentun", "no hyperparameter"),
    ("bad metric", {"metric": {"name": "accuracy"}}, "metric.name", "expected one of"),
    ("bad mode", {"metric": {"name": "val_loss", "mode": "up"}}, "metric.mode", "'max' or 'min'"),
    ("bad data key", {"data": {"dataset": "mnist", "rooot": "x"}}, "data", "rooot"),
    (
        "stages on random",
        {"search": {"strategy": "random", "stages": [{"trials": 2}]}},
        "search",
        "only for coarse_to_fine",
    ),
]


@pytest.mark.parametrize(
    ("label", "changes", "field", "message"), BAD_SPECS, ids=[b[0] for b in BAD_SPECS]
)
def test_bad_spec_is_one_line_exit_2_and_writes_nothing(
    tmp_path: Path, label: str, changes: dict, field: str, message: str
) -> None:
    path = write_spec(tmp_path / "bad.yaml", _bad(tmp_path, **changes))
    store = tmp_path / "store.db"
    result = CliRunner().invoke(cli, ["run", str(path), "--tracking-uri", str(store)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"error: {path}: {field}: "), lines[0]
    assert message in lines[0]
    assert not store.exists(), "a bad spec must not create or touch the store"


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(cli, ["validate", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2
    assert missing.output.strip() == f"error: {tmp_path / 'nope.yaml'}: spec file not found"
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nspace: [unclosed\n")
    result = runner.invoke(cli, ["validate", str(broken)])
    assert result.exit_code == 2
    assert "invalid YAML at line" in result.output and str(broken) in result.output


def test_validate_ok_reports_plan(tmp_path: Path) -> None:
    path = write_spec(tmp_path / "ok.yaml", base_spec("ok", tmp_path))
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "random, 2 trials of mnist_mlp on mnist" in result.output
    assert "lr log [0.0001, 0.03]" in result.output


def test_overrides_parse_values_as_yaml_and_are_validated(tmp_path: Path) -> None:
    path = write_spec(tmp_path / "ok.yaml", base_spec("ok", tmp_path))
    spec = load_spec(path, ["budget.epochs=7", "space.lr.high=1e-1", "resources.cpu=0.5"])
    assert spec.model.budget.epochs == 7
    assert spec.space.params["lr"].high == pytest.approx(0.1)
    assert spec.model.resources.cpu == 0.5
    with pytest.raises(SpecError, match=r"budget\.epochs"):
        load_spec(path, ["budget.epochs=0"])
    with pytest.raises(SpecError, match=r"--set: expected key.path=value"):
        load_spec(path, ["budget.epochs"])
    with pytest.raises(SpecError, match=r"'name' is not a mapping"):
        apply_overrides({"name": "x"}, ["name.first=y"], "s.yaml")


def test_yaml_reads_exponent_floats() -> None:
    assert load_yaml("a: 1e-4\nb: 3E5\nc: 1.5\nd: '1e-4'\ne: 12") == {
        "a": 1e-4,
        "b": 3e5,
        "c": 1.5,
        "d": "1e-4",
        "e": 12,
    }


def test_example_specs_validate() -> None:
    root = Path(__file__).parents[1] / "spaces"
    names = sorted(p.name for p in root.glob("*.yaml"))
    assert {"adam_cnn.yaml", "sgd_momentum_mlp.yaml"} <= set(names)
    for name in names:
        result = CliRunner().invoke(cli, ["validate", str(root / name)])
        assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"optimizer": ["adam", "adamw"]}, "hyperparameter optimizer: got 'adamw'"),
        ({"dropout": {"scale": "linear", "low": 0.0, "high": 1.5}}, "hyperparameter dropout"),
        ({"batch_size": 0}, "hyperparameter batch_size"),
    ],
)
def test_values_the_workload_rejects_are_spec_errors(
    tmp_path: Path, entry: dict, message: str
) -> None:
    spec = base_spec("vals", tmp_path)
    spec["space"].update(entry)
    path = write_spec(tmp_path / "vals.yaml", spec)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    name = next(iter(entry))
    assert info.value.field == f"space.{name}"
    assert message in str(info.value)
