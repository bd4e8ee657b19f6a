"""`searcher resume`: continue a stopped search from what its store holds.

The spec is the one recorded on the search's run (records.SearchRecord: every default applied;
a search of searcher 0.1.0: the YAML it ran). Settings that change where or how fast the
trials run may be overridden; anything that would change the space, the strategy or what a
trial computes may not, or the kept trials would no longer belong to the search.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from searcher.errors import SpecError
from searcher.summary import SearchSummary

if TYPE_CHECKING:
    from searcher.spec import Spec
    from searcher.tracking.records import SearchRecord

# --set paths a resume accepts: where and with what the trials run, how long one (or the
# search, from the resume on) may take, and where Ray keeps its state.
RESUMABLE_SETTINGS = (
    "resources",
    "budget.trial_timeout",
    "search.time_budget",
    "storage_path",
    "tracking.uri",
)


def resume_search(
    name: str,
    *,
    search_id: str | None = None,
    overrides: list[str] | dict[str, Any] | None = None,
    tracking_uri: str | None = None,
    address: str | None = None,
    storage_path: str | None = None,
    force: bool = False,
    train: Callable[..., Any] | None = None,
    out: TextIO | None = None,
) -> SearchSummary:
    """Continue the latest unfinished search of experiment ``name`` (or a spec file's), or
    ``search_id``; returns the summary of the whole search, kept trials included."""
    from searcher.controller import run_search
    from searcher.spec import apply_overrides, validate_spec
    from searcher.spec.load import experiment_of
    from searcher.tracking.readers import read_search, written_spec
    from searcher.tracking.resume import find_resumable, resume_plan
    from searcher.tracking.store import open_existing_store
    from searcher.tracking.uri import resolve_tracking_uri

    overrides = overrides or []
    changes = apply_overrides({}, overrides, "--set")  # parsed once, as a run parses them
    check_overrides(changes)
    experiment, spec_uri = experiment_of(name)
    set_uri = changes.get("tracking", {}).get("uri")
    uri = resolve_tracking_uri(tracking_uri, str(set_uri) if set_uri else spec_uri)
    client = open_existing_store(uri)
    search = find_resumable(client, experiment, search_id, force)
    source = f"search {search.search_id}"
    # The record's normalised spec (a 0.1.0 search: the raw one), so the stage plan it
    # recorded is the one that runs even if a default changed since.
    recorded = read_search(client, search.run)
    raw = where_it_ran(
        apply_overrides(recorded.spec, overrides, source), search.run.data.tags, train
    )
    spec = validate_spec(raw, source, train=train)
    if recorded.record is not None:
        check_plan(spec, recorded.record, source)
    if Path(name).suffix in (".yaml", ".yml") and Path(name).is_file():
        note = file_differs(name, written_spec(client, search.run), search.search_id)
        if note:
            print(note, file=out or sys.stdout, flush=True)
    plan = resume_plan(client, search, spec.space)
    plan.force = force  # the search is claimed once every check has passed (controller._begin)
    return run_search(
        spec,
        tracking_uri=uri,
        address=address,
        storage_path=storage_path,
        out=out,
        plan=plan,
    )


def where_it_ran(
    raw: dict[str, Any], tags: dict[str, str], train: Callable[..., Any] | None
) -> dict[str, Any]:
    """A recorded spec set to run again: in the folder its code lived in when it ran (from
    its search run's ``tags``), and with ``train`` (a notebook's function, not found by its
    name) as its workload."""
    from searcher.tracking import tags as T

    code_dir = tags.get(T.CODE_DIR)
    if code_dir and Path(code_dir).is_dir():
        raw["code_dir"] = code_dir
    if train is not None:
        module = getattr(train, "__module__", "__main__")
        raw["workload"] = f"{module}:{getattr(train, '__qualname__', 'train')}"
    return raw


def file_differs(path: str, written: dict[str, Any], search_id: str) -> str | None:
    """A note when the spec file was edited since the search ran: what changed, and that the
    recorded spec is the one that runs (settings a resume may change are left out)."""
    from searcher.spec.load import read_spec_file
    from searcher.spec.normalise import spec_changes

    now = read_spec_file(path)
    kept = tuple(k for k in dict.fromkeys([*written, *now]) if k not in _MAY_CHANGE)
    changes = spec_changes(written, now, kept)
    if not changes:
        return None
    shown = "; ".join(changes[:5]) + ("; ..." if len(changes) > 5 else "")
    return (
        f"note: {path} differs from the spec search {search_id} ran with ({shown}); "
        "resume runs the recorded one"
    )


# Top-level settings a resume may change (see RESUMABLE_SETTINGS), and where the code lived.
_MAY_CHANGE = ("resources", "storage_path", "tracking", "code_dir")


def check_plan(spec: Spec, record: SearchRecord, source: str) -> None:
    """The stages the spec now plans must be the ones the search recorded, or its kept trials'
    keys would mean other points."""
    from searcher.spec.normalise import stage_plan

    planned = stage_plan(spec, record.planned_trials)
    if planned != record.stages:
        raise SpecError(
            source,
            "search.stages",
            f"expected the recorded stage plan {list(record.stages)}, got {list(planned)}",
        )


def check_overrides(changes: dict[str, Any]) -> None:
    """Only settings that keep the search the same search may change on resume; ``changes``
    holds the overrides as nested mappings."""
    for path in _paths(changes):
        if not any(path == p or path.startswith(p + ".") for p in RESUMABLE_SETTINGS):
            raise SpecError(
                "--set",
                path,
                "a resumed search keeps its space, strategy and trials; expected one of "
                + ", ".join(f"{p}.*" if p == "resources" else p for p in RESUMABLE_SETTINGS),
            )


def _paths(node: dict[str, Any], prefix: str = "") -> list[str]:
    """The dotted paths of a nested mapping's leaves."""
    paths = []
    for key, value in node.items():
        path = f"{prefix}{key}"
        paths += _paths(value, path + ".") if isinstance(value, dict) and value else [path]
    return paths
