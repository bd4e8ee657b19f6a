"""The ``searcher report`` command: parses options and calls dashboards.report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def report_command(
    tracking: Decorator, search_id: Decorator, client: Callable[[str | None], Any]
) -> click.Command:
    """The command, built with the CLI's shared options (no import back into searcher.cli)."""

    @click.command()
    @click.argument("names", nargs=-1, required=True, metavar="NAME [NAME...]")
    @search_id
    @click.option(
        "-o", "--output", type=click.Path(dir_okay=False), default="report.html", show_default=True
    )
    @tracking
    def report(
        names: tuple[str, ...], search_id: str | None, output: str, tracking_uri: str | None
    ) -> None:
        """One self-contained HTML report of the latest search of NAME; more NAMEs overlaid."""
        from dashboards.report import load_views, write_report

        views = load_views(client(tracking_uri), list(names), search_id)
        path = write_report(views, Path(output))
        click.echo(f"wrote {path} ({', '.join(v.label for v in views)}); open it in a browser")

    return report
