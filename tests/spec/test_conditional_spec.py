"""Conditional spaces in a spec: the example validates and samples; bad ones are one line."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from scipy import stats

from searcher.cli import cli
from searcher.spec import load_spec
from tests.spec.test_bad_input import _check

EXAMPLE = Path(__file__).resolve().parents[2] / "spaces" / "optimizers.yaml"


def _example(**space: Any) -> dict[str, Any]:
    """The example spec with space entries replaced (None: removed)."""
    spec = yaml.safe_load(EXAMPLE.read_text())
    spec["space"].update(space)
    spec["space"] = {k: v for k, v in spec["space"].items() if v is not None}
    spec["data"]["download"] = False
    return spec


def _text(spec: dict[str, Any]) -> bytes:
    return yaml.safe_dump(spec, sort_keys=False).encode()


def test_the_example_validates_with_its_branches() -> None:
    result = CliRunner().invoke(cli, ["validate", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "across 3 branches (optimizer=sgd; optimizer=adam; optimizer=rmsprop)" in result.output


def test_sample_leaves_inactive_values_empty_and_counts_branches() -> None:
    result = CliRunner().invoke(cli, ["sample", str(EXAMPLE), "-n", "3000", "--seed", "2"])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert len(frame) == 3000
    counts = frame["optimizer"].value_counts()
    assert stats.chisquare(counts.to_numpy()).pvalue > 0.001
    for optimizer, own, others in [
        ("sgd", ["momentum", "nesterov"], ["beta1", "beta2", "rmsprop_alpha", "dropout"]),
        ("adam", ["beta1", "beta2", "dropout"], ["momentum", "nesterov", "rmsprop_alpha"]),
        ("rmsprop", ["rmsprop_alpha", "dropout"], ["momentum", "nesterov", "beta1", "beta2"]),
    ]:
        rows = frame[frame["optimizer"] == optimizer]
        assert rows[own].notna().all().all() and rows[others].isna().all().all()
    # Each branch's lr on its own log range.
    for optimizer, low, high in [("sgd", 1e-3, 0.5), ("adam", 1e-4, 1e-2)]:
        lr = frame.loc[frame["optimizer"] == optimizer, "lr"]
        u = (lr.map(math.log) - math.log(low)) / (math.log(high) - math.log(low))
        assert stats.kstest(u, "uniform").pvalue > 0.001
    line = [ln for ln in result.stderr.splitlines() if ln.startswith("branches: ")]
    assert len(line) == 1
    for optimizer in ("sgd", "adam", "rmsprop"):
        assert f"optimizer={optimizer} {counts[optimizer]} (" in line[0]


def test_a_conditional_grid_plans_each_branch_own_grid(tmp_path: Path) -> None:
    spec = _example()
    spec["search"] = {"strategy": "grid", "grid_points": 2}
    path = tmp_path / "grid.yaml"
    path.write_bytes(_text(spec))
    loaded = load_spec(path)
    # sgd: lr 2 x momentum 2 x nesterov 2; adam: 2 x 2 x 2 x dropout 2; rmsprop: 2 x 2 x 2;
    # weight_decay doubles each.
    assert loaded.build_strategy().planned_trials == 2 * (8 + 16 + 8)


BAD = [
    (
        "when names an unknown parameter",
        {"dropout": {"scale": "linear", "low": 0, "high": 0.5, "when": {"optimiser": "adam"}}},
        "space.dropout.when.optimiser: expected the name of another parameter, got 'optimiser'",
    ),
    (
        "when names a value its parent cannot take",
        {"dropout": {"scale": "linear", "low": 0, "high": 0.5, "when": {"optimizer": "adamw"}}},
        "space.dropout.when.optimizer: expected one of 'sgd', 'adam', 'rmsprop' (the values of "
        "optimizer), got 'adamw'",
    ),
    (
        "a cycle",
        {
            "batch_norm": {"scale": "choice", "values": [False, True], "when": {"amp": "off"}},
            "amp": {"scale": "choice", "values": ["off", "bf16"], "when": {"batch_norm": True}},
        },
        "space.batch_norm.when: expected conditions without a cycle, got batch_norm -> amp -> "
        "batch_norm",
    ),
    (
        "a parameter that can never be active",
        {
            "dropout": {
                "scale": "linear",
                "low": 0,
                "high": 0.5,
                "when": {"optimizer": "adam", "nesterov": True},  # nesterov is sgd's
            }
        },
        "space.dropout.when: expected conditions that some trial can meet, got ones that never "
        "hold together",
    ),
    (
        "a condition that never holds",
        {"dropout": {"scale": "linear", "low": 0, "high": 0.5, "when": {"channels": 32}}},
        "space.dropout.when.channels: expected one of 16 (the values of channels), got 32",
    ),
    (
        "both conditional and unconditional",
        {"lr": {"scale": "log", "low": 1e-4, "high": 0.1}},
        "space.optimizer.values.sgd.lr: expected a name not also used unconditionally "
        "(space.lr), got 'lr' in both",
    ),
    (
        "a knob the branch's optimizer ignores",
        {
            "optimizer": {
                "scale": "choice",
                "values": {"sgd": {"beta1": 0.9}, "adam": None},
            },
            "dropout": None,
        },
        "space.beta1: expected knobs that optimizer sgd reads, got beta1 (read by adam only) "
        "(in branch optimizer=sgd)",
    ),
    (
        "nesterov where its branch fixes momentum at 0",
        {
            "optimizer": {
                "scale": "choice",
                "values": {"sgd": {"momentum": 0.0, "nesterov": [False, True]}, "adam": None},
            },
            "dropout": None,
        },
        "space.nesterov: expected momentum > 0 for nesterov, got momentum 0.0 (in branch "
        "optimizer=sgd)",
    ),
]


@pytest.mark.parametrize(("case", "space", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_conditional_spaces_are_one_line(
    case: str, space: dict[str, Any], message: str, tmp_path: Path
) -> None:
    line = _check(_text(_example(**space)), tmp_path)
    assert line.endswith(message), line


def test_a_grid_too_big_to_enumerate_is_one_line(tmp_path: Path) -> None:
    spec = _example()
    spec["search"] = {"strategy": "grid", "grid_points": 40}
    line = _check(_text(spec), tmp_path)
    assert "search: expected at most 100000 planned trials, got " in line, line
