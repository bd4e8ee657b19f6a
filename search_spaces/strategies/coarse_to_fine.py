"""Coarse to fine: a Latin hypercube coarse stage, then stages that zoom in on the best trials,
each zoom trial picked by expected improvement under a Gaussian process.

How a zoom stage samples is `search_spaces.zoom` and `search_spaces.surrogate`; this
module runs the stages: it sizes them from a trial budget, decides when the next stage
may start, and records each stage's box and the trials that shaped it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated

from pydantic import BaseModel, ConfigDict

from search_spaces.box import Box, choice_scale
from search_spaces.constraints import MAX_STAGES, MAX_TRIALS, Integer, Number
from search_spaces.latin import latin_point, latin_slices
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
from search_spaces.zoom import Region, next_side, zoom_region

COARSE_FRACTION = 0.3  # of a budget, for the coarse first stage
MIN_COARSE = 10  # trials in the coarse stage, however small the budget
ZOOM_STAGE_TRIALS = 5  # about this many trials per zoom stage
READY_FRACTION = 0.75  # of a stage's trials (its first, by index) that fix the next stage
CANDIDATES = 64  # points a zoom trial draws in its region; the stage's model picks one


class StageSpec(BaseModel):
    """A stage's size and how it zooms; keep_top and pad are ignored for stage 1.

    The spec's `search.stages` entries are these, so the checks live here and nowhere else.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    trials: Annotated[int, Integer(1, MAX_TRIALS)]
    keep_top: Annotated[float, Number(above=0, high=1)] = 0.3
    pad: Annotated[float, Number(0, below=1)] = 0.0


def stages_for(trials: int) -> list[StageSpec]:
    """The stage plan for a budget: 30 % coarse (at least 10 trials), the rest in zoom
    stages of about 5.

    bench/quality.py measured the alternatives (a coarse 15 %, a fifth, a quarter, a half; at
    least 2, 6, 8 or 12 coarse trials; zoom stages of 5, 7, 10 and 14): see bench/README.md.
    Stages of 5 beat 10 once a Gaussian process picks the points: its model is refitted
    twice as often. Past about 350 trials the stages grow instead of multiplying, so that a
    plan never has more than MAX_STAGES stages (a spec's limit, which a stored plan is
    validated against on resume).
    """
    if trials < 1:
        raise ValueError(f"trials must be >= 1, got {trials}")
    first = min(trials, max(MIN_COARSE, round(COARSE_FRACTION * trials)))
    rest = trials - first
    count = min(MAX_STAGES - 1, max(1, round(rest / ZOOM_STAGE_TRIALS))) if rest else 0
    sizes = [rest // count + (1 if i < rest % count else 0) for i in range(count)]
    return [StageSpec(trials=first), *(StageSpec(trials=size) for size in sizes)]


class CoarseToFine(Strategy):
    """Stage 1 is a Latin hypercube over the whole space; each later stage zooms in on the
    results before it (search_spaces.zoom), each of its trials the best of CANDIDATES points
    in the stage's region by the stage's model (search_spaces.surrogate).

    A stage's coordinates depend only on the seed and on the results of a fixed set of
    earlier trials: every trial of the stages before the previous one, and the first
    ``ready`` fraction (by index) of the previous stage. So the next stage can start while
    the previous one's last trials still run, and the search stays deterministic however
    the trials' finishing order falls.
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
        self._region: Region | None = None
        self._model: StageModel | None = None
        self._believed = 0  # trials of the current stage its model believes
        self._side: float | None = None
        self._best_score: float | None = None
        self._box = Box.full(space)
        self._latin = latin_slices(space, seed, 1, self.stages[0].trials)
        self._records = [self._record(())]

    def _record(self, based_on: tuple[str, ...]) -> StageRecord:
        trials = self.stages[self._stage - 1].trials
        model = self._model.name if self._model is not None else ""
        box, ranges = self._box.to_dict(), self._box.to_values(self.space)
        return StageRecord(self._stage, trials, box, ranges, based_on, model)

    @property
    def boxes(self) -> list[StageRecord]:
        return list(self._records)

    def _next(self) -> Trial | Signal:
        if self._asked < self.stages[self._stage - 1].trials:
            index, self._asked = self._asked, self._asked + 1
            return self._suggest(self._stage, index, self._sample(index))
        if self._stage == len(self.stages):
            return DONE
        used = self._zoom_keys()
        if any(key not in self._told for key in used):
            return WAIT
        self._advance([self._told[key] for key in used])
        return self._next()

    def _sample(self, index: int) -> dict[str, float]:
        """Trial ``index`` of the current stage; its coordinates depend on nothing else."""
        rng = trial_rng(self.seed, self._stage, index)
        if self._stage == 1:
            return latin_point(self.space, self._latin, index, rng)
        if self._region is None:  # every earlier trial failed
            return self._box.sample(rng, self.space)
        # Half the candidates are drawn around the centre (the narrow and the wide ranges in
        # turn), half uniformly in the stage's box: exploitation and exploration for EI.
        candidates = [
            self._region.sample(rng, self.space, wide=j % 4 == 1)
            if j % 4 < 2
            else self._box.sample(rng, self.space)
            for j in range(CANDIDATES)
        ]
        if self._model is None:  # too few finished trials for a model
            return candidates[index % 4]  # narrow, wide or anywhere in the box, in turn
        # The model believes the points the stage's earlier trials run at (as they ran: a
        # resumed trial keeps its recorded point), so this one goes elsewhere.
        for earlier in range(self._believed, index):
            key = trial_key(self._stage, earlier)
            self._model.believe((self._pending.get(key) or self._told[key]).unit)
        self._believed = index
        return candidates[self._model.pick(candidates)]

    def _fit(self, finished: list[TrialResult], region: Region) -> StageModel | None:
        """The model that picks the stage's points among their candidates."""
        sign = 1.0 if self.mode == "min" else -1.0
        scores = [sign * r.score for r in finished]  # type: ignore[operator]
        half = {n: region.half_width(n) for n in region.centre}
        choices = {n: choice_scale(self.space, n) for n in region.categories}
        return StageModel.fit([r.unit for r in finished], scores, region.centre, half, choices)

    def _zoom_keys(self) -> list[str]:
        """The trials the next stage is shaped by: all earlier stages' and the first
        ``ready`` fraction of the current one's."""
        current = self.stages[self._stage - 1].trials
        keys = [
            trial_key(stage, index)
            for stage in range(1, self._stage)
            for index in range(self.stages[stage - 1].trials)
        ]
        need = max(1, math.ceil(self.ready * current - 1e-9))
        return keys + [trial_key(self._stage, index) for index in range(need)]

    def _advance(self, used: list[TrialResult]) -> None:
        spec = self.stages[self._stage]
        finished = ranked(used, self.mode)
        if not finished:
            self._warnings.append(
                f"every trial up to stage {self._stage} failed; "
                f"stage {self._stage + 1} samples the full range"
            )
            self._region, self._model, self._box = None, None, Box.full(self.space)
        else:
            best = finished[0].score
            assert best is not None  # ranked() keeps finished trials only
            improved = self._best_score is None or better(best, self._best_score, self.mode)
            self._side = next_side(self._side, improved)
            self._best_score = best
            self._region = zoom_region(self.space, finished, self._side, spec.keep_top, spec.pad)
            self._model = self._fit(finished, self._region)
            self._box = self._region.box()
        self._stage += 1
        self._asked = 0
        self._believed = 0
        self._records.append(self._record(tuple(r.key for r in used)))
