"""The versioned records a search keeps in the store, and how older stores are read.

Each trial run carries one JSON record (key, stage, unit coordinates, params) and the search's
run one (the normalised spec, its stage plan). Resume, the report, ``trials``, ``best`` and
``export`` read these; the ``hp/`` and ``unit/`` metric mirrors exist for the MLflow UI only.
A run without a record was written by searcher 0.1.0: it is read from the mirrors, its params
and the raw spec it recorded, as that version did.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from search_spaces.trial import Trial, TrialResult
from searcher.errors import SearcherError

SCHEMA = 1  # the records' layout; a reader refuses records from a newer searcher


class RecordError(SearcherError):
    """A record this version cannot read (corrupt, or written by a newer searcher)."""


def _dump(kind: str, body: dict[str, Any]) -> str:
    # Never sorted: the space's order is the order a strategy samples and a grid varies in.
    return json.dumps({"schema": SCHEMA, "kind": kind, **body}, default=str)


def _load(text: str, kind: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError(f"a {kind} record is not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("kind") != kind:
        raise RecordError(f"expected a {kind} record, got {text[:80]!r}")
    schema = data.get("schema")
    if not isinstance(schema, int) or schema > SCHEMA:
        raise RecordError(
            f"a {kind} record has schema {schema!r}; this searcher reads up to {SCHEMA}: "
            "upgrade searcher to read this store"
        )
    return data


def trial_record(trial: Trial) -> str:
    """The JSON record of one trial run."""
    return _dump("trial", trial.to_wire())


def read_trial_record(text: str) -> Trial:
    return Trial.from_wire(_load(text, "trial"))


@dataclass(frozen=True)
class SearchRecord:
    """What a search ran: its spec with every default applied, and its stage plan; after a
    `searcher extend`, ``rounds`` holds the planned trials after the first run and after each
    extension (so the report can show a one-stage strategy's extensions as later stages)."""

    spec: dict[str, Any]  # normalised: validating it again gives the same search
    stages: tuple[int, ...]  # trials per stage as planned (one stage for unstaged strategies)
    planned_trials: int
    schema: int = SCHEMA
    rounds: tuple[int, ...] = ()  # empty: never extended

    def to_json(self) -> str:
        body: dict[str, Any] = {
            "spec": self.spec,
            "stages": list(self.stages),
            "planned_trials": self.planned_trials,
        }
        if self.rounds:
            body["rounds"] = list(self.rounds)
        return _dump("search", body)

    def extended(self, spec: dict[str, Any], stages: tuple[int, ...], planned: int) -> SearchRecord:
        """The record of this search extended to ``planned`` trials."""
        rounds = (*(self.rounds or (self.planned_trials,)), planned)
        return SearchRecord(spec, stages, planned, rounds=rounds)

    @classmethod
    def from_json(cls, text: str) -> SearchRecord:
        data = _load(text, "search")
        return cls(
            dict(data["spec"]),
            tuple(int(n) for n in data["stages"]),
            int(data["planned_trials"]),
            int(data["schema"]),
            tuple(int(n) for n in data.get("rounds", ())),
        )


@dataclass(frozen=True)
class WarmStartRecord:
    """Where a warm-started search started from and what it took: the earlier search (its
    experiment, id and store), its usable trials as this search's space reads them, how many
    were unusable and why, and which of this search's trials ran which of them again. Resume
    and extend read the trials from here, never from the earlier store again."""

    experiment: str
    search_id: str
    uri: str  # as shown to people (no password)
    usable: tuple[TrialResult, ...]
    unusable: dict[str, int]
    reruns: dict[str, str]  # this search's key -> the prior trial's key

    def to_json(self) -> str:
        body = {
            "from": {"experiment": self.experiment, "search": self.search_id, "uri": self.uri},
            "usable": [{**r.to_wire(), "score": r.score} for r in self.usable],
            "unusable": self.unusable,
            "reruns": self.reruns,
        }
        return _dump("warm_start", body)

    @classmethod
    def from_json(cls, text: str) -> WarmStartRecord:
        data = _load(text, "warm_start")
        source = data["from"]
        usable = tuple(
            TrialResult.of(Trial.from_wire(item), float(item["score"])) for item in data["usable"]
        )
        return cls(
            str(source["experiment"]),
            str(source["search"]),
            str(source.get("uri", "")),
            usable,
            {str(k): int(v) for k, v in data.get("unusable", {}).items()},
            {str(k): str(v) for k, v in data.get("reruns", {}).items()},
        )
