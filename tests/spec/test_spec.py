"""Spec validation: every bad spec is one line naming file and field, exit 2, nothing written."""

from __future__ import annotations

import math
import pickle
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from search_spaces.scales import Choice, Scale, Value
from search_spaces.strategies import DONE, REGISTRY, StageSpec, Strategy, Trial, stages_for
from searcher.cli import cli
from searcher.errors import SpecError
from searcher.spec import apply_overrides, load_spec
from searcher.spec.messages import _expected
from searcher.spec.yaml_io import load_yaml
from tests.conftest import base_spec, write_spec
from trials.config import DataConfig
from trials.errors import ParamError
from trials.hparams import COMMON_DEFAULTS, check_params


def _bad(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    return base_spec("bad", tmp_path, **changes)


def _space(**entries: Any) -> dict[str, Any]:
    return {"space": {"optimizer": "adam", **entries}}


BAD_SPECS = [
    ("unknown top key", {"epochz": 3}, "epochz", "unknown key; expected one of name,"),
    ("unknown nested key", {"budget": {"epoch": 3}}, "budget.epoch", "unknown key"),
    ("wrong type", {"budget": {"epochs": "many"}}, "budget.epochs", "expected an integer >= 1"),
    (
        "low >= high",
        _space(lr={"scale": "log", "low": 0.1, "high": 0.01}),
        "space.lr.high",
        "expected > low (0.1), got 0.01",
    ),
    (
        "log low <= 0",
        _space(lr={"scale": "log", "low": 0, "high": 0.1}),
        "space.lr.low",
        "expected > 0 for scale 'log', got 0",
    ),
    (
        "beta outside (0,1)",
        _space(beta1={"scale": "one_minus_log", "low": 0.9, "high": 1.0}),
        "space.beta1.high",
        "expected a number in (0, 1)",
    ),
    (
        "unknown scale",
        _space(lr={"scale": "loggy", "low": 1, "high": 2}),
        "space.lr.scale",
        "loggy",
    ),
    ("unknown workload", {"workload": "resnet"}, "workload", "got 'resnet'"),
    (
        "unknown strategy",
        {"search": {"strategy": "bayes"}},
        "search.strategy",
        "expected one of random, grid, coarse_to_fine, optuna_tpe, optuna_gp, got 'bayes'",
    ),
    ("param the workload lacks", _space(momentun=0.9), "space.momentun", "unknown to workload"),
    ("bad metric", {"metric": {"name": "accuracy"}}, "metric.name", "expected one of"),
    (
        "bad mode",
        {"metric": {"name": "val_loss", "mode": "up"}},
        "metric.mode",
        "expected one of max, min, got 'up'",
    ),
    ("bad data key", {"data": {"dataset": "mnist", "rooot": "x"}}, "data.rooot", "unknown key"),
    (
        "stages on random",
        {"search": {"strategy": "random", "stages": [{"trials": 2}]}},
        "search.stages",
        "expected no stages for strategy random",
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
    staged = base_spec("ok", tmp_path, search={"strategy": "coarse_to_fine", "trials": 48})
    path = write_spec(tmp_path / "staged.yaml", staged)
    result = CliRunner().invoke(cli, ["validate", str(path)])
    plan = "10 + 5 + 5 + 4 + 4 + 4 + 4 + 4 + 4 + 4"
    assert f"coarse_to_fine, 48 trials (stages {plan}) of" in result.output


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
    with pytest.raises(SpecError, match=r"expected a mapping at 'name' to set 'name.first'"):
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
    root = Path(__file__).parents[2] / "spaces"
    names = sorted(p.name for p in root.glob("*.yaml"))
    assert {"adam_cnn.yaml", "sgd_momentum_mlp.yaml"} <= set(names)
    for name in names:
        result = CliRunner().invoke(cli, ["validate", str(root / name)])
        assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"optimizer": ["adam", "adamw"]}, "expected one of sgd, adam, rmsprop, got 'adamw'"),
        (
            {"dropout": {"scale": "linear", "low": 0.0, "high": 1.5}},
            "expected a number >= 0 and < 1, got 1.5",
        ),
        ({"batch_size": 0}, "expected an integer >= 1 and <= 1048576, got 0"),
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
    assert str(info.value) == f"{path}: space.{name}: {message}"


# Exact one-line messages: FILE: field.path: expected ..., got ... (the path said once).
EXACT = [
    (
        {"budget": {"epochs": "abc"}},
        "budget.epochs: expected an integer >= 1 and <= 1000000, got 'abc'",
    ),
    (
        {"search": {"strategy": "bayes"}},
        "search.strategy: expected one of random, grid, coarse_to_fine, optuna_tpe, optuna_gp, "
        "got 'bayes'",
    ),
    (
        {"search": {"strategy": "coarse_to_fine", "trials": 4, "stages": [{"trials": 4}]}},
        "search.stages: expected trials or stages, not both, got [{'trials': 4}]",
    ),
    (
        {"search": {"strategy": "coarse_to_fine", "stages": []}},
        "search.stages: expected at least one stage, got []",
    ),
    (
        {"search": {"strategy": "coarse_to_fine", "stages": [{"trials": 2, "keep_top": 0}]}},
        "search.stages.0.keep_top: expected a number > 0 and <= 1, got 0",
    ),
    (
        {"search": {"strategy": "coarse_to_fine", "stages": [{"trials": 2, "pad": 1}]}},
        "search.stages.0.pad: expected a number >= 0 and < 1, got 1",
    ),
    (
        {"search": {"strategy": "coarse_to_fine", "stages": [{"trials": 2, "zoom": 1}]}},
        "search.stages.0.zoom: unknown key; expected one of trials, keep_top, pad",
    ),
    (
        {"data": {"dataset": "mnist", "bogus": 1}},
        "data.bogus: unknown key; expected one of dataset, root, train_size, val_fraction, seed, "
        "download, image_size, per_class, cache_dir",
    ),
    (
        {"data": {"val_fraction": 1.5}},
        "data.val_fraction: expected a number > 0 and < 1, got 1.5",
    ),
    (
        {"data": {"train_size": "100"}},
        "data.train_size: expected an integer >= 1 and <= 1000000000, got '100'",
    ),
    ({"data": {"download": 1}}, "data.download: expected true or false, got 1"),
    (
        {"data": {"dataset": "cifar"}},
        "data.dataset: expected one of mnist, fashion_mnist, catdog, got 'cifar'",
    ),
    (
        {"data": {"image_size": 32}},
        "data.image_size: only for dataset catdog; expected nothing for mnist, got 32",
    ),
    (
        {"data": {"dataset": "catdog"}},
        "data.dataset: expected one of mnist, fashion_mnist for workload mnist_mlp, got 'catdog'",
    ),
    (
        _space(lr={"scale": "log", "low": 0, "high": 0.1}),
        "space.lr.low: expected > 0 for scale 'log', got 0",
    ),
    (
        _space(dropout={"scale": "linear", "low": 0.0, "high": 1.5}),
        "space.dropout: expected a number >= 0 and < 1, got 1.5",
    ),
    (
        _space(lr={"scale": "log", "lo": 0.1, "high": 1}),
        "space.lr.lo: unknown key for scale 'log'; expected one of scale, low, high",
    ),
    (
        {"resources": {"gpu": 1.5}},
        "resources.gpu: expected a fraction <= 1 or a whole number, got 1.5",
    ),
    (
        {"scheduler": {"type": "hyperband"}},
        "scheduler.type: expected one of fifo, asha, got 'hyperband'",
    ),
    (
        {"workload": "resnet"},
        "workload: expected one of catdog_cnn, mnist_cnn, mnist_mlp or module:function, "
        "got 'resnet'",
    ),
    ({"space": {}}, "space: expected at least 1 entry, got {}"),
    ({"budget": 3}, "budget: expected a mapping, got 3"),
]


@pytest.mark.parametrize(("changes", "expected"), EXACT, ids=[e[1].split(":")[0] for e in EXACT])
def test_error_message_form(tmp_path: Path, changes: dict, expected: str) -> None:
    path = write_spec(tmp_path / "x.yaml", _bad(tmp_path, **changes))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(info.value) == f"{path}: {expected}"
    field = expected.split(": ")[0]
    assert info.value.field == field
    assert str(info.value).count(f"{field}:") == 1, "the field path is said exactly once"
    assert "Input should" not in str(info.value) and "\n" not in str(info.value)


def test_missing_field_and_huge_values(tmp_path: Path) -> None:
    raw = _bad(tmp_path)
    del raw["name"]
    path = write_spec(tmp_path / "x.yaml", raw)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(info.value) == f"{path}: name: expected a value, got nothing"
    huge = write_spec(tmp_path / "h.yaml", _bad(tmp_path, budget={"epochs": "z" * 10_000}))
    with pytest.raises(SpecError) as info:
        load_spec(huge)
    cut = "'" + "z" * 78 + "…"  # 80 characters in all
    assert (
        str(info.value)
        == f"{huge}: budget.epochs: expected an integer >= 1 and <= 1000000, got {cut}"
    )


def test_spec_data_is_the_validated_data_config(tmp_path: Path) -> None:
    path = write_spec(tmp_path / "ok.yaml", base_spec("ok", tmp_path))
    spec = load_spec(path)
    assert isinstance(spec.data, DataConfig) and spec.data is spec.model.data
    assert (spec.data.train_size, spec.data.val_fraction, spec.data.download) == (800, 0.25, False)
    raw = base_spec("ok", tmp_path)
    del raw["data"]
    assert load_spec(write_spec(tmp_path / "d.yaml", raw)).data == DataConfig()


def _run_out(strategy: Strategy) -> list[Trial]:
    """Every trial the strategy hands out, each told a score at once (best near lr 1e-3)."""
    trials: list[Trial] = []
    while isinstance(trial := strategy.ask(), Trial) and len(trials) < 100:
        trials.append(trial)
        strategy.tell(trial.key, -abs(math.log(trial.params["lr"] / 1e-3)))
    return trials


def _inside(scale: Scale, value: Any) -> bool:
    if isinstance(scale, Choice):
        return value in scale.values
    if isinstance(scale, Value):
        return value == scale.value
    return scale.low <= value <= scale.high  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", list(REGISTRY))
def test_the_spec_builds_a_strategy_of_its_size_seed_and_space(tmp_path: Path, name: str) -> None:
    sized_by = REGISTRY[name].sized_by
    size: Any = {"trials": 3, "stages": [{"trials": 2}, {"trials": 1}], "grid_points": 2}[sized_by]
    search = {"strategy": name, "seed": 0, sized_by: size}
    spec = load_spec(write_spec(tmp_path / "s.yaml", _bad(tmp_path, search=search)))
    strategy = spec.build_strategy()
    planned = {"trials": 3, "stages": 3, "grid_points": 2 * 2 * 2}[sized_by]
    assert strategy.planned_trials == planned
    trials = _run_out(strategy)
    assert len(trials) == planned and strategy.ask() is DONE
    assert len({t.key for t in trials}) == planned
    assert [t.stage for t in trials] == ([1, 1, 2] if sized_by == "stages" else [1] * planned)
    for trial in trials:
        assert trial.params.keys() == spec.space.params.keys()
        for param, scale in spec.space.params.items():
            assert _inside(scale, trial.params[param]), (param, trial.params[param])
    # The spec's seed reaches the strategy: the same spec asks the same trials, another seed not.
    assert [t.params for t in _run_out(spec.build_strategy())] == [t.params for t in trials]
    reseeded = load_spec(
        write_spec(tmp_path / "r.yaml", _bad(tmp_path, search={**search, "seed": 1}))
    )
    again = [t.params for t in _run_out(reseeded.build_strategy())]
    assert (again == [t.params for t in trials]) == (name == "grid")
    if sized_by == "stages":
        assert all(isinstance(s, StageSpec) for s in strategy.stages)  # type: ignore[attr-defined]
        # A budget instead of stages: split by stages_for.
        search = {"strategy": name, "seed": 0, "trials": 48}
        spec = load_spec(write_spec(tmp_path / "t.yaml", _bad(tmp_path, search=search)))
        assert spec.build_strategy().stages == stages_for(48)  # type: ignore[attr-defined]
    else:
        with pytest.raises(SpecError, match="search.stages: expected no stages"):
            load_spec(
                write_spec(
                    tmp_path / "t.yaml",
                    _bad(tmp_path, search={"strategy": name, "stages": [{"trials": 2}]}),
                )
            )


def test_default_stages_split_the_default_budget(tmp_path: Path) -> None:
    search = {"strategy": "coarse_to_fine", "seed": 0}
    spec = load_spec(write_spec(tmp_path / "s.yaml", _bad(tmp_path, search=search)))
    strategy = spec.build_strategy()
    assert strategy.stages == stages_for(32)  # type: ignore[attr-defined]
    assert [s.trials for s in strategy.stages] == [10, 5, 5, 4, 4, 4]  # type: ignore[attr-defined]
    assert strategy.planned_trials == 32


def test_param_errors_keep_the_name_apart_and_pickle() -> None:
    with pytest.raises(ParamError) as info:
        check_params(COMMON_DEFAULTS, {"dropout": 1.5})
    err = info.value
    assert (err.name, err.message) == ("dropout", "expected a number >= 0 and < 1, got 1.5")
    assert str(err) == "hyperparameter dropout: expected a number >= 0 and < 1, got 1.5"
    assert isinstance(err, ValueError)
    copy = pickle.loads(pickle.dumps(err))
    assert (type(copy), copy.name, copy.message, str(copy)) == (
        ParamError,
        err.name,
        err.message,
        str(err),
    )


@pytest.mark.parametrize(
    ("msg", "expected"),
    [
        ("Input should be a valid integer", "expected a valid integer"),
        (
            "Input should be a valid integer, unable to parse string as an integer",
            "expected a valid integer",
        ),
        ("Input should be greater than 0", "expected greater than 0"),
    ],
)
def test_pydantic_wording_is_converted_where_the_field_is_unknown(msg: str, expected: str) -> None:
    # An error no constraint words falls back to pydantic's message in our form;
    # a field's bounds are worded by its constraint (see test_error_message_form).
    assert _expected({"type": "int_parsing", "msg": msg}) == expected
