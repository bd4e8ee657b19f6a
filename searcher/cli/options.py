"""Click options and small helpers shared by the command modules; imports nothing heavy."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import click

from searcher.errors import SearcherError

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_JOB_ADDRESS = "http://127.0.0.1:8265"

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
SEARCH_ID = click.option(
    "--search", "search_id", default=None, help="Search id (its MLflow run id) [latest]."
)
JOB_ADDRESS = click.option(
    "--address",
    envvar="RAY_API_SERVER_ADDRESS",
    default=DEFAULT_JOB_ADDRESS,
    show_default=True,
    help="The Ray job server (dashboard) of the cluster; env RAY_API_SERVER_ADDRESS.",
)


def store_uri(tracking_uri: str | None) -> str:
    """The store a read command looks at (same precedence as a search)."""
    from searcher.tracking.uri import resolve_tracking_uri

    return resolve_tracking_uri(tracking_uri)


def output_path(output: str) -> Path:
    """An ``-o`` file whose folder exists, checked before anything is read or written."""
    path = Path(output).expanduser()
    if not path.parent.is_dir():
        raise SearcherError(f"-o {output}: expected an existing folder, got {path.parent}")
    return path


def emit(frame: pd.DataFrame, fmt: str) -> None:
    """Print a table as csv or json with its full column names, or as aligned text headed for
    people (dashboards.columns.readable_names: bare parameter names, the metric's name)."""
    import pandas as pd

    from dashboards.columns import FIXED_COLUMNS, METRIC_ATTR, readable_names

    if fmt == "csv":
        click.echo(frame.to_csv(index=False), nl=False)
    elif fmt == "json":
        # Python's json, not pandas' (10 significant digits): values exactly as they ran.
        rows = [{k: _json_value(v) for k, v in r.items()} for r in frame.to_dict("records")]
        click.echo(json.dumps(rows, indent=2, default=str))
    else:
        with pd.option_context("display.max_rows", None, "display.width", 200):
            names = readable_names(frame.columns, frame.attrs.get(METRIC_ATTR))
            shown = frame.rename(columns=names)
            # A parameter a trial did not have (a conditional space) shows empty; searcher's
            # own columns (a missing score says NaN) print as before.
            gaps = [c for c in frame.columns if c not in FIXED_COLUMNS and frame[c].isna().any()]
            if gaps:
                shown[[names[c] for c in gaps]] = frame[gaps].map(_blank_or_text)
            click.echo(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


def _blank_or_text(value: object) -> str:
    """A table cell of a column with gaps: empty for a gap, else as the table prints numbers."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _json_value(value: object) -> object:
    """A plain JSON value: numpy scalars unboxed, NaN and infinities as null."""
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and not math.isfinite(value) else value
