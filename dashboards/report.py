"""The report page: one or more searches drawn in their own sampling coordinates."""

from __future__ import annotations

import math
from collections import Counter

import pandas as pd

from dashboards import columns as C
from dashboards.columns import BRANCH, GIVEN, SCORE, param_column
from dashboards.figures_params import parallel_figure, param_figure, tuned_names
from dashboards.figures_search import curves_figure, history_figure, importance_figure
from dashboards.report_data import SearchView, finite
from dashboards.report_html import Section, note, render_page, table
from dashboards.style import row_coordinates


def build_report(views: list[SearchView]) -> str:
    """The report page for one search, or several overlaid."""
    title = "Search report: " + " vs ".join(v.label for v in views)
    params = [(name, param_figure(views, name)) for name in tuned_names(views)]
    importance, notes = importance_figure(views)
    sections = [
        Section("Summary", _summary(views), []),
        Section("Stages", _stages(views), []),
        *(
            [Section("Branches", _branches(views), [])]
            if any(v.space.conditional for v in views)
            else []
        ),
        Section(
            "Each parameter on its sampling scale",
            [note("Colour: stage (one search) or search (several). x: failed trial.")],
            params,
        ),
        Section("Optimisation history", [], [("history", history_figure(views))]),
        Section("Learning curves", [], [("curves", curves_figure(views))]),
        Section(
            "Parallel coordinates",
            [note("Conditional spaces: the parameters every trial has.")]
            if any(v.space.conditional for v in views)
            else [],
            [("parallel", parallel_figure(views))],
        ),
        Section(
            "Parameter importance",
            [note(n) for n in notes],
            [("importance", importance)] if importance is not None else [],
        ),
    ]
    return render_page(title, sections)


def _summary(views: list[SearchView]) -> list[str]:
    rows = []
    for view in views:
        counts = Counter(view.trials["status"])
        scored = view.scored
        best = scored.iloc[0] if not scored.empty else None
        rows.append(
            [
                view.search.experiment,
                view.search.search_id,
                f"{view.metric} ({view.search.mode})",
                ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items())),
                "-" if best is None else best["trial"],
                "-" if best is None else f"{best[SCORE]:.4f}",
                "-" if best is None else best["run_id"],
            ]
        )
    header = ["experiment", "search", "metric", "trials", "best trial", "best score", "best run"]
    blocks = [table(header, rows), _best_config(views), *_given(views), *_warm_starts(views)]
    for view in views:
        blocks += [note(f"{view.label}: {w}", "warning") for w in view.warnings]
    if not any(v.warnings for v in views):
        blocks.append(note("No boundary warnings: no best value sits at the edge of its range."))
    return blocks


def _best_config(views: list[SearchView]) -> str:
    """The best trial's value of every parameter, tuned and fixed, one column per search."""
    names: list[str] = []
    for view in views:
        names += [n for n in view.space.value_names if n not in names]
    columns = []
    for view in views:
        best = view.scored.iloc[0] if not view.scored.empty else None
        shown = {}
        if best is not None:
            for n in row_coordinates(view, best):  # a conditional space: the best's branch
                name = view.space.name_of(n)
                if _has(best, name):
                    shown[name] = view.space.params[n].format(best[param_column(name)])
        columns.append({n: shown.get(n, "-") for n in names})
    rows = [[n, *(c[n] for c in columns)] for n in names]
    return table(["best config", *(v.label for v in views)], rows)


def _given(views: list[SearchView]) -> list[str]:
    """Which trials ran the spec's start_with configurations, and how they did."""
    out = []
    for view in views:
        if GIVEN not in view.trials:
            continue
        given = view.trials[view.trials[GIVEN].astype(bool)]
        # One per key: a run cut short and run again by resume is the same trial.
        ended = given.assign(_ended=given["status"].isin(["FINISHED", "FAILED"]))
        ended = ended.sort_values("_ended", ascending=False, kind="stable")
        given = ended.drop_duplicates("trial").sort_values("trial")
        scores = ", ".join(
            f"{row['trial']} {row[SCORE]:.4f}" if finite(row[SCORE]) else f"{row['trial']} -"
            for _, row in given.iterrows()
        )
        count = "1 trial" if len(given) == 1 else f"{len(given)} trials"
        out.append(note(f"{view.label}: {count} ran start_with configurations ({scores})"))
    return out


def _warm_starts(views: list[SearchView]) -> list[str]:
    """Where a warm start began, what it could use, and its reruns' old and new scores."""
    out = []
    for view in views:
        warm = view.warm_start
        if warm is None:
            continue
        left = sum(warm.unusable.values())
        why = "; ".join(f"{n} {reason}" for reason, n in warm.unusable.items())
        out.append(
            note(
                f"{view.label}: warm start from search {warm.search_id} of experiment "
                f"{warm.experiment}: {len(warm.prior)} of {len(warm.prior) + left} earlier "
                f"trials used{'; ' + why if why else ''}. They are drawn as open circles "
                "at the scores they had then."
            )
        )
        if not warm.reruns:
            continue
        old = dict(zip(warm.prior[C.TRIAL], warm.prior[SCORE], strict=True))
        now = view.trials.drop_duplicates("trial").set_index("trial")[SCORE]
        rows = []
        for key, earlier in sorted(warm.reruns.items()):
            new = now.get(key, math.nan)
            change = f"{new - old[earlier]:+.4f}" if finite(new) else "-"
            rows.append(
                [key, earlier, f"{old[earlier]:.4f}", f"{new:.4f}" if finite(new) else "-", change]
            )
        header = ["rerun", "earlier trial", f"{view.metric} then", "now", "change"]
        out.append(table(header, rows))
    return out


def _has(row: pd.Series, name: str) -> bool:
    value = row.get(param_column(name))
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _branches(views: list[SearchView]) -> list[str]:
    """Per branch of a conditional space: trials, finished ones, the best score and trial,
    and per zoom stage the trials it got and its box."""
    blocks = []
    for view in views:
        if not view.space.conditional:
            continue
        rows = []
        for branch in view.space.branches:
            mine = view.trials[view.trials[BRANCH] == branch.label]
            scored = view.scored[view.scored[BRANCH] == branch.label]
            best = scored.iloc[0] if not scored.empty else None
            rows.append(
                [
                    branch.label,
                    len(mine),
                    len(scored),
                    "-" if best is None else f"{best[SCORE]:.4f}",
                    "-" if best is None else best["trial"],
                ]
            )
        header = [f"{view.label} branch", "trials", "finished", "best score", "best trial"]
        blocks.append(table(header, rows))
        zoomed = []
        for stage, per_branch in view.branches.items():
            for label, record in per_branch.items():
                ranges = ", ".join(f"{n} {r}" for n, r in record["ranges"].items())
                zoomed.append([stage, label, record["trials"], ranges])
        if zoomed:
            header = [f"{view.label} stage", "branch", "trials", "box"]
            blocks.append(table(header, zoomed))
    return blocks


def _stages(views: list[SearchView]) -> list[str]:
    blocks = []
    for view in views:
        names = view.space.tuned_names
        if view.rounds:  # a one-stage strategy, extended: each run a stage
            counts = Counter(view.trials.drop_duplicates("trial")["stage"])
            rows = [
                [i + 1, counts.get(i + 1, 0), "the search" if i == 0 else "searcher extend"]
                for i in range(len(view.rounds))
            ]
            blocks.append(table([f"{view.label} stage", "trials", "run by"], rows))
            continue
        if not view.ranges:
            blocks.append(note(f"{view.label}: one stage over the full space"))
            continue
        counts = Counter(view.trials["stage"])
        rows = [
            [stage, counts.get(stage, 0), *(ranges.get(n, "-") for n in names)]
            for stage, ranges in view.ranges.items()
        ]
        blocks.append(table([f"{view.label} stage", "trials", *names], rows))
    return blocks
