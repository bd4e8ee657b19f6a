"""The live console view, rendered into a forced terminal, and the plain fallback for logs."""

from __future__ import annotations

import io

from rich.console import Console

from searcher.live_progress import LiveProgress, make_progress
from searcher.progress import ProgressPrinter


def test_live_view_shows_stages_running_trials_best_and_time_left() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=120, record=True)
    live = LiveProgress("val_accuracy", "max", 4, ["lr", "beta1"], console)
    try:
        live.stage_started(1, 3, None)
        live.trial_started("1-000", 1, {"lr": 0.001, "beta1": 0.9})
        live.trial_started("1-001", 1, {"lr": 0.02, "beta1": 0.99})
        live.trial_done("1-000", {"lr": 0.001, "beta1": 0.9}, 0.8123, "FINISHED")
        panel = Console(file=io.StringIO(), width=120, record=True)
        panel.print(live.render())
        text = panel.export_text()
    finally:
        live.close()
    assert "1/4 trials done" in text and "left" in text
    assert "stage 1  1/3 done" in text
    assert "running 1-001  lr=0.02 beta1=0.99" in text
    assert "1-000" not in text.split("best")[0].split("running")[-1]
    assert "best val_accuracy=0.812 (1-000)  lr=0.001 beta1=0.9" in text
    scrolled = console.export_text()
    assert "1-000 FINISHED" in scrolled, "finished trials stay in the scrollback as plain lines"


def test_plain_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    progress = make_progress("val_loss", "min", 2, ["lr"], out)
    assert type(progress) is ProgressPrinter
    progress.stage_started(1, 2, None)
    progress.trial_started("1-000", 1, {"lr": 0.1})
    progress.trial_done("1-000", {"lr": 0.1}, 0.5, "FINISHED")
    progress.close()
    lines = out.getvalue().splitlines()
    assert lines[0] == "stage 1: 2 trials in the full space"
    assert lines[1].startswith("[  1/2 ") and "1-000 FINISHED" in lines[1] and "lr=0.1" in lines[1]
    assert "\x1b" not in out.getvalue()


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_the_live_view() -> None:
    progress = make_progress("val_loss", "min", 2, ["lr"], _Tty())
    try:
        assert isinstance(progress, LiveProgress)
    finally:
        progress.close()
