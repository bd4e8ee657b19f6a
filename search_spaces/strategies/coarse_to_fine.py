"""Coarse to fine: each stage samples the padded bounding box of the best trials so far."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from search_spaces.box import Box, top_box
from search_spaces.space import SearchSpace
from search_spaces.strategies.base import (
    DONE,
    WAIT,
    Signal,
    StageRecord,
    Strategy,
    Suggestion,
    trial_rng,
)


class StageSpec(BaseModel):
    """A stage's size and how it zooms; keep_top and pad are ignored for stage 1.

    The spec's `search.stages` entries are these, so the checks live here and nowhere else.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    trials: int = Field(ge=1, le=100_000, strict=True)
    keep_top: float = Field(0.25, gt=0, le=1)
    pad: float = Field(0.1, ge=0, lt=1)


class CoarseToFine(Strategy):
    """Stage 1 samples the full box; stage k+1 waits for stage k, then zooms on the top trials."""

    def __init__(
        self, space: SearchSpace, mode: str, seed: int, stages: Sequence[StageSpec]
    ) -> None:
        super().__init__(space, mode, seed)
        if not stages:
            raise ValueError("coarse_to_fine needs at least one stage")
        self.stages = list(stages)
        self.planned_trials = sum(s.trials for s in self.stages)
        self._stage = 1
        self._asked = 0
        self._box = Box.full(space)
        self._records = [self._record()]

    def _record(self) -> StageRecord:
        trials = self.stages[self._stage - 1].trials
        return StageRecord(
            self._stage, trials, self._box.to_dict(), self._box.to_values(self.space)
        )

    @property
    def stage(self) -> int:
        return self._stage

    @property
    def box(self) -> Box:
        """Where the current stage samples."""
        return self._box

    @property
    def boxes(self) -> list[StageRecord]:
        return list(self._records)

    def _next(self) -> Suggestion | Signal:
        if self._asked < self.stages[self._stage - 1].trials:
            index, self._asked = self._asked, self._asked + 1
            rng = trial_rng(self.seed, self._stage, index)
            return self._suggest(self._stage, index, self._box.sample(rng, self.space))
        if self._stage == len(self.stages):
            return DONE
        if self._pending:
            return WAIT
        self._advance()
        return self._next()

    def _advance(self) -> None:
        spec = self.stages[self._stage]
        results = self.results
        if all(r.failed for r in results):
            self._warnings.append(
                f"every trial up to stage {self._stage} failed; "
                f"stage {self._stage + 1} samples the full range"
            )
            self._box = Box.full(self.space)
        else:
            self._box = top_box(self.space, results, self.mode, spec.keep_top, spec.pad)
        self._stage += 1
        self._asked = 0
        self._records.append(self._record())
