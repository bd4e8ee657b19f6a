"""Coarse to fine: each stage samples the padded bounding box of the best trials so far."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class StageSpec:
    """A stage's size and how it zooms; keep_top and pad are ignored for stage 1."""

    trials: int
    keep_top: float = 0.25
    pad: float = 0.1

    def __post_init__(self) -> None:
        if self.trials < 1:
            raise ValueError(f"trials must be >= 1, got {self.trials}")
        if not 0 < self.keep_top <= 1:
            raise ValueError(f"keep_top must be in (0, 1], got {self.keep_top}")
        if self.pad < 0:
            raise ValueError(f"pad must be >= 0, got {self.pad}")


class CoarseToFine(Strategy):
    """Stage 1 samples the full box; stage k+1 waits for stage k, then zooms on the top trials."""

    def __init__(self, space: SearchSpace, mode: str, seed: int, stages: list[StageSpec]) -> None:
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
