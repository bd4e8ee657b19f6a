"""Whole-search figures: optimisation history, learning curves, parameter importance."""

from __future__ import annotations

import plotly.graph_objects as go

from dashboards.columns import SCORE, unit_column
from dashboards.figures_params import tuned_names
from dashboards.importance import fanova_importance
from dashboards.report_data import SearchView
from dashboards.style import PALETTE, base_layout, colour, groups, hover


def history_figure(views: list[SearchView]) -> go.Figure:
    """Score by trial order with the best-so-far line; dotted lines where a new stage began."""
    fig = go.Figure()
    for group in groups(views):
        rows = group.trials
        fig.add_scatter(
            x=rows["order"].tolist(),
            y=rows[SCORE].tolist(),
            mode="markers",
            name=group.name,
            marker={"color": group.colour, "symbol": group.symbol, "size": 8},
            text=hover(group.view, rows),
            hoverinfo="text",
        )
    for i, view in enumerate(views):
        rows = view.scored.sort_values("order")
        best = rows[SCORE].cummax() if view.search.mode == "max" else rows[SCORE].cummin()
        fig.add_scatter(
            x=rows["order"].tolist(),
            y=best.tolist(),
            mode="lines",
            line={"shape": "hv", "color": PALETTE[i % len(PALETTE)] if len(views) > 1 else "#333"},
            name=f"best so far ({view.search.experiment})",
        )
        starts = view.trials.groupby("stage")["order"].min().sort_index()
        for stage, first in starts.items():
            if stage == starts.index[0]:
                continue
            fig.add_shape(
                type="line",
                xref="x",
                yref="paper",
                x0=first - 0.5,
                x1=first - 0.5,
                y0=0,
                y1=1,
                line={"dash": "dot", "color": colour(views, i, int(stage))},
                label={"text": f"stage {stage}", "textposition": "end", "font": {"size": 10}},
            )
    metric = views[0].metric
    fig.update_layout(
        base_layout(
            "Optimisation history",
            xaxis={"title": {"text": "trial (in the order it started)"}},
            yaxis={"title": {"text": metric}},
        )
    )
    return fig


def curves_figure(views: list[SearchView]) -> go.Figure:
    """The metric by epoch of each search's top trials."""
    fig = go.Figure()
    for i, view in enumerate(views):
        for rank, (key, points) in enumerate(view.curves.items()):
            prefix = f"{view.search.experiment} " if len(views) > 1 else ""
            fig.add_scatter(
                x=[step for step, _ in points],
                y=[value for _, value in points],
                mode="lines+markers",
                name=f"{prefix}#{rank + 1} {key}",
                line={"color": PALETTE[(i if len(views) > 1 else rank) % len(PALETTE)]},
                opacity=1.0 if rank == 0 else 0.6,
            )
    metric = views[0].metric
    fig.update_layout(
        base_layout(
            "Learning curves of the top trials",
            xaxis={"title": {"text": "epoch"}, "dtick": 1},
            yaxis={"title": {"text": metric}},
        )
    )
    return fig


def importance_figure(views: list[SearchView]) -> tuple[go.Figure | None, list[str]]:
    """fANOVA importance bars per search, and a note for each search it could not be done for."""
    names = tuned_names(views)
    fig = go.Figure()
    notes = []
    for i, view in enumerate(views):
        rows = view.scored
        units = [
            {n: row[unit_column(n)] for n in view.space.tuned_names} for _, row in rows.iterrows()
        ]
        found = fanova_importance(units, rows[SCORE].tolist())
        if isinstance(found, str):
            notes.append(f"{view.label}: parameter importance not shown: {found}")
            continue
        fig.add_bar(
            x=names,
            y=[found.get(n, 0.0) for n in names],
            name=view.search.experiment,
            marker={"color": PALETTE[i % len(PALETTE)]},
        )
    if not fig.data:
        return None, notes
    fig.update_layout(
        base_layout(
            "Parameter importance (fANOVA on unit coordinates)",
            barmode="group",
            yaxis={"title": {"text": "share of the score's variance"}, "range": [0, 1]},
        )
    )
    return fig, notes
