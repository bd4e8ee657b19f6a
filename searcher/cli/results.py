"""Commands that read a finished search: its trials, the best one, the best as a spec."""

from __future__ import annotations

import click

from dashboards.columns import readable_names
from searcher.cli.options import FORMAT, SEARCH_ID, TRACKING, emit, output_path


@click.command()
@click.argument("name")
@SEARCH_ID
@FORMAT
@TRACKING
def trials(name: str, search_id: str | None, fmt: str, tracking_uri: str | None) -> None:
    """Table of the trials of the latest search of experiment NAME, best first.

    The table shows a parameter by its name (params.NAME where that is a column's name) and
    the score by the metric's; csv and json keep the full names: params.NAME, score.
    """
    from searcher.tracking.queries import find_search, trials_frame
    from searcher.tracking.store import open_for_reading

    client = open_for_reading(tracking_uri)
    emit(trials_frame(client, find_search(client, name, search_id)), fmt)


@click.command()
@click.argument("name")
@SEARCH_ID
@TRACKING
def best(name: str, search_id: str | None, tracking_uri: str | None) -> None:
    """The best trial of the latest search of experiment NAME."""
    from searcher.errors import NotFoundError
    from searcher.tracking.queries import (
        best_of,
        best_row,
        branch_label,
        find_search,
        ranked_rows,
        read_trials,
        table_of,
    )
    from searcher.tracking.readers import read_search
    from searcher.tracking.store import open_for_reading

    client = open_for_reading(tracking_uri)
    search = find_search(client, name, search_id)
    rows = read_trials(client, search)
    frame = table_of(ranked_rows(rows, search.mode), search)
    row = best_row(frame).drop(labels=["error"])
    names = readable_names(frame.columns, search.metric)
    click.echo(row.rename(index=names).to_string())
    try:
        space = read_search(client, search.run).space
    except NotFoundError:  # a store whose spec cannot be read: no branch to name
        return
    branch = branch_label(space, best_of(rows, search.mode).trial)
    if branch:
        click.echo(f"branch    {branch}")


@click.command()
@click.argument("name")
@SEARCH_ID
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="best.yaml")
@TRACKING
def export(name: str, search_id: str | None, output: str, tracking_uri: str | None) -> None:
    """Write a runnable spec with the best trial's params fixed."""
    from searcher.spec import validate_spec
    from searcher.spec.yaml_io import load_yaml
    from searcher.tracking.queries import export_text, find_search
    from searcher.tracking.store import open_for_reading
    from trials.files import write_atomic

    path = output_path(output)
    client = open_for_reading(tracking_uri)
    text = export_text(client, find_search(client, name, search_id))
    validate_spec(load_yaml(text), output)  # never write a spec that would not run
    write_atomic(path, text)
    click.echo(f"wrote {output}")
