"""The console sink: stage lines, trial starts, and one line per trial once the store has it.

A trial's end is printed only when the tracking side confirms its run is stored (the
``stored`` queue the controller hands in), so the console never claims what the store lacks.
"""

from __future__ import annotations

import queue
from typing import Any

from searcher.console.lines import ProgressPrinter
from searcher.events import (
    Event,
    StageStarted,
    Tick,
    TrialEnded,
    TrialReported,
    TrialRetried,
    TrialStarted,
)

# (key, None) once a trial's end is in the store; (key, error) when writing it failed.
Stored = queue.SimpleQueue[tuple[str, str | None]]


class ConsoleSink:
    def __init__(self, progress: ProgressPrinter, stored: Stored) -> None:
        self.progress, self.stored = progress, stored
        self.unconfirmed: dict[str, tuple[dict[str, Any], float | None, str, str | None]] = {}

    def handle(self, event: Event) -> None:
        if isinstance(event, StageStarted):
            self.progress.stage_started(event.stage, event.trials, event.ranges)
        elif isinstance(event, TrialStarted):
            trial = event.trial
            self.progress.trial_started(trial.key, trial.stage, trial.params)
        elif isinstance(event, TrialReported):
            self.progress.trial_reported(event.key)
        elif isinstance(event, TrialRetried):
            self.progress.say(
                f"trial {event.key}: its worker died ({event.reason}); running it again"
            )
        elif isinstance(event, TrialEnded):
            verdict = event.verdict
            line = (event.trial.params, event.best, verdict.status, verdict.reason)
            self.unconfirmed[event.trial.key] = line
        elif isinstance(event, Tick):
            self.print_stored()

    def print_stored(self) -> None:
        """Print the trials whose end the store now holds."""
        while not self.stored.empty():
            key, failed = self.stored.get()
            if key in self.unconfirmed:
                params, best, status, reason = self.unconfirmed.pop(key)
                if failed is not None:
                    status, reason = _unstored(status, reason, failed)
                self.progress.trial_done(key, params, best, status, reason)

    def close(self) -> None:
        """After the store closed: what it confirmed, then what it never stored, then the end."""
        self.print_stored()
        for key, (params, best, status, reason) in list(self.unconfirmed.items()):
            status, reason = _unstored(status, reason, "its writing did not finish")
            self.progress.trial_done(key, params, best, status, reason)
        self.unconfirmed.clear()
        self.progress.close()


UNSTORED = "UNSTORED"  # the status column's word for a trial whose end the store lacks


def _unstored(status: str, reason: str | None, why: str) -> tuple[str, str]:
    """A trial that ended but whose end the store lacks is never printed as ended: it is
    UNSTORED, saying how it ended and why the store lacks it (a resume runs it again)."""
    said = f"{status}: {reason}" if reason else status
    return UNSTORED, f"ended {said}; not in the store" + (f": {why}" if why else "")
