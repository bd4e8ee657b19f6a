"""The console view of a running search: one compact line per finished trial."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from search_spaces.trial import TrialResult, better


def fmt_value(value: Any) -> str:
    """Short, readable value: 3 significant digits for floats."""
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def fmt_params(params: dict[str, Any], names: list[str]) -> str:
    return " ".join(f"{name}={fmt_value(params[name])}" for name in names if name in params)


def fmt_duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressPrinter:
    """Prints stage starts and finished trials with the best so far."""

    def __init__(
        self,
        metric: str,
        mode: str,
        total: int,
        key_params: list[str],
        out: TextIO | None = None,
    ) -> None:
        self.metric, self.mode, self.total = metric, mode, total
        self.key_params = key_params
        self.out = out or sys.stdout
        self.start = time.monotonic()
        self.deadline: float | None = None  # the time budget's end (time.monotonic()), if any
        self.done = 0
        self.best: tuple[float, str] | None = None

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def count_kept(self, kept: Sequence[TrialResult]) -> None:
        """A resumed search: its kept trials count as done, and the best among them leads."""
        self.done += len(kept)
        for result in kept:
            if not result.failed:
                self._offer_best(result.score, result.key)

    def trial_started(self, key: str, stage: int, params: dict[str, Any]) -> None:
        """Plain output stays one line per finished trial; the live view shows running ones."""

    def trial_reported(self, key: str) -> None:
        """A running trial reported (the live view shows how long ago)."""

    def close(self) -> None:
        """Nothing to tear down for plain lines."""

    def stage_started(self, stage: int, trials: int, box: dict[str, str] | None) -> None:
        where = "the full space" if not box else ", ".join(f"{k} {v}" for k, v in box.items())
        self.say(f"stage {stage}: {trials} trials in {where}")

    def _offer_best(self, score: float | None, key: str) -> None:
        if score is not None and (self.best is None or better(score, self.best[0], self.mode)):
            self.best = (score, key)

    def trial_done(
        self,
        key: str,
        params: dict[str, Any],
        score: float | None,
        status: str,
        error: str | None = None,
    ) -> None:
        self.done += 1
        self._offer_best(score, key)
        shown = "-" if score is None else f"{score:.4f}"
        best = "-" if self.best is None else f"{self.best[0]:.4f} ({self.best[1]})"
        elapsed = fmt_duration(time.monotonic() - self.start)
        line = (
            f"[{self.done:>3}/{self.total} {elapsed}] {key} {status:<8} "
            f"{self.metric}={shown}  best={best}  {fmt_params(params, self.key_params)}"
        )
        if error:
            line += f"  ({error.splitlines()[-1][:120] if error.strip() else error})"
        self.say(line)
