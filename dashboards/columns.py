"""The trials table's column names, shared by searcher's readers, its CLI and the report.

Searcher's own columns have bare names; every hyperparameter is ``params.<name>`` and every unit
coordinate ``unit.<name>`` (MLflow's ``search_runs`` convention), so a parameter named
``status`` or ``score`` never overwrites a column. The score's metric name is kept in
``frame.attrs["metric"]``. Only the console, for people, drops the prefixes where nothing
collides (``readable_names``). Pure Python: the CLI imports it without pandas.
"""

from __future__ import annotations

from collections.abc import Iterable

TRIAL, STAGE, STATUS, SCORE, ERROR, RUN_ID = "trial", "stage", "status", "score", "error", "run_id"
FIXED_COLUMNS = (TRIAL, STAGE, STATUS, SCORE, ERROR, RUN_ID)
GIVEN = "given"  # True on trials that ran a start_with configuration (only where some did)
RERUN_OF = "rerun_of"  # a warm start's rerun: the earlier search's trial key (where some are)
BRANCH = "branch"  # the report's trials, in a conditional space: e.g. 'optimizer=sgd'
PARAM_PREFIX = "params."
UNIT_PREFIX = "unit."
METRIC_ATTR = "metric"  # frame.attrs key: the metric the score column holds
MODE_ATTR = "mode"  # frame.attrs key: "max" or "min"


def param_column(name: str) -> str:
    """The column of a hyperparameter's value."""
    return PARAM_PREFIX + name


def unit_column(name: str) -> str:
    """The column of a parameter's unit (sampling) coordinate (the report's tables)."""
    return UNIT_PREFIX + name


def readable_names(columns: Iterable[str], metric: str | None = None) -> dict[str, str]:
    """Console headers: ``params.lr`` as ``lr`` unless ``lr`` is taken by another column, and
    the score as the metric's name unless that is taken too. Headers stay unique."""
    columns = list(columns)
    params = [c for c in columns if c.startswith(PARAM_PREFIX)]
    taken = set(FIXED_COLUMNS) | set(columns)
    names = {c: c for c in columns}
    for column in params:
        bare = column.removeprefix(PARAM_PREFIX)
        if bare not in taken:
            names[column] = bare
    if metric and SCORE in names and metric not in taken and metric not in names.values():
        names[SCORE] = metric
    return names
