"""Commands that show searches: the HTML report and the MLflow UI."""

from __future__ import annotations

import click

from searcher.cli.options import SEARCH_ID, TRACKING, output_path, store_uri


@click.command()
@click.argument("names", nargs=-1, required=True, metavar="NAME [NAME...]")
@SEARCH_ID
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), default="report.html", show_default=True
)
@TRACKING
def report(
    names: tuple[str, ...], search_id: str | None, output: str, tracking_uri: str | None
) -> None:
    """One self-contained HTML report of the latest search of NAME; more NAMEs overlaid."""
    from dashboards.report import build_report
    from searcher.tracking.search_view import load_views
    from searcher.tracking.store import open_for_reading
    from trials.files import write_atomic

    path = output_path(output)
    views = load_views(open_for_reading(tracking_uri), list(names), search_id)
    # Written atomically, so a browser never opens half a file.
    write_atomic(path, build_report(views))
    click.echo(f"wrote {output} ({', '.join(v.label for v in views)}); open it in a browser")


@click.command()
@click.argument("name", required=False)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@TRACKING
def ui(name: str | None, host: str, port: int, tracking_uri: str | None) -> None:
    """Start the MLflow UI for the same store; prints the page of experiment NAME (or of all)."""
    from searcher.tracking.ui_server import serve_ui

    serve_ui(store_uri(tracking_uri), host=host, port=port, experiment=name)
