"""Colours and trace groups shared by the report's figures: by stage, or by search."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd

from dashboards.columns import GIVEN, SCORE, param_column, unit_column
from dashboards.report_data import SearchView, finite

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]
SYMBOLS = ["circle", "diamond", "square", "triangle-up", "star", "hexagon"]
FAILED_COLOUR = "#555555"
PRIOR_COLOUR = "#17becf"  # a warm start's earlier trials: in no stage's colour
TEMPLATE = "plotly_white"


@dataclass
class Group:
    """A set of trials drawn as one trace: a stage of a search, or one stage of one search."""

    name: str
    colour: str
    symbol: str
    view: SearchView
    stage: int
    trials: pd.DataFrame


def colour(views: list[SearchView], view_index: int, stage: int) -> str:
    """One search: a colour per stage. Several: a colour per search (stages by symbol)."""
    index = stage - 1 if len(views) == 1 else view_index
    return PALETTE[index % len(PALETTE)]


def groups(views: list[SearchView], frame_of: str = "scored") -> Iterator[Group]:
    """Trials split by search and stage, with their colour and marker symbol."""
    for i, view in enumerate(views):
        frame = view.scored if frame_of == "scored" else view.trials
        for stage in sorted(frame["stage"].unique()):
            part = frame[frame["stage"] == stage]
            name = f"stage {stage}" if len(views) == 1 else f"{view.label} · stage {stage}"
            symbol = SYMBOLS[0] if len(views) == 1 else SYMBOLS[(stage - 1) % len(SYMBOLS)]
            yield Group(name, colour(views, i, int(stage)), symbol, view, int(stage), part)


def failed(view: SearchView) -> pd.DataFrame:
    """Trials without a score: FAILED ones, and any that never reported."""
    return view.trials[~view.trials.index.isin(view.scored.index)]


def hover(view: SearchView, frame: pd.DataFrame) -> list[str]:
    """Hover text per trial: key, status, score and the tuned values."""
    space = view.space
    out = []
    for _, row in frame.iterrows():
        values = "<br>".join(
            f"{space.name_of(n)}={space.params[n].format(row[param_column(space.name_of(n))])}"
            for n in row_coordinates(view, row)
            if space.params[n].tuned
        )
        error = f"<br>error: {str(row['error'])[:80]}" if row.get("error") else ""
        given = " (start_with)" if bool(row.get(GIVEN, False)) else ""
        out.append(
            f"{row['trial']}{given} {row['status']}<br>{view.metric}={row[SCORE]:.4g}<br>"
            f"{values}{error}"
        )
    return out


def row_coordinates(view: SearchView, row: pd.Series) -> list[str]:
    """The coordinates (tuned and fixed) a trial had, from its unit columns: every one in a
    flat space."""
    space = view.space
    if not space.conditional:
        return list(space.params)
    unit = {
        n: float(row[unit_column(n)]) for n in space.tuned_names if finite(row.get(unit_column(n)))
    }
    try:
        return space.active_names(unit)
    except ValueError:  # coordinates of no branch: show what it has
        return [n for n in space.params if n in unit]


def base_layout(title: str, **extra: object) -> dict[str, object]:
    return {"title": {"text": title}, "template": TEMPLATE, "height": 420, **extra}
