"""Per-parameter figures: metric against value on its sampling axis, and parallel coordinates."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from dashboards.axes import Axis, unit_ticks
from dashboards.columns import SCORE, param_column, unit_column
from dashboards.report_data import SearchView, finite
from dashboards.style import FAILED_COLOUR, PRIOR_COLOUR, base_layout, colour, failed, groups, hover
from search_spaces.box import Box
from search_spaces.scales import Choice


def tuned_names(views: list[SearchView]) -> list[str]:
    """Tuned parameters of all searches, in the first search's order."""
    names: list[str] = []
    for view in views:
        names += [n for n in view.space.tuned_names if n not in names]
    return names


def axis_of(views: list[SearchView], name: str) -> Axis:
    """The axis of the first search that tunes this parameter."""
    view = next(v for v in views if name in v.space.tuned_names)
    return Axis(name, view.space.params[name])


def param_figure(views: list[SearchView], name: str) -> go.Figure:
    """Metric vs value on the parameter's own axis; stage boxes shaded, failed trials marked."""
    axis = axis_of(views, name)
    fig = go.Figure()
    for group in groups(views):
        if name not in group.view.space.tuned_names:
            continue
        rows = active_rows(group.view, group.trials, name)
        fig.add_scatter(
            x=_positions(group.view, axis, rows),
            y=rows[SCORE].tolist(),
            mode="markers",
            name=group.name,
            marker={"color": group.colour, "symbol": group.symbol, "size": 9, "opacity": 0.85},
            text=hover(group.view, rows),
            hoverinfo="text",
        )
    for view in views:
        _add_failed(fig, view, axis)
        _add_prior(fig, view, axis)
    for i, view in enumerate(views):
        for stage, box in view.boxes.items():
            _shade(fig, axis, box, colour(views, i, stage), f"stage {stage}")
    metric = views[0].metric
    title = f"{metric} vs {name}" + _active_share(views, name)
    fig.update_layout(base_layout(title, xaxis=axis.layout(), yaxis={"title": {"text": metric}}))
    return fig


def active_rows(view: SearchView, rows: pd.DataFrame, name: str) -> pd.DataFrame:
    """The trials that had the parameter: all of them in a flat space."""
    if not view.space.conditional:
        return rows
    column = unit_column(name)
    return rows[rows[column].notna()] if column in rows else rows.iloc[0:0]


def _active_share(views: list[SearchView], name: str) -> str:
    """' (in 12 of 30 trials)' for a conditional parameter; '' where every trial has it."""
    had = total = 0
    for view in views:
        if name in view.space.tuned_names:
            had += len(active_rows(view, view.trials, name))
            total += len(view.trials)
    return f" (in {had} of {total} trials)" if had < total else ""


def _add_failed(fig: go.Figure, view: SearchView, axis: Axis) -> None:
    """Failed trials have no score: mark them with an x at the worst score seen."""
    if axis.name not in view.space.tuned_names:
        return
    rows = active_rows(view, failed(view), axis.name)
    if rows.empty:
        return
    scores = view.scored[SCORE]
    floor = (scores.min() if view.search.mode == "max" else scores.max()) if len(scores) else 0.0
    fig.add_scatter(
        x=_positions(view, axis, rows),
        y=[floor] * len(rows),
        mode="markers",
        name=f"failed ({view.search.experiment})",
        marker={"color": FAILED_COLOUR, "symbol": "x", "size": 11},
        text=hover(view, rows),
        hoverinfo="text",
    )


def _add_prior(fig: go.Figure, view: SearchView, axis: Axis) -> None:
    """A warm start's earlier trials, in their own colour, at the scores they had then."""
    warm = view.warm_start
    if warm is None or warm.prior.empty or axis.name not in view.space.tuned_names:
        return
    rows = active_rows(view, warm.prior, axis.name)
    if rows.empty:
        return
    label = f"earlier search ({warm.experiment} {warm.search_id[:8]})"
    fig.add_scatter(
        x=_positions(view, axis, rows),
        y=rows[SCORE].tolist(),
        mode="markers",
        name=label,
        marker={"color": PRIOR_COLOUR, "symbol": "circle-open", "size": 9, "line": {"width": 2}},
        text=[
            f"{key} of the {label}<br>{view.metric}={v:.4g}"
            for key, v in zip(rows["trial"], rows[SCORE], strict=True)
        ],
        hoverinfo="text",
    )


def _positions(view: SearchView, axis: Axis, rows: pd.DataFrame) -> list[float]:
    """Each trial's coordinate on the parameter's axis (categories jittered by trial key)."""
    values = rows[param_column(view.space.name_of(axis.name))]
    return [axis.position(v, k) for v, k in zip(values, rows["trial"], strict=True)]


def _shade(fig: go.Figure, axis: Axis, box: Box, fill: str, label: str) -> None:
    """A stage's sampling range as a band; the full range of stage 1 is not worth shading."""
    name = axis.name
    if name in box.intervals:
        lo, hi = box.intervals[name]
        if (lo, hi) == (0.0, 1.0):
            return
        spans = [(axis.edge(lo), axis.edge(hi))]
    elif name in box.categories and isinstance(axis.scale, Choice):
        if len(box.categories[name]) == len(axis.scale.values):
            return
        spans = [(i - 0.45, i + 0.45) for i in box.categories[name]]
    else:
        return
    for x0, x1 in spans:
        # A shape label, not an annotation: annotations on log axes want log10 positions.
        fig.add_shape(
            type="rect",
            xref="x",
            yref="paper",
            x0=min(x0, x1),
            x1=max(x0, x1),
            y0=0,
            y1=1,
            fillcolor=fill,
            opacity=0.12,
            line_width=0,
            layer="below",
            label={"text": f"{label} box", "textposition": "top left", "font": {"size": 10}},
        )


def parallel_figure(views: list[SearchView]) -> go.Figure:
    """Every trial as a line through its unit coordinates, ticks labelled with values."""
    names = tuned_names(views)
    rows = [(i, view, row) for i, view in enumerate(views) for _, row in view.scored.iterrows()]
    if any(v.space.conditional for v in views):
        # Plotly draws a missing value at the bottom of its axis (plotly.js #4341): a
        # conditional parameter's axis would show every trial that lacked it there.
        names = [n for n in names if all(finite(r.get(unit_column(n))) for _, _, r in rows)]
    dims = []
    for name in names:
        ticks, texts = unit_ticks(axis_of(views, name).scale)
        values = [row.get(unit_column(name), math.nan) for _, _, row in rows]
        dims.append(
            {"label": name, "values": values, "range": [0, 1], "tickvals": ticks, "ticktext": texts}
        )
    metric = views[0].metric
    dims.append({"label": metric, "values": [row[SCORE] for _, _, row in rows]})
    if len(views) > 1:
        dims.insert(
            0,
            {
                "label": "search",
                "values": [i for i, _, _ in rows],
                "tickvals": list(range(len(views))),
                "ticktext": [v.search.experiment for v in views],
            },
        )
        line = {"color": [i for i, _, _ in rows], "colorscale": "Turbo", "showscale": False}
    else:
        line = {"color": dims[-1]["values"], "colorscale": "Viridis", "showscale": True}
    figure = go.Figure(go.Parcoords(dimensions=dims, line=line))
    figure.update_layout(base_layout("Parallel coordinates (unit coordinates, labelled in values)"))
    return figure
