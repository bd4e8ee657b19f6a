"""Click options shared by the commands in several modules."""

from __future__ import annotations

import click

TRACKING = click.option(
    "--tracking-uri",
    envvar="MLFLOW_TRACKING_URI",
    default=None,
    help="MLflow store: a path to a SQLite file, sqlite:///, postgresql:// or http:// "
    "[default: ./mlruns.db; env MLFLOW_TRACKING_URI]",
)
OVERRIDES = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY.PATH=VALUE",
    help="Override a spec field, e.g. --set budget.epochs=5 (repeatable).",
)
FORMAT = click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table"
)
SEARCH_ID = click.option("--search", "search_id", default=None, help="Parent run id [latest].")
