"""Report figures from hand-made trials: axes, stage shading, failed trials, importance."""

from __future__ import annotations

import math
import random

import pandas as pd
import pytest
from mlflow.entities import Run, RunData, RunInfo

from dashboards.axes import Axis, beta_ticks, unit_ticks
from dashboards.columns import param_column, unit_column
from dashboards.figures_params import param_figure
from dashboards.figures_search import importance_figure
from dashboards.importance import MIN_TRIALS, fanova_importance
from dashboards.report import build_report
from dashboards.report_data import SearchView
from search_spaces.box import Box
from search_spaces.scales import Choice, Int, IntLog, Log, OneMinusLog, Pow2
from search_spaces.space import SearchSpace
from searcher.tracking.queries import Search

SPACE = SearchSpace.from_mapping(
    {
        "lr": {"scale": "log", "low": 1e-4, "high": 1e-1},
        "beta": {"scale": "one_minus_log", "low": 0.9, "high": 0.999},
        "opt": ["sgd", "adam"],
    }
)


def view(n: int, failed: int = 0) -> SearchView:
    """A search of n scored trials (two stages) and some failed ones, built without a store."""
    rng = random.Random(0)
    rows = []
    for i in range(n + failed):
        unit = SPACE.sample_unit(rng)
        values = SPACE.to_values(unit)
        score = -abs(math.log10(values["lr"]) + 2.5) if i < n else math.nan
        row = {"trial": f"{1 + i * 2 // (n + failed)}-{i:03d}", "status": "FINISHED"}
        row |= {"stage": int(row["trial"][0]), "score": score, "run_id": f"r{i}", "order": i + 1}
        row |= {"error": "" if i < n else "boom"}
        row |= {param_column(k): v for k, v in values.items()}
        row |= {unit_column(k): v for k, v in unit.items()}
        if i >= n:
            row["status"] = "FAILED"
        rows.append(row)
    frame = pd.DataFrame(rows).sort_values("score", ascending=False, na_position="last")
    run = Run(RunInfo("p", "1", "u", "FINISHED", 0, 0, "active", run_name="s"), RunData())
    box = Box({"lr": (0.5, 0.75), "beta": (0.2, 0.4)}, {"opt": (1,)})
    return SearchView(
        Search(run, "exp", "score", "max"),
        SPACE,
        frame.reset_index(drop=True),
        {1: Box.full(SPACE), 2: box},
        {1: Box.full(SPACE).to_values(SPACE), 2: box.to_values(SPACE)},
        ["lr=0.1 is at the upper edge of its range"],
        {"1-000": [(1, -1.0), (2, -0.5)]},
    )


def test_one_minus_log_axis_is_reversed_log_of_one_minus_beta_labelled_in_beta() -> None:
    axis = Axis("beta", OneMinusLog(0.9, 0.999))
    layout = axis.layout()
    assert layout["type"] == "log"
    assert layout["ticktext"] == ["0.9", "0.95", "0.99", "0.995", "0.999"]
    assert layout["tickvals"] == pytest.approx([0.1, 0.05, 0.01, 0.005, 0.001])
    low, high = layout["range"]
    assert low > math.log10(0.1) > math.log10(0.001) > high
    assert axis.position(0.99) == pytest.approx(0.01)


def test_log_pow2_and_choice_axes() -> None:
    assert Axis("lr", Log(1e-4, 1e-1)).layout()["type"] == "log"
    batch = Axis("b", Pow2(16, 128))
    assert batch.layout()["ticktext"] == ["16", "32", "64", "128"]
    # Box edges fall between cells: half a cell beyond the outer values.
    assert batch.edge(0.0) == pytest.approx(16 / math.sqrt(2))
    assert batch.edge(1.0) == pytest.approx(128 * math.sqrt(2))
    opt = Axis("opt", Choice(("sgd", "adam", "rmsprop")))
    assert opt.layout()["ticktext"] == ["sgd", "adam", "rmsprop"]
    assert opt.position("adam", "1-001") == opt.position("adam", "1-001")
    assert abs(opt.position("adam", "1-001") - 1) < 0.2
    assert beta_ticks(0.5, 0.6) == [0.5, 0.6], "the range ends when no round β falls inside"


def test_integer_axes_use_cells_and_the_continuous_int_log() -> None:
    layers = Axis("layers", Int(1, 4))
    assert (layers.edge(0.0), layers.edge(1.0)) == pytest.approx((0.5, 4.5))
    assert layers.edge(0.375) == pytest.approx(2.0)  # the centre of the second cell
    units = Axis("units", IntLog(8, 64))
    # Box edges sit on the scale's continuous log axis: half an integer beyond the ends.
    assert (units.edge(0.0), units.edge(1.0)) == pytest.approx((7.5, 64.5))
    assert units.edge(0.5) == pytest.approx(math.sqrt(7.5 * 64.5))
    assert units.layout()["type"] == "log"
    assert unit_ticks(Int(1, 3)) == ([1 / 6, 0.5, 5 / 6], ["1", "2", "3"])


def test_unit_ticks_are_labelled_in_values() -> None:
    ticks, texts = unit_ticks(Log(1e-4, 1e-2))
    assert ticks == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert texts[0] == "0.0001" and texts[2] == "0.001" and texts[-1] == "0.01"
    assert unit_ticks(Choice(("a", "b"))) == ([0.25, 0.75], ["a", "b"])


def test_param_figure_marks_failed_trials_and_shades_stage_two() -> None:
    fig = param_figure([view(8, failed=2)], "lr").to_plotly_json()
    failed = [t for t in fig["data"] if t["name"].startswith("failed")]
    assert len(failed) == 1 and failed[0]["marker"]["symbol"] == "x"
    assert len(failed[0]["x"]) == 2
    shapes = fig["layout"]["shapes"]
    assert len(shapes) == 1, "stage 1 spans the full range and is not shaded"
    lr = SPACE.params["lr"]
    assert (shapes[0]["x0"], shapes[0]["x1"]) == pytest.approx(
        (lr.from_unit(0.5), lr.from_unit(0.75))
    )
    opt = param_figure([view(8)], "opt").to_plotly_json()["layout"]["shapes"]
    assert [(s["x0"], s["x1"]) for s in opt] == [pytest.approx((0.55, 1.45))]


def test_importance_needs_enough_trials_and_says_so() -> None:
    reason = fanova_importance([{"a": 0.1}], [1.0])
    assert isinstance(reason, str) and str(MIN_TRIALS) in reason
    fig, notes = importance_figure([view(3)])
    assert fig is None and "parameter importance not shown" in notes[0]
    found = fanova_importance(
        [{"a": i / 9, "b": (i * 7 % 10) / 9} for i in range(10)], [i / 9 for i in range(10)]
    )
    assert isinstance(found, dict) and found["a"] > 0.8


def test_report_page_with_few_trials_has_a_note_instead_of_importance() -> None:
    page = build_report([view(3, failed=1)])
    assert "parameter importance not shown: needs at least" in page
    assert 'data-name="importance"' not in page
    assert "lr=0.1 is at the upper edge of its range" in page
