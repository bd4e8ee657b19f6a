"""Coarse to fine: a Latin hypercube coarse stage, then stages that zoom in on the best trials,
each zoom trial picked by expected improvement under a Gaussian process.

How a zoom stage samples is `search_spaces.zoom` (its region), `search_spaces.surrogate` (its
model) and `search_spaces.candidates` (how a trial picks its point); this module runs the
stages: it sizes them from a trial budget, decides when the next stage
may start, and records each stage's box and the trials that shaped it.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Annotated

from pydantic import BaseModel, ConfigDict

from search_spaces.box import Box, choice_scale
from search_spaces.branches import Branch
from search_spaces.candidates import choose, in_region
from search_spaces.constraints import MAX_STAGES, MAX_TRIALS, Integer, Number
from search_spaces.gaussian_process import Hyperparameters
from search_spaces.latin import LatinSlices, latin_point, latin_slices
from search_spaces.scales import is_integer
from search_spaces.space import SearchSpace
from search_spaces.strategies.base import (
    DONE,
    WAIT,
    Signal,
    StageRecord,
    Strategy,
    Trial,
    trial_key,
    trial_rng,
)
from search_spaces.surrogate import StageModel
from search_spaces.trial import TrialResult, better, ranked
from search_spaces.zoom import MIN_TOP, Region, next_side, zoom_region

COARSE_FRACTION = 0.2  # of a budget, for the coarse first stage (0.3 until 2026-12-07)
MIN_COARSE = 10  # trials in the coarse stage, however small the budget
ZOOM_STAGE_TRIALS = 4  # about this many trials per zoom stage
READY_FRACTION = 0.75  # of a stage's trials (its first, by index) that fix the next stage
EXPLORE_ALL = False  # every zoom trial explores, not just those the next stage does not wait for
BEHIND_SHARE = 0.1  # a branch with none of the top trials: its weight in a zoom stage
BRANCH_DECAY = 0.5  # the k-th best branch's weight (k = 0 for the best) is BRANCH_DECAY ** k
WARM_COARSE = 5  # the shortest coarse stage a warm start leaves (bench/quality.py --suite warm)
PRIOR_ZOOMS: int | None = 2  # zoom stages a warm start's earlier trials shape (None: all)
SHIFT_PRIOR = True  # move a warm start's earlier scores by the reruns' median change
REFIT_GROWTH = 1.1  # a branch's model is fitted afresh once its finished trials grow this much
REFIT_STAGES = 2  # or this many stages after its last fit; between, it keeps the fit's
# hyperparameters and conditions on the new trials: a tenth of the compute (bench/README.md)
ONE_AT_A_TIME = True  # with one worker, each zoom trial learns from the ones before it


class StageSpec(BaseModel):
    """A stage's size and how it zooms; keep_top and pad are ignored for stage 1.

    The spec's `search.stages` entries are these, so the checks live here and nowhere else.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    trials: Annotated[int, Integer(1, MAX_TRIALS)]
    keep_top: Annotated[float, Number(above=0, high=1)] = 0.3
    pad: Annotated[float, Number(0, below=1)] = 0.0


def stages_for(trials: int, prior: int = 0, given: int = 0) -> list[StageSpec]:
    """The stage plan for a budget: 20 % coarse (at least 10 trials), the rest in zoom
    stages of 4 or 5. A warm start's ``prior`` usable trials are coarse evidence: the
    coarse stage is that many shorter, down to WARM_COARSE (and never below the ``given``
    points it must run: reruns and start_with's).

    bench/quality.py measured the alternatives (a coarse 15 %, a fifth, a quarter, a half; at
    least 2, 6, 8 or 12 coarse trials; zoom stages of 3, 4, 5, 7, 10 and 14): see
    bench/README.md. A fifth beat 30 % once the zoom trials learned from every result with one
    worker, and with 4 workers too (2026-12-07). Stages of 5 beat 10 once a Gaussian process
    picks the points: its model is refitted twice as often; 4 edged out 5 and 3 with one
    worker, and keeps a trial's slack for parallel workers, which 3 does not. Past about 500
    trials the stages grow instead of multiplying, so that a plan never has more than
    MAX_STAGES stages (a spec's limit, which a stored plan is validated against on resume).
    """
    if trials < 1:
        raise ValueError(f"trials must be >= 1, got {trials}")
    first = min(trials, max(MIN_COARSE, round(COARSE_FRACTION * trials)))
    if prior:
        first = min(first, max(WARM_COARSE, given, first - prior))
    sizes = zoom_sizes(trials - first, MAX_STAGES - 1)
    return [StageSpec(trials=first), *(StageSpec(trials=size) for size in sizes)]


def zoom_sizes(trials: int, most: int) -> list[int]:
    """``trials`` zoom trials in stages of ZOOM_STAGE_TRIALS or a few more, at most ``most``
    stages (they grow past that), sizes differing by one at most. Never fewer (but for a
    budget that has fewer): a stage waits for its first 75 %, so a stage of 4 leaves one
    trial's slack for parallel workers and a stage of 3 none."""
    if trials <= 0:
        return []
    count = min(most, max(1, trials // ZOOM_STAGE_TRIALS))
    return [trials // count + (1 if i < trials % count else 0) for i in range(count)]


@dataclass(frozen=True)
class Refit:
    """A branch's last full fit of its model: how many finished trials it saw, in which stage,
    and the hyperparameters it learned."""

    trials: int
    stage: int
    hyperparameters: Hyperparameters


@dataclass
class BranchZoom:
    """How one branch samples in a zoom stage: its own flat space of active parameters, the
    region and model from its own trials (None while it has no finished trial or too few),
    and the box recorded for it."""

    branch: Branch
    space: SearchSpace
    box: Box
    region: Region | None = None
    model: StageModel | None = None
    believed: int = 0  # stage indices up to here that the model has taken in

    @functools.cached_property
    def whole(self) -> Box:
        """The whole branch, where an exploring trial's candidates are drawn."""
        return Box.of_branch(self.space, self.branch)


class CoarseToFine(Strategy):
    """Stage 1 is a Latin hypercube over the whole space; each later stage zooms in on the
    results before it (search_spaces.zoom), each of its trials the best point by the stage's
    model (search_spaces.surrogate) among candidates in the stage's region
    (search_spaces.candidates). The trials the next stage does not wait for explore: their
    candidates span the whole branch too, so they may leave the stage's recorded box.

    A stage's coordinates depend only on the seed and on the results of a fixed set of
    earlier trials: every trial of the stages before the previous one, and the first
    ``ready`` fraction (by index) of the previous stage. So the next stage can start while
    the previous one's last trials still run, and the search stays deterministic however
    the trials' finishing order falls.

    With one worker (``expect_workers(1)``, or asked one trial at a time) waiting costs
    nothing, so the search learns from every result as it comes: each zoom trial waits for
    the stage's trials before it and its model conditions on their real scores (its
    hyperparameters kept) instead of believing its own guesses, and the next stage waits for
    the whole of this one. The stages, their regions and the determinism stay as they are.

    In a conditional space every branch zooms on its own active parameters and its own
    trials, and a zoom stage's trials are shared out by ``branch_weights``: halved for each
    place a branch's best trial is behind the leader's, a tenth for one clearly behind.
    """

    def __init__(
        self,
        space: SearchSpace,
        mode: str,
        seed: int,
        stages: Sequence[StageSpec],
        ready: float | None = None,
    ) -> None:
        super().__init__(space, mode, seed)
        ready = READY_FRACTION if ready is None else ready
        if not stages:
            raise ValueError("coarse_to_fine needs at least one stage")
        if not 0 < ready <= 1:
            raise ValueError(f"ready must be in (0, 1], got {ready}")
        self.stages = list(stages)
        self.ready = ready
        self.planned_trials = sum(s.trials for s in self.stages)
        self._stage = 1
        self._asked = 0
        self._zooms: list[BranchZoom] = []
        self._assigned: list[int] = []  # the zoom (index into _zooms) of each stage trial
        self._sides: dict[str, float] = {}
        self._best_scores: dict[str, float] = {}
        self._refits: dict[str, Refit] = {}  # per branch label
        self._box = Box.full(space)
        self._records = [self._record(())]

    def _record(self, based_on: tuple[str, ...]) -> StageRecord:
        trials = self.stages[self._stage - 1].trials
        models = sorted({z.model.name for z in self._zooms if z.model is not None})
        box, ranges = self._box.to_dict(), self._box.to_values(self.space)
        branches = {}
        if self.space.conditional and self._stage > 1:
            for i, zoom in enumerate(self._zooms):
                branches[zoom.branch.label] = {
                    "trials": self._assigned.count(i),
                    "box": zoom.box.to_dict(),
                    "ranges": zoom.box.to_values(zoom.space),
                }
        return StageRecord(self._stage, trials, box, ranges, based_on, ", ".join(models), branches)

    @property
    def boxes(self) -> list[StageRecord]:
        return list(self._records)

    @property
    def _one_at_a_time(self) -> bool:
        """Trials run one after another: a zoom trial may wait for the one before."""
        return ONE_AT_A_TIME and self.one_at_a_time

    def _next(self) -> Trial | Signal:
        if self._asked < self.stages[self._stage - 1].trials:
            index = self._asked
            if any(key not in self._told for key in self._learns_from(index)):
                return WAIT
            self._asked += 1
            return self._suggest(self._stage, index, self._sample(index))
        if self._stage == len(self.stages):
            return DONE
        used = self._zoom_keys()
        if any(key not in self._told for key in used):
            return WAIT
        shaped = PRIOR_ZOOMS is None or self._stage <= PRIOR_ZOOMS
        prior = self._prior_evidence(set(used)) if shaped else []
        self._advance([*prior, *(self._told[key] for key in used)])
        return self._next()

    def _prior_evidence(self, used: set[str]) -> list[TrialResult]:
        """The earlier search's trials as coarse evidence: each one run again is replaced by
        its rerun (among this search's own ``used`` trials, those the stage waits for), and
        the rest are moved by those reruns' median change, so old and new scores rank on one
        scale. Only ``used`` reruns count: which others have finished is down to timing."""
        told = {
            prior: self._told[key]
            for key, prior in self.reruns.items()
            if key in used and not self._told[key].failed
        }
        changes = [
            r.score - p.score  # type: ignore[operator]
            for p in self._prior
            if (r := told.get(p.key)) is not None
        ]
        shift = statistics.median(changes) if changes and SHIFT_PRIOR else 0.0
        again = set(told)
        return [
            replace(p, score=p.score + shift)  # type: ignore[operator]
            for p in self._prior
            if p.key not in again
        ]

    @functools.cached_property
    def _latin(self) -> LatinSlices:
        """Stage 1's slices, built at its first trial: after start_with and warm_start have
        said which configurations its first trials take (they claim their own slices)."""
        given = {i: point.unit for i, point in enumerate(self._given)}
        return latin_slices(self.space, self.seed, 1, self.stages[0].trials, given)

    def _sample(self, index: int) -> dict[str, float]:
        """Trial ``index`` of the current stage; its coordinates depend on nothing else."""
        rng = trial_rng(self.seed, self._stage, index)
        if self._stage == 1:
            return latin_point(self.space, self._latin, index, rng)
        which = self._assigned[index]
        zoom = self._zooms[which]
        if zoom.region is None:  # every earlier trial of the branch failed, or it had none
            return zoom.box.sample(rng, zoom.space)
        drawn = in_region(zoom.region, zoom.box, zoom.space, rng)
        if zoom.model is None:  # too few finished trials for a model
            return drawn[index % 4]  # narrow, wide or anywhere in the box, in turn
        # The model takes in the stage's earlier trials of the branch: with one worker their
        # real results (failed ones left out), else the points they run at, believed (as they
        # ran: a resumed trial keeps its recorded point), so this one goes elsewhere.
        for earlier in range(zoom.believed, index):
            if self._assigned[earlier] != which:
                continue
            key = trial_key(self._stage, earlier)
            if self._one_at_a_time:  # _next waited for it
                result = self._told[key]
                usable = not result.failed and zoom.space.is_complete(result.unit)
                if usable and result.score is not None:
                    zoom.model.observe(result.unit, self._sign * result.score)
            else:
                point = (self._pending.get(key) or self._told[key]).unit
                if zoom.space.is_complete(point):  # a resumed trial may have run elsewhere
                    zoom.model.believe(point)
        zoom.believed = index
        explore = EXPLORE_ALL or index >= self._explore_from(self._stage)
        return choose(zoom.model, drawn, zoom.box, zoom.whole, zoom.space, rng, explore)

    def _learns_from(self, index: int) -> list[str]:
        """The keys of the current zoom stage's trials whose real results trial ``index``
        waits for and learns from: with one worker, every one before it; else none."""
        if self._stage == 1 or not self._one_at_a_time:
            return []
        return [trial_key(self._stage, j) for j in range(index)]

    def _fit(
        self, finished: list[TrialResult], region: Region, space: SearchSpace, label: str
    ) -> StageModel | None:
        """The model that picks the stage's points among their candidates: its
        hyperparameters fitted afresh when the branch's trials grew by REFIT_GROWTH or
        REFIT_STAGES stages passed since the last fit, else kept from that fit."""
        last = self._refits.get(label)
        fresh = (
            last is None
            or len(finished) >= REFIT_GROWTH * last.trials
            or self._stage - last.stage >= REFIT_STAGES
        )
        keep = None if fresh or last is None else last.hyperparameters
        scores = [self._sign * r.score for r in finished]  # type: ignore[operator]
        half = {n: region.half_width(n) for n in region.centre}
        choices = {n: choice_scale(space, n) for n in region.categories}
        integers = {n: space.params[n] for n in region.centre if is_integer(space.params[n])}
        model = StageModel.fit(
            [r.unit for r in finished], scores, region.centre, half, choices, integers, keep
        )
        if model is not None and fresh:
            self._refits[label] = Refit(len(finished), self._stage, model.hyperparameters)
        return model

    @property
    def _sign(self) -> float:
        """Scores times this are lower-better, as the stage models take them."""
        return 1.0 if self.mode == "min" else -1.0

    def _zoom_keys(self) -> list[str]:
        """The trials the next stage is shaped by: all earlier stages' and the first
        ``ready`` fraction of the current one's."""
        keys = [
            trial_key(stage, index)
            for stage in range(1, self._stage)
            for index in range(self.stages[stage - 1].trials)
        ]
        return keys + [trial_key(self._stage, i) for i in range(self._ready_count(self._stage))]

    def _ready_count(self, stage: int) -> int:
        """How many of a stage's first trials (by index) the next stage waits for: with one
        worker, all of them (they are in by then)."""
        if self._one_at_a_time:
            return self.stages[stage - 1].trials
        return self._explore_from(stage)

    def _explore_from(self, stage: int) -> int:
        """The first trial of a zoom stage that explores: past the ``ready`` fraction."""
        return max(1, math.ceil(self.ready * self.stages[stage - 1].trials - 1e-9))

    def _branch_spaces(self) -> list[tuple[Branch, SearchSpace]]:
        if not self.space.conditional:
            return [(self.space.branches[0], self.space)]
        return [(b, self.space.branch_space(b)) for b in self.space.branches]

    def _advance(self, used: list[TrialResult]) -> None:
        spec = self.stages[self._stage]
        finished = ranked(used, self.mode)
        if not finished:
            self._warnings.append(
                f"every trial up to stage {self._stage} failed; "
                f"stage {self._stage + 1} samples the full range"
            )
        top = max(MIN_TOP, math.ceil(spec.keep_top * len(finished) - 1e-9))
        labels = [self._label_of(r) for r in finished]  # ranked order
        self._zooms, places = [], []
        for branch, space in self._branch_spaces():
            own = [r for r, label in zip(finished, labels, strict=True) if label == branch.label]
            self._zooms.append(self._zoom_branch(branch, space, own, spec))
            places.append(labels.index(branch.label) if own else len(finished))
        weights = branch_weights(places, top) if finished else [1.0] * len(places)
        self._stage += 1
        self._asked = 0
        self._assigned = allocate(weights, spec.trials, self._stage)
        sampled = [z.box for i, z in enumerate(self._zooms) if i in self._assigned]
        self._box = _bounding_box(sampled)
        self._records.append(self._record(tuple(r.key for r in used)))

    def _zoom_branch(
        self, branch: Branch, space: SearchSpace, own: list[TrialResult], spec: StageSpec
    ) -> BranchZoom:
        """How a branch samples next: a zoom on its own finished trials (best first), or the
        whole branch while it has none. Its trust region shrinks on its own record."""
        zoom = BranchZoom(branch, space, Box.of_branch(space, branch))
        if not own:
            return zoom
        best = own[0].score
        assert best is not None  # ranked() keeps finished trials only
        label = branch.label
        last = self._best_scores.get(label)
        self._sides[label] = next_side(
            self._sides.get(label), last is None or better(best, last, self.mode)
        )
        self._best_scores[label] = best
        zoom.region = zoom_region(space, own, self._sides[label], spec.keep_top, spec.pad)
        zoom.model = self._fit(own, zoom.region, space, label)
        zoom.box = zoom.region.box()
        return zoom

    def _label_of(self, result: TrialResult) -> str:
        return self.space.branch_of(result.unit).label if self.space.conditional else ""


def branch_weights(places: Sequence[int], top: int) -> list[float]:
    """A zoom stage's weight per branch, from where each branch's best trial ranks among all
    finished trials (``places``; no trial: past the end). The k-th best branch weighs
    BRANCH_DECAY ** k, and one with none of the ``top`` trials (those that size a zoom) at
    most BEHIND_SHARE: the leader gets most of a stage, a branch clearly behind a trial
    now and then."""
    order = sorted(range(len(places)), key=lambda b: places[b])
    weights = [0.0] * len(places)
    for k, b in enumerate(order):
        weights[b] = BRANCH_DECAY**k if places[b] < top else min(BEHIND_SHARE, BRANCH_DECAY**k)
    return weights


def allocate(weights: Sequence[float], trials: int, stage: int) -> list[int]:
    """Which branch (index into weights) each of a stage's trials samples.

    Shares are proportional to the weights; the trials go out interleaved, each to the
    branch furthest behind its share so far, so that the first trials of a stage (those
    the next stage waits for) cover the branches too. Ties go to the branch that comes
    first counting from ``stage`` round the list, so a branch whose share is under one
    trial a stage still gets its turns over the stages.
    """
    total = sum(weights)
    count = len(weights)
    taken = [0] * count
    out = []
    for i in range(trials):
        due = [w * (i + 1) / total - taken[b] for b, w in enumerate(weights)]
        b = max(range(count), key=lambda b: (round(due[b], 9), -((b - stage) % count)))
        taken[b] += 1
        out.append(b)
    return out


def _bounding_box(boxes: Sequence[Box]) -> Box:
    """The smallest box holding every branch's: the stage's record across branches."""
    if len(boxes) == 1:
        return boxes[0]
    intervals: dict[str, tuple[float, float]] = {}
    categories: dict[str, tuple[int, ...]] = {}
    for box in boxes:
        for name, (lo, hi) in box.intervals.items():
            old = intervals.get(name, (lo, hi))
            intervals[name] = (min(old[0], lo), max(old[1], hi))
        for name, cells in box.categories.items():
            categories[name] = tuple(sorted({*categories.get(name, ()), *cells}))
    return Box(intervals, categories)
