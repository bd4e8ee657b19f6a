"""What a search produced: the value `searcher run` (CLI and Python API) hands back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
