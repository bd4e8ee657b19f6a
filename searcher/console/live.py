"""The live console view of a running search (rich), for terminals; logs get plain lines."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from search_spaces.trial import TrialResult
from searcher.console.lines import ProgressPrinter, fmt_duration, fmt_params, fmt_value

# A running trial is called quiet when it has not reported for this many times the usual gap
# between reports (and at least this long): a hang, or an epoch far slower than the others.
QUIET_FACTOR, QUIET_FLOOR_S = 5.0, 60.0


class LiveProgress(ProgressPrinter):
    """Finished trials scroll by as plain lines; below them a panel redraws twice a second."""

    def __init__(
        self,
        metric: str,
        mode: str,
        total: int,
        key_params: list[str],
        console: Console,
    ) -> None:
        super().__init__(metric, mode, total, key_params, console.file)
        self.console = console
        self.stage = 0
        self.stage_sizes: dict[int, int] = {}
        self.stage_done: dict[int, int] = {}
        self.stage_of: dict[str, int] = {}
        self.running: dict[str, dict[str, Any]] = {}
        self.last_seen: dict[str, float] = {}  # a running trial's start, then its last report
        self.started_at: dict[str, float] = {}
        self.report_gaps: list[float] = []  # seconds between reports, over every trial
        self.best_params: dict[str, Any] = {}
        self.live = Live(
            get_renderable=self.render,
            console=console,
            refresh_per_second=2,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self.live.start()

    def say(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def count_kept(self, kept: Sequence[TrialResult]) -> None:
        super().count_kept(kept)
        for result in kept:
            self.stage_done[result.stage] = self.stage_done.get(result.stage, 0) + 1
        self.best_params = next((r.params for r in kept if self.best and r.key == self.best[1]), {})

    def stage_started(self, stage: int, trials: int, box: dict[str, str] | None) -> None:
        self.stage = stage
        self.stage_sizes[stage] = trials
        super().stage_started(stage, trials, box)

    def trial_started(self, key: str, stage: int, params: dict[str, Any]) -> None:
        self.stage_of[key] = stage
        self.running[key] = params
        self.started_at[key] = self.last_seen[key] = time.monotonic()
        self.live.refresh()

    def trial_reported(self, key: str) -> None:
        now = time.monotonic()
        if key in self.last_seen:
            self.report_gaps.append(now - self.last_seen[key])
        self.last_seen[key] = now

    def trial_done(
        self,
        key: str,
        params: dict[str, Any],
        score: float | None,
        status: str,
        error: str | None = None,
    ) -> None:
        before = self.best
        self.running.pop(key, None)
        self.last_seen.pop(key, None)
        self.started_at.pop(key, None)
        stage = self.stage_of.get(key, self.stage)
        self.stage_done[stage] = self.stage_done.get(stage, 0) + 1
        super().trial_done(key, params, score, status, error)
        if self.best is not before:
            self.best_params = params
        self.live.refresh()

    def close(self) -> None:
        self.live.stop()

    def usual_gap(self) -> float | None:
        """The median time between two reports of a trial, once a few are known."""
        if len(self.report_gaps) < 3:
            return None
        return statistics.median(self.report_gaps)

    def render(self) -> Group:
        """The panel: totals and time, trials per stage, running trials, the best so far."""
        elapsed = time.monotonic() - self.start
        rest = elapsed / self.done * (self.total - self.done) if self.done else None
        left = "?" if rest is None else fmt_duration(rest)
        budget = ""
        if self.deadline is not None:
            budget = (
                f"   time budget: {fmt_duration(max(0.0, self.deadline - time.monotonic()))} left"
            )
        head = Text(
            f"{self.done}/{self.total} trials done   elapsed {fmt_duration(elapsed)}   "
            f"about {left} left{budget}",
            style="bold",
        )
        stages = Table.grid(padding=(0, 2))
        for stage, size in sorted(self.stage_sizes.items()):
            stages.add_row(f"stage {stage}", f"{self.stage_done.get(stage, 0)}/{size} done")
        lines: list[Any] = [head, stages]
        now = time.monotonic()
        for key, params in sorted(self.running.items()):
            age = fmt_duration(now - self.started_at.get(key, now))
            quiet = now - self.last_seen.get(key, now)
            line = f"running {key}  {age}, last report {fmt_duration(quiet)} ago  "
            lines.append(Text(line + fmt_params(params, self.key_params)))
            usual = self.usual_gap()
            if usual is not None and quiet > max(QUIET_FLOOR_S, QUIET_FACTOR * usual):
                lines.append(
                    Text(
                        f"  warning: {key} has not reported for {fmt_duration(quiet)}; trials "
                        f"take {fmt_duration(usual)} per report",
                        style="yellow",
                    )
                )
        if self.best is not None:
            score, key = self.best
            shown = fmt_params(self.best_params, self.key_params)
            lines.append(
                Text(f"best {self.metric}={fmt_value(score)} ({key})  {shown}", style="green")
            )
        return Group(*lines)


def make_progress(
    metric: str, mode: str, total: int, key_params: list[str], out: TextIO | None = None
) -> ProgressPrinter:
    """The live view on a terminal; plain one-line-per-trial output anywhere else (CI, logs)."""
    out = out or sys.stdout
    if out.isatty():
        return LiveProgress(metric, mode, total, key_params, Console(file=out))
    return ProgressPrinter(metric, mode, total, key_params, out)
