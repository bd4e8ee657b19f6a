"""The ask/tell interface every strategy shares; nothing here knows about Ray."""

from __future__ import annotations

import enum
import math
import random
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from search_spaces.box import edge_warnings
from search_spaces.given import GivenPoint, complete
from search_spaces.prior import best_usable, rerun_point
from search_spaces.space import SearchSpace
from search_spaces.trial import Trial, TrialResult, ranked


class Signal(enum.Enum):
    """What ask() returns instead of a suggestion; an Enum so identity survives pickling."""

    WAIT = "wait"
    DONE = "done"


WAIT = Signal.WAIT
DONE = Signal.DONE


@dataclass(frozen=True)
class StageRecord:
    """One coarse-to-fine stage: where it sampled, as a JSON-able box and readable ranges,
    the keys of the trials whose results shaped it, and the model that picked its points
    (neither for the first stage). In a conditional space ``branches`` holds each branch's
    own trials, box and ranges (by branch label); ``box`` then bounds them all."""

    stage: int
    trials: int
    box: dict[str, Any]
    ranges: dict[str, str]
    based_on: tuple[str, ...] = ()
    model: str = ""
    branches: dict[str, dict[str, Any]] = field(default_factory=dict)


def trial_key(stage: int, index: int) -> str:
    return f"{stage}-{index:03d}"


def trial_rng(seed: int, stage: int, index: int) -> random.Random:
    """An RNG per trial, so a trial's coordinates depend on nothing but (seed, stage, index)."""
    return random.Random(f"{seed}:{stage}:{index}")


class Strategy(ABC):
    """Seeded ask/tell search; the same tells, in any order, give the same suggestions."""

    planned_trials: int

    def __init__(self, space: SearchSpace, mode: str, seed: int) -> None:
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        self.space = space
        self.mode = mode
        self.seed = seed
        self._pending: dict[str, Trial] = {}
        self._told: dict[str, TrialResult] = {}
        self._replay: dict[str, TrialResult] = {}
        self._warnings: list[str] = []
        self._given: list[GivenPoint] = []  # reruns first, then start_with's
        self._start_points: list[GivenPoint] = []
        self._prior: list[TrialResult] = []  # an earlier search's usable trials
        self.reruns: dict[str, str] = {}  # this search's key -> the prior trial it runs again
        self.workers: int | None = None  # trials the engine keeps in flight (expect_workers)
        self._asked_alone = 0  # trials handed out with no other out
        self._asked_beside = False  # a trial was handed out with another out

    def expect_workers(self, workers: int) -> None:
        """How many trials the engine keeps in flight at once, said before the first ask. A
        strategy may plan around it (coarse_to_fine: with one worker each zoom trial waits for
        the one before and learns from its result); the others ignore it. A strategy never
        told infers it from how it is asked (one_at_a_time)."""
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers

    @property
    def one_at_a_time(self) -> bool:
        """Whether trials run one after another: said by expect_workers, or, never said, seen
        so far: two trials or more handed out, each with no other out. The first ask with a
        trial out means workers in flight, for good. (A replayed trial is no evidence: a
        resumed search is told its workers by the engine.)"""
        if self.workers is not None:
            return self.workers == 1
        return not self._asked_beside and self._asked_alone >= 2

    @abstractmethod
    def _next(self) -> Trial | Signal:
        """The next suggestion, WAIT or DONE; ask() does the bookkeeping."""

    def ask(self) -> Trial | Signal:
        """A new trial; WAIT until pending tells arrive; DONE once every planned trial is out.

        A replayed key is told its recorded result on the spot and never handed out.
        """
        if self._pending:  # asked with a trial out: workers in flight (one_at_a_time)
            self._asked_beside = True
        while True:
            out = self._next()
            if not isinstance(out, Trial):
                return out
            recorded = self._replay.pop(out.key, None)
            if recorded is None:
                self._asked_alone += not self._pending
                self._pending[out.key] = out
                return out
            self._pending[out.key] = self._as_ran(out, recorded)
            self.tell(out.key, recorded.score, recorded.error)

    def replay(self, recorded: Iterable[TrialResult]) -> None:
        """Results a stopped search already has: each is told when its key comes up, in the
        order the strategy asks (key order), so a resumed search suggests the same trials as
        one that never stopped; those keys are never asked again."""
        self._replay = {r.key: r for r in recorded}

    def _as_ran(self, asked: Trial, recorded: TrialResult) -> Trial:
        """The suggestion as it ran; a recorded point that differs from the asked one wins
        (and is reported), since that is what the score belongs to."""
        if not recorded.unit or _same_point(asked.unit, recorded.unit):
            return asked
        self._warnings.append(
            f"trial {asked.key} ran at other values than this version suggests; "
            "its recorded values are kept"
        )
        return Trial(asked.key, asked.stage, recorded.unit, recorded.params)

    def tell(self, key: str, score: float | None, error: str | None = None) -> None:
        """Record a trial's outcome; score None or an error marks it failed."""
        if key not in self._pending:
            said = "already told" if key in self._told else "unknown"
            raise KeyError(f"{said} trial key {key!r}")
        s = self._pending.pop(key)
        result = TrialResult.of(s, score, error)
        self._told[key] = result
        self._on_tell(result)

    def _on_tell(self, result: TrialResult) -> None:  # noqa: B027 - optional hook
        """Hook for strategies that keep their own model of the results."""

    def start_with(self, given: list[GivenPoint]) -> None:
        """Known points (search_spaces.given): stage 1's first trials take their values, the
        rest of each point sampled as the strategy would; they count in its budget."""
        self._start_points = list(given)
        self._given = [*self._given[: len(self.reruns)], *self._start_points]

    def warm_start(self, prior: Sequence[TrialResult], reruns: int = 0) -> None:
        """An earlier search's usable trials (search_spaces.prior), known before anything is
        asked; the ``reruns`` best of them run again first (before start_with's points), so
        their old and new scores show how far the objective moved. What the trials are worth
        to the strategy is ``_on_prior``'s: by default nothing (random search)."""
        self._prior = list(prior)
        again = best_usable(self._prior, self.mode, reruns)
        self.reruns = {trial_key(1, i): r.key for i, r in enumerate(again)}
        self._given = [*(rerun_point(self.space, r) for r in again), *self._start_points]
        self._on_prior()

    def _on_prior(self) -> None:  # noqa: B027 - optional hook
        """Hook for strategies that learn from an earlier search's trials."""

    @property
    def given_keys(self) -> frozenset[str]:
        """The keys of the trials that run start_with's configurations."""
        first = len(self.reruns)
        return frozenset(trial_key(1, first + i) for i in range(len(self._start_points)))

    def _suggest(self, stage: int, index: int, unit: dict[str, float]) -> Trial:
        if stage == 1 and index < len(self._given):
            point = self._given[index]
            rng = random.Random(f"{self.seed}:given:{index}")
            unit = complete(self.space, point.unit, unit, rng)
            params = {**self.space.to_values(unit), **point.values}
            return Trial(trial_key(stage, index), stage, unit, params)
        return Trial(trial_key(stage, index), stage, unit, self.space.to_values(unit))

    @property
    def known_results(self) -> list[TrialResult]:
        """Told trials plus replayed ones not reached yet, by key: all results the search has."""
        known = {**self._replay, **self._told}
        return [known[k] for k in sorted(known)]

    @property
    def boxes(self) -> list[StageRecord]:
        return []

    def best(self) -> TrialResult | None:
        top = ranked(self.known_results, self.mode)
        return top[0] if top else None

    def warnings(self) -> list[str]:
        """Strategy notes plus edge warnings for the current best trial."""
        best = self.best()
        edges = edge_warnings(self.space, best.unit) if best else []
        return [*self._warnings, *edges]


def _same_point(a: dict[str, float], b: dict[str, float]) -> bool:
    return a.keys() == b.keys() and all(math.isclose(a[k], b[k], abs_tol=1e-9) for k in a)
