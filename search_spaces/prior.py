"""Trials of an earlier search, as evidence for a new one (the spec's ``search.warm_start``).

An earlier trial is usable when every tuned parameter the new space makes active at its values
has a value the new scale can take: its unit coordinates are then those of the new space, so
a strategy can weigh it beside its own trials. The rest are counted by reason, so the user sees
why a changed range or a new parameter left them out. The best usable ones are run again
first (reruns), and their old and new scores measure how far the objective drifted.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from search_spaces.given import GivenPoint, unit_of
from search_spaces.scales import Choice, Scale, ScaleError, format_number, same
from search_spaces.space import SearchSpace
from search_spaces.trial import TrialResult, ranked

PRIOR_STAGE = 0  # the stage prior trials are told under: before this search's first
PRIOR_KEY = "prior:"  # + the trial's key in its own search: never one of this search's keys
DEFAULT_RERUNS = 3


@dataclass(frozen=True)
class EarlierTrial:
    """One trial of the earlier search as its store holds it."""

    key: str
    params: Mapping[str, Any]
    score: float | None  # None: it failed or recorded no metric


@dataclass(frozen=True)
class PriorTrials:
    """The usable earlier trials, told as results in this space, and why the others are not."""

    usable: list[TrialResult]
    unusable: Counter[str] = field(default_factory=Counter)
    # Usable trials that ran with another value of a parameter this space fixes: still
    # evidence (their tuned values are what a strategy learns from), but from that setting.
    other_fixed: Counter[str] = field(default_factory=Counter)

    @property
    def summary(self) -> str:
        """'12 of 20 earlier trials usable; 5 had lr outside log [1e-05, 0.01]; 3 failed or
        recorded no score; 12 of them ran with epochs=3 (now 5)'."""
        total = len(self.usable) + sum(self.unusable.values())
        head = f"{len(self.usable)} of {total} earlier trials usable"
        why = [f"{n} {reason}" for reason, n in self.unusable.most_common()]
        fixed = [f"{n} of them {note}" for note, n in self.other_fixed.most_common()]
        return "; ".join([head, *why, *fixed])


def usable_trials(space: SearchSpace, trials: Sequence[EarlierTrial]) -> PriorTrials:
    """Each earlier trial in this space's unit coordinates, or the reason it cannot be."""
    usable: list[TrialResult] = []
    unusable: Counter[str] = Counter()
    other_fixed: Counter[str] = Counter()
    for trial in trials:
        if trial.score is None or not math.isfinite(trial.score):
            unusable["failed or recorded no score"] += 1
            continue
        try:
            unit = _unit_in(space, trial.params)
        except ScaleError as exc:
            unusable[exc.message] += 1
            continue
        # The tuned values exactly as they ran (a unit round trip could move the last digit),
        # the fixed ones as this space has them.
        tuned = {space.name_of(n): trial.params[space.name_of(n)] for n in unit}
        params = {**space.to_values(unit), **tuned}
        for name, now in params.items():
            if name not in tuned and name in trial.params and not alike(trial.params[name], now):
                other_fixed[
                    f"ran with {name}={_shown(trial.params[name])} (now {_shown(now)})"
                ] += 1
        key = PRIOR_KEY + trial.key
        usable.append(TrialResult(key, PRIOR_STAGE, unit, params, trial.score))
    return PriorTrials(usable, unusable, other_fixed)


def alike(a: Any, b: Any) -> bool:
    """Equal values, numbers to rounding (a value read back from a store may differ in the
    last digit), others as choices compare (1 and True differ)."""
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (a, b))
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) if numbers else same(a, b)


def _shown(value: Any) -> str:
    return format_number(value) if isinstance(value, int | float) else str(value)


def _unit_in(space: SearchSpace, params: Mapping[str, Any]) -> dict[str, float]:
    """The unit coordinates of ``params`` in ``space``; ScaleError says what is missing or out
    of range (the reason is shared by every trial it applies to, so it names no value)."""

    def coordinate(name: str, scale: Scale) -> float:
        plain = space.name_of(name)
        if plain not in params:
            raise ScaleError(plain, f"had no value for {plain}")
        try:
            return unit_of(scale, params[plain], plain)
        except ScaleError:
            where = "not in" if isinstance(scale, Choice) else "outside"
            raise ScaleError(plain, f"had {plain} {where} {scale.describe()}") from None

    return space.walk(coordinate)


def best_usable(prior: Sequence[TrialResult], mode: str, count: int) -> list[TrialResult]:
    """The ``count`` best usable trials: those a warm start runs again first."""
    return ranked(list(prior), mode)[:count]


def rerun_point(space: SearchSpace, result: TrialResult) -> GivenPoint:
    """A usable trial's tuned values, exactly as they ran, as a point to run again."""
    values = {space.name_of(n): result.params[space.name_of(n)] for n in result.unit}
    return GivenPoint(dict(result.unit), values)


@dataclass(frozen=True)
class Drift:
    """How the reruns' new scores differ from their old ones: the mean change, and whether it
    is larger than the reruns' own scatter (the noise a search sees between two runs)."""

    changes: tuple[float, ...]  # new - old, per rerun that finished
    mean: float
    noise: float  # the standard error of the mean change; 0 with fewer than two reruns
    significant: bool

    def describe(self, metric: str) -> str:
        count = len(self.changes)
        runs = "rerun" if count == 1 else "reruns"
        scatter = f" (±{self.noise:.2g})" if count > 1 else " (one: too few to tell from noise)"
        return f"{metric} changed by {self.mean:+.4g} on average over {count} {runs}{scatter}"


def drift(old: Sequence[float], new: Sequence[float]) -> Drift | None:
    """The drift between paired old and new scores, None without a pair.

    Significant when the mean change is more than twice its standard error (the scatter of the
    changes over the square root of their count), so changes all alike are significant however
    small (training that repeats exactly has no noise to hide them); one pair cannot tell drift
    from noise, and is never significant.
    """
    changes = tuple(b - a for a, b in zip(old, new, strict=True))
    if not changes:
        return None
    mean = statistics.fmean(changes)
    spread = statistics.stdev(changes) if len(changes) > 1 else 0.0
    noise = spread / math.sqrt(len(changes))
    tiny = 1e-9 * max(1.0, *(abs(a) for a in old))
    significant = len(changes) > 1 and abs(mean) > max(2 * noise, tiny)
    return Drift(changes, mean, noise, significant)
