"""What a search produced: the value `searcher run` (CLI and Python API) hands back."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

_NUMBER = re.compile(r"[-+]?\d[\d.e+-]*|nan|inf")


def error_kind(error: str) -> str:
    """An error's kind: its last line with the numbers blanked out, so that the same failure
    at another epoch, page or pid counts as one."""
    return _NUMBER.sub("N", last_line(error))


def last_line(error: str) -> str:
    return error.splitlines()[-1] if error.strip() else error


def error_kinds(errors: list[str]) -> list[tuple[int, str]]:
    """Failures grouped by kind, most common first, one example each."""
    examples: dict[str, str] = {}
    counts: Counter[str] = Counter()
    for error in errors:
        kind = error_kind(error)
        examples.setdefault(kind, last_line(error))
        counts[kind] += 1
    return [(n, examples[kind]) for kind, n in counts.most_common()]


@dataclass
class SearchSummary:
    """What a finished (or interrupted) search produced, as the CLI and tests see it."""

    search_id: str
    experiment: str
    tracking_uri: str
    planned: int
    counts: dict[str, int]
    best_key: str | None
    best_score: float | None
    best_params: dict[str, Any]
    best_run_id: str | None
    warnings: list[str] = field(default_factory=list)
    error_kinds: list[tuple[int, str]] = field(default_factory=list)  # (count, an example)
    logging_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False
    stopped: str | None = None  # why the search stopped early on its own, if it did
    run_ids: dict[str, str] = field(default_factory=dict)
    ended_by: str | None = None  # a search that ended before its plan on purpose: why
    # A warm start's reruns: (key, the earlier trial's key, its old score, its new score).
    reruns: list[tuple[str, str, float, float]] = field(default_factory=list)
